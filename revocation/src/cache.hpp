// The revocation cache: entries in memory, and (when a directory is configured) one file per entry,
// written to a temporary name and renamed. The cache stores bytes and dates; it does not judge them:
// an entry read back from a file comes with verified = false and the checker verifies it again (and
// erases it when it does not verify). Unreadable, foreign or corrupt files are ignored and removed.
// Thread-safe. Disk trouble after construction never throws: the entry then lives in memory only.
#pragma once

#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "internal.hpp"

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
  // Creates `directory` (0700) when missing; empty: memory only. Throws smime::Error(io) when it cannot.
  explicit Cache(std::filesystem::path directory);

  // The entry from memory, else from its file (verified = false); an expired entry is erased (memory and
  // file) and not returned.
  EntryPtr get(const std::string& kind, const std::string& key, std::time_t now);
  // Stores in memory and, when `persist` and a directory is set, in the entry's file.
  void put(Entry entry, bool persist = true);
  void erase(const std::string& kind, const std::string& key);
  // As the CLI shows it; nullopt when there is no such entry (expired ones are shown).
  std::optional<CacheEntry> describe(const std::string& kind, const std::string& key);

 private:
  std::filesystem::path file_for(const std::string& kind, const std::string& key) const;
  EntryPtr read_file(const std::string& kind, const std::string& key);
  void write_file(const Entry& entry);

  std::filesystem::path dir_;
  std::mutex mutex_;
  std::map<std::string, EntryPtr> memory_;
  unsigned long puts_ = 0;
};

}  // namespace revocation::detail
