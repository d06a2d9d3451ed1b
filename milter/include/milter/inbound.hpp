// Inbound processing: decrypt, verify, tell, harvest — one message as a Verdict.
//
// Contract: process_inbound() reads the job's message, keystore and (when given) revocation checker,
// and returns a Verdict with every change fully built before it returns. Internal failures throw and the
// pipeline's guard (pipeline.hpp) answers them with the configured failure action. Failures
// of the S/MIME content are *results* (headers, and the action configured for their class), not
// errors: a message that cannot be decrypted or verified is delivered unchanged apart from the result
// headers unless inbound.actions says otherwise. Only internal failures (spool I/O, OpenSSL out of
// memory, bugs) use failure_actions.internal, and an unavailable keystore failure_actions.keystore.
//
// What happens, in order:
//  1. Forged results removed: every Authentication-Results field whose authserv-id equals ours
//     (case-insensitive), and every copy of the three simple headers (inbound.headers) and of the
//     trace header, are deleted whatever the outcome (so a sender can never pre-set a verdict).
//  2. Decrypt (inbound.decrypt): a top-level application/(x-)pkcs7-mime with smime-type
//     enveloped-data or authEnveloped-data (or no smime-type and a CMS that is one of those) is
//     decrypted with every gateway decryption key (keystore identities usable for encryption, old and
//     new, chosen by recipient identifier). The decrypted entity replaces the encrypted one: its
//     Content-* fields replace the outer ones, its body the message body. Not addressed to us
//     (wrong_key), corrupt or truncated: no change to content, decrypted=failed, action undecryptable.
//     CBC content (not AuthEnvelopedData) without a valid inner signature is "unauthenticated":
//     marked in the headers and the comment, action unauthenticated.
//  3. Verify (inbound.verify), on the (decrypted) root entity: multipart/signed, or pkcs7-mime
//     signed-data (opaque). Layers are unwrapped in any order (signed, encrypted, signed inside signed,
//     ...) up to inbound.max_layers (one more is permerror), each recognised by smime::classify (the
//     labels of RFC 8551 3.2.2 and the CMS content type) and each reported; the message passes only
//     when every layer passes. A signature that covers only a part of the message (signed part inside
//     an unsigned multipart) is not "signed": smime=neutral with the reason "signature covers only
//     part N". Several signers in one SignedData: every one must verify (a failing one is named); no
//     signer, content hidden in the signature part: permerror/fail with the reason smime::verify gives.
//     Decrypted or unwrapped content with LF or mixed line ends is read as CRLF; content with no
//     header block is delivered as text/plain (or application/octet-stream when it is not text).
//  4. Signer bound to the sender: one From header with one address; some email address of the signer
//     certificate equals it (local part exact, domain case-insensitive), or a domain certificate
//     (dNSName, one-label wildcard) covers the From domain. Otherwise smime=fail "signer does not
//     match From". Chain validated against keystore::trust_anchors (carried certificates as
//     intermediates), at `now`. A signer certificate the message does not carry is looked for among
//     the keystore's certificates for the From address.
//  5. Revocation (when a checker is given and config.revocation.enabled): the signer certificate;
//     revoked -> fail "signer certificate revoked (...)"; undetermined -> config.revocation.verify:
//     fail_closed = temperror, fail_open = pass with "revocation undetermined, accepted (fail-open)" in
//     the comment and log, tempfail = the message is tempfailed (failure class revocation).
//  6. Remove the signature when inbound.remove_signature, after a pass only (a failed signature stays
//     for the recipient to inspect): the signed entity replaces the multipart/signed or opaque entity.
//  7. Harvest (inbound.harvest.enabled) every verified signer through keystore::harvest, outcome
//     logged ("harvest=stored|updated|already-known|refused reason=...").
//  8. Headers added: one Authentication-Results (prepended, insert_first), RFC 8601 with method smime
//     (RFC 7281): "<authserv-id>; smime=<result> body.smime-identifier=<signer address> (<reason>)",
//     or "<authserv-id>; none" for a message without S/MIME; and the three simple headers.
//  9. The action of the worst result class (quarantine sets Verdict::quarantine with the reason;
//     reject or tempfail with the status of the class: failure.hpp's table of inbound classes).
//
// Result values (smime=): pass (every layer verified, signer bound to From, not revoked), fail (bad
// signature, untrusted chain, mismatch, revoked), neutral (signed part only), temperror (revocation
// undetermined under fail-closed), permerror (malformed S/MIME or MIME), none (not signed).
//
// Decisions:
//  - One Authentication-Results field with one smime result: the worst layer's (fail > permerror >
//    temperror > neutral > pass); its identifier is that layer's (the inner one on ties, the author's).
//    The comment lists every layer ("outer: verified; inner: verified") and what decryption did
//    ("decrypted aes256-gcm", "not decrypted: ...", "unauthenticated: ..."). Encrypted but not signed
//    inside, or not decryptable: "smime=none (<what decryption did>)"; "; none" only without any S/MIME.
//  - body.smime-identifier: the From address for an e-mail match, the From domain for a domain
//    certificate, else (fail) the signer certificate's first address or dNSName; omitted without a signer.
//  - The three simple headers: smime = yes when the root (or the decrypted content) is S/MIME (a signed
//    part only is "no"); verified = failed for every signed result other than pass.
//  - Several classes can apply (undecryptable and fail, say): the strongest action wins (reject >
//    tempfail > quarantine > deliver), with that class's reply status. With reject or tempfail the verdict
//    carries no header edits (nothing is applied) and nobody is harvested.
//  - A revocation decision comes from revocation::decide() (revocation/decision.hpp), logged here; a
//    revoked or undetermined (fail-closed, tempfail) signer is not harvested.
//  - An internal failure whose failure action is accept still removes the forged results and adds
//    "smime=temperror (internal error)".
//  - The From binding must hold for at least one signature layer, whose signer is the identifier; the
//    other layers' signers are named in the comment.
#pragma once

#include <ctime>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "keystore/store.hpp"
#include "milter/job.hpp"
#include "milter/message.hpp"

namespace revocation {
class Checker;
}

namespace milter {

// Throws on internal failures; run it through guarded() (pipeline.hpp).
Verdict process_inbound(Job& job);

// For tests and tools: a Job of the arguments, run through the pipeline's guard.
Verdict process_inbound(const conf::Config& config, keystore::Store& store, revocation::Checker* revocation,
                        const Message& message, std::time_t now);

// For an inbound message delivered without processing (a failure before the pipeline ran whose action is
// accept): the forged results removed, and "<authserv-id>; smime=temperror (<reason>)" prepended.
std::vector<HeaderEdit> unprocessed_inbound_edits(const conf::Config& config,
                                                  const smime::mime::HeaderList& headers,
                                                  const std::string& reason);

}  // namespace milter
