// The layers of an inbound message, one at a time: what an entity is (signed, encrypted, plain,
// malformed), and unwrapping one signature or one encryption into a finding and the content inside.
// Private to inbound.cpp, which walks the layers.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "milter/auth_results.hpp"
#include "milter/job.hpp"
#include "milter/signer_binding.hpp"
#include "smime/algorithms.hpp"
#include "smime/io.hpp"
#include "smime/mime.hpp"
#include "smime/ossl.hpp"
#include "smime/verify.hpp"

namespace milter::inbound {

// An entity to look at: its Content-* header fields and its body (for the root: the message body).
struct Content {
  smime::mime::HeaderList headers;
  smime::Source body = smime::Source::from_string({});
};

enum class Kind { plain, signed_entity, encrypted, malformed };

struct KindOf {
  Kind kind = Kind::plain;
  std::string reason;  // malformed: why, in words (for the comment)
  // Signed or encrypted: the entity as parsed to classify it, for the layer's step (parsed once).
  std::optional<smime::mime::Entity> entity;
};

// What an entity is (RFC 8551 section 3.2.2: the CMS content type decides, whatever the label says).
// Only entities whose Content-Type could carry S/MIME are parsed.
KindOf kind_of(const Content& c, const smime::mime::Limits& limits);

// The part number (IMAP style, "2", "1.3") of the first signed entity below the root, if any.
std::optional<std::string> signed_part(const smime::Source& src, const smime::mime::Entity& root);

// What decryption did to one layer.
struct DecryptionLayer {
  bool ok = false;
  std::string cipher;          // "aes256-gcm"
  bool authenticated = false;  // AuthEnvelopedData; CBC content is malleable
  std::string key;             // the gateway certificate's fingerprint that opened it
  std::string note;            // for the comment: "decrypted aes256-gcm", or why not (our words)
};

// Decrypts `c` with every gateway key into `found`; the enclosed entity, or nullopt when it cannot.
// `parsed` is `c` parsed with the configured limits (kind_of's), or null to parse it here.
std::optional<Content> decrypt_layer(Job& job, const Content& c, const smime::mime::Entity* parsed,
                                     DecryptionLayer& found);

// One signer of a signature layer.
struct SignerFinding {
  smime::X509Ptr cert;
  smime::VerifyStatus status = smime::VerifyStatus::malformed;
  std::string reason;  // why not valid, in words for the comment
  std::string label;   // the certificate's first address or dNSName
  Binding binding;     // to the From address
  std::optional<std::time_t> signing_time;
  smime::Capabilities capabilities;
  bool revoked_or_undetermined = false;  // refused by the revocation policy: never harvested
};

// One signature layer as verified. result pass: every signer verified (chain, algorithms, revocation);
// whether one of them is bound to From is `bound` (the From binding may hold on another layer).
struct SignatureLayer {
  std::string name;  // "signature"; "outer" / "inner"; "layer N" when there are more
  auth_results::Result result = auth_results::Result::permerror;
  std::string reason;
  std::string identifier;  // the bound identity, else the first signer's label
  bool bound = false;
  std::optional<smime::VerifyStatus> status;
  std::vector<SignerFinding> signers;
  std::vector<smime::X509Ptr> carried;
  bool revocation_tempfail = false;
};

// What a signature is checked with: the trust anchors, the From address, and the keystore's
// certificates for that address (for a signer whose message does not carry its certificate).
struct VerifyContext {
  const std::vector<smime::X509Ptr>& anchors;
  const std::vector<smime::X509Ptr>& known;
  const FromAddress& from;
};

// Verifies a signed entity into `layer`; returns the signed content when the structure let it be found.
// `parsed` is `c` parsed with the configured limits (kind_of's), or null to parse it here.
std::optional<Content> verify_layer(Job& job, const VerifyContext& ctx, const Content& c,
                                    const smime::mime::Entity* parsed, SignatureLayer& layer);

}  // namespace milter::inbound
