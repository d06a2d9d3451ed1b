#include "milter/revocation_service.hpp"

namespace milter {

revocation::Options revocation_options(const conf::Revocation& c) {
  revocation::Options o;
  o.order.clear();
  for (conf::RevocationMethod m : c.order)
    o.order.push_back(m == conf::RevocationMethod::ocsp ? revocation::Method::ocsp : revocation::Method::crl);
  o.connect_timeout = c.connect_timeout;
  o.timeout = c.timeout;
  o.max_crl_size = c.max_crl_size;
  o.max_ocsp_size = c.max_ocsp_size;
  o.proxy = c.proxy;
  o.clock_skew = c.clock_skew;
  o.ocsp_max_age = c.ocsp_max_age;
  o.crl_grace = c.crl_grace;
  o.negative_cache = c.negative_cache;
  o.cache_directory = c.cache_directory;
  return o;
}

std::shared_ptr<revocation::Checker> RevocationService::checker_for(const conf::Config& config) {
  if (!config.revocation.enabled) return nullptr;
  std::lock_guard lock(mutex_);
  if (!checker_ || !settings_ || !(*settings_ == config.revocation)) {
    checker_ = std::make_shared<revocation::Checker>(revocation_options(config.revocation));
    settings_ = config.revocation;
  }
  return checker_;
}

}  // namespace milter
