// `smime-keystore generate`: a new key and a self-signed S/MIME certificate or a CSR.
// Key usage follows RFC 8550/8551: signing: digitalSignature, nonRepudiation; encryption:
// keyEncipherment (RSA) or keyAgreement (EC); both: the union. extendedKeyUsage emailProtection.
#pragma once

#include <string>
#include <vector>

#include "keystore/requirements.hpp"
#include "smime/algorithms.hpp"
#include "smime/ossl.hpp"

namespace keystore {

struct GenerateRequest {
  std::string common_name, organization, unit, locality, state, country;
  std::vector<std::string> emails;   // SAN rfc822Name
  std::vector<std::string> domains;  // SAN dNSName
  smime::Digest digest = smime::Digest::sha256;
  int days = 365;
  std::string key_type = "rsa";   // rsa | ec
  int key_bits = 3072;            // RSA modulus
  std::string curve = "P-256";    // EC curve (P-256, P-384, P-521)
  Purpose usage = Purpose::both;  // encrypt | sign | both
  bool csr = false;
};

struct Generated {
  smime::PkeyPtr key;
  smime::X509Ptr cert;  // when !csr
  std::string csr_pem;  // when csr
};

// Throws smime::Error(usage) for an impossible request (no CN and no SAN, bad country code, ...).
Generated generate(const GenerateRequest& request);

}  // namespace keystore
