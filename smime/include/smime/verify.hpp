// Verification of detached (multipart/signed) and opaque (application/pkcs7-mime signed-data)
// signatures. Verdicts are returned, not thrown: a bad signature is an answer, not an error.
// Only internal failures (I/O, out of memory) throw.
//
// What is checked, in order, each giving its own status and a reason:
//  - structure: multipart/signed has exactly two parts, the second is application/pkcs7-signature
//    holding a detached SignedData (content inside the signature part is refused), the protocol
//    parameter matches, micalg names every digest the signers used (a list such as
//    "sha-256,sha-384" for several signers); opaque: smime-type signed-data;
//  - at least one signer;
//  - then every SignerInfo on its own, each getting a SignerResult with its own status and reason:
//    its certificate is found (in the message or the caller's intermediates), else untrusted; its
//    digest, signature algorithm and key type are ones this OpenSSL verifies, else unsupported
//    ("unsupported algorithm ED25519"); the signature over the content (message digest and signed
//    attributes, contentType included), else bad_signature; the algorithm policy for the digest,
//    the signature algorithm and the signer's key, else weak; its chain to a trust anchor for
//    S/MIME signing at `at_time`, else untrusted; the policy for every key of that chain and every
//    certificate signature in it (the anchor's own signature excepted: trust in an anchor does not
//    rest on it), else weak.
//  - VerifyResult.status is valid only when every signer is valid; otherwise it is the status of
//    the worst signer (bad_signature, then unsupported, weak, untrusted), the first one of that
//    status, and the reason names it: "signer alice@example.org: ..." for one signer,
//    "signer 2 of 3 (carol@example.org): ..." for several (the certificate's first e-mail address,
//    else its subject). Reasons are plain words fit for a header, except bad_signature's, which end
//    with OpenSSL's error queue (for logs only).
//
// Trust anchors need not be self-signed: an intermediate CA or an end-entity certificate given as an
// anchor ends the chain there (partial chain). The content is read once for all signers.
// content_out receives exactly the bytes that were signed: for an opaque signature the eContent
// octets as they are (bare LF or mixed line ends included; no canonicalisation), for a detached one
// the first part in canonical CRLF form (the form the signature is verified over).
#pragma once

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smime/algorithms.hpp"
#include "smime/io.hpp"
#include "smime/mime.hpp"
#include "smime/ossl.hpp"

namespace smime {

enum class VerifyStatus {
  valid,          // signature and chain good
  bad_signature,  // digest or signature does not match the content
  untrusted,      // signature good, but a signer's chain does not validate (reason says why)
  no_signer,      // SignedData without any SignerInfo
  malformed,      // structure refused (see reason)
  weak,           // an algorithm or key below the AlgorithmPolicy: "weak digest: sha1",
                  // "weak key: RSA 512 bits (minimum 112-bit security)"
  unsupported,    // an algorithm this OpenSSL cannot verify: "unsupported algorithm ED25519"
};
std::string_view to_string(VerifyStatus s);  // "valid", "bad-signature", ..., "weak", "unsupported"

enum class Sha1Policy { refuse, accept };
std::string_view to_string(Sha1Policy p);                             // "refuse", "accept"
std::optional<Sha1Policy> sha1_policy_from_string(std::string_view);  // "refuse" or "accept"

// What a signature and its chain must be made of. MD5 is refused everywhere whatever the policy.
struct AlgorithmPolicy {
  // The signer's key and every key of its chain (the anchor's included): RSA and DSA of 2048 bits
  // give 112, EC keys half their order's bits (P-256: 128); Ed25519 128.
  int min_security_bits = 112;
  // SHA-1 as the CMS digest, in the signature algorithm, or in a chain certificate's signature.
  Sha1Policy sha1 = Sha1Policy::refuse;
};

struct VerifyOptions {
  std::vector<X509Ptr> anchors;  // trust anchors: self-signed roots, intermediates, end entities
  // The anchors made into a store once (make_trust_store), shared by every verification; when set,
  // `anchors` is not read.
  std::shared_ptr<X509_STORE> trust_store;
  std::vector<X509Ptr> intermediates;  // untrusted certificates to help build chains
  std::optional<std::time_t> at_time;  // validation time; default now
  mime::Limits limits;
  AlgorithmPolicy algorithms;
};

struct SignerResult {
  VerifyStatus status = VerifyStatus::malformed;  // valid, bad_signature, untrusted, weak or unsupported
  std::string reason;  // why, when not valid (without the "signer ..." prefix of VerifyResult.reason)
  X509Ptr cert;        // null if the signer's certificate was not found
  std::vector<std::string> emails;
  std::optional<std::time_t> signing_time;
  Capabilities capabilities;
  std::string digest;               // e.g. "sha256"; OpenSSL's name or the dotted OID if unknown to us
  std::string signature_algorithm;  // e.g. "rsaEncryption", "rsassaPss", "ecdsa-with-SHA384", "ED25519"
  bool chain_ok = false;            // the chain validated (its algorithms may still be weak)
  std::string chain_error;          // OpenSSL's verify error text when !chain_ok
  bool ok() const { return status == VerifyStatus::valid; }
};

struct VerifyResult {
  VerifyStatus status = VerifyStatus::malformed;
  std::string reason;
  bool detached = false;
  std::vector<SignerResult> signers;  // in the order of the SignerInfos
  std::vector<X509Ptr> certificates;  // every certificate the SignedData carried
  bool ok() const { return status == VerifyStatus::valid; }
};

// Verifies `entity` (multipart/signed, or signed-data in an entity carries_cms() accepts). The signed content
// (the MIME entity that was signed, headers included) is written to content_out when given and the
// structure allowed it to be found, whatever the verdict.
// A trust store of `anchors` (partial chains allowed: any anchor ends a chain), for
// VerifyOptions::trust_store. Thread-safe to share once made.
std::shared_ptr<X509_STORE> make_trust_store(const std::vector<X509Ptr>& anchors);

VerifyResult verify(const Source& src, const mime::Entity& entity, const VerifyOptions& options,
                    Sink* content_out = nullptr);

}  // namespace smime
