#include "keystore/requirements.hpp"

#include <ctime>

namespace keystore {

namespace {

std::string date(Time t) {
  char buf[32];
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

Check fail(Problem p, std::string reason) { return Check{p, std::move(reason)}; }

}  // namespace

std::string to_string(Purpose p) {
  switch (p) {
    case Purpose::encrypt:
      return "encrypt";
    case Purpose::sign:
      return "sign";
    case Purpose::both:
      return "both";
    case Purpose::any:
      return "any";
  }
  return "any";
}

std::string to_string(Problem p) {
  switch (p) {
    case Problem::none:
      return "none";
    case Problem::expired:
      return "expired";
    case Problem::not_yet_valid:
      return "not-yet-valid";
    case Problem::wrong_key_usage:
      return "wrong-key-usage";
    case Problem::wrong_extended_usage:
      return "wrong-extended-key-usage";
    case Problem::unsupported_key:
      return "unsupported-key";
    case Problem::ca_certificate:
      return "ca-certificate";
    case Problem::no_address:
      return "no-address";
    case Problem::no_private_key:
      return "no-private-key";
  }
  return "none";
}

Check check_validity(const CertFacts& f, Time now) {
  if (now > f.not_after) return fail(Problem::expired, "expired on " + date(f.not_after));
  if (now < f.not_before) return fail(Problem::not_yet_valid, "not valid before " + date(f.not_before));
  return {};
}

Check check_purpose(const CertFacts& f, Purpose purpose) {
  if (!f.email_protection)
    return fail(Problem::wrong_extended_usage, "extendedKeyUsage does not include emailProtection");
  const bool want_encrypt = purpose == Purpose::encrypt || purpose == Purpose::both;
  const bool want_sign = purpose == Purpose::sign || purpose == Purpose::both;
  auto key_problem = [&](bool encrypting) {
    const bool rsa = f.key_type == KeyType::rsa, ec = f.key_type == KeyType::ec;
    if (encrypting && !rsa && !ec)
      return fail(Problem::unsupported_key, to_string(f.key_type) + " keys cannot receive encrypted mail");
    if (encrypting)
      return fail(Problem::wrong_key_usage, std::string("keyUsage lacks ") +
                                                (rsa ? "keyEncipherment" : "keyAgreement") + " (has " +
                                                f.usage_text() + ")");
    if (f.key_type == KeyType::other)
      return fail(Problem::unsupported_key, "unsupported key type for signing");
    return fail(Problem::wrong_key_usage,
                "keyUsage lacks digitalSignature and nonRepudiation (has " + f.usage_text() + ")");
  };
  if (want_encrypt && !f.can_encrypt()) return key_problem(true);
  if (want_sign && !f.can_sign()) return key_problem(false);
  if (purpose == Purpose::any && !f.can_encrypt() && !f.can_sign())
    return fail(Problem::wrong_key_usage,
                "usable neither for signing nor for encryption (keyUsage " + f.usage_text() + ")");
  return {};
}

Check check_import(const CertFacts& f, Purpose purpose, Time now) {
  if (f.is_ca) return fail(Problem::ca_certificate, "a CA certificate (add it with 'trust add' instead)");
  if (f.emails.empty() && f.domains.empty())
    return fail(Problem::no_address, "names no e-mail address or domain (subjectAltName)");
  if (Check v = check_validity(f, now); !v.ok()) return v;
  return check_purpose(f, purpose);
}

}  // namespace keystore
