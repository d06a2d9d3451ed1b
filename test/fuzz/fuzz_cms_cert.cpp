// Parsing of what messages and administrators hand the core in DER or PEM: CMS ContentInfo (and the
// walk that names its content cipher), certificates, private keys, PKCS#12 files and S/MIME
// capability lists. The first byte of the input chooses the parser (its value modulo 5), the rest is
// the data. Every certificate found goes through the facts the keystore and the milter read from it
// (addresses, names, serial, fingerprint, the revocation module's OCSP and CRL URLs). Properties:
//  - failures are smime::Error(bad_input); nothing else escapes;
//  - a certificate written out as PEM reads back as the same certificate;
//  - capabilities written out read back as the same list;
//  - a SignedData decoded with its certificates through the cache (parse_signed_cms) fails exactly
//    when the whole structure does not decode, and then carries the same certificates and signers.
#include <openssl/cms.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "cms_parse.hpp"
#include "crl.hpp"
#include "fuzz_support.hpp"
#include "ocsp.hpp"
#include "smime/algorithms.hpp"
#include "smime/cert.hpp"
#include "smime/error.hpp"

namespace {

enum class Parser { cms, certificates, private_key, pkcs12, capabilities, count };

void certificate_facts(X509* cert) {
  (void)smime::email_addresses(cert);
  (void)smime::dns_names(cert);
  (void)smime::subject_name(cert);
  (void)smime::issuer_name(cert);
  (void)smime::serial_hex(cert);
  (void)smime::is_self_signed(cert);
  (void)revocation::detail::ocsp_urls(cert);
  (void)revocation::detail::crl_urls(cert);
  const std::string fingerprint = smime::fingerprint_sha256(cert);
  smime::X509Ptr again = smime::load_certificate(smime::to_pem(cert));
  fuzz::require(smime::fingerprint_sha256(again.get()) == fingerprint, "a certificate survives PEM");
}

std::string der_of(X509* cert) {
  unsigned char* out = nullptr;
  const int n = i2d_X509(cert, &out);
  fuzz::require(n > 0, "a decoded certificate encodes");
  std::string der(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
  OPENSSL_free(out);
  return der;
}

struct Decoded {
  std::vector<std::string> certificates;
  int signers = -1;  // not a SignedData
};

Decoded decoded(CMS_ContentInfo* cms, const std::vector<smime::X509Ptr>& certificates) {
  Decoded d;
  for (const auto& c : certificates) d.certificates.push_back(der_of(c.get()));
  if (OBJ_obj2nid(CMS_get0_type(cms)) == NID_pkcs7_signed)
    d.signers = sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms));
  return d;
}

void compare_with_cached_certificates(std::string_view der, const std::optional<Decoded>& whole) {
  std::optional<Decoded> cached;
  try {
    smime::detail::SignedCms s = smime::detail::parse_signed_cms(der);
    cached = decoded(s.cms.get(), s.certificates);
  } catch (const smime::Error& e) {
    fuzz::require(e.kind() == smime::ErrorKind::bad_input, "parse_signed_cms fails as bad input");
  }
  fuzz::require(whole.has_value() == cached.has_value(), "the cached decoding fails when the whole one does");
  if (!whole) return;
  fuzz::require(cached->certificates == whole->certificates, "the same certificates through the cache");
  fuzz::require(cached->signers == whole->signers, "the same signers through the cache");
}

void parse_cms(std::string_view der) {
  (void)smime::detail::content_encryption_algorithm(der);
  std::optional<Decoded> whole;
  smime::CmsPtr cms;
  try {
    cms = smime::detail::parse_cms(der);
  } catch (const smime::Error&) {
    compare_with_cached_certificates(der, std::nullopt);
    throw;
  }
  smime::X509StackPtr certs(CMS_get1_certs(cms.get()));
  std::vector<smime::X509Ptr> carried;
  for (int i = 0; certs && i < sk_X509_num(certs.get()); ++i) {
    certificate_facts(sk_X509_value(certs.get(), i));
    carried.push_back(smime::share(sk_X509_value(certs.get(), i)));
  }
  whole = decoded(cms.get(), carried);
  compare_with_cached_certificates(der, whole);
}

void parse_pkcs12(std::string_view der) {
  smime::Pkcs12Contents p12 = smime::load_pkcs12(der, "secret");
  certificate_facts(p12.cert.get());
  for (const auto& c : p12.chain) certificate_facts(c.get());
}

void parse_capabilities(std::string_view der) {
  smime::Capabilities caps = smime::Capabilities::from_der(der);
  smime::Capabilities again = smime::Capabilities::from_der(caps.to_der());
  fuzz::require(again.oids == caps.oids, "capabilities survive DER");
}

void run(Parser parser, std::string_view data) {
  switch (parser) {
    case Parser::cms:
      parse_cms(data);
      break;
    case Parser::certificates:
      for (const auto& c : smime::load_certificates(data)) certificate_facts(c.get());
      break;
    case Parser::private_key:
      (void)smime::load_private_key(data, "secret");
      break;
    case Parser::pkcs12:
      parse_pkcs12(data);
      break;
    case Parser::capabilities:
      parse_capabilities(data);
      break;
    case Parser::count:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto parser = static_cast<Parser>(data[0] % static_cast<unsigned>(Parser::count));
  try {
    run(parser, fuzz::as_text(data + 1, size - 1));
  } catch (const smime::Error& err) {
    fuzz::require(err.kind() == smime::ErrorKind::bad_input, "parsing fails only as bad_input");
  }
  return 0;
}
