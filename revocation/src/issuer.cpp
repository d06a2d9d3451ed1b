// find_issuer: the issuer of a certificate among candidates; whether it names a revocation source.
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "crl.hpp"
#include "ocsp.hpp"
#include "revocation/revocation.hpp"

namespace revocation {

smime::X509Ptr find_issuer(X509* cert, const std::vector<smime::X509Ptr>& candidates) {
  if (cert == nullptr) return {};
  for (const smime::X509Ptr& c : candidates) {
    // Names and key identifiers can be copied by anyone: the certificate's signature must verify with
    // the candidate's key, or a message could bring its own "issuer" and steer the check.
    if (!c || X509_check_issued(c.get(), cert) != X509_V_OK) continue;
    EVP_PKEY* key = X509_get0_pubkey(c.get());
    if (key != nullptr && X509_verify(cert, key) == 1) return smime::share(c.get());
    ERR_clear_error();
  }
  return {};
}

bool names_revocation_source(X509* cert) {
  // Any distribution point counts, also one we cannot use (reasons, cRLIssuer, LDAP without libcurl
  // support): such a certificate is undetermined for a reason, not "without distribution point".
  return cert != nullptr && (!detail::ocsp_urls(cert).empty() ||
                             X509_get_ext_by_NID(cert, NID_crl_distribution_points, -1) >= 0);
}

}  // namespace revocation
