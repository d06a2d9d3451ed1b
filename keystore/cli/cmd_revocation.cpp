// `smime-keystore revocation CERT|ADDRESS`: the revocation status of a certificate as the milter would
// see it — status, the source consulted (the keystore's local CRLs and revocations by hand first) and
// the reason, what each operation would do with it under the configured policy, and the cache entries.
// Same checker, options and cache directory as the milter (read from its configuration file), so the
// answer and the cache are the milter's own.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "conf/config.hpp"
#include "conf/error.hpp"
#include "context.hpp"
#include "format.hpp"
#include "keystore/error.hpp"
#include "keystore/lookup.hpp"
#include "milter/keystore_cache_store.hpp"
#include "milter/local_revocation.hpp"
#include "milter/settings.hpp"
#include "revocation/decision.hpp"
#include "revocation/revocation.hpp"
#include "smime/cert.hpp"
#include "smime/error.hpp"

namespace cli {

namespace {

constexpr const char* kDefaultConfig = "/etc/smime-milter/smime-milter.json";

conf::Config load_config(const Context& c) {
  if (auto path = c.args.one("config")) return conf::load(*path);
  if (std::filesystem::exists(kDefaultConfig)) return conf::load(kDefaultConfig);
  return conf::parse("{}", "<defaults>");
}

struct Subject {
  smime::X509Ptr cert;
  std::string label;                   // address, fingerprint or file as given
  std::vector<smime::X509Ptr> others;  // certificates from the same file (issuer candidates)
};

// The certificates a selector names: a file (PEM/DER, the first certificate is checked, the others
// help to find its issuer), an e-mail address (the certificate encryption would use, else every
// certificate stored for it), or a fingerprint (prefix).
std::vector<Subject> subjects(Context& c, const std::string& selector) {
  std::vector<Subject> out;
  std::error_code ec;
  if (std::filesystem::is_regular_file(selector, ec)) {
    std::ifstream in(selector, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    auto certs = smime::load_certificates(ss.str());
    if (certs.empty()) throw smime::Error(smime::ErrorKind::bad_input, "no certificate in " + selector);
    Subject s;
    s.cert = smime::share(certs.front().get());
    s.label = selector;
    for (std::size_t i = 1; i < certs.size(); ++i) s.others.push_back(smime::share(certs[i].get()));
    out.push_back(std::move(s));
    return out;
  }
  if (selector.find('@') != std::string::npos) {
    keystore::LookupResult r = keystore::encryption_certificate(c.open(), selector, now());
    if (r.found()) {
      out.push_back({smime::share(r.chosen->cert.get()), selector, {}});
      return out;
    }
    for (auto& rec : keystore::verification_certificates(c.open(), selector))
      out.push_back({smime::share(rec.cert.get()), selector, {}});
    if (out.empty()) throw keystore::Error(keystore::ErrorKind::not_found, "no certificate for " + selector);
    return out;
  }
  keystore::CertRecord rec = c.select(selector);
  out.push_back({smime::share(rec.cert.get()), selector, {}});
  return out;
}

std::string opt_time(const std::optional<std::time_t>& t) {
  return t ? iso_time(static_cast<keystore::Time>(*t)) : std::string("-");
}

std::string_view policy_name(conf::Undetermined u) { return conf::to_string(u); }

std::string decision_text(const revocation::Decision& d) {
  switch (d.use) {
    case revocation::Use::use:
      return "used";
    case revocation::Use::use_fail_open:
      return "used with a warning (fail-open)";
    case revocation::Use::refuse_revoked:
      return "refused: revoked";
    case revocation::Use::refuse_undetermined:
      return "refused: undetermined (fail-closed)";
    case revocation::Use::tempfail:
      return "message tempfailed: undetermined (tempfail)";
  }
  return "?";
}

nlohmann::json answer_json(const revocation::Answer& a) {
  nlohmann::json j = {{"status", revocation::to_string(a.status)},
                      {"reason", a.reason},
                      {"url", a.url},
                      {"from_cache", a.from_cache},
                      {"stale", a.stale},
                      {"attempts", a.attempts}};
  if (a.status == revocation::Status::undetermined) j["why"] = revocation::to_string(a.why);
  j["source"] = a.source ? std::string(revocation::to_string(*a.source)) : std::string("none");
  if (a.revoked_at) j["revoked_at"] = opt_time(a.revoked_at);
  if (!a.revocation_reason.empty()) j["revocation_reason"] = a.revocation_reason;
  j["this_update"] = opt_time(a.this_update);
  j["next_update"] = opt_time(a.next_update);
  return j;
}

}  // namespace

int cmd_revocation(Context& c) {
  c.args.positional_count(1, 1);
  conf::Config config = load_config(c);
  revocation::Options options = milter::settings::revocation_options(config.revocation);
  // The keystore's own CRLs and revocations by hand, consulted first as the milter does; the revocation
  // cache in the keystore's database when the milter keeps it there.
  auto pool = std::make_shared<keystore::StorePool>(c.where, 1);
  options.local_source = std::make_shared<milter::KeystoreLocalSource>(pool);
  if (config.revocation.cache == conf::RevocationCache::keystore)
    options.cache_store = std::make_shared<milter::KeystoreCacheStore>(pool);
  const revocation::Policy policy = milter::settings::revocation_policy(config.revocation);
  revocation::Checker checker(options);
  const bool cached_only = c.args.flag("cached");
  const std::time_t t = static_cast<std::time_t>(now());

  std::vector<smime::X509Ptr> anchors = keystore::trust_anchors(c.open());
  nlohmann::json all = nlohmann::json::array();
  int worst = kOk;
  for (Subject& s : subjects(c, c.args.positional[0])) {
    std::vector<smime::X509Ptr> candidates;
    for (auto& o : s.others) candidates.push_back(smime::share(o.get()));
    for (auto& a : anchors) candidates.push_back(smime::share(a.get()));
    smime::X509Ptr issuer = revocation::find_issuer(s.cert.get(), candidates);

    revocation::Answer answer;
    if (cached_only) {
      std::optional<revocation::Answer> a =
          issuer ? checker.cached(s.cert.get(), issuer.get(), t) : checker.local(s.cert.get(), nullptr, t);
      if (a) {
        answer = *a;
      } else {
        answer.why = issuer ? revocation::Why::none : revocation::Why::no_issuer;
        answer.reason = issuer ? "nothing cached" : "the issuer certificate is not in the keystore";
      }
    }
    // The policy edge as the milter applies it, for both operations (the checker caches, so the second
    // call is answered from the first).
    revocation::Decision enc, ver;
    if (!cached_only) {
      enc = revocation::decide(policy, revocation::Operation::encrypt, checker, s.cert.get(), candidates, t);
      ver = revocation::decide(policy, revocation::Operation::verify, checker, s.cert.get(), candidates, t);
      answer = enc.answer;
    }
    std::vector<revocation::CacheEntry> entries =
        issuer ? checker.cache_entries(s.cert.get(), issuer.get()) : std::vector<revocation::CacheEntry>{};

    const int code = answer.status == revocation::Status::good      ? kOk
                     : answer.status == revocation::Status::revoked ? kRevoked
                                                                    : kUndetermined;
    worst = std::max(worst, code);
    const std::string fp = smime::fingerprint_sha256(s.cert.get());
    if (c.json()) {
      nlohmann::json j = {{"certificate", fp},
                          {"subject", smime::subject_name(s.cert.get())},
                          {"issuer", issuer ? smime::subject_name(issuer.get()) : std::string()},
                          {"answer", answer_json(answer)}};
      if (!cached_only) {
        j["encrypt"] = {{"policy", policy_name(config.revocation.encrypt)}, {"decision", decision_text(enc)}};
        j["verify"] = {{"policy", policy_name(config.revocation.verify)}, {"decision", decision_text(ver)}};
      }
      j["cache"] = nlohmann::json::array();
      for (const auto& e : entries)
        j["cache"].push_back({{"kind", e.kind},
                              {"key", e.key},
                              {"url", e.url},
                              {"file", e.file.string()},
                              {"stored", opt_time(e.stored_at)},
                              {"expires", opt_time(e.expires_at)},
                              {"this_update", opt_time(e.this_update)},
                              {"next_update", opt_time(e.next_update)}});
      all.push_back(std::move(j));
      continue;
    }
    std::cout << "certificate " << fp << "\n  subject " << smime::subject_name(s.cert.get()) << "\n  issuer  "
              << (issuer ? smime::subject_name(issuer.get())
                         : std::string("not found among the trust anchors"))
              << "\n  status  " << revocation::to_string(answer.status);
    if (answer.status == revocation::Status::undetermined)
      std::cout << " (" << revocation::to_string(answer.why) << ")";
    std::cout << "\n  source  "
              << (answer.source ? std::string(revocation::to_string(*answer.source)) : std::string("none"))
              << (answer.url.empty() ? "" : " " + answer.url)
              << (answer.source == revocation::Method::local
                      ? " (the keystore's CRLs and revocations by hand)"
                  : answer.from_cache ? " (from the cache)"
                  : cached_only       ? ""
                                      : " (fetched now)")
              << "\n  reason  " << answer.reason << "\n";
    if (answer.this_update || answer.next_update)
      std::cout << "  data    this update " << opt_time(answer.this_update) << ", next update "
                << opt_time(answer.next_update) << (answer.stale ? " (stale, within the grace period)" : "")
                << "\n";
    for (const auto& a : answer.attempts) std::cout << "  tried   " << a << "\n";
    if (!cached_only) {
      std::cout << "  encrypt " << decision_text(enc)
                << " (revocation.encrypt = " << policy_name(config.revocation.encrypt) << ")\n  verify  "
                << decision_text(ver) << " (revocation.verify = " << policy_name(config.revocation.verify)
                << ")\n";
    }
    if (entries.empty()) std::cout << "  cache   no entry\n";
    for (const auto& e : entries)
      std::cout << "  cache   " << e.kind << " " << (e.url.empty() ? e.key : e.url) << ", stored "
                << opt_time(e.stored_at) << ", until " << opt_time(e.expires_at)
                << (e.file.empty() ? "" : ", " + e.file.string()) << "\n";
  }
  if (c.json()) std::cout << all.dump(2) << "\n";
  return worst;
}

}  // namespace cli
