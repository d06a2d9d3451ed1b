// The keystore connections of the process: one StorePool per keystore location (SQLite file or
// PostgreSQL database), opened once and shared by all connections, instead of a store opened per SMTP
// connection. A message leases one store for its processing (Filter) and gives it back at its end.
//
// A reload that names another location gets a new pool; the old one stays alive for the messages
// still holding its stores (pools are few: one per location ever configured).
//
// The revocation checker (the keystore's local revocation data; the revocation cache with
// revocation.cache "keystore") leases a store per statement while a message holds its own, from a second
// pool of the same location (pool()): were it the messages' pool, messages waiting for a worker could
// hold every store while a worker waits for one. Both pools open their stores on demand.
//
// An open SQLite connection keeps reading a file that was deleted or replaced under it, and what it
// writes then is lost. So each lease first looks at the file: gone is a store failure (the keystore
// failure action applies) until it is back; another file at the path (restored from a copy, say) gets a
// pool of its own, and a cache key of its own, so that nothing decoded from the old file is used.
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "keystore/open_store.hpp"
#include "keystore/store_pool.hpp"

namespace milter {

class StoreService {
 public:
  // `workers`: the threads that process messages at once (each holds one store of the messages' pool
  // while it works, and at times one of the statements' pool).
  explicit StoreService(std::size_t workers) : size_(workers) {}

  struct Leased {
    keystore::StorePool::Lease lease;
    std::string cache_key;  // names the store's contents for KeyCache: location, and which file
  };
  // A store for one message. Throws keystore::Error(store) when it cannot be opened or its SQLite file
  // is gone.
  Leased lease(const conf::Config& config);
  // The statements' pool of the configured location: for what leases a store per statement (the
  // revocation checker's local data and cache), never for a whole message. Opens nothing itself.
  std::shared_ptr<keystore::StorePool> pool(const conf::Config& config);

 private:
  struct Pool {
    std::string location;                             // SQLite path, or PostgreSQL URL and read URL
    std::shared_ptr<keystore::StorePool> stores;      // messages
    std::shared_ptr<keystore::StorePool> statements;  // single statements (the revocation checker)
    std::string cache_key;
    bool file_known = false;  // SQLite: the file's identity below was seen
    dev_t device = 0;
    ino_t inode = 0;
  };
  Pool& pool_locked(const keystore::StoreLocation& where);
  void check_file_locked(Pool& pool, const keystore::StoreLocation& where);
  void replace_locked(Pool& pool, const keystore::StoreLocation& where);

  std::size_t size_;
  std::mutex mutex_;
  std::vector<Pool> pools_;
  std::vector<std::shared_ptr<keystore::StorePool>> retired_;  // replaced files' pools: leases may remain
  unsigned serial_ = 0;
};

}  // namespace milter
