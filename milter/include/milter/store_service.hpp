// The keystore connections of the process: one StorePool per keystore location (SQLite file or
// PostgreSQL database), opened once and shared by all connections, instead of a store opened per SMTP
// connection. A message leases one store for its processing (Filter) and gives it back at its end.
//
// A reload that names another location gets a new pool; the old one stays alive for the messages
// still holding its stores (pools are few: one per location ever configured).
#pragma once

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
  // `size`: stores per pool (one per worker thread: each message holds one while it is processed).
  explicit StoreService(std::size_t size) : size_(size) {}

  // The pool of the configuration's keystore. Opens nothing yet (stores open on first lease).
  std::shared_ptr<keystore::StorePool> pool(const conf::Config& config);
  // A store for one message. Throws keystore::Error(store) when it cannot be opened.
  keystore::StorePool::Lease lease(const conf::Config& config) { return pool(config)->lease(); }

 private:
  std::size_t size_;
  std::mutex mutex_;
  std::vector<std::pair<std::string, std::shared_ptr<keystore::StorePool>>> pools_;  // by describe()
};

}  // namespace milter
