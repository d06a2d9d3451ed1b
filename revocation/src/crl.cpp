#include "crl.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cctype>

namespace revocation::detail {

std::vector<std::string> crl_urls(X509* cert) {
  std::vector<std::string> urls;
  DistPointsPtr points(static_cast<STACK_OF(DIST_POINT)*>(
      X509_get_ext_d2i(cert, NID_crl_distribution_points, nullptr, nullptr)));
  ERR_clear_error();
  for (int i = 0; points && i < sk_DIST_POINT_num(points.get()); ++i) {
    DIST_POINT* dp = sk_DIST_POINT_value(points.get(), i);
    if (dp->distpoint == nullptr || dp->distpoint->type != 0 || dp->CRLissuer != nullptr ||
        dp->reasons != nullptr)
      continue;
    GENERAL_NAMES* names = dp->distpoint->name.fullname;
    for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
      GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, j);
      if (gn->type != GEN_URI) continue;
      const ASN1_IA5STRING* uri = gn->d.uniformResourceIdentifier;
      urls.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                        static_cast<std::size_t>(ASN1_STRING_length(uri)));
    }
  }
  return urls;
}

namespace {

// libcurl answers an LDAP URL with LDIF-like text: "DN: ...\n", then per value "\tATTR: VALUE\n", the
// value base64 when ATTR ends in ";binary", raw bytes otherwise. The first value of an attribute named
// like a CRL is returned; the input itself when it is not such text.
std::string from_ldap(std::string_view bytes) {
  if (bytes.substr(0, 4) != "DN: ") return std::string(bytes);
  for (std::size_t pos = bytes.find("\n\t"); pos != std::string_view::npos;
       pos = bytes.find("\n\t", pos + 1)) {
    std::size_t colon = bytes.find(": ", pos + 2);
    if (colon == std::string_view::npos) break;
    std::string attr(bytes.substr(pos + 2, colon - pos - 2));
    for (char& c : attr) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (attr.find("revocationlist") == std::string::npos) continue;
    std::string_view value = bytes.substr(colon + 2);
    if (attr.size() < 7 || attr.compare(attr.size() - 7, 7, ";binary") != 0) return std::string(value);
    value = value.substr(0, value.find_first_of("\r\n"));
    std::string out(value.size() / 4 * 3 + 3, '\0');
    int n =
        EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                        reinterpret_cast<const unsigned char*>(value.data()), static_cast<int>(value.size()));
    if (n < 0) return {};
    // EVP_DecodeBlock counts "=" padding as zero bytes; DER parsing ignores what follows the CRL.
    out.resize(static_cast<std::size_t>(n));
    return out;
  }
  return std::string(bytes);
}

}  // namespace

CrlPtr parse_crl(std::string_view input) {
  const std::string decoded = from_ldap(input);
  const std::string_view bytes = decoded;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(bytes.size())));
  if (!crl) {
    smime::BioPtr bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
    if (!bio) throw std::bad_alloc();
    crl.reset(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  }
  ERR_clear_error();
  return crl;
}

namespace {

// A CRL that covers only some reasons, only CA or attribute certificates, or other issuers' certificates
// (Issuing Distribution Point), or that has a critical extension we do not know, cannot say "good".
std::optional<Verdict> check_scope(X509_CRL* crl) {
  for (int i = 0; i < X509_CRL_get_ext_count(crl); ++i) {
    X509_EXTENSION* ext = X509_CRL_get_ext(crl, i);
    const int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
    if (X509_EXTENSION_get_critical(ext) && nid != NID_issuing_distribution_point)
      return undetermined(Why::unsupported, std::string("CRL with an unknown critical extension ") +
                                                (nid == NID_undef ? "(unnamed)" : OBJ_nid2sn(nid)));
  }
  int critical = 0;
  IdpPtr idp(static_cast<ISSUING_DIST_POINT*>(
      X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &critical, nullptr)));
  ERR_clear_error();
  if (!idp) {
    if (critical != -1) return undetermined(Why::malformed, "unreadable Issuing Distribution Point");
    return std::nullopt;
  }
  if (idp->onlysomereasons != nullptr)
    return undetermined(Why::unsupported,
                        "a CRL for some revocation reasons only (Issuing Distribution Point)");
  if (idp->onlyCA > 0 || idp->onlyattr > 0)
    return undetermined(Why::unsupported, "a CRL for CA or attribute certificates only");
  if (idp->indirectCRL > 0) return undetermined(Why::unsupported, "an indirect CRL");
  return std::nullopt;
}

}  // namespace

std::optional<Verdict> verify_crl(X509_CRL* crl, X509* cert, X509* issuer) {
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(cert)) != 0)
    return undetermined(Why::bad_signature,
                        "CRL issued by someone else (" + name_text(X509_CRL_get_issuer(crl)) + ")");
  return verify_crl_issuer(crl, issuer);
}

std::optional<Verdict> verify_crl_issuer(X509_CRL* crl, X509* issuer) {
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0)
    return undetermined(Why::bad_signature,
                        "CRL issued by someone else (" + name_text(X509_CRL_get_issuer(crl)) + ")");
  if (X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0)
    return undetermined(Why::malformed, "a delta CRL (not used)");
  if (std::optional<Verdict> scope = check_scope(crl)) return scope;
  if ((X509_get_extension_flags(issuer) & EXFLAG_KUSAGE) != 0 &&
      (X509_get_key_usage(issuer) & KU_CRL_SIGN) == 0)
    return undetermined(Why::bad_signature, "the issuer may not sign CRLs (keyUsage)");
  EVP_PKEY* key = X509_get0_pubkey(issuer);
  if (key == nullptr || X509_CRL_verify(crl, key) != 1)
    return undetermined(Why::bad_signature, "CRL signature does not verify with the issuer's key: " +
                                                smime::drain_openssl_errors());
  return std::nullopt;
}

Verdict crl_status(X509_CRL* crl, X509* cert, std::time_t now, const Options& options) {
  Verdict v;
  v.this_update = to_time(X509_CRL_get0_lastUpdate(crl));
  if (!v.this_update) return undetermined(Why::malformed, "unreadable CRL thisUpdate");
  if (const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl)) {
    v.next_update = to_time(next);
    if (!v.next_update) return undetermined(Why::malformed, "unreadable CRL nextUpdate");
  }
  const std::time_t skew = options.clock_skew.count();
  if (*v.this_update > now + skew)
    return undetermined(Why::stale, "CRL thisUpdate " + iso_time(*v.this_update) + " is in the future");
  if (v.next_update) {
    if (*v.next_update + options.crl_grace.count() < now - skew)
      return undetermined(Why::stale, "CRL expired at " + iso_time(*v.next_update) + " (grace " +
                                          std::to_string(options.crl_grace.count()) + " s)");
    v.stale = *v.next_update < now - skew;
    v.expires_at = *v.next_update;
  } else {
    v.expires_at = *v.this_update + options.ocsp_max_age.count();
  }

  X509_REVOKED* entry = nullptr;
  int found = X509_CRL_get0_by_cert(crl, &entry, cert);
  if (found == 1 && entry != nullptr) {
    v.status = Status::revoked;
    v.revoked_at = to_time(X509_REVOKED_get0_revocationDate(entry));
    int crit = 0;
    Asn1EnumPtr reason(
        static_cast<ASN1_ENUMERATED*>(X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, &crit, nullptr)));
    v.revocation_reason = reason_name(reason ? static_cast<int>(ASN1_ENUMERATED_get(reason.get())) : -1);
  } else {
    v.status = Status::good;  // absent, or removeFromCRL (2)
  }
  ERR_clear_error();
  return v;
}

}  // namespace revocation::detail
