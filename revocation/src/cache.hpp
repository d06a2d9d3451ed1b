// The revocation cache: entries in memory, in front of a CacheStore (cache_store.hpp: files by default,
// or a store shared by several gateways). The cache stores bytes and dates; it does not judge them: an
// entry read back from the store comes with verified = false and the checker verifies it again (and
// erases it when it does not verify). Thread-safe. Trouble with the store never throws here: a load
// that fails is a miss, a save that fails leaves the entry in memory only.
#pragma once

#include <chrono>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "internal.hpp"
#include "revocation/cache_store.hpp"

namespace revocation::detail {

struct Entry {
  std::string kind;  // "ocsp" (response DER), "crl" (CRL DER), "undetermined" (negative: why, detail)
  std::string key;
  std::string url;
  std::time_t stored_at = 0;
  std::time_t expires_at = 0;  // the entry is not used from then on
  std::optional<std::time_t> this_update, next_update;
  std::string payload;  // may be dropped from memory entries once parsed (CRLs)
  // Memory only: set once the payload was verified.
  bool verified = false;
  std::shared_ptr<X509_CRL> crl;   // "crl"
  std::optional<Verdict> verdict;  // "ocsp" and "undetermined"
};
using EntryPtr = std::shared_ptr<const Entry>;

class Cache {
 public:
  // `store` null: memory only.
  explicit Cache(std::shared_ptr<CacheStore> store);

  // The entry from memory, else from the store (verified = false); an expired entry is erased and not
  // returned.
  EntryPtr get(const std::string& kind, const std::string& key, std::time_t now);
  // From the store only, past what memory holds (another process may have renewed it); nullptr when
  // the store has nothing unexpired.
  EntryPtr reload(const std::string& kind, const std::string& key, std::time_t now);
  // Stores in memory and, when `persist`, in the store.
  void put(Entry entry, bool persist = true);
  void erase(const std::string& kind, const std::string& key);
  // As the CLI shows it; nullopt when there is no such entry (expired ones are shown).
  std::optional<CacheEntry> describe(const std::string& kind, const std::string& key);

  // The cross-process single flight of the store (see CacheStore); granted when not shared.
  bool shared() const { return store_ && store_->shared(); }
  std::optional<std::string> claim(const std::string& flight, std::chrono::seconds bound);
  void release(const std::string& flight, const std::string& token) noexcept;

 private:
  EntryPtr load(const std::string& kind, const std::string& key) noexcept;
  void remove_stored(const std::string& kind, const std::string& key,
                     std::optional<std::time_t> expired_by) noexcept;

  std::shared_ptr<CacheStore> store_;
  std::mutex mutex_;
  std::map<std::string, EntryPtr> memory_;
  unsigned long puts_ = 0;
};

}  // namespace revocation::detail
