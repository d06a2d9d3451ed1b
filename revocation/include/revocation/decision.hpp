// The policy edge of revocation: what an answer means for one operation (encrypting to a recipient,
// accepting a signer), decided here and only here.
//
//  - good                                       -> use
//  - revoked                                    -> refuse, always (no setting can change it)
//  - undetermined, the operation's setting:
//      fail-closed -> refuse (encryption: the recipient counts as without certificate; a signer is temperror)
//      fail-open   -> use, with a warning in the log and a mark on the message
//      tempfail    -> the whole message is tempfailed
//  - undetermined because the certificate names no OCSP responder and no CRL, with
//    Policy::no_distribution_point_is_good                -> use (logged as such)
//
// The caller logs the decision (milter: one "revocation op=..." line per decision; smime-keystore
// revocation prints it), so every decision is visible with its certificate, source and reason.
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "revocation/revocation.hpp"
#include "smime/ossl.hpp"

namespace revocation {

// What "undetermined" means for an operation.
enum class Undetermined { fail_closed, fail_open, tempfail };

struct Policy {
  Undetermined encrypt = Undetermined::fail_closed;  // encrypting to a recipient
  Undetermined verify = Undetermined::fail_closed;   // accepting a signer
  bool no_distribution_point_is_good = false;
};

enum class Operation { encrypt, verify };
enum class Use { use, use_fail_open, refuse_revoked, refuse_undetermined, tempfail };

std::string_view to_string(Operation o);  // "encrypt", "verify"
std::string_view to_string(
    Use u);  // "use", "use-fail-open", "refuse-revoked", "refuse-fail-closed", "tempfail"

struct Decision {
  Use use = Use::use;
  Answer answer;
  std::string reason;  // short human text for headers, replies and trace: "revoked (keyCompromise) ...",
                       // "revocation status could not be determined (...); used (fail-open)"
  bool usable() const { return use == Use::use || use == Use::use_fail_open; }
};

// Checks `cert` (its issuer is looked for among `issuer_candidates`; its signature must verify) and
// applies the policy for `operation`.
Decision decide(const Policy& policy, Operation operation, Checker& checker, X509* cert,
                const std::vector<smime::X509Ptr>& issuer_candidates, std::time_t now);

}  // namespace revocation
