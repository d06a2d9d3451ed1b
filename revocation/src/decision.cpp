#include "revocation/decision.hpp"

namespace revocation {

std::string_view to_string(Operation o) { return o == Operation::encrypt ? "encrypt" : "verify"; }

std::string_view to_string(Use u) {
  switch (u) {
    case Use::use:
      return "use";
    case Use::use_fail_open:
      return "use-fail-open";
    case Use::refuse_revoked:
      return "refuse-revoked";
    case Use::refuse_undetermined:
      return "refuse-fail-closed";
    case Use::tempfail:
      return "tempfail";
  }
  return "?";
}

namespace {

Answer undetermined(Why why, std::string reason, std::time_t now) {
  Answer a;
  a.status = Status::undetermined;
  a.why = why;
  a.checked_at = now;
  a.reason = std::move(reason);
  return a;
}

// The answer for `cert`: from the checker when its issuer is known; without an issuer, the local
// revocations by hand, else no source at all is still "no distribution point" (the issuer would not
// matter), anything else "no issuer".
Answer answer_for(Checker& checker, X509* cert, const std::vector<smime::X509Ptr>& candidates,
                  std::time_t now) {
  if (smime::X509Ptr issuer = find_issuer(cert, candidates)) return checker.check(cert, issuer.get(), now);
  if (std::optional<Answer> local = checker.local(cert, nullptr, now)) return *local;  // revoked by hand
  if (!names_revocation_source(cert))
    return undetermined(Why::no_distribution_point,
                        "undetermined: the certificate names no OCSP responder and no CRL", now);
  return undetermined(Why::no_issuer,
                      "undetermined: the issuer certificate is not in the keystore (add it with "
                      "smime-keystore trust)",
                      now);
}

void apply_undetermined(Undetermined setting, Decision& d) {
  const std::string why = "revocation status could not be determined (" + d.answer.reason + ")";
  switch (setting) {
    case Undetermined::fail_closed:
      d.use = Use::refuse_undetermined;
      d.reason = why + "; refused (fail-closed)";
      return;
    case Undetermined::fail_open:
      d.use = Use::use_fail_open;
      d.reason = why + "; used (fail-open)";
      return;
    case Undetermined::tempfail:
      d.use = Use::tempfail;
      d.reason = why;
      return;
  }
}

}  // namespace

Decision decide(const Policy& policy, Operation operation, Checker& checker, X509* cert,
                const std::vector<smime::X509Ptr>& issuer_candidates, std::time_t now) {
  Decision d;
  d.answer = answer_for(checker, cert, issuer_candidates, now);
  switch (d.answer.status) {
    case Status::good:
      d.use = Use::use;
      d.reason = "not revoked";
      break;
    case Status::revoked:
      d.use = Use::refuse_revoked;
      d.reason = d.answer.reason.empty() ? "certificate revoked" : d.answer.reason;
      break;
    case Status::undetermined:
      if (d.answer.why == Why::no_distribution_point && policy.no_distribution_point_is_good &&
          !names_revocation_source(cert)) {
        d.use = Use::use;
        d.reason = "no revocation source; taken as good (revocation.no_distribution_point)";
        break;
      }
      apply_undetermined(operation == Operation::encrypt ? policy.encrypt : policy.verify, d);
      break;
  }
  return d;
}

}  // namespace revocation
