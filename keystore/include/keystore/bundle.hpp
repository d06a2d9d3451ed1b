// Reading what administrators import: PEM (certificates, keys, PKCS#7), DER certificate, PKCS#7
// certs-only bundle (PEM or DER), PKCS#12 (needs a passphrase).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "smime/ossl.hpp"

namespace keystore {

struct Bundle {
  std::vector<smime::X509Ptr> certs;  // in file order
  smime::PkeyPtr key;                 // when the input held a private key
  bool pkcs12 = false;
};

// True for a DER PKCS#12 (PFX) blob.
bool looks_like_pkcs12(std::string_view bytes);
// Parses bytes; PKCS#12 is opened with passphrase (leaf first, then its chain). Throws
// smime::Error(bad_input) if nothing usable is found.
Bundle read_bundle(std::string_view bytes, const std::string& passphrase);

// Splits a bundle's certificates: the end-entity certificates, and the CA certificates among them.
struct SplitCerts {
  std::vector<smime::X509Ptr> leaves;
  std::vector<smime::X509Ptr> cas;
};
SplitCerts split_leaves(std::vector<smime::X509Ptr> certs);

}  // namespace keystore
