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
#include "keystore/open_store.hpp"
#include "smime/cert.hpp"
#include "temp_dir.hpp"

namespace kt {

std::string pki_file(const std::string& name);
smime::X509Ptr pki_cert(const std::string& name);  // NAME.pem
smime::PkeyPtr pki_key(const std::string& name);   // NAME.key
keystore::Time now();

using TempDir = test::TempDir;

// The backend the store tests of this executable run on: test_keystore runs them on SQLite,
// test_keystore_pg on PostgreSQL (the same test cases, linked with backend_sqlite.cpp or backend_pg.cpp).
enum class Backend { sqlite, postgresql };
Backend backend();
const char* backend_name();

// A fresh, empty store of the backend: a file in a temporary directory (SQLite), or a schema of its
// own in the test server's database (PostgreSQL), dropped at the end.
struct TempStore {
  explicit TempStore(Backend b = backend());
  ~TempStore();
  TempStore(const TempStore&) = delete;
  TempStore& operator=(const TempStore&) = delete;

  TempDir dir;
  std::string path = dir.path("keystore.db");  // SQLite only
  std::string schema;                          // PostgreSQL only
  keystore::StoreLocation where;
  std::unique_ptr<keystore::Store> store;

  std::unique_ptr<keystore::Store> reopen() const { return keystore::open_store(where); }
  // Runs SQL on the store's database as another program would (sqlite3 C API / libpq, with the
  // store's schema as search path).
  void raw_sql(const std::string& sql) const;
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
