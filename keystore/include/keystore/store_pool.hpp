// StorePool: a few open Stores shared by the threads of one process. A Store serves one thread at a
// time (its transaction state is its own); a thread leases one for a piece of work (a message, a
// revocation cache access) and gives it back when the lease ends. Stores are opened on demand, up to
// `size`; a thread that finds all of them leased waits (at most `wait`, then Error(store)). Open
// stores stay open for the life of the pool: one connection (or SQLite handle) per store, not one
// per message. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "keystore/open_store.hpp"

namespace keystore {

class StorePool {
 public:
  StorePool(StoreLocation where, std::size_t size, std::chrono::milliseconds wait = std::chrono::seconds(30));
  StorePool(const StorePool&) = delete;
  StorePool& operator=(const StorePool&) = delete;

  class Lease {
   public:
    Lease(Lease&& other) noexcept : pool_(other.pool_), store_(std::move(other.store_)) {
      other.pool_ = nullptr;
    }
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease();
    Store& operator*() const { return *store_; }
    Store* operator->() const { return store_.get(); }

   private:
    friend class StorePool;
    Lease(StorePool* pool, std::unique_ptr<Store> store) : pool_(pool), store_(std::move(store)) {}
    StorePool* pool_;
    std::unique_ptr<Store> store_;
  };

  // A store for this thread until the lease ends. Throws what open_store throws, or Error(store) when
  // every store stayed leased for `wait`.
  Lease lease();
  const StoreLocation& location() const { return where_; }
  std::size_t size() const { return size_; }
  std::size_t open_count();  // stores opened so far (leased or idle)

 private:
  void give_back(std::unique_ptr<Store> store) noexcept;

  StoreLocation where_;
  std::size_t size_;
  std::chrono::milliseconds wait_;
  std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Store>> idle_;
  std::size_t open_ = 0;  // idle + leased + being opened
};

}  // namespace keystore
