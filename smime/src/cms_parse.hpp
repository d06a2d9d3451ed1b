// Internal: reading CMS structures received from outside.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "smime/ossl.hpp"

namespace smime::detail {

// Parses DER/BER ContentInfo; throws Error(bad_input) "not a CMS structure: <queue>".
CmsPtr parse_cms(std::string_view der);

// The content-encryption algorithm of an EnvelopedData or AuthEnvelopedData ContentInfo: our name for
// the ciphers we know ("aes256-cbc", "aes128-gcm"), else OpenSSL's short name (e.g. "DES-EDE3-CBC") or
// the dotted OID; "unknown" if the structure could not be walked.
// OpenSSL has no public accessor for it, so the few outer BER layers are walked here.
std::string content_encryption_algorithm(std::string_view der);

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
