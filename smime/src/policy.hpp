// Internal: the algorithm and key-strength policy of verification (AlgorithmPolicy in verify.hpp).
//
// Each check returns the reason a thing is too weak, or nothing when it passes. Reasons are plain
// words fit for a header ("weak digest: sha1", "weak key: RSA 512 bits (minimum 112-bit security)"),
// never OpenSSL's error queue.
#pragma once

#include <optional>
#include <string>

#include "smime/ossl.hpp"
#include "smime/verify.hpp"

namespace smime::detail {

// A digest (NID) used for a signature: MD5 always weak, SHA-1 unless the policy accepts it.
std::optional<std::string> weak_digest(int md_nid, const AlgorithmPolicy& policy);
// A public key below policy.min_security_bits.
std::optional<std::string> weak_key(EVP_PKEY* key, const AlgorithmPolicy& policy);
// A validated chain (leaf first, trust anchor last): every key, and every certificate signature
// except the anchor's own (the anchor is trusted as configured, not because of its signature).
std::optional<std::string> weak_chain(STACK_OF(X509) * chain, const AlgorithmPolicy& policy);

}  // namespace smime::detail
