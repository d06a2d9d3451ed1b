// find_issuer: the issuer of a certificate among candidates; whether it names a revocation source.
#include "crl.hpp"
#include "ocsp.hpp"
#include "revocation/revocation.hpp"

namespace revocation {

smime::X509Ptr find_issuer(X509* cert, const std::vector<smime::X509Ptr>& candidates) {
  if (cert == nullptr) return {};
  for (const smime::X509Ptr& c : candidates)
    if (c && X509_check_issued(c.get(), cert) == X509_V_OK) return smime::share(c.get());
  return {};
}

bool names_revocation_source(X509* cert) {
  return cert != nullptr && (!detail::ocsp_urls(cert).empty() || !detail::crl_urls(cert).empty());
}

}  // namespace revocation
