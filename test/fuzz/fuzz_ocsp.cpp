// OCSP responses as a responder may send them, through the revocation module's check, about a
// certificate of the revocation test PKI issued by its intermediate CA. The first byte of the input
// chooses the certificate (rev-good, rev-revoked, rev-unknown: its value modulo 3) and whether the
// check compares the nonce of a request (bit 2); the rest is the response. check_ocsp_response never
// throws for anything a responder can send (the header's contract); an exception is a finding.
// Property: an undetermined verdict says why; good and revoked say nothing of the kind.
#include <cstdint>
#include <ctime>

#include "fuzz_support.hpp"
#include "ocsp.hpp"

namespace {

struct Pki {
  smime::X509Ptr issuer = fuzz::revocation_pki_certificate("inter.pem");
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const Pki& p = pki();
  X509* cert = p.certs[data[0] % 3].get();
  OCSP_REQUEST* request = (data[0] & 4) != 0 ? p.request.request.get() : nullptr;
  revocation::detail::Verdict v = revocation::detail::check_ocsp_response(
      fuzz::as_text(data + 1, size - 1), request, cert, p.issuer.get(), p.now, p.options);
  const bool undetermined = v.status == revocation::Status::undetermined;
  fuzz::require(undetermined == (v.why != revocation::Why::none), "why is given exactly when undetermined");
  return 0;
}
