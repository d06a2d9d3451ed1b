#include "ocsp.hpp"

#include <openssl/err.h>

namespace revocation::detail {
namespace {

OcspCertIdPtr cert_id(X509* cert, X509* issuer) {
  return smime::take<OcspCertIdPtr>(OCSP_cert_to_id(EVP_sha1(), cert, issuer), "OCSP_cert_to_id");
}

std::string asn1_hex(const ASN1_STRING* s) {
  return s == nullptr ? std::string()
                      : hex(ASN1_STRING_get0_data(s), static_cast<std::size_t>(ASN1_STRING_length(s)));
}

}  // namespace

std::vector<std::string> ocsp_urls(X509* cert) {
  std::vector<std::string> urls;
  OsslStringStackPtr list(X509_get1_ocsp(cert));
  for (int i = 0; list && i < sk_OPENSSL_STRING_num(list.get()); ++i)
    urls.emplace_back(sk_OPENSSL_STRING_value(list.get(), i));
  return urls;
}

std::string ocsp_id_key(X509* cert, X509* issuer) {
  OcspCertIdPtr id = cert_id(cert, issuer);
  ASN1_OCTET_STRING* name_hash = nullptr;
  ASN1_OCTET_STRING* key_hash = nullptr;
  ASN1_INTEGER* serial = nullptr;
  smime::check(OCSP_id_get0_info(&name_hash, nullptr, &key_hash, &serial, id.get()), "OCSP_id_get0_info");
  return "sha1:" + asn1_hex(name_hash) + ":" + asn1_hex(key_hash) + ":" + asn1_hex(serial);
}

OcspRequest make_ocsp_request(X509* cert, X509* issuer) {
  OcspRequest out;
  out.request = smime::take<OcspRequestPtr>(OCSP_REQUEST_new(), "OCSP_REQUEST_new");
  OcspCertIdPtr id = cert_id(cert, issuer);
  if (OCSP_request_add0_id(out.request.get(), id.get()) == nullptr)
    smime::throw_openssl(smime::ErrorKind::crypto, "OCSP_request_add0_id");
  id.release();  // now owned by the request
  smime::check(OCSP_request_add1_nonce(out.request.get(), nullptr, -1), "OCSP_request_add1_nonce");
  unsigned char* der = nullptr;
  int len = i2d_OCSP_REQUEST(out.request.get(), &der);
  if (len <= 0) smime::throw_openssl(smime::ErrorKind::crypto, "i2d_OCSP_REQUEST");
  smime::OsslStringPtr owner(reinterpret_cast<char*>(der));
  out.der.assign(owner.get(), static_cast<std::size_t>(len));
  return out;
}

Verdict check_ocsp_response(std::string_view der, OCSP_REQUEST* request, X509* cert, X509* issuer,
                            std::time_t now, const Options& options) {
  ERR_clear_error();
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  OcspResponsePtr response(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
  if (!response || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    ERR_clear_error();
    return undetermined(Why::malformed, "not an OCSP response");
  }
  int rstatus = OCSP_response_status(response.get());
  if (rstatus != OCSP_RESPONSE_STATUS_SUCCESSFUL)
    return undetermined(Why::responder_error,
                        std::string("responder status ") + OCSP_response_status_str(rstatus));
  OcspBasicPtr basic(OCSP_response_get1_basic(response.get()));
  if (!basic) {
    ERR_clear_error();
    return undetermined(Why::malformed, "not a basic OCSP response");
  }
  if (request != nullptr) {
    // 1: equal, 2: neither has one, -1: only the request has one (a pre-signed response, accepted),
    // 0: they differ, 3: only the response has one (not an answer to this request).
    int nonce = OCSP_check_nonce(request, basic.get());
    if (nonce == 0 || nonce == 3) return undetermined(Why::replayed, "response nonce differs from ours");
  }

  // The signature: the store trusts the issuer alone (a partial chain), so the signer is the issuer or
  // chains to it; OCSP_basic_verify then requires the issuer itself or a certificate it issued with
  // id-kp-OCSPSigning for the id answered (RFC 6960 section 4.2.2.2). Certificates in the response are
  // only candidates for the signer, never trusted.
  smime::StorePtr store = smime::take<smime::StorePtr>(X509_STORE_new(), "X509_STORE_new");
  smime::check(X509_STORE_add_cert(store.get(), issuer), "X509_STORE_add_cert");
  X509_VERIFY_PARAM* param = X509_STORE_get0_param(store.get());
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  X509_VERIFY_PARAM_set_time(param, now);
  smime::X509StackPtr issuer_only = smime::take<smime::X509StackPtr>(sk_X509_new_null(), "sk_X509_new_null");
  smime::X509Ptr issuer_ref = smime::share(issuer);
  if (sk_X509_push(issuer_only.get(), issuer_ref.get()) <= 0) throw std::bad_alloc();
  issuer_ref.release();
  if (OCSP_basic_verify(basic.get(), issuer_only.get(), store.get(), 0) <= 0)
    return undetermined(Why::bad_signature, "response signature: " + smime::drain_openssl_errors());

  OcspCertIdPtr id = cert_id(cert, issuer);
  int status = -1, reason = -1;
  ASN1_GENERALIZEDTIME *revtime = nullptr, *thisupd = nullptr, *nextupd = nullptr;
  if (OCSP_resp_find_status(basic.get(), id.get(), &status, &reason, &revtime, &thisupd, &nextupd) != 1) {
    ERR_clear_error();
    return undetermined(Why::malformed, "response does not answer for this certificate");
  }

  Verdict v;
  v.this_update = to_time(thisupd);
  if (nextupd != nullptr) {
    v.next_update = to_time(nextupd);
    if (!v.next_update) return undetermined(Why::malformed, "unreadable nextUpdate");
  }
  if (!v.this_update) return undetermined(Why::malformed, "unreadable thisUpdate");
  // The checks of OCSP_check_validity, made at `now` rather than at the system time.
  const std::time_t skew = options.clock_skew.count();
  if (*v.this_update > now + skew)
    return undetermined(Why::stale, "thisUpdate " + iso_time(*v.this_update) + " is in the future");
  if (v.next_update && *v.next_update < *v.this_update)
    return undetermined(Why::malformed, "nextUpdate before thisUpdate");
  if (v.next_update && *v.next_update < now - skew)
    return undetermined(Why::stale, "response expired at " + iso_time(*v.next_update));
  if (options.ocsp_max_age.count() > 0 && *v.this_update < now - options.ocsp_max_age.count())
    return undetermined(Why::stale,
                        "response older than the maximum age (thisUpdate " + iso_time(*v.this_update) + ")");
  v.expires_at = v.next_update ? *v.next_update : *v.this_update + options.ocsp_max_age.count();

  switch (status) {
    case V_OCSP_CERTSTATUS_GOOD:
      v.status = Status::good;
      break;
    case V_OCSP_CERTSTATUS_REVOKED:
      v.status = Status::revoked;
      v.revoked_at = to_time(revtime);
      v.revocation_reason = reason_name(reason);
      break;
    default:
      return undetermined(Why::unknown_to_responder, "the responder does not know the certificate");
  }
  return v;
}

}  // namespace revocation::detail
