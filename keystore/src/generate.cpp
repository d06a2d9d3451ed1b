#include "keystore/generate.hpp"

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <cctype>

namespace keystore {

namespace {

using X509ReqPtr = std::unique_ptr<X509_REQ, smime::OsslDeleter<X509_REQ_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, smime::OsslDeleter<X509_NAME_free>>;
using X509ExtPtr = std::unique_ptr<X509_EXTENSION, smime::OsslDeleter<X509_EXTENSION_free>>;
using BnPtr = std::unique_ptr<BIGNUM, smime::OsslDeleter<BN_free>>;
using Asn1IntPtr = std::unique_ptr<ASN1_INTEGER, smime::OsslDeleter<ASN1_INTEGER_free>>;
inline void free_ext_stack(STACK_OF(X509_EXTENSION) * s) {
  sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
}
using ExtStackPtr = std::unique_ptr<STACK_OF(X509_EXTENSION), smime::OsslDeleter<free_ext_stack>>;

[[noreturn]] void usage(const std::string& msg) { throw smime::Error(smime::ErrorKind::usage, msg); }

smime::PkeyPtr make_key(const GenerateRequest& r) {
  if (r.key_type == "rsa") {
    if (r.key_bits < 2048 || r.key_bits > 16384) usage("RSA key size must be 2048 to 16384 bits");
    return smime::take<smime::PkeyPtr>(
        EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(r.key_bits)), "generating an RSA key");
  }
  if (r.key_type == "ec") {
    if (r.curve != "P-256" && r.curve != "P-384" && r.curve != "P-521")
      usage("EC curve must be P-256, P-384 or P-521");
    return smime::take<smime::PkeyPtr>(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", r.curve.c_str()),
                                       "generating an EC key");
  }
  usage("key type must be rsa or ec");
}

X509NamePtr make_name(const GenerateRequest& r) {
  X509NamePtr name = smime::take<X509NamePtr>(X509_NAME_new(), "creating a name");
  auto add = [&](const char* field, const std::string& value) {
    if (value.empty()) return;
    smime::check(X509_NAME_add_entry_by_txt(name.get(), field, MBSTRING_UTF8,
                                            reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0),
                 std::string("setting ") + field, smime::ErrorKind::usage);
  };
  if (!r.country.empty() &&
      (r.country.size() != 2 || !std::isalpha(static_cast<unsigned char>(r.country[0])) ||
       !std::isalpha(static_cast<unsigned char>(r.country[1]))))
    usage("country must be a two-letter code (ISO 3166)");
  add("C", r.country);
  add("ST", r.state);
  add("L", r.locality);
  add("O", r.organization);
  add("OU", r.unit);
  add("CN", r.common_name);
  return name;
}

std::string key_usage_value(const GenerateRequest& r) {
  const bool sign = r.usage == Purpose::sign || r.usage == Purpose::both;
  const bool encrypt = r.usage == Purpose::encrypt || r.usage == Purpose::both;
  if (!sign && !encrypt) usage("usage must be sign, encrypt or both");
  std::string v = "critical";
  if (sign) v += ",digitalSignature,nonRepudiation";
  if (encrypt) v += r.key_type == "ec" ? ",keyAgreement" : ",keyEncipherment";
  return v;
}

std::string san_value(const GenerateRequest& r) {
  std::string v;
  for (const auto& e : r.emails) v += (v.empty() ? "" : ",") + std::string("email:") + e;
  for (const auto& d : r.domains) v += (v.empty() ? "" : ",") + std::string("DNS:") + d;
  return v;
}

X509ExtPtr make_ext(X509V3_CTX* ctx, int nid, const std::string& value) {
  return smime::take<X509ExtPtr>(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()),
                                 "making extension " + std::string(OBJ_nid2sn(nid)) + "=" + value,
                                 smime::ErrorKind::usage);
}

// The extensions of the request, in order; SKI only when a certificate is made.
std::vector<X509ExtPtr> extensions(const GenerateRequest& r, X509V3_CTX* ctx, bool with_ski) {
  std::vector<X509ExtPtr> out;
  out.push_back(make_ext(ctx, NID_basic_constraints, "critical,CA:FALSE"));
  out.push_back(make_ext(ctx, NID_key_usage, key_usage_value(r)));
  out.push_back(make_ext(ctx, NID_ext_key_usage, "emailProtection"));
  if (std::string san = san_value(r); !san.empty()) out.push_back(make_ext(ctx, NID_subject_alt_name, san));
  if (with_ski) out.push_back(make_ext(ctx, NID_subject_key_identifier, "hash"));
  return out;
}

smime::X509Ptr make_cert(const GenerateRequest& r, EVP_PKEY* key, X509_NAME* name) {
  smime::X509Ptr cert = smime::take<smime::X509Ptr>(X509_new(), "creating a certificate");
  smime::check(X509_set_version(cert.get(), X509_VERSION_3), "setting the version");
  BnPtr bn = smime::take<BnPtr>(BN_new(), "allocating a serial");
  smime::check(BN_rand(bn.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY), "drawing a serial");
  Asn1IntPtr serial = smime::take<Asn1IntPtr>(BN_to_ASN1_INTEGER(bn.get(), nullptr), "encoding the serial");
  smime::check(X509_set_serialNumber(cert.get(), serial.get()), "setting the serial");
  smime::check(X509_set_subject_name(cert.get(), name), "setting the subject");
  smime::check(X509_set_issuer_name(cert.get(), name), "setting the issuer");
  smime::check(X509_set_pubkey(cert.get(), key), "setting the public key");
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0) == nullptr)
    smime::throw_openssl(smime::ErrorKind::crypto, "setting notBefore");
  if (X509_time_adj_ex(X509_getm_notAfter(cert.get()), r.days, 0, nullptr) == nullptr)
    smime::throw_openssl(smime::ErrorKind::crypto, "setting notAfter");
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  for (auto& ext : extensions(r, &ctx, true))
    smime::check(X509_add_ext(cert.get(), ext.get(), -1), "adding an extension");
  if (X509_sign(cert.get(), key, smime::evp_md(r.digest)) <= 0)
    smime::throw_openssl(smime::ErrorKind::crypto, "signing the certificate");
  return cert;
}

std::string make_csr(const GenerateRequest& r, EVP_PKEY* key, X509_NAME* name) {
  X509ReqPtr req = smime::take<X509ReqPtr>(X509_REQ_new(), "creating a request");
  smime::check(X509_REQ_set_version(req.get(), 0), "setting the version");
  smime::check(X509_REQ_set_subject_name(req.get(), name), "setting the subject");
  smime::check(X509_REQ_set_pubkey(req.get(), key), "setting the public key");
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, nullptr, nullptr, req.get(), nullptr, 0);
  ExtStackPtr exts = smime::take<ExtStackPtr>(sk_X509_EXTENSION_new_null(), "allocating extensions");
  for (auto& ext : extensions(r, &ctx, false)) {
    smime::check(sk_X509_EXTENSION_push(exts.get(), ext.get()), "collecting extensions");
    ext.release();  // the stack owns it now
  }
  smime::check(X509_REQ_add_extensions(req.get(), exts.get()), "adding extensions");
  if (X509_REQ_sign(req.get(), key, smime::evp_md(r.digest)) <= 0)
    smime::throw_openssl(smime::ErrorKind::crypto, "signing the request");
  smime::BioPtr bio = smime::take<smime::BioPtr>(BIO_new(BIO_s_mem()), "creating a memory BIO");
  smime::check(PEM_write_bio_X509_REQ(bio.get(), req.get()), "writing the request");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace

Generated generate(const GenerateRequest& r) {
  if (r.common_name.empty() && r.emails.empty() && r.domains.empty())
    usage("give a common name, an e-mail address or a domain");
  if (r.days < 1 || r.days > 36500) usage("days must be 1 to 36500");
  Generated g;
  X509NamePtr name = make_name(r);
  key_usage_value(r);  // validates the usage before the (slow) key generation
  g.key = make_key(r);
  if (r.csr)
    g.csr_pem = make_csr(r, g.key.get(), name.get());
  else
    g.cert = make_cert(r, g.key.get(), name.get());
  return g;
}

}  // namespace keystore
