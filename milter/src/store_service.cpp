#include "milter/store_service.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "keystore/error.hpp"
#include "milter/settings.hpp"

namespace milter {

StoreService::Leased StoreService::lease(const conf::Config& config) {
  const keystore::StoreLocation where = settings::store_location(config.keystore);
  std::shared_ptr<keystore::StorePool> stores;
  std::string cache_key;
  {
    std::lock_guard lock(mutex_);
    Pool& pool = pool_locked(where);
    if (!where.is_postgresql()) check_file_locked(pool, where);
    stores = pool.stores;
    cache_key = pool.cache_key;
  }
  return Leased{stores->lease(), std::move(cache_key)};  // may wait for a store: outside the lock
}

std::shared_ptr<keystore::StorePool> StoreService::pool(const conf::Config& config) {
  const keystore::StoreLocation where = settings::store_location(config.keystore);
  std::lock_guard lock(mutex_);
  return pool_locked(where).statements;
}

StoreService::Pool& StoreService::pool_locked(const keystore::StoreLocation& where) {
  const std::string location = where.is_postgresql() ? where.url + "\n" + where.read_url : where.path;
  for (Pool& p : pools_)
    if (p.location == location) return p;
  Pool& p = pools_.emplace_back();
  p.location = location;
  replace_locked(p, where);
  return p;
}

void StoreService::check_file_locked(Pool& pool, const keystore::StoreLocation& where) {
  struct stat st {};
  if (::stat(where.path.c_str(), &st) != 0) {
    const int error = errno;
    // Before the first open the file may not exist yet (the store creates it); once seen, it must stay.
    if (!pool.file_known) return;
    throw keystore::Error(keystore::ErrorKind::store,
                          "the keystore " + where.path + " is gone while in use: " + std::strerror(error));
  }
  if (pool.file_known && (st.st_dev != pool.device || st.st_ino != pool.inode)) replace_locked(pool, where);
  pool.file_known = true;
  pool.device = st.st_dev;
  pool.inode = st.st_ino;
}

void StoreService::replace_locked(Pool& pool, const keystore::StoreLocation& where) {
  if (pool.stores) retired_.push_back(std::move(pool.stores));
  if (pool.statements) retired_.push_back(std::move(pool.statements));
  pool.stores = std::make_shared<keystore::StorePool>(where, size_);
  pool.statements = std::make_shared<keystore::StorePool>(where, size_);
  pool.cache_key = pool.location + "#" + std::to_string(++serial_);
}

}  // namespace milter
