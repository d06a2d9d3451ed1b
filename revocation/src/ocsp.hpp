// OCSP (RFC 6960): the responder URLs of a certificate, the request (SHA-1 certificate id and a nonce),
// and the check of a response. check_ocsp_response() returns a Verdict and never throws for anything a
// responder can send; it throws only on out of memory.
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "internal.hpp"

namespace revocation::detail {

// The OCSP URLs of cert's Authority Information Access, in order.
std::vector<std::string> ocsp_urls(X509* cert);

// The certificate id as a cache key: "sha1:ISSUERNAMEHASH:ISSUERKEYHASH:SERIAL" (hex).
std::string ocsp_id_key(X509* cert, X509* issuer);

struct OcspRequest {
  OcspRequestPtr request;  // keeps the nonce for the response check
  std::string der;
};
OcspRequest make_ocsp_request(X509* cert, X509* issuer);

// Checks `der` as the answer about cert: status successful, signature by the issuer or by a responder
// certificate it issued with id-kp-OCSPSigning (verified at `now`), the nonce when `request` is given
// (a mismatch is Why::replayed, no nonce in the response is accepted), the single response for cert's
// id, and thisUpdate/nextUpdate against now, clock_skew and ocsp_max_age.
Verdict check_ocsp_response(std::string_view der, OCSP_REQUEST* request, X509* cert, X509* issuer,
                            std::time_t now, const Options& options);

}  // namespace revocation::detail
