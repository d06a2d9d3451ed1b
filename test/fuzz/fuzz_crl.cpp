// CRLs as a CRL server (or an LDAP directory through libcurl) may send them, through the revocation
// module's parser, issuer check and lookup, about the revocation test PKI's rev-good and rev-revoked
// issued by its intermediate CA. The lookup runs on every CRL that parses, verified or not: a forged
// CRL must be refused by verify_crl, and looking into it must be safe all the same. Nothing here
// throws for anything a server can send (the header's contract); an exception is a finding.
// Property: an undetermined verdict says why; good and revoked say nothing of the kind.
#include <cstdint>
#include <ctime>

#include "crl.hpp"
#include "fuzz_support.hpp"

namespace {

struct Pki {
  smime::X509Ptr issuer = fuzz::revocation_pki_certificate("inter.pem");
  smime::X509Ptr good = fuzz::revocation_pki_certificate("rev-good.pem");
  smime::X509Ptr revoked = fuzz::revocation_pki_certificate("rev-revoked.pem");
  std::time_t now = std::time(nullptr);  // fixed for the run: an input's verdict does not drift
  revocation::Options options;
};

const Pki& pki() {
  static const Pki p;
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Pki& p = pki();
  revocation::detail::CrlPtr crl = revocation::detail::parse_crl(fuzz::as_text(data, size));
  if (!crl) return 0;
  for (X509* cert : {p.good.get(), p.revoked.get()}) {
    if (auto refused = revocation::detail::verify_crl(crl.get(), cert, p.issuer.get()))
      fuzz::require(refused->status == revocation::Status::undetermined, "a refused CRL is undetermined");
    revocation::detail::Verdict v = revocation::detail::crl_status(crl.get(), cert, p.now, p.options);
    const bool undetermined = v.status == revocation::Status::undetermined;
    fuzz::require(undetermined == (v.why != revocation::Why::none), "why is given exactly when undetermined");
  }
  return 0;
}
