// Outbound processing: sign and/or encrypt one message according to a profile, as a Verdict.
//
// Contract: process_outbound() reads the message and the keystore and returns a Verdict holding every
// change (header edits, new body, recipients to remove, the split copy), fully built before it
// returns; on any failure it returns the configured failure action and no changes, so nothing is ever
// half-rewritten. It never throws. Only certificate bookkeeping (Store::mark_used) writes to the store,
// after the new message is complete; a failure there is logged and does not fail the message.
//
// Failure classes and their actions (conf::FailureActions):
//  - signing: the profile signs and no signing identity can be found or loaded  -> `signing`
//             (default reject 550 5.7.1): a message is never sent unsigned instead;
//  - no certificate under missing_certificate = bounce                          -> `no_certificate`
//             (default reject 550 5.7.1 naming the recipients);
//  - smime::Error(bad_input) (malformed MIME, limits)                           -> `bad_input`;
//  - keystore::Error(store) (database unavailable)                              -> `keystore`;
//  - a recipient certificate whose revocation status is undetermined under
//    revocation.encrypt = tempfail                                                  -> tempfail (451 4.7.0);
//  - anything else (I/O on the spool, OpenSSL failures, bugs)                   -> `internal`.
// reject answers 550 5.7.1, tempfail 451 4.7.0, each with the reason; discard drops the message;
// accept delivers it unchanged.
//
// Decisions:
//  - Signing identity by the policy sender (policy.hpp: envelope sender, From for the null sender):
//    sender-domain looks up the gateway identities for the sender's domain (a certificate naming the
//    domain as dNSName, then a wildcard covering it); sender-address for the sender's own address
//    and only that (a certificate naming the address; no fallback to a domain certificate, otherwise
//    the two kinds would be the same); a fingerprint names the certificate, which must be a gateway
//    identity valid now and fit for signing. Keys are loaded without a passphrase (the configuration
//    has none yet; an encrypted key is a signing failure "locked key").
//  - missing_certificate = split with no recipient holding a certificate: there is nobody to encrypt
//    for and nobody to split off, so the message goes to everybody in this transaction as under
//    `plain` (signed if the profile signs), logged as such. Likewise `drop` drops the whole message
//    (every recipient), as the issue says, and `plain` sends to all unencrypted (signed if asked).
//  - Revocation (when a checker is given): each chosen recipient certificate is checked
//    (revocation_decision.hpp; the issuer is looked for among the keystore's trust anchors). Revoked,
//    or undetermined under fail-closed: the recipient counts as without certificate, so the profile's
//    missing_certificate applies (bounce names it "(certificate revoked)" / "(revocation undetermined)").
//    Fail-open: encrypted to it, a warning logged and the trace header says so.
//  - The split copy is the original content, signed when the profile signs (the inner signature for
//    triple), with the original routing headers; its delivery is the callback layer's (re-injection).
#pragma once

#include <ctime>
#include <string>

#include "conf/config.hpp"
#include "keystore/store.hpp"
#include "milter/message.hpp"

namespace revocation {
class Checker;
}

namespace milter {

// `revocation`: the checker for recipient certificates; null = not checked.
Verdict process_outbound(const conf::Config& config, keystore::Store& store, revocation::Checker* revocation,
                         const Message& message, const conf::Profile& profile, std::time_t now);

enum class FailureClass { internal, keystore, no_certificate, bad_input, signing, revocation };
std::string_view to_string(FailureClass c);

// The verdict of a failure: the configured action for the class, the SMTP reply for reject/tempfail
// (550 5.7.1 / 451 4.7.0 with the reason), and a log line "failure=CLASS action=ACTION reason=...".
Verdict failure_verdict(const conf::Config& config, FailureClass failure_class, const std::string& reason);

// True when the top-level Content-Type is multipart/signed or application/(x-)pkcs7-mime.
bool already_protected(const smime::mime::HeaderList& headers);

}  // namespace milter
