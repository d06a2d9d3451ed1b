#include "milter/revocation_service.hpp"

#include <stdexcept>

#include "milter/local_revocation.hpp"
#include "milter/metrics.hpp"
#include "milter/settings.hpp"
#include "smime/cert.hpp"

namespace milter {

namespace {

void purge_expired(KeystoreCacheStore& cache) {
  try {
    const std::int64_t n = cache.purge_if_due(std::time(nullptr));
    if (n > 0) logging::info("smime-milter", logging::Line("revocation-cache").add("purged", n).str());
  } catch (const std::exception& e) {
    logging::warning("smime-milter",
                     logging::Line("revocation-cache").add("purge", "failed").add("error", e.what()).str());
  }
}

}  // namespace

std::shared_ptr<revocation::Checker> RevocationService::checker_for(
    const conf::Config& config, std::shared_ptr<keystore::StorePool> keystore) {
  if (!config.revocation.enabled) return nullptr;
  const bool in_keystore = config.revocation.cache == conf::RevocationCache::keystore;
  if (in_keystore && !keystore)
    throw std::logic_error("revocation.cache \"keystore\" needs the keystore's pool");
  std::shared_ptr<KeystoreCacheStore> cache;
  std::shared_ptr<revocation::Checker> checker;
  {
    std::lock_guard lock(mutex_);
    if (!checker_ || !settings_ || !(*settings_ == config.revocation) || pool_ != keystore) {
      revocation::Options options = settings::revocation_options(config.revocation);
      if (keystore) options.local_source = std::make_shared<KeystoreLocalSource>(keystore);
      cache_ = in_keystore ? std::make_shared<KeystoreCacheStore>(keystore) : nullptr;
      options.cache_store = cache_;
      checker_ = std::make_shared<revocation::Checker>(std::move(options));
      settings_ = config.revocation;
      pool_ = std::move(keystore);
    }
    cache = cache_;
    checker = checker_;
  }
  if (cache) purge_expired(*cache);
  return checker;
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
