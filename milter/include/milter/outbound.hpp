// Outbound processing: sign and/or encrypt one message according to a profile, as a Verdict.
//
// Contract: process_outbound() reads the job's message and keystore and returns a Verdict holding every
// change (header edits, new body, recipients to remove, the split copy), fully built before it returns.
// A failure throws (a Failure of its class, keystore::Error, smime::Error) and the pipeline's guard
// (pipeline.hpp) turns it into the configured failure action with no changes, so nothing is ever
// half-rewritten. Only certificate bookkeeping (Store::mark_used) writes to the store, after the new
// message is complete and only when the job has side effects; a failure there is logged and does not
// fail the message.
//
// Failure classes (failure.hpp has their actions and replies):
//  - signing: the profile signs and its identity cannot be used (expired, unusable, a key that does not
//    load), or none exists under missing_identity = reject; with the default missing_identity = pass a
//    sender without any signing identity is passed unsigned and logged (system mail from root@, say);
//  - no_certificate: recipients without a usable certificate under missing_certificate = bounce (the
//    reply names them);
//  - bad_input: malformed MIME, limits;  keystore: the database is unavailable;
//  - revocation: a recipient certificate whose revocation status is undetermined under
//    revocation.encrypt = tempfail;
//  - internal: anything else (I/O on the spool, OpenSSL failures, bugs).
//
// Decisions:
//  - Signing identity by the policy sender (policy.hpp: envelope sender, From for the null sender):
//    sender-domain looks up the gateway identities for the sender's domain (a certificate naming the
//    domain as dNSName, then a wildcard covering it); sender-address for the sender's own address
//    and only that (a certificate naming the address; no fallback to a domain certificate, otherwise
//    the two kinds would be the same); a fingerprint names the certificate, which must be a gateway
//    identity valid now and fit for signing. Encrypted keys are loaded with the configured key
//    passphrase (Job::key_passphrase); without it, or with a wrong one, a signing failure "locked key".
//  - missing_certificate = split with no recipient holding a certificate: there is nobody to encrypt
//    for and nobody to split off, so the message goes to everybody in this transaction as under
//    `plain` (signed if the profile signs), logged as such. Likewise `drop` drops the whole message
//    (every recipient), and `plain` sends to all unencrypted (signed if asked).
//  - Revocation (when the job has a checker): each chosen recipient certificate is checked
//    (revocation/decision.hpp; the issuer is looked for among the keystore's trust anchors). Revoked,
//    or undetermined under fail-closed: the recipient counts as without certificate, so the profile's
//    missing_certificate applies (bounce names it "(certificate revoked)" / "(revocation undetermined)").
//    Fail-open: encrypted to it, a warning logged and the trace header says so.
//  - The split copy is the original content, signed when the profile signs (the inner signature for
//    triple), with the original routing headers; its delivery is the callback layer's (re-injection).
#pragma once

#include <ctime>

#include "conf/config.hpp"
#include "keystore/store.hpp"
#include "milter/job.hpp"
#include "milter/message.hpp"

namespace revocation {
class Checker;
}

namespace milter {

// Throws on failure (see above); run it through guarded() (pipeline.hpp).
Verdict process_outbound(Job& job, const conf::Profile& profile);

// For tests and tools: a Job of the arguments, run through the pipeline's guard.
Verdict process_outbound(const conf::Config& config, keystore::Store& store, revocation::Checker* revocation,
                         const Message& message, const conf::Profile& profile, std::time_t now);

// True when the top-level Content-Type is multipart/signed or application/(x-)pkcs7-mime.
bool already_protected(const smime::mime::HeaderList& headers);

}  // namespace milter
