// Loading certificates and keys, and the facts about a certificate that S/MIME decisions need.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "smime/ossl.hpp"

namespace smime {

// Every certificate of a PEM text (several allowed), or the one certificate of a DER blob.
std::vector<X509Ptr> load_certificates(std::string_view pem_or_der);
X509Ptr load_certificate(std::string_view pem_or_der);  // exactly one; throws otherwise
// A private key from PEM (PKCS#8 or traditional, optionally encrypted) or DER.
PkeyPtr load_private_key(std::string_view pem_or_der, std::string_view passphrase = {});

struct Pkcs12Contents {
  PkeyPtr key;
  X509Ptr cert;
  std::vector<X509Ptr> chain;
};
// Reads legacy (RC2/3DES) files too: the OpenSSL legacy provider is loaded on first use.
Pkcs12Contents load_pkcs12(std::string_view der, std::string_view passphrase);

std::string read_file(const std::string& path);  // throws Error(io)

std::string to_pem(X509* cert);
std::string to_der(X509* cert);

// SAN rfc822Name entries and subject emailAddress attributes; the domain part lower-cased.
std::vector<std::string> email_addresses(X509* cert);
// SAN dNSName entries, lower-cased (wildcards kept as written, e.g. "*.example.net").
std::vector<std::string> dns_names(X509* cert);
std::string subject_name(X509* cert);  // RFC 2253 form
std::string issuer_name(X509* cert);
std::string serial_hex(X509* cert);
std::string fingerprint_sha256(X509* cert);  // upper-case hex, colon separated
bool is_self_signed(X509* cert);

// What a trust anchor is: verification accepts all three (a chain ends at the first anchor it meets).
enum class AnchorKind {
  self_signed_root,  // a CA certificate signed by its own key
  intermediate_ca,   // a CA certificate issued by another CA: trusting it trusts only its branch
  end_entity,        // not a CA (a partner's own certificate pinned; self-signed or not)
};
AnchorKind anchor_kind(X509* cert);
std::string_view to_string(
    AnchorKind k);  // "self-signed root CA", "intermediate CA", "end-entity certificate"

// "Alice@Example.ORG" -> "Alice@example.org": the local part is kept, the domain lower-cased.
std::string normalize_address(std::string_view address);

}  // namespace smime
