// The algorithms the core speaks, their names in MIME parameters and in OpenSSL, and the
// SMIMECapabilities a peer announces (RFC 8551 section 2.5.2).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smime/ossl.hpp"

namespace smime {

enum class Cipher { aes256_cbc, aes128_gcm, aes256_gcm, aes128_cbc };
enum class Digest { sha256, sha384, sha512 };

std::string_view to_string(Cipher c);  // "aes256-cbc", "aes128-gcm", ...
std::optional<Cipher> cipher_from_string(std::string_view name);
std::optional<Cipher> cipher_from_nid(int nid);  // OpenSSL NID of the algorithm
bool is_aead(Cipher c);
const EVP_CIPHER* evp_cipher(Cipher c);  // a static OpenSSL cipher object

std::string_view to_string(Digest d);                             // "sha256"
std::string_view micalg_name(Digest d);                           // "sha-256" (RFC 5751 section 3.4.3.2)
std::optional<Digest> digest_from_string(std::string_view name);  // "sha256" or "sha-256"
const EVP_MD* evp_md(Digest d);

// A signer's announced capabilities: the algorithm OIDs of its SMIMECapabilities attribute, in the
// signer's order of preference. `present` is false when the attribute was absent.
struct Capabilities {
  bool present = false;
  std::vector<std::string> oids;  // dotted form, e.g. "2.16.840.1.101.3.4.1.46"

  bool supports(Cipher c) const;
  // The strongest AEAD cipher announced, if any (AES-256-GCM before AES-128-GCM).
  std::optional<Cipher> best_aead() const;
  // Parses the DER of an SMIMECapabilities SEQUENCE; throws Error(bad_input) if malformed.
  static Capabilities from_der(std::string_view der);
  std::string to_der() const;
  AlgorStackPtr to_algors() const;  // for CMS_add_smimecap
  static Capabilities of(const std::vector<Cipher>& ciphers);
};

std::string oid_of(Cipher c);  // dotted OID

}  // namespace smime
