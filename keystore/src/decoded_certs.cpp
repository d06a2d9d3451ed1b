#include "decoded_certs.hpp"

#include "smime/cert.hpp"
#include "smime/decoded_cache.hpp"

namespace keystore {

namespace {

DecodedCert copy_of(const DecodedCert& d) { return DecodedCert{smime::share(d.cert.get()), d.facts}; }

}  // namespace

DecodedCert decode_stored_certificate(std::string_view bytes) {
  // Enough for the certificates a gateway reads over and over (its identities, its anchors, its
  // frequent correspondents). Never destroyed: its X509 objects must not be freed after OpenSSL's own
  // exit-time clean-up, which may run first (and the memory goes with the process anyway).
  static auto* cache = new smime::DecodedCache<DecodedCert>(512, 8 * 1024 * 1024);
  return cache->get(
      bytes,
      [&] {
        DecodedCert made;
        made.cert = smime::load_certificate(bytes);
        made.facts = facts_of(made.cert.get());
        return made;
      },
      copy_of);
}

}  // namespace keystore
