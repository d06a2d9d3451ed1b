#include "keystore/bundle.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>

#include "keystore/facts.hpp"
#include "smime/cert.hpp"

namespace keystore {

namespace {

using Pkcs7Ptr = std::unique_ptr<PKCS7, smime::OsslDeleter<PKCS7_free>>;
using Pkcs12Ptr = std::unique_ptr<PKCS12, smime::OsslDeleter<PKCS12_free>>;

smime::BioPtr memory_bio(std::string_view bytes) {
  return smime::take<smime::BioPtr>(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())),
                                    "creating a memory BIO");
}

bool contains(std::string_view bytes, std::string_view what) {
  return bytes.find(what) != std::string_view::npos;
}

void append_pkcs7_certs(PKCS7* p7, std::vector<smime::X509Ptr>& out) {
  STACK_OF(X509)* certs = nullptr;
  if (PKCS7_type_is_signed(p7))
    certs = p7->d.sign->cert;
  else if (PKCS7_type_is_signedAndEnveloped(p7))
    certs = p7->d.signed_and_enveloped->cert;
  for (int i = 0; certs != nullptr && i < sk_X509_num(certs); ++i)
    out.push_back(smime::share(sk_X509_value(certs, i)));
}

std::vector<smime::X509Ptr> pem_pkcs7_certs(std::string_view bytes) {
  std::vector<smime::X509Ptr> out;
  smime::BioPtr bio = memory_bio(bytes);
  while (PKCS7* raw = PEM_read_bio_PKCS7(bio.get(), nullptr, nullptr, nullptr)) {
    Pkcs7Ptr p7(raw);
    append_pkcs7_certs(p7.get(), out);
  }
  ERR_clear_error();  // the loop ends on "no start line"
  return out;
}

}  // namespace

bool looks_like_pkcs12(std::string_view bytes) {
  if (contains(bytes, "-----BEGIN ")) return false;
  smime::BioPtr bio = memory_bio(bytes);
  Pkcs12Ptr p12(d2i_PKCS12_bio(bio.get(), nullptr));
  ERR_clear_error();
  return p12 != nullptr;
}

Bundle read_bundle(std::string_view bytes, const std::string& passphrase) {
  Bundle b;
  if (looks_like_pkcs12(bytes)) {
    smime::Pkcs12Contents p12 = smime::load_pkcs12(bytes, passphrase);
    b.pkcs12 = true;
    b.key = std::move(p12.key);
    b.certs.push_back(std::move(p12.cert));
    for (auto& c : p12.chain) b.certs.push_back(std::move(c));
    return b;
  }
  if (contains(bytes, "-----BEGIN ")) {
    if (contains(bytes, "-----BEGIN PKCS7-----")) b.certs = pem_pkcs7_certs(bytes);
    if (contains(bytes, "-----BEGIN CERTIFICATE-----"))
      for (auto& c : smime::load_certificates(bytes)) b.certs.push_back(std::move(c));
    if (contains(bytes, "PRIVATE KEY-----")) b.key = smime::load_private_key(bytes, passphrase);
  } else {
    smime::BioPtr bio = memory_bio(bytes);
    if (Pkcs7Ptr p7{d2i_PKCS7_bio(bio.get(), nullptr)}) {
      append_pkcs7_certs(p7.get(), b.certs);
    } else {
      ERR_clear_error();
      b.certs = smime::load_certificates(bytes);  // one DER certificate, or throws bad_input
    }
  }
  if (b.certs.empty())
    throw smime::Error(smime::ErrorKind::bad_input,
                       "no certificate found (expected PEM, DER, PKCS#7 or PKCS#12)");
  return b;
}

SplitCerts split_leaves(std::vector<smime::X509Ptr> certs) {
  SplitCerts out;
  for (auto& c : certs) (facts_of(c.get()).is_ca ? out.cas : out.leaves).push_back(std::move(c));
  return out;
}

}  // namespace keystore
