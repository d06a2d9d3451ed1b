#include "smime/cert.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <mutex>
#include <sstream>

namespace smime {

namespace {

BioPtr memory_bio(std::string_view bytes) {
  return take<BioPtr>(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())), "creating a memory BIO");
}

bool looks_like_pem(std::string_view bytes) { return bytes.find("-----BEGIN ") != std::string_view::npos; }

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string asn1_string(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
}

std::string name_text(const X509_NAME* name) {
  BioPtr bio = take<BioPtr>(BIO_new(BIO_s_mem()), "creating a memory BIO");
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

template <typename Fn>
void for_each_san(X509* cert, int type, Fn fn) {
  GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    if (gn->type == type) fn(asn1_string(gn->d.ia5));
  }
}

// PKCS#12 files from browsers, Windows and `openssl pkcs12 -legacy` use RC2/3DES, which OpenSSL 3 keeps
// in the legacy provider. Loading it (with the default provider, which an explicit load would otherwise
// displace) makes those files readable. Both stay loaded until the process exits, when the static
// owners unload them, which must come before OpenSSL's own atexit clean-up (a provider unloaded after
// it crashes). Exit handlers run in reverse order and OpenSSL registers its one when it initialises, so
// it is initialised (as loading a provider would, configuration included) before the owners register
// their destructors: this may be the process's first OpenSSL call. With no option at all
// OPENSSL_init_crypto does nothing.
using ProviderPtr = std::unique_ptr<OSSL_PROVIDER, OsslDeleter<OSSL_PROVIDER_unload>>;
void load_legacy_provider() {
  OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, nullptr);
  static ProviderPtr legacy, fallback;
  static std::once_flag once;
  std::call_once(once, [] {
    legacy.reset(OSSL_PROVIDER_load(nullptr, "legacy"));
    if (legacy) fallback.reset(OSSL_PROVIDER_load(nullptr, "default"));
    ERR_clear_error();  // without the legacy module, modern (AES) PKCS#12 files still open
  });
}

}  // namespace

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::io, "cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(ErrorKind::io, "cannot read " + path);
  return ss.str();
}

std::vector<X509Ptr> load_certificates(std::string_view bytes) {
  std::vector<X509Ptr> certs;
  BioPtr bio = memory_bio(bytes);
  if (looks_like_pem(bytes)) {
    while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) certs.emplace_back(c);
    ERR_clear_error();  // the loop ends on "no start line": not an error
  } else {
    X509* c = d2i_X509_bio(bio.get(), nullptr);
    if (c != nullptr) certs.emplace_back(c);
  }
  if (certs.empty()) throw_openssl(ErrorKind::bad_input, "no certificate found (PEM or DER expected)");
  return certs;
}

X509Ptr load_certificate(std::string_view bytes) {
  auto certs = load_certificates(bytes);
  if (certs.size() != 1)
    throw Error(ErrorKind::bad_input, "expected one certificate, found " + std::to_string(certs.size()));
  return std::move(certs.front());
}

PkeyPtr load_private_key(std::string_view bytes, std::string_view passphrase) {
  BioPtr bio = memory_bio(bytes);
  std::string pass(passphrase);
  EVP_PKEY* key = looks_like_pem(bytes) ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr,
                                                                  pass.empty() ? nullptr : pass.data())
                                        : d2i_PrivateKey_bio(bio.get(), nullptr);
  return take<PkeyPtr>(key, "reading the private key (wrong passphrase or not a key?)", ErrorKind::bad_input);
}

Pkcs12Contents load_pkcs12(std::string_view der, std::string_view passphrase) {
  load_legacy_provider();
  BioPtr bio = memory_bio(der);
  using P12Ptr = std::unique_ptr<PKCS12, OsslDeleter<PKCS12_free>>;
  P12Ptr p12 = take<P12Ptr>(d2i_PKCS12_bio(bio.get(), nullptr), "reading PKCS#12", ErrorKind::bad_input);
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509)* ca = nullptr;
  std::string pass(passphrase);
  int ok = PKCS12_parse(p12.get(), pass.c_str(), &key, &cert, &ca);
  Pkcs12Contents out{PkeyPtr(key), X509Ptr(cert), {}};
  X509StackPtr chain(ca);
  if (ok <= 0) throw_openssl(ErrorKind::bad_input, "opening PKCS#12 (wrong passphrase?)");
  while (chain && sk_X509_num(chain.get()) > 0) out.chain.emplace_back(sk_X509_shift(chain.get()));
  if (!out.key || !out.cert) throw Error(ErrorKind::bad_input, "PKCS#12 holds no key with its certificate");
  return out;
}

std::string to_pem(X509* cert) {
  BioPtr bio = take<BioPtr>(BIO_new(BIO_s_mem()), "creating a memory BIO");
  check(PEM_write_bio_X509(bio.get(), cert), "writing a PEM certificate");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string to_der(X509* cert) {
  unsigned char* der = nullptr;
  int n = i2d_X509(cert, &der);
  if (n <= 0) throw_openssl(ErrorKind::crypto, "encoding a certificate");
  OsslStringPtr owned(reinterpret_cast<char*>(der));
  return std::string(owned.get(), static_cast<std::size_t>(n));
}

std::string normalize_address(std::string_view address) {
  auto at = address.rfind('@');
  if (at == std::string_view::npos) return std::string(address);
  return std::string(address.substr(0, at + 1)) + lower(address.substr(at + 1));
}

std::vector<std::string> email_addresses(X509* cert) {
  std::vector<std::string> out;
  auto add = [&](const std::string& a) {
    std::string n = normalize_address(a);
    auto same = [&](const std::string& x) { return lower(x) == lower(n); };
    if (!n.empty() && std::none_of(out.begin(), out.end(), same)) out.push_back(n);
  };
  for_each_san(cert, GEN_EMAIL, add);
  const X509_NAME* subject = X509_get_subject_name(cert);
  for (int i = -1; (i = X509_NAME_get_index_by_NID(subject, NID_pkcs9_emailAddress, i)) >= 0;)
    add(asn1_string(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i))));
  return out;
}

std::vector<std::string> dns_names(X509* cert) {
  std::vector<std::string> out;
  for_each_san(cert, GEN_DNS, [&](const std::string& d) { out.push_back(lower(d)); });
  return out;
}

std::string subject_name(X509* cert) { return name_text(X509_get_subject_name(cert)); }
std::string issuer_name(X509* cert) { return name_text(X509_get_issuer_name(cert)); }

std::string serial_hex(X509* cert) {
  using BnPtr = std::unique_ptr<BIGNUM, OsslDeleter<BN_free>>;
  BnPtr bn =
      take<BnPtr>(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr), "reading a serial number");
  OsslStringPtr hex = take<OsslStringPtr>(BN_bn2hex(bn.get()), "formatting a serial number");
  return hex.get();
}

std::string fingerprint_sha256(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  check(X509_digest(cert, EVP_sha256(), md, &len), "computing a fingerprint");
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    if (i) out.push_back(':');
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

bool is_self_signed(X509* cert) { return (X509_get_extension_flags(cert) & EXFLAG_SS) != 0; }

AnchorKind anchor_kind(X509* cert) {
  // X509_check_ca: basicConstraints CA:true (or a v1 self-signed certificate, which OpenSSL takes as a CA).
  if (X509_check_ca(cert) == 0) return AnchorKind::end_entity;
  // Self-signed in fact: issuer and subject match and the certificate's own key verifies it.
  const bool self = X509_self_signed(cert, 1) == 1;
  ERR_clear_error();
  return self ? AnchorKind::self_signed_root : AnchorKind::intermediate_ca;
}

std::string_view to_string(AnchorKind k) {
  switch (k) {
    case AnchorKind::self_signed_root:
      return "self-signed root CA";
    case AnchorKind::intermediate_ca:
      return "intermediate CA";
    case AnchorKind::end_entity:
      return "end-entity certificate";
  }
  return "end-entity certificate";
}

}  // namespace smime
