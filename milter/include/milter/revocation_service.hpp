// The revocation checker of the running configuration: one revocation::Checker shared by every
// connection (so its cache and its one-fetch-per-URL rule cover all of them), rebuilt only when a
// reload changes the `revocation` section. Messages hold the checker they started with (shared_ptr),
// so a reload never pulls it from under a message in flight.
#pragma once

#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "conf/config.hpp"
#include "milter/logging.hpp"
#include "revocation/decision.hpp"
#include "revocation/revocation.hpp"

namespace milter {

class RevocationService {
 public:
  // The checker for this configuration; null when revocation checking is turned off.
  std::shared_ptr<revocation::Checker> checker_for(const conf::Config& config);

 private:
  std::mutex mutex_;
  std::optional<conf::Revocation> settings_;
  std::shared_ptr<revocation::Checker> checker_;
};

// The log line of one decision: "revocation op=... subject=... certificate=FP status=... [why=...]
// source=... [url=...] cached=... decision=... reason=...". `subject` names what the certificate is used
// for (the recipient address, or the signer).
logging::Line revocation_line(revocation::Operation operation, std::string_view subject, X509* cert,
                              const revocation::Decision& decision);

}  // namespace milter
