// The layers of an inbound message, one at a time: what an entity is (signed, encrypted, plain), and
// unwrapping one signature or one encryption. Private to inbound.cpp, which walks the layers.
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

enum class Kind { plain, signed_entity, encrypted };

// The kind of an entity; parses its body only when the Content-Type alone does not tell.
// Throws smime::Error(bad_input) for malformed S/MIME.
Kind kind_of(const Content& c, const smime::mime::Limits& limits);

// The part number (IMAP style, "2", "1.3") of the first signed entity below the root, if any.
std::optional<std::string> signed_part(const smime::mime::Entity& root);

// What decryption did. The simple header says yes (decrypted), failed, or no (the others).
enum class Decryption { not_encrypted, decrypted, failed, disabled };
std::string_view header_value(Decryption d);

struct DecryptionFinding {
  Decryption state = Decryption::not_encrypted;
  std::string note;            // for the comment: "decrypted aes256-gcm", or why not (our words)
  bool authenticated = false;  // AuthEnvelopedData; CBC content is malleable
};

// Decrypts `c` with every gateway key; the enclosed entity, or nullopt with the finding saying why not.
std::optional<Content> decrypt_layer(Job& job, const Content& c, DecryptionFinding& finding);

// One signature layer as verified.
struct SignatureLayer {
  std::string name;  // "signature", or "outer" / "inner" when there are two
  auth_results::Result result = auth_results::Result::permerror;
  std::string reason;
  std::string identifier;  // for the header: the bound identity, else the signer certificate's label
  std::optional<smime::VerifyStatus> status;
  smime::X509Ptr signer;
  std::vector<smime::X509Ptr> carried;
  std::optional<std::time_t> signing_time;
  smime::Capabilities capabilities;
  bool harvestable = false;  // not revoked, and the revocation policy did not tempfail the message
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
std::optional<Content> verify_layer(Job& job, const VerifyContext& ctx, const Content& c,
                                    SignatureLayer& layer);

}  // namespace milter::inbound
