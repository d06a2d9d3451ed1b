// Verification of detached (multipart/signed) and opaque (application/pkcs7-mime signed-data)
// signatures. Verdicts are returned, not thrown: a bad signature is an answer, not an error.
// Only internal failures (I/O, out of memory) throw.
//
// What is checked, in order, each giving its own status and a reason:
//  - structure: multipart/signed has exactly two parts, the second is application/pkcs7-signature
//    holding a detached SignedData (content inside the signature part is refused), the protocol
//    parameter matches, micalg names the digests the signers used; opaque: smime-type signed-data;
//  - at least one signer;
//  - every signature over the content (message digest and signed attributes);
//  - every signer's certificate chain to a trust anchor, for S/MIME signing, at `at_time`.
#pragma once

#include <ctime>
#include <optional>
#include <string>
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
};
std::string_view to_string(VerifyStatus s);

struct VerifyOptions {
  std::vector<X509Ptr> anchors;        // trust anchors
  std::vector<X509Ptr> intermediates;  // untrusted certificates to help build chains
  std::optional<std::time_t> at_time;  // validation time; default now
  mime::Limits limits;
};

struct SignerResult {
  X509Ptr cert;  // null if the signer's certificate was not found
  std::vector<std::string> emails;
  std::optional<std::time_t> signing_time;
  Capabilities capabilities;
  std::string digest;  // e.g. "sha256"
  bool chain_ok = false;
  std::string chain_error;  // OpenSSL's verify error text when !chain_ok
};

struct VerifyResult {
  VerifyStatus status = VerifyStatus::malformed;
  std::string reason;
  bool detached = false;
  std::vector<SignerResult> signers;
  std::vector<X509Ptr> certificates;  // every certificate the SignedData carried
  bool ok() const { return status == VerifyStatus::valid; }
};

// Verifies `entity` (multipart/signed or application/pkcs7-mime signed-data). The signed content
// (the MIME entity that was signed, headers included) is written to content_out when given and the
// structure allowed it to be found, whatever the verdict.
VerifyResult verify(const Source& src, const mime::Entity& entity, const VerifyOptions& options,
                    Sink* content_out = nullptr);

}  // namespace smime
