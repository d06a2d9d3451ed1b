// Internal: reading CMS structures received from outside.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smime/ossl.hpp"

namespace smime::detail {

// Parses DER/BER ContentInfo; throws Error(bad_input) "not a CMS structure: <queue>".
CmsPtr parse_cms(std::string_view der);

// The content-encryption algorithm of an EnvelopedData or AuthEnvelopedData ContentInfo: our name for
// the ciphers we know ("aes256-cbc", "aes128-gcm"), else OpenSSL's short name (e.g. "DES-EDE3-CBC") or
// the dotted OID; "unknown" if the structure could not be walked.
// OpenSSL has no public accessor for it, so the few outer BER layers are walked here.
std::string content_encryption_algorithm(std::string_view der);

// One BER identifier and length read at pos; the content need not be there. nullopt for a high tag
// number (none occurs in the layers read here), a primitive indefinite length, or too few bytes.
struct Head {
  unsigned char tag = 0;  // the identifier octet
  bool indefinite = false;
  std::size_t length = 0;  // definite lengths
  std::size_t size = 0;    // identifier and length octets
};
std::optional<Head> head_at(std::string_view s, std::size_t pos);
// The end of the BER element at pos (indefinite lengths followed, nested at most 32 deep); nullopt if
// it does not fit in s.
std::optional<std::size_t> element_end(std::string_view s, std::size_t pos);

// A SignedData as parse_cms decodes it, but the certificates it carries come from a per-process cache
// of decoded certificates, keyed by their DER bytes: OpenSSL 3.0 sets up its key decoders anew for
// every certificate it decodes, most of the time a small signature takes to decode, and a gateway
// sees the same senders' certificates over and over. The certificates field is taken out of the
// structure before it is decoded (the signatures do not cover it); anything this does not expect (a
// non-certificate choice, an indefinite length there, a certificate that does not decode alone, an
// input over 1 MiB) is decoded whole by parse_cms instead, so that its outcome and errors stay
// OpenSSL's. Any other content type is decoded whole too.
struct SignedCms {
  CmsPtr cms;                         // without its certificates when they were taken out
  std::vector<X509Ptr> certificates;  // those the structure carried, in their order
};
// Throws as parse_cms.
SignedCms parse_signed_cms(std::string_view der);

// What the first bytes of a CMS ContentInfo say, read without the rest (a truncated prefix will do):
// its content type and, for SignedData, whether encapContentInfo carries content.
struct CmsOutline {
  int type = 0;                     // NID of the contentType; NID_undef for an OID OpenSSL does not know
  std::string type_name;            // OpenSSL's short name, or the dotted OID
  std::optional<bool> has_content;  // SignedData: eContent present; unset if the prefix does not tell
};
// nullopt when the bytes do not begin like BER of a ContentInfo (SEQUENCE { OBJECT IDENTIFIER, ...}).
std::optional<CmsOutline> cms_outline(std::string_view prefix);

}  // namespace smime::detail
