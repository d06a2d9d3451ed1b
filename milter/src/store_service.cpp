#include "milter/store_service.hpp"

#include "milter/settings.hpp"

namespace milter {

std::shared_ptr<keystore::StorePool> StoreService::pool(const conf::Config& config) {
  keystore::StoreLocation where = settings::store_location(config.keystore);
  const std::string key = where.is_postgresql() ? where.url + "\n" + where.read_url : where.path;
  std::lock_guard lock(mutex_);
  for (const auto& [k, p] : pools_)
    if (k == key) return p;
  pools_.emplace_back(key, std::make_shared<keystore::StorePool>(std::move(where), size_));
  return pools_.back().second;
}

}  // namespace milter
