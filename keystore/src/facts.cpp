#include "keystore/facts.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>

#include "smime/cert.hpp"

namespace keystore {

namespace {

Time to_time(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1)
    smime::throw_openssl(smime::ErrorKind::bad_input, "reading a certificate's validity");
  return static_cast<Time>(timegm(&tm));
}

KeyType key_type_of(const EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      return KeyType::rsa;
    case EVP_PKEY_RSA_PSS:
      return KeyType::rsa_pss;
    case EVP_PKEY_EC:
      return KeyType::ec;
    case EVP_PKEY_ED25519:
      return KeyType::ed25519;
    case EVP_PKEY_ED448:
      return KeyType::ed448;
    default:
      return KeyType::other;
  }
}

struct UsageName {
  std::uint32_t bit;
  const char* name;
};
constexpr UsageName kUsages[] = {
    {KU_DIGITAL_SIGNATURE, "digitalSignature"},
    {KU_NON_REPUDIATION, "nonRepudiation"},
    {KU_KEY_ENCIPHERMENT, "keyEncipherment"},
    {KU_DATA_ENCIPHERMENT, "dataEncipherment"},
    {KU_KEY_AGREEMENT, "keyAgreement"},
    {KU_KEY_CERT_SIGN, "keyCertSign"},
    {KU_CRL_SIGN, "cRLSign"},
    {KU_ENCIPHER_ONLY, "encipherOnly"},
    {KU_DECIPHER_ONLY, "decipherOnly"},
};

}  // namespace

std::string to_string(KeyType t) {
  switch (t) {
    case KeyType::rsa:
      return "RSA";
    case KeyType::rsa_pss:
      return "RSA-PSS";
    case KeyType::ec:
      return "EC";
    case KeyType::ed25519:
      return "Ed25519";
    case KeyType::ed448:
      return "Ed448";
    case KeyType::other:
      return "other";
  }
  return "other";
}

std::vector<std::string> key_usage_names(std::uint32_t bits) {
  std::vector<std::string> out;
  for (const auto& u : kUsages)
    if (bits & u.bit) out.emplace_back(u.name);
  return out;
}

bool CertFacts::can_encrypt() const {
  if (key_type == KeyType::rsa) return has_usage(KU_KEY_ENCIPHERMENT);
  if (key_type == KeyType::ec) return has_usage(KU_KEY_AGREEMENT);
  return false;
}

bool CertFacts::can_sign() const {
  if (key_type == KeyType::other) return false;
  return has_usage(KU_DIGITAL_SIGNATURE) || has_usage(KU_NON_REPUDIATION);
}

std::string CertFacts::usage_text() const {
  if (!key_usage) return "any (no keyUsage extension)";
  std::string out;
  for (const auto& n : key_usage_names(*key_usage)) out += (out.empty() ? "" : ",") + n;
  return out.empty() ? "none" : out;
}

CertFacts facts_of(X509* cert) {
  if (cert == nullptr) throw smime::Error(smime::ErrorKind::usage, "no certificate");
  CertFacts f;
  f.subject = smime::subject_name(cert);
  f.issuer = smime::issuer_name(cert);
  f.serial = smime::serial_hex(cert);
  f.fingerprint = smime::fingerprint_sha256(cert);
  f.emails = smime::email_addresses(cert);
  f.domains = smime::dns_names(cert);
  // X509_get_extension_flags computes (and caches) the extension facts; EXFLAG_INVALID marks bad ones.
  const std::uint32_t flags = X509_get_extension_flags(cert);
  if (flags & EXFLAG_INVALID)
    throw smime::Error(smime::ErrorKind::bad_input, "certificate has invalid extensions");
  if (flags & EXFLAG_KUSAGE) f.key_usage = X509_get_key_usage(cert);
  if (flags & EXFLAG_XKUSAGE) {
    const std::uint32_t xku = X509_get_extended_key_usage(cert);
    f.email_protection = (xku & (XKU_SMIME | XKU_ANYEKU)) != 0;
  }
  f.is_ca = (flags & EXFLAG_CA) != 0 && X509_check_ca(cert) != 0;
  f.self_signed = smime::is_self_signed(cert);
  const EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key == nullptr) smime::throw_openssl(smime::ErrorKind::bad_input, "reading a certificate's public key");
  f.key_type = key_type_of(key);
  f.key_bits = EVP_PKEY_get_bits(key);
  f.not_before = to_time(X509_get0_notBefore(cert));
  f.not_after = to_time(X509_get0_notAfter(cert));
  f.der_size = static_cast<std::size_t>(i2d_X509(cert, nullptr));
  return f;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool iequals(const std::string& a, const std::string& b) { return lower(a) == lower(b); }

std::string domain_of(const std::string& address) {
  auto at = address.rfind('@');
  return at == std::string::npos ? std::string() : lower(address.substr(at + 1));
}

}  // namespace keystore
