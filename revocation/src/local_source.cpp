// The public CRL helpers of local_source.hpp: the checks a local CRL gets, for its import by hand.
#include "revocation/local_source.hpp"

#include <algorithm>

#include "crl.hpp"
#include "internal.hpp"

namespace revocation {

std::shared_ptr<X509_CRL> read_crl(std::string_view bytes) {
  detail::CrlPtr crl = detail::parse_crl(bytes);
  return std::shared_ptr<X509_CRL>(crl.release(), X509_CRL_free);
}

std::string crl_der(X509_CRL* crl) {
  unsigned char* der = nullptr;
  const int len = i2d_X509_CRL(crl, &der);
  if (len <= 0) smime::throw_openssl(smime::ErrorKind::crypto, "i2d_X509_CRL");
  smime::OsslStringPtr owner(reinterpret_cast<char*>(der));
  return std::string(owner.get(), static_cast<std::size_t>(len));
}

std::optional<std::string> crl_problem(X509_CRL* crl, X509* issuer) {
  if (crl == nullptr || issuer == nullptr)
    throw smime::Error(smime::ErrorKind::usage, "crl_problem without a CRL or an issuer");
  if (std::optional<detail::Verdict> bad = detail::verify_crl_issuer(crl, issuer)) return bad->detail;
  return std::nullopt;
}

CrlSummary summarize_crl(X509_CRL* crl) {
  CrlSummary s;
  s.issuer = detail::name_text(X509_CRL_get_issuer(crl));
  s.this_update = detail::to_time(X509_CRL_get0_lastUpdate(crl));
  s.next_update = detail::to_time(X509_CRL_get0_nextUpdate(crl));
  STACK_OF(X509_REVOKED)* entries = X509_CRL_get_REVOKED(crl);
  s.entries = entries ? static_cast<std::size_t>(sk_X509_REVOKED_num(entries)) : 0;
  return s;
}

const std::vector<std::string>& crl_reason_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (int code : {0, 1, 2, 3, 4, 5, 6, 9, 10}) v.push_back(detail::reason_name(code));
    return v;
  }();
  return names;
}

bool is_crl_reason(std::string_view name) {
  const auto& names = crl_reason_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace revocation
