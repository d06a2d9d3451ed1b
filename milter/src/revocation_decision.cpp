#include "milter/revocation_decision.hpp"

#include "smime/cert.hpp"

namespace milter {

namespace {

std::string_view use_name(RevocationUse u) {
  switch (u) {
    case RevocationUse::use:
      return "use";
    case RevocationUse::use_fail_open:
      return "use-fail-open";
    case RevocationUse::refuse_revoked:
      return "refuse-revoked";
    case RevocationUse::refuse_undetermined:
      return "refuse-fail-closed";
    case RevocationUse::tempfail:
      return "tempfail";
  }
  return "?";
}

// Log values never carry quotes or control characters.
std::string clean(std::string_view text) {
  std::string out;
  for (char c : text) out += (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == 0x7f) ? ' ' : c;
  return out.size() > 300 ? out.substr(0, 300) + "..." : out;
}

}  // namespace

RevocationDecision decide_revocation(const conf::Revocation& config, RevocationOperation operation,
                                     revocation::Checker& checker, X509* cert,
                                     const std::vector<smime::X509Ptr>& issuer_candidates,
                                     const std::string& subject, std::time_t now) {
  RevocationDecision d;
  smime::X509Ptr issuer = revocation::find_issuer(cert, issuer_candidates);
  if (issuer) {
    d.answer = checker.check(cert, issuer.get(), now);
  } else if (!revocation::names_revocation_source(cert)) {  // the issuer would not matter
    d.answer.status = revocation::Status::undetermined;
    d.answer.why = revocation::Why::no_distribution_point;
    d.answer.checked_at = now;
    d.answer.reason = "undetermined: the certificate names no OCSP responder and no CRL";
  } else {
    d.answer.status = revocation::Status::undetermined;
    d.answer.why = revocation::Why::no_issuer;
    d.answer.checked_at = now;
    d.answer.reason =
        "undetermined: the issuer certificate is not in the keystore (add it with "
        "smime-keystore trust)";
  }
  const conf::Undetermined policy =
      operation == RevocationOperation::encrypt ? config.encrypt : config.verify;
  switch (d.answer.status) {
    case revocation::Status::good:
      d.use = RevocationUse::use;
      d.reason = "not revoked";
      break;
    case revocation::Status::revoked:
      d.use = RevocationUse::refuse_revoked;
      d.reason = d.answer.reason.empty() ? "certificate revoked" : d.answer.reason;
      break;
    case revocation::Status::undetermined:
      if (d.answer.why == revocation::Why::no_distribution_point && config.no_distribution_point_is_good &&
          !revocation::names_revocation_source(cert)) {
        d.use = RevocationUse::use;
        d.reason = "no revocation source; taken as good (revocation.no_distribution_point)";
        break;
      }
      switch (policy) {
        case conf::Undetermined::fail_closed:
          d.use = RevocationUse::refuse_undetermined;
          d.reason =
              "revocation status could not be determined (" + d.answer.reason + "); refused (fail-closed)";
          break;
        case conf::Undetermined::fail_open:
          d.use = RevocationUse::use_fail_open;
          d.reason = "revocation status could not be determined (" + d.answer.reason + "); used (fail-open)";
          break;
        case conf::Undetermined::tempfail:
          d.use = RevocationUse::tempfail;
          d.reason = "revocation status could not be determined (" + d.answer.reason + ")";
          break;
      }
      break;
  }
  d.log = std::string("revocation op=") + (operation == RevocationOperation::encrypt ? "encrypt" : "verify") +
          " subject=" + clean(subject) + " certificate=" + smime::fingerprint_sha256(cert) +
          " status=" + std::string(revocation::to_string(d.answer.status)) +
          (d.answer.status == revocation::Status::undetermined
               ? " why=" + std::string(revocation::to_string(d.answer.why))
               : std::string()) +
          " source=" +
          (d.answer.source ? std::string(revocation::to_string(*d.answer.source)) : std::string("none")) +
          (d.answer.url.empty() ? std::string() : " url=" + clean(d.answer.url)) +
          " cached=" + (d.answer.from_cache ? "yes" : "no") + " decision=" + std::string(use_name(d.use)) +
          " reason=\"" + clean(d.reason) + "\"";
  return d;
}

}  // namespace milter
