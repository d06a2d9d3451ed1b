// Internal: reading CMS structures received from outside.
#pragma once

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

}  // namespace smime::detail
