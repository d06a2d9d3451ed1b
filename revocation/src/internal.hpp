// Internal helpers of revocation/: RAII for the OpenSSL and libcurl types this module uses, times, hex,
// and Verdict, what one source (an OCSP response, a CRL) says about one certificate.
#pragma once

#include <curl/curl.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "revocation/revocation.hpp"
#include "smime/ossl.hpp"

namespace revocation::detail {

inline void free_ossl_string_stack(STACK_OF(OPENSSL_STRING) * s) { X509_email_free(s); }
inline void free_dist_points(STACK_OF(DIST_POINT) * s) { CRL_DIST_POINTS_free(s); }

using OcspRequestPtr = std::unique_ptr<OCSP_REQUEST, smime::OsslDeleter<OCSP_REQUEST_free>>;
using OcspResponsePtr = std::unique_ptr<OCSP_RESPONSE, smime::OsslDeleter<OCSP_RESPONSE_free>>;
using OcspBasicPtr = std::unique_ptr<OCSP_BASICRESP, smime::OsslDeleter<OCSP_BASICRESP_free>>;
using OcspCertIdPtr = std::unique_ptr<OCSP_CERTID, smime::OsslDeleter<OCSP_CERTID_free>>;
using CrlPtr = std::unique_ptr<X509_CRL, smime::OsslDeleter<X509_CRL_free>>;
using OsslStringStackPtr =
    std::unique_ptr<STACK_OF(OPENSSL_STRING), smime::OsslDeleter<free_ossl_string_stack>>;
using DistPointsPtr = std::unique_ptr<STACK_OF(DIST_POINT), smime::OsslDeleter<free_dist_points>>;
using IdpPtr = std::unique_ptr<ISSUING_DIST_POINT, smime::OsslDeleter<ISSUING_DIST_POINT_free>>;
using Asn1EnumPtr = std::unique_ptr<ASN1_ENUMERATED, smime::OsslDeleter<ASN1_ENUMERATED_free>>;
using CurlPtr = std::unique_ptr<CURL, smime::OsslDeleter<curl_easy_cleanup>>;
using CurlListPtr = std::unique_ptr<curl_slist, smime::OsslDeleter<curl_slist_free_all>>;

// What one source says about one certificate.
struct Verdict {
  Status status = Status::undetermined;
  Why why = Why::none;
  std::string detail;  // undetermined: what went wrong, e.g. "timeout after 1500 ms"
  std::optional<std::time_t> revoked_at;
  std::string revocation_reason;
  std::optional<std::time_t> this_update, next_update;
  std::time_t expires_at = 0;  // until when it may be reused (good / revoked)
  bool stale = false;
};

inline Verdict undetermined(Why why, std::string detail) {
  Verdict v;
  v.why = why;
  v.detail = std::move(detail);
  return v;
}

// ASN1_TIME -> time_t (UTC); nullopt when unparsable.
std::optional<std::time_t> to_time(const ASN1_TIME* t);
// "2026-11-20T10:00:00Z"
std::string iso_time(std::time_t t);
std::string hex(const unsigned char* p, std::size_t n);
std::string hex(std::string_view bytes);
// SHA-256 of bytes, lower-case hex.
std::string sha256_hex(std::string_view bytes);
// A name in RFC 2253 form.
std::string name_text(const X509_NAME* name);
// A determined verdict as "good", "revoked (keyCompromise)", "... (stale CRL)"; undetermined: its detail.
std::string describe(const Verdict& v);
// RFC 5280 CRLReason name ("keyCompromise"), "unspecified" for -1/0, "reason N" otherwise.
std::string reason_name(int code);

}  // namespace revocation::detail
