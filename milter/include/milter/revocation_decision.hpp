// The policy edge of revocation: what a revocation answer means for one operation (encrypting to a
// recipient, accepting a signer), decided here and only here, and logged with the certificate, the
// source consulted and the reason.
//
//  - good                                       -> use
//  - revoked                                    -> refuse, always (no setting can change it)
//  - undetermined, operation's setting:
//      fail-closed -> refuse (encryption: the recipient counts as without certificate; a signer is temperror)
//      fail-open   -> use, with a warning in the log and a mark on the message
//      tempfail    -> the whole message is tempfailed
//  - undetermined because the certificate names no OCSP responder and no CRL, with
//    revocation.no_distribution_point = "good"                -> use (logged as such)
#pragma once

#include <ctime>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "revocation/revocation.hpp"
#include "smime/ossl.hpp"

namespace milter {

enum class RevocationUse { use, use_fail_open, refuse_revoked, refuse_undetermined, tempfail };

struct RevocationDecision {
  RevocationUse use = RevocationUse::use;
  revocation::Answer answer;
  std::string log;     // "revocation op=encrypt subject=... certificate=FP status=... source=... decision=...
                       // reason=..."
  std::string reason;  // short human text for headers, replies and trace: "revoked (keyCompromise) ...",
                       // "revocation status undetermined: ...; used under fail-open"
  bool usable() const { return use == RevocationUse::use || use == RevocationUse::use_fail_open; }
};

enum class RevocationOperation { encrypt, verify };

// Checks `cert` (its issuer is looked for among `issuer_candidates`) and applies the configured meaning.
// `subject` names what the certificate is used for (the recipient address, or the signer) in the log.
RevocationDecision decide_revocation(const conf::Revocation& config, RevocationOperation operation,
                                     revocation::Checker& checker, X509* cert,
                                     const std::vector<smime::X509Ptr>& issuer_candidates,
                                     const std::string& subject, std::time_t now);

}  // namespace milter
