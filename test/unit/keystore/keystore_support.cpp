#include "keystore_support.hpp"

#include <openssl/bn.h>
#include <openssl/x509v3.h>
#include <sqlite3.h>

#include <random>
#include <stdexcept>

#include "pg_support.hpp"

namespace kt {

namespace {
using X509ExtPtr = std::unique_ptr<X509_EXTENSION, smime::OsslDeleter<X509_EXTENSION_free>>;

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  if (value.empty()) return;
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509ExtPtr ext =
      smime::take<X509ExtPtr>(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()), "test extension");
  smime::check(X509_add_ext(cert, ext.get(), -1), "adding a test extension");
}
}  // namespace

std::string pki_file(const std::string& name) {
  const char* dir = std::getenv("SMIME_TEST_PKI");
  if (dir == nullptr) throw std::runtime_error("SMIME_TEST_PKI is not set (run the tests through ctest)");
  return std::string(dir) + "/" + name;
}
smime::X509Ptr pki_cert(const std::string& name) {
  return smime::load_certificate(smime::read_file(pki_file(name + ".pem")));
}
smime::PkeyPtr pki_key(const std::string& name) {
  return smime::load_private_key(smime::read_file(pki_file(name + ".key")));
}
keystore::Time now() { return static_cast<keystore::Time>(std::time(nullptr)); }

const char* backend_name() { return backend() == Backend::sqlite ? "sqlite" : "postgresql"; }

TempStore::TempStore(Backend b) {
  if (b == Backend::sqlite) {
    where.path = path;
  } else {
    schema = pgt::create_schema();
    where.url = pgt::conninfo_for(schema);
  }
  store = keystore::open_store(where);
}

TempStore::~TempStore() {
  store.reset();
  if (!schema.empty()) pgt::drop_schema(schema);
}

void TempStore::raw_sql(const std::string& sql) const {
  if (!schema.empty()) {
    pgt::exec(sql, schema);
    return;
  }
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) throw std::runtime_error("cannot open " + path);
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  std::string err = sqlite3_errmsg(db);
  sqlite3_close(db);
  if (rc != SQLITE_OK) throw std::runtime_error("raw SQL failed: " + err);
}

Issued issue(const Spec& s) {
  Issued out;
  out.key = smime::take<smime::PkeyPtr>(s.ec ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
                                             : EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}),
                                        "test key");
  out.cert = smime::take<smime::X509Ptr>(X509_new(), "test cert");
  X509* c = out.cert.get();
  smime::check(X509_set_version(c, X509_VERSION_3), "version");
  static std::mt19937_64 rng(std::random_device{}());
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(c), rng() >> 1);
  X509_NAME* name = X509_get_subject_name(c);
  smime::check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                          reinterpret_cast<const unsigned char*>(s.cn.c_str()), -1, -1, 0),
               "CN");
  smime::X509Ptr inter = s.self_signed ? nullptr : pki_cert("inter");
  smime::PkeyPtr inter_key = s.self_signed ? nullptr : pki_key("inter");
  X509* issuer = s.self_signed ? c : inter.get();
  EVP_PKEY* signer = s.self_signed ? out.key.get() : inter_key.get();
  smime::check(X509_set_issuer_name(c, X509_get_subject_name(issuer)), "issuer");
  smime::check(X509_set_pubkey(c, out.key.get()), "pubkey");
  X509_time_adj_ex(X509_getm_notBefore(c), 0, static_cast<long>(s.not_before_offset), nullptr);
  X509_time_adj_ex(X509_getm_notAfter(c), 0, static_cast<long>(s.not_after_offset), nullptr);
  add_ext(c, issuer, NID_basic_constraints, s.ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  add_ext(c, issuer, NID_key_usage, s.ca ? "critical,keyCertSign,cRLSign" : s.key_usage);
  add_ext(c, issuer, NID_ext_key_usage, s.ca ? "" : s.ext_key_usage);
  add_ext(c, issuer, NID_subject_key_identifier, "hash");
  if (!s.self_signed) add_ext(c, issuer, NID_authority_key_identifier, "keyid:always");
  std::string san;
  for (const auto& e : s.emails) san += (san.empty() ? "" : ",") + std::string("email:") + e;
  for (const auto& d : s.domains) san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
  add_ext(c, issuer, NID_subject_alt_name, san);
  if (X509_sign(c, signer, EVP_sha256()) <= 0)
    smime::throw_openssl(smime::ErrorKind::crypto, "signing a test cert");
  return out;
}

}  // namespace kt
