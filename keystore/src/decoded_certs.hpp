#pragma once

#include <string_view>

#include "keystore/facts.hpp"
#include "smime/ossl.hpp"

namespace keystore {

// A certificate read from a store, decoded, with its facts.
struct DecodedCert {
  smime::X509Ptr cert;
  CertFacts facts;
};

// Decodes a stored certificate (DER or PEM, as smime::load_certificate) once per process: the same bytes
// give a shared reference to the same X509 object, which nobody modifies after decoding. OpenSSL 3.0
// decodes a certificate's public key through its provider decoders, about 0.1 ms a certificate, and
// every inbound message reads the same few records (the sender's certificates, the harvest's check,
// the trust anchors) again. Keyed by the bytes themselves, so a changed row can never get a stale
// object. Throws what load_certificate and facts_of throw; failures are not remembered.
DecodedCert decode_stored_certificate(std::string_view bytes);

}  // namespace keystore
