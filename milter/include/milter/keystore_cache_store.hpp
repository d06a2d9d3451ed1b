// The revocation cache in the keystore's database (revocation.cache "keystore"): revocation::CacheStore
// over a keystore::StorePool, so that the gateways on one PostgreSQL store use one another's OCSP and CRL
// answers, negative entries included. revocation/ does not depend on keystore/; this adapter joins them.
//
// Each call leases a store for one statement, so one Checker serves every thread; the milter gives it the
// statements' pool of the keystore's location (StoreService::pool), apart from the stores its messages
// hold. Failures propagate as keystore::Error; the Checker takes them for a cache miss (load) or a
// dropped save.
//
// Single flight across hosts: claim() is the store's claim_revocation_fetch, a row per fetch that
// expires on the database's clock after `bound`, so a gateway that dies while fetching blocks the others
// for at most the bound.
//
// Expired entries: purge_if_due() deletes them (and expired claims) at most once per `purge_every`,
// called on a message; a failed purge is retried at the next period.
#pragma once

#include <atomic>
#include <chrono>
#include <ctime>
#include <memory>

#include "keystore/store_pool.hpp"
#include "revocation/cache_store.hpp"

namespace milter {

class KeystoreCacheStore final : public revocation::CacheStore {
 public:
  explicit KeystoreCacheStore(std::shared_ptr<keystore::StorePool> pool,
                              std::chrono::seconds purge_every = std::chrono::hours(1));

  std::optional<revocation::StoredEntry> load(const std::string& kind, const std::string& key) override;
  void save(const revocation::StoredEntry& entry) override;
  void remove(const std::string& kind, const std::string& key,
              std::optional<std::time_t> expired_by) override;
  bool shared() const override { return true; }
  std::optional<std::string> claim(const std::string& flight, std::chrono::seconds bound) override;
  void release(const std::string& flight, const std::string& token) override;

  // Deletes the entries expired by `now` when the last purge of this process is at least `purge_every`
  // old (the first call purges). Returns the entries deleted, or -1 when no purge was due. One caller
  // purges while the others return at once. Throws keystore::Error when the purge fails.
  std::int64_t purge_if_due(std::time_t now);

  const std::shared_ptr<keystore::StorePool>& pool() const { return pool_; }

 private:
  std::shared_ptr<keystore::StorePool> pool_;
  std::chrono::seconds purge_every_;
  std::atomic<std::time_t> next_purge_{0};
};

}  // namespace milter
