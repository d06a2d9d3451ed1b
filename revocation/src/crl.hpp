// CRLs (RFC 5280): the distribution points of a certificate, parsing (DER or PEM), the check that a CRL
// comes from the certificate's issuer, and the lookup of the certificate in it. Delta CRLs are refused.
// Nothing here throws for anything a CRL server can send (only on out of memory).
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "internal.hpp"

namespace revocation::detail {

// The full-name URIs of cert's CRL distribution points, in order (points with a cRLIssuer, i.e. indirect
// CRLs, or only some reasons, are skipped).
std::vector<std::string> crl_urls(X509* cert);

// A CRL in DER or PEM, or the value of a certificateRevocationList attribute in libcurl's LDAP output
// (untested against a real directory); null when it is none of these.
CrlPtr parse_crl(std::string_view bytes);

// Is `crl` a complete CRL issued by `issuer` for certificates of cert's issuer name? nullopt when it is
// (issuer name equal, signature verified with the issuer's key, cRLSign allowed); otherwise the
// undetermined Verdict (bad_signature, malformed).
std::optional<Verdict> verify_crl(X509_CRL* crl, X509* cert, X509* issuer);
// The same without a certificate: is `crl` a complete CRL issued by `issuer`?
std::optional<Verdict> verify_crl_issuer(X509_CRL* crl, X509* issuer);

// The status of cert in a verified `crl` at `now`: stale (undetermined) past nextUpdate + crl_grace,
// used with stale = true between nextUpdate and nextUpdate + grace. expires_at is nextUpdate (or
// thisUpdate + ocsp_max_age when the CRL has no nextUpdate).
Verdict crl_status(X509_CRL* crl, X509* cert, std::time_t now, const Options& options);

}  // namespace revocation::detail
