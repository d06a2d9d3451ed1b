// Recognising S/MIME entities (RFC 8551 section 3.2.2), and whether a body really is protected.
//
// classify() tells what an entity is from its Content-Type and, for the CMS media types, from the
// CMS content type inside, which decides:
//  - multipart/signed with protocol application/pkcs7-signature (or x-pkcs7-signature):
//    multipart_signed, without looking further (verify() and protection_of() check the structure);
//  - application/pkcs7-mime and application/x-pkcs7-mime, with or without smime-type (an unknown
//    smime-type counts as none): the CMS content type; a label that contradicts it is malformed
//    (smime-type enveloped-data holding SignedData; certs-only holding content), and so is a body
//    that is not CMS;
//  - application/octet-stream whose Content-Type name or Content-Disposition filename ends in .p7m,
//    .p7c or .p7z: the CMS content type; when the body is not CMS it is an ordinary attachment (none).
// Only the start of the body is decoded (a few KiB): the ContentInfo's type and, for SignedData,
// whether it carries content (without content it is certs-only). Never throws for malformed input.
//
// protection_of() says whether the body really is S/MIME protection, parsing the whole CMS (held
// in memory, as decryption does): enveloped-data and authEnveloped-data with at least one recipient
// are encrypted; an opaque SignedData with content and at least one signer, or a multipart/signed of
// exactly two parts whose second part (application/pkcs7-signature) holds a detached SignedData with
// at least one signer, is signed_only, or encrypted when the signed content is itself encrypted (a
// signature around an encrypted entity, up to 4 layers). Anything else, a label without the CMS
// behind it included, is none. Signatures are not verified here.
#pragma once

#include <string>
#include <string_view>

#include "smime/io.hpp"
#include "smime/mime.hpp"

namespace smime {

enum class SmimeType {
  none,                 // not S/MIME
  multipart_signed,     // multipart/signed with an S/MIME protocol
  signed_data,          // CMS SignedData with content: an opaque signature
  enveloped_data,       // CMS EnvelopedData
  auth_enveloped_data,  // CMS AuthEnvelopedData (AES-GCM)
  certs_only,           // CMS SignedData without content: certificates (and CRLs) only
  compressed_data,      // CMS CompressedData
  malformed,            // labelled as CMS, but unreadable or contradicting its label (reason)
};
// "none", "multipart-signed", "signed-data", "enveloped-data", "authEnveloped-data", "certs-only",
// "compressed-data", "malformed"
std::string_view to_string(SmimeType t);

struct Classification {
  SmimeType type = SmimeType::none;
  std::string reason;  // how it was decided, or why it is malformed (plain words, no OpenSSL queue)
};
Classification classify(const Source& src, const mime::Entity& entity);

// The labels that carry CMS: application/pkcs7-mime, application/x-pkcs7-mime, and
// application/octet-stream named .p7m, .p7c or .p7z. verify() and decrypt() accept each of them.
bool carries_cms(const mime::Entity& entity);

enum class ProtectionLevel { none, signed_only, encrypted };
std::string_view to_string(ProtectionLevel p);  // "none", "signed", "encrypted"

struct Protection {
  ProtectionLevel level = ProtectionLevel::none;
  std::string reason;  // what was found ("multipart/signed, 1 signer"), or why it is not protection
};
Protection protection_of(const Source& src, const mime::Entity& entity, const mime::Limits& limits = {});

}  // namespace smime
