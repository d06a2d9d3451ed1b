// OCSP responses as a responder may send them, through the revocation module's check, about a
// certificate of the revocation test PKI issued by its intermediate CA. The first byte of the input
// selects, the rest is the response:
//   bits 0-1  the certificate: rev-good, rev-revoked, rev-unknown (the value modulo 3)
//   bit 2     the check compares the nonce of a request of ours
//   bit 3     the response is signed anew before the check, by the PKI's OCSP responder (bit 4: by the
//             intermediate CA itself), so that mutations of the signed data get past the signature
//             check to the matching of the certificate id, the times and the status
// check_ocsp_response never throws for anything a responder can send (the header's contract); an
// exception is a finding. Property: an undetermined verdict says why; good and revoked say nothing of
// the kind.
#include <openssl/err.h>
#include <openssl/evp.h>

#include <cstdint>
#include <ctime>
#include <string>

#include "fuzz_support.hpp"
#include "ocsp.hpp"

namespace {

struct Pki {
  smime::X509Ptr issuer = fuzz::revocation_pki_certificate("inter.pem");
  smime::PkeyPtr issuer_key = fuzz::pki_private_key("inter.key");
  smime::X509Ptr responder = fuzz::revocation_pki_certificate("ocsp.pem");
  smime::PkeyPtr responder_key = fuzz::revocation_pki_private_key("ocsp.key");
  smime::X509Ptr certs[3] = {fuzz::revocation_pki_certificate("rev-good.pem"),
                             fuzz::revocation_pki_certificate("rev-revoked.pem"),
                             fuzz::revocation_pki_certificate("rev-unknown.pem")};
  // A request of our own: its nonce is random, so a response either has none or fails the match.
  revocation::detail::OcspRequest request =
      revocation::detail::make_ocsp_request(certs[0].get(), issuer.get());
  std::time_t now = std::time(nullptr);  // fixed for the run: an input's verdict does not drift
  revocation::Options options;
};

const Pki& pki() {
  static const Pki p;
  return p;
}

// The response with its BasicOCSPResponse signed anew; the input as it is when it has none.
std::string signed_anew(std::string_view der, X509* signer, EVP_PKEY* key) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  revocation::detail::OcspResponsePtr response(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
  revocation::detail::OcspBasicPtr basic(response ? OCSP_response_get1_basic(response.get()) : nullptr);
  if (!basic || OCSP_basic_sign(basic.get(), signer, key, EVP_sha256(), nullptr, 0) != 1) {
    ERR_clear_error();
    return std::string(der);
  }
  revocation::detail::OcspResponsePtr again(
      OCSP_response_create(OCSP_response_status(response.get()), basic.get()));
  unsigned char* out = nullptr;
  const int n = again ? i2d_OCSP_RESPONSE(again.get(), &out) : -1;
  if (n <= 0) {
    ERR_clear_error();
    return std::string(der);
  }
  smime::OsslStringPtr owned(reinterpret_cast<char*>(out));
  return std::string(owned.get(), static_cast<std::size_t>(n));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const Pki& p = pki();
  const unsigned selector = data[0];
  X509* cert = p.certs[(selector & 3) % 3].get();
  OCSP_REQUEST* request = (selector & 4) != 0 ? p.request.request.get() : nullptr;
  std::string der(fuzz::as_text(data + 1, size - 1));
  if ((selector & 0x10) != 0)
    der = signed_anew(der, p.issuer.get(), p.issuer_key.get());
  else if ((selector & 0x08) != 0)
    der = signed_anew(der, p.responder.get(), p.responder_key.get());
  revocation::detail::Verdict v =
      revocation::detail::check_ocsp_response(der, request, cert, p.issuer.get(), p.now, p.options);
  const bool undetermined = v.status == revocation::Status::undetermined;
  fuzz::require(undetermined == (v.why != revocation::Why::none), "why is given exactly when undetermined");
  return 0;
}
