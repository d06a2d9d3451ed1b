// The revocation cache in the keystore (revocation.cache "keystore"): revocation::CacheStore over a
// keystore::StorePool. revocation/ does not depend on keystore/; this adapter joins them. It is what
// the milter needs (and belongs in milter/ there); the tests use it as written here.
//
// Each call leases a store for one statement, so one Checker serves every thread. Failures propagate as
// keystore::Error; the Checker takes them for a cache miss (load) or a dropped save.
#pragma once

#include <memory>

#include "keystore/store_pool.hpp"
#include "revocation/cache_store.hpp"

namespace test {

class KeystoreCacheStore final : public revocation::CacheStore {
 public:
  explicit KeystoreCacheStore(std::shared_ptr<keystore::StorePool> pool) : pool_(std::move(pool)) {}

  std::optional<revocation::StoredEntry> load(const std::string& kind, const std::string& key) override;
  void save(const revocation::StoredEntry& entry) override;
  void remove(const std::string& kind, const std::string& key,
              std::optional<std::time_t> expired_by) override;
  bool shared() const override { return true; }
  std::optional<std::string> claim(const std::string& flight, std::chrono::seconds bound) override;
  void release(const std::string& flight, const std::string& token) override;

 private:
  std::shared_ptr<keystore::StorePool> pool_;
};

}  // namespace test
