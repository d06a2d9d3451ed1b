// The facts about a certificate that the keystore's rules need, read once from the certificate.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "smime/ossl.hpp"

namespace keystore {

using Time = std::int64_t;  // seconds since the epoch, UTC

enum class KeyType { rsa, rsa_pss, ec, ed25519, ed448, other };
std::string to_string(KeyType t);

// keyUsage bits as OpenSSL numbers them (KU_DIGITAL_SIGNATURE = 0x80, ...).
std::vector<std::string> key_usage_names(std::uint32_t bits);

struct CertFacts {
  std::string subject;
  std::string issuer;
  std::string serial;                      // upper-case hex
  std::string fingerprint;                 // SHA-256, upper-case hex, colon separated
  std::vector<std::string> emails;         // SAN rfc822Name (and subject emailAddress), domain lower-cased
  std::vector<std::string> domains;        // SAN dNSName, lower-cased, wildcards as written
  std::optional<std::uint32_t> key_usage;  // absent: no keyUsage extension (all usages allowed)
  bool email_protection = true;            // no extendedKeyUsage, or it lists emailProtection / any
  bool is_ca = false;                      // basicConstraints CA:TRUE
  bool self_signed = false;
  KeyType key_type = KeyType::other;
  int key_bits = 0;
  Time not_before = 0;
  Time not_after = 0;
  std::size_t der_size = 0;

  bool has_usage(std::uint32_t bit) const { return !key_usage || (*key_usage & bit) != 0; }
  bool can_encrypt() const;        // RSA with keyEncipherment, or EC with keyAgreement
  bool can_sign() const;           // digitalSignature or nonRepudiation, with a signing-capable key
  std::string usage_text() const;  // "digitalSignature,keyEncipherment" or "any (no keyUsage)"
};

CertFacts facts_of(X509* cert);  // throws smime::Error(bad_input) on a certificate it cannot read

// The domain of an address ("Bob@Example.ORG" -> "example.org"); empty if there is no '@'.
std::string domain_of(const std::string& address);
// Case-insensitive ASCII comparison (addresses and DNS names are matched this way).
bool iequals(const std::string& a, const std::string& b);
std::string lower(std::string s);

}  // namespace keystore
