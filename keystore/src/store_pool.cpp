#include "keystore/store_pool.hpp"

#include "keystore/error.hpp"

namespace keystore {

StorePool::StorePool(StoreLocation where, std::size_t size, std::chrono::milliseconds wait)
    : where_(std::move(where)), size_(size == 0 ? 1 : size), wait_(wait) {
  idle_.reserve(size_);  // give_back() never allocates
}

StorePool::Lease::~Lease() {
  if (pool_ != nullptr && store_) pool_->give_back(std::move(store_));
}

StorePool::Lease StorePool::lease() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!returned_.wait_for(lock, wait_, [&] { return !idle_.empty() || open_ < size_; }))
    throw Error(ErrorKind::store, "all " + std::to_string(size_) + " connections to the " +
                                      where_.describe() + " stayed busy for " +
                                      std::to_string(wait_.count()) + " ms");
  if (!idle_.empty()) {
    std::unique_ptr<Store> store = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(store));
  }
  ++open_;  // reserved while it opens, outside the lock (opening may take a connect timeout)
  lock.unlock();
  try {
    return Lease(this, open_store(where_));
  } catch (...) {
    lock.lock();
    --open_;
    lock.unlock();
    returned_.notify_one();
    throw;
  }
}

void StorePool::give_back(std::unique_ptr<Store> store) noexcept {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    idle_.push_back(std::move(store));
  }
  returned_.notify_one();
}

std::size_t StorePool::open_count() {
  std::lock_guard<std::mutex> lock(mutex_);
  return open_;
}

}  // namespace keystore
