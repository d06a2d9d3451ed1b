// CacheStore: where the revocation cache keeps its entries beyond the Checker's memory. The default is
// one file per entry under Options::cache_directory (make_file_cache_store); a shared one (the
// keystore's database, revocation.cache "keystore") lets several gateways use one another's answers
// and fetch each URL once between them.
//
// Contract for implementations:
//  - thread-safe: one Checker calls it from every connection's thread at once;
//  - stores bytes and dates, judges nothing: the Checker verifies a payload it reads back (signature,
//    certificate id, dates) before using it, so a store need not be trusted for integrity;
//  - failures may throw any std::exception: the Checker then treats a load as a miss and a save as
//    dropped (the entry lives in its memory only), and goes on; check() never throws for them;
//  - claim()/release(): a cross-process single flight for one fetch. A claim lasts at most `bound`
//    (a holder that dies frees it when the bound has passed); the default (one process: the Checker's
//    own per-process single flight is enough) always grants. When shared() is true the Checker, before
//    fetching, claims; a Checker that finds the fetch claimed waits (polling load) for the holder's
//    entry, at most the bound, then fetches itself.
#pragma once

#include <chrono>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace revocation {

struct StoredEntry {
  std::string kind;  // "ocsp" (response DER), "crl" (CRL DER), "undetermined" (negative: "why\ndetail")
  std::string key;   // as CacheEntry::key
  std::string url;
  std::time_t stored_at = 0;
  std::time_t expires_at = 0;  // not used from then on
  std::optional<std::time_t> this_update, next_update;
  std::string payload;
};

class CacheStore {
 public:
  virtual ~CacheStore() = default;
  CacheStore() = default;
  CacheStore(const CacheStore&) = delete;
  CacheStore& operator=(const CacheStore&) = delete;

  // The entry, expired or not (the Checker decides); nullopt when there is none (or it is unreadable).
  virtual std::optional<StoredEntry> load(const std::string& kind, const std::string& key) = 0;
  // Replaces any entry of the same kind and key.
  virtual void save(const StoredEntry& entry) = 0;
  // Removes the entry; with `expired_by`, only if it expires at or before that time (another process
  // may just have renewed it).
  virtual void remove(const std::string& kind, const std::string& key,
                      std::optional<std::time_t> expired_by = std::nullopt) = 0;

  // Other processes write this store too (the Checker then claims fetches across processes).
  virtual bool shared() const { return false; }
  // A claim on the fetch `flight`: a token when granted, nullopt while another holder has it.
  virtual std::optional<std::string> claim(const std::string& flight, std::chrono::seconds bound);
  virtual void release(const std::string& flight, const std::string& token);

  // The file an entry lives in, for `smime-keystore revocation`; empty when not a file.
  virtual std::filesystem::path file_of(const std::string& kind, const std::string& key) const;
};

// One file per entry in `directory` (written to a temporary name and renamed; corrupt or foreign
// files are ignored and removed). Creates the directory 0700 when missing; refuses (smime::Error(io))
// one that is not a directory or that is writable by its group or others.
std::shared_ptr<CacheStore> make_file_cache_store(const std::filesystem::path& directory);

}  // namespace revocation
