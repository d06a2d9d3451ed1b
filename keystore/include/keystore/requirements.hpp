// What a certificate must satisfy to be imported and to be used. Pure functions of CertFacts.
//
// Encryption (RFC 8550 section 4.4.2, RFC 8551): RSA keys need keyEncipherment, EC keys keyAgreement.
// Signing: digitalSignature or nonRepudiation. Both: an extendedKeyUsage, when present, must list
// emailProtection (or anyExtendedKeyUsage). A certificate without a keyUsage extension may be used
// for anything its key type can do (RFC 5280).
#pragma once

#include <string>

#include "keystore/facts.hpp"

namespace keystore {

enum class Purpose { encrypt, sign, both, any };
std::string to_string(Purpose p);

enum class Problem {
  none,
  expired,
  not_yet_valid,
  wrong_key_usage,       // keyUsage does not allow the purpose
  wrong_extended_usage,  // extendedKeyUsage without emailProtection
  unsupported_key,       // key type cannot do the purpose (e.g. RSA-PSS or Ed25519 for encryption)
  ca_certificate,        // a CA certificate: belongs among the trust anchors
  no_address,            // names neither an e-mail address nor a domain
  no_private_key,        // signing lookups: not one of the gateway's identities
};
std::string to_string(Problem p);

struct Check {
  Problem problem = Problem::none;
  std::string reason;  // human text, empty when ok
  bool ok() const { return problem == Problem::none; }
};

Check check_validity(const CertFacts& f, Time now);
Check check_purpose(const CertFacts& f, Purpose purpose);
// Everything an import checks: not a CA, names an address, valid now, fit for the purpose.
Check check_import(const CertFacts& f, Purpose purpose, Time now);

}  // namespace keystore
