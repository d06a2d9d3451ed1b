// The gateway's own identities: certificate + private key (+ chain), several per address or domain
// for rollover. Keys are stored as PKCS#8; encrypted (PBES2, AES-256-CBC, PBKDF2-HMAC-SHA256) when a
// key passphrase is given, otherwise in clear inside the 0600 store (see README: threat model).
// Private keys leave this module only as EVP_PKEY objects in memory, never as text.
#pragma once

#include <string>
#include <vector>

#include "keystore/record.hpp"
#include "keystore/requirements.hpp"
#include "keystore/store.hpp"
#include "smime/ossl.hpp"

namespace keystore {

struct Identity {
  smime::X509Ptr cert;
  smime::PkeyPtr key;
  std::vector<smime::X509Ptr> chain;
  std::string fingerprint;
};

// Stores cert (as Origin::imported, or reuses the row if present) and its key in one transaction.
// Throws smime::Error(bad_input) if the key does not belong to the certificate.
void put_identity(Store& store, X509* cert, EVP_PKEY* key, const std::vector<smime::X509Ptr>& chain,
                  const std::string& key_passphrase, Time now);
// Loads the identity of a certificate; Error(not_found) if it has no key, Error(locked_key) if the key
// is encrypted and the passphrase is missing or wrong.
Identity load_identity(Store& store, const std::string& fingerprint, const std::string& key_passphrase);
// Every identity whose certificate can decrypt (expired ones too: old mail still needs them). A key that
// cannot be loaded (locked: encrypted without the right passphrase) is left out and, when `skipped` is
// given, named there as "FINGERPRINT: reason", so that one bad key does not stop the others.
std::vector<Identity> decryption_identities(Store& store, const std::string& key_passphrase,
                                            std::vector<std::string>* skipped = nullptr);

// PKCS#8 PEM of a key, encrypted when passphrase is not empty.
std::string pkcs8_pem(EVP_PKEY* key, const std::string& passphrase);

}  // namespace keystore
