// keystore::Store: the storage interface. Callers (the lookups, the harvesting rules, the CLI, the
// milter) use only this; SqliteStore implements it, a PostgreSQL store can be added beside it.
//
// Contract:
//  - every method is atomic on its own; in_transaction() groups several into one transaction that
//    either commits whole or leaves the store as it was (nested calls join the outer transaction);
//  - failures of the storage throw keystore::Error(store); "not there" is an empty optional or false;
//  - fingerprints are SHA-256, upper-case hex, colon separated (as smime::fingerprint_sha256);
//  - the store holds no policy: which certificate qualifies is decided in lookup.hpp and harvest.hpp.
// A Store is used by one thread at a time; open one per thread or process.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keystore/record.hpp"

namespace keystore {

class Store {
 public:
  virtual ~Store() = default;
  Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  virtual void in_transaction(const std::function<void()>& fn) = 0;

  // --- public certificates (and the certificates of the gateway's own identities)
  virtual std::optional<CertRecord> find(std::string_view fingerprint) = 0;
  // Fingerprints starting with prefix (hex digits, colons and case ignored); for CLI selectors.
  virtual std::vector<CertRecord> find_prefix(std::string_view hex_prefix) = 0;
  virtual std::vector<CertRecord> by_email(std::string_view address) = 0;  // case-insensitive
  virtual std::vector<CertRecord> by_dns_name(std::string_view name) = 0;  // as stored: "*.x" too
  virtual std::vector<CertRecord> list(const ListFilter& filter) = 0;
  virtual std::int64_t add(const NewCertificate& c) = 0;  // throws Error(store) if already present
  virtual void set_origin(std::string_view fingerprint, Origin origin) = 0;
  virtual bool remove(std::string_view fingerprint) = 0;  // its private key goes with it
  virtual void mark_used(std::string_view fingerprint, Time when) = 0;
  // Replaces the stored capabilities only if signing_time is later than the stored one (or none is
  // stored); returns whether it did.
  virtual bool set_capabilities(std::string_view fingerprint, const smime::Capabilities& caps,
                                Time signing_time) = 0;

  // --- size accounting and eviction of harvested certificates (imported ones are never evicted)
  virtual std::int64_t harvested_bytes() = 0;
  // Removes least recently used harvested certificates (never `keep`) until the harvested total is at
  // most limit_bytes; returns the fingerprints removed.
  virtual std::vector<std::string> evict_harvested(std::int64_t limit_bytes, std::string_view keep) = 0;

  // --- private keys of the gateway's identities
  virtual void put_key(std::string_view fingerprint, const StoredKey& key) = 0;
  virtual std::optional<StoredKey> key(std::string_view fingerprint) = 0;

  // --- trust anchors
  virtual bool add_anchor(X509* cert, Time now) = 0;  // false if already present
  virtual bool remove_anchor(std::string_view fingerprint) = 0;
  virtual std::vector<AnchorRecord> anchors() = 0;

  // --- harvest log and warnings
  virtual void log_harvest(const HarvestEvent& e) = 0;
  virtual std::vector<HarvestEvent> harvests_since(Time since) = 0;
  // Harvests with outcome "updated" for the domain since the time.
  virtual int count_updates(std::string_view domain, Time since) = 0;
  virtual void add_warning(const WarningRecord& w) = 0;
  virtual std::vector<WarningRecord> warnings_since(Time since) = 0;
};

}  // namespace keystore
