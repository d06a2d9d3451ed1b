#include "milter/revocation_service.hpp"

#include "milter/metrics.hpp"
#include "milter/settings.hpp"
#include "smime/cert.hpp"

namespace milter {

std::shared_ptr<revocation::Checker> RevocationService::checker_for(const conf::Config& config) {
  if (!config.revocation.enabled) return nullptr;
  std::lock_guard lock(mutex_);
  if (!checker_ || !settings_ || !(*settings_ == config.revocation)) {
    checker_ = std::make_shared<revocation::Checker>(settings::revocation_options(config.revocation));
    settings_ = config.revocation;
  }
  return checker_;
}

logging::Line revocation_line(revocation::Operation operation, std::string_view subject, X509* cert,
                              const revocation::Decision& d) {
  const std::string_view source =
      d.answer.source ? revocation::to_string(*d.answer.source) : std::string_view("none");
  metrics::count("smime_revocation_answers_total",
                 {{"status", revocation::to_string(d.answer.status)}, {"source", source}});
  logging::Line line("revocation");
  line.add("op", revocation::to_string(operation))
      .add("subject", subject)
      .add("certificate", smime::fingerprint_sha256(cert))
      .add("status", revocation::to_string(d.answer.status));
  if (d.answer.status == revocation::Status::undetermined)
    line.add("why", revocation::to_string(d.answer.why));
  line.add("source", source);
  if (!d.answer.url.empty()) line.add("url", d.answer.url);
  return line.add("cached", d.answer.from_cache)
      .add("decision", revocation::to_string(d.use))
      .add("reason", d.reason);
}

}  // namespace milter
