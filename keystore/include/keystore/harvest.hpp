// Harvesting: whether to store the signer certificate of an incoming signed message, and storing it.
//
// Default rules, each refusal with its reason: the signature verified; the chain validates to one of
// the store's trust anchors (with the certificates the message carried as intermediates), for S/MIME
// signing; the certificate is valid now and not self-signed; it names the message's From address
// (or covers its domain, for a domain certificate). `harvest_unverified` waives the signature and
// chain checks, not the others. A certificate already stored is "already known" (its last use and
// capabilities are refreshed). If the address (or domain, for a domain certificate) already has a
// certificate that is valid now, the new one is refused unless `harvest_updates` is on; then it is
// stored as "updated", and more than one update from the same domain within `warning_window` adds a
// warning (returned, and kept for `smime-keystore harvested`). After storing, harvested certificates
// beyond `size_limit_bytes` are evicted, least recently used first; imported ones never are.
// Every change happens in one write transaction, decided under the store's writer lock, so the rules
// hold when several processes (several gateways on one PostgreSQL store) harvest the same sender at once;
// a certificate already known with nothing to refresh is answered by a read alone.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "keystore/store.hpp"
#include "smime/algorithms.hpp"
#include "smime/ossl.hpp"

namespace keystore {

struct HarvestPolicy {
  bool harvest_unverified = false;
  bool harvest_updates = false;
  std::int64_t size_limit_bytes = 512LL * 1024 * 1024;
  Time warning_window = 48 * 3600;
};

struct HarvestInput {
  X509* signer = nullptr;
  std::vector<smime::X509Ptr> carried;  // every certificate the SignedData carried
  bool signature_verified = false;
  std::string from_address;  // the message's From address
  std::string message_id;
  std::optional<Time> signing_time;
  smime::Capabilities capabilities;
  // The store's trust anchors prepared by the caller (smime::make_trust_store of the same generation);
  // without it, the harvest reads them from the store.
  std::shared_ptr<X509_STORE> trust_store;
};

enum class HarvestOutcome { stored, updated, already_known, refused };
std::string to_string(HarvestOutcome o);

struct HarvestDecision {
  HarvestOutcome outcome = HarvestOutcome::refused;
  std::string reason;                  // why refused, or what was done
  std::string fingerprint;             // of the signer certificate
  std::optional<std::string> warning;  // the 48-hour update warning, when raised
  std::vector<std::string> evicted;    // fingerprints removed by the size limit
  bool changed() const { return outcome == HarvestOutcome::stored || outcome == HarvestOutcome::updated; }
};

HarvestDecision harvest(Store& store, const HarvestInput& in, const HarvestPolicy& policy, Time now);

}  // namespace keystore
