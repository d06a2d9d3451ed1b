// Names of the revocation enums and the small conversions shared by the module.
#include <openssl/evp.h>

#include <array>
#include <cstdio>

#include "internal.hpp"

namespace revocation {

std::string_view to_string(Status s) {
  switch (s) {
    case Status::good:
      return "good";
    case Status::revoked:
      return "revoked";
    case Status::undetermined:
      return "undetermined";
  }
  return "undetermined";
}

std::string_view to_string(Method m) {
  switch (m) {
    case Method::ocsp:
      return "ocsp";
    case Method::crl:
      return "crl";
    case Method::local:
      return "local";
  }
  return "?";
}

std::string_view to_string(Why w) {
  switch (w) {
    case Why::none:
      return "none";
    case Why::no_distribution_point:
      return "no-distribution-point";
    case Why::no_issuer:
      return "no-issuer";
    case Why::timeout:
      return "timeout";
    case Why::connection_refused:
      return "connection-refused";
    case Why::network:
      return "network";
    case Why::http_status:
      return "http-status";
    case Why::too_large:
      return "too-large";
    case Why::unsupported:
      return "unsupported";
    case Why::malformed:
      return "malformed";
    case Why::bad_signature:
      return "bad-signature";
    case Why::stale:
      return "stale";
    case Why::replayed:
      return "replayed";
    case Why::responder_error:
      return "responder-error";
    case Why::unknown_to_responder:
      return "unknown-to-responder";
    case Why::local_unavailable:
      return "local-unavailable";
  }
  return "unknown";
}

namespace detail {

std::optional<std::time_t> to_time(const ASN1_TIME* t) {
  if (t == nullptr) return std::nullopt;
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  return ::timegm(&tm);
}

std::string iso_time(std::time_t t) {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  std::array<char, 32> buf{};
  std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf.data();
}

std::string hex(const unsigned char* p, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 0xf];
  }
  return out;
}

std::string hex(std::string_view bytes) {
  return hex(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

std::string sha256_hex(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  smime::check(EVP_Digest(bytes.data(), bytes.size(), md.data(), &len, EVP_sha256(), nullptr), "SHA-256");
  return hex(md.data(), len);
}

std::string name_text(const X509_NAME* name) {
  smime::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) throw std::bad_alloc();
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string();
}

std::string describe(const Verdict& v) {
  if (v.status == Status::undetermined) return v.detail;
  std::string s(to_string(v.status));
  if (v.status == Status::revoked) s += " (" + v.revocation_reason + ")";
  if (v.stale) s += " (stale CRL)";
  return s;
}

std::string reason_name(int code) {
  switch (code) {
    case -1:
    case 0:
      return "unspecified";
    case 1:
      return "keyCompromise";
    case 2:
      return "cACompromise";
    case 3:
      return "affiliationChanged";
    case 4:
      return "superseded";
    case 5:
      return "cessationOfOperation";
    case 6:
      return "certificateHold";
    case 8:
      return "removeFromCRL";
    case 9:
      return "privilegeWithdrawn";
    case 10:
      return "aACompromise";
    default:
      return "reason " + std::to_string(code);
  }
}

}  // namespace detail
}  // namespace revocation
