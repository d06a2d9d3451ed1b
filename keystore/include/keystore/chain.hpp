// Certificate chain validation against trust anchors, for the harvesting rules and `lookup`.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "keystore/facts.hpp"
#include "smime/ossl.hpp"

namespace keystore {

// Validates cert to one of anchors through untrusted intermediates, for S/MIME signing, at time `at`. The
// chain ends at the first anchor it meets: a self-signed root, an intermediate CA, or cert itself when
// it is an anchor (a pinned end-entity certificate).
// Returns nothing when it validates, OpenSSL's verification error text otherwise.
std::optional<std::string> chain_error(X509* cert, const std::vector<smime::X509Ptr>& anchors,
                                       const std::vector<smime::X509Ptr>& untrusted, Time at);
// The same against anchors already made into a store with partial chains allowed
// (smime::make_trust_store): a process validates against one prepared store, not one per call.
std::optional<std::string> chain_error(X509* cert, X509_STORE* anchors,
                                       const std::vector<smime::X509Ptr>& untrusted, Time at);

}  // namespace keystore
