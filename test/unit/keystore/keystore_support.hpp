// Shared helpers of the keystore unit tests: the test PKI (SMIME_TEST_PKI), a private temporary
// directory per test, and certificates issued on the fly by the test intermediate for the cases the
// PKI lacks (signing-only, no keyEncipherment, a newer certificate for alice, chosen validity...).
#pragma once

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include "keystore/facts.hpp"
#include "keystore/sqlite_store.hpp"
#include "smime/cert.hpp"
#include "temp_dir.hpp"

namespace kt {

std::string pki_file(const std::string& name);
smime::X509Ptr pki_cert(const std::string& name);  // NAME.pem
smime::PkeyPtr pki_key(const std::string& name);   // NAME.key
keystore::Time now();

using TempDir = test::TempDir;

// A store in a temporary directory.
struct TempStore {
  TempDir dir;
  std::string path = dir.path("keystore.db");
  std::unique_ptr<keystore::Store> store = keystore::open_sqlite_store(path);
  keystore::Store* operator->() { return store.get(); }
  keystore::Store& operator*() { return *store; }
};

struct Spec {
  std::string cn = "Test";
  std::vector<std::string> emails;
  std::vector<std::string> domains;
  std::string key_usage = "critical,digitalSignature,nonRepudiation,keyEncipherment";  // "" for none
  std::string ext_key_usage = "emailProtection";                                       // "" for none
  keystore::Time not_before_offset = -3600;                                            // seconds from now
  keystore::Time not_after_offset = 365 * 86400;
  bool ec = false;
  bool self_signed = false;
  bool ca = false;
};
struct Issued {
  smime::X509Ptr cert;
  smime::PkeyPtr key;
};
// Issued by the test intermediate (inter.pem/inter.key) unless self_signed.
Issued issue(const Spec& spec);

}  // namespace kt
