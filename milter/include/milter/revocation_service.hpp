// The revocation checker of the running configuration: one revocation::Checker shared by every
// connection (so its cache and its one-fetch-per-URL rule cover all of them), rebuilt only when a
// reload changes the `revocation` section. Messages hold the checker they started with (shared_ptr),
// so a reload never pulls it from under a message in flight.
#pragma once

#include <memory>
#include <mutex>

#include "conf/config.hpp"
#include "revocation/revocation.hpp"

namespace milter {

revocation::Options revocation_options(const conf::Revocation& config);

class RevocationService {
 public:
  // The checker for this configuration; null when revocation checking is turned off.
  std::shared_ptr<revocation::Checker> checker_for(const conf::Config& config);

 private:
  std::mutex mutex_;
  std::optional<conf::Revocation> settings_;
  std::shared_ptr<revocation::Checker> checker_;
};

}  // namespace milter
