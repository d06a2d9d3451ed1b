#include "keystore/identity.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>

#include "keystore/error.hpp"
#include "smime/cert.hpp"
#include "smime/error.hpp"

namespace keystore {

std::string pkcs8_pem(EVP_PKEY* key, const std::string& passphrase) {
  smime::BioPtr bio = smime::take<smime::BioPtr>(BIO_new(BIO_s_mem()), "creating a memory BIO");
  const EVP_CIPHER* cipher = passphrase.empty() ? nullptr : EVP_aes_256_cbc();
  std::string pass = passphrase;
  smime::check(PEM_write_bio_PKCS8PrivateKey(bio.get(), key, cipher, pass.empty() ? nullptr : pass.data(),
                                             static_cast<int>(pass.size()), nullptr, nullptr),
               "encoding a private key");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

void put_identity(Store& store, X509* cert, EVP_PKEY* key, const std::vector<smime::X509Ptr>& chain,
                  const std::string& key_passphrase, Time now) {
  if (X509_check_private_key(cert, key) != 1) {
    ERR_clear_error();
    throw smime::Error(smime::ErrorKind::bad_input, "the private key does not belong to the certificate");
  }
  StoredKey stored{pkcs8_pem(key, key_passphrase), !key_passphrase.empty(), {}};
  for (const auto& c : chain) stored.chain_pem += smime::to_pem(c.get());
  const std::string fp = smime::fingerprint_sha256(cert);
  store.in_transaction([&] {
    if (auto existing = store.find(fp)) {
      if (existing->origin != Origin::imported) store.set_origin(fp, Origin::imported);
    } else {
      store.add(NewCertificate{cert, Origin::imported, now, {}, {}});
    }
    store.put_key(fp, stored);
  });
}

Identity load_identity(Store& store, const std::string& fingerprint, const std::string& key_passphrase) {
  auto rec = store.find(fingerprint);
  auto stored = store.key(fingerprint);
  if (!rec || !stored) throw Error(ErrorKind::not_found, "no identity (certificate with key) " + fingerprint);
  if (stored->encrypted && key_passphrase.empty())
    throw Error(ErrorKind::locked_key,
                "the private key of " + fingerprint + " is encrypted; give the key passphrase");
  Identity id;
  try {
    id.key = smime::load_private_key(stored->pkcs8_pem, stored->encrypted ? key_passphrase : std::string());
  } catch (const smime::Error&) {
    throw Error(ErrorKind::locked_key,
                "cannot open the private key of " + fingerprint + " (wrong key passphrase?)");
  }
  id.cert = std::move(rec->cert);
  if (!stored->chain_pem.empty()) id.chain = smime::load_certificates(stored->chain_pem);
  id.fingerprint = fingerprint;
  return id;
}

std::vector<Identity> decryption_identities(Store& store, const std::string& key_passphrase,
                                            std::vector<std::string>* skipped) {
  ListFilter only_keys;
  only_keys.identities_only = true;
  std::vector<Identity> out;
  for (const auto& rec : store.list(only_keys)) {
    if (!rec.facts.can_encrypt()) continue;
    try {
      out.push_back(load_identity(store, rec.facts.fingerprint, key_passphrase));
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::store) throw;  // the database itself: not one key's problem
      if (skipped != nullptr) skipped->push_back(rec.facts.fingerprint + ": " + e.what());
    } catch (const smime::Error& e) {
      if (skipped != nullptr) skipped->push_back(rec.facts.fingerprint + ": " + e.what());
    }
  }
  return out;
}

}  // namespace keystore
