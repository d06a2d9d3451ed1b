// keystore::Store: the storage interface. Callers (the lookups, the harvesting rules, the CLI, the
// milter) use only this; SqliteStore and the PostgreSQL store implement it.
//
// Contract:
//  - every method is atomic on its own; in_transaction() groups several into one transaction that
//    either commits whole or leaves the store as it was (nested calls join the outer transaction);
//  - failures of the storage throw keystore::Error(store); "not there" is an empty optional or false;
//  - fingerprints are SHA-256, upper-case hex, colon separated (as smime::fingerprint_sha256);
//  - the store holds no policy: which certificate qualifies is decided in lookup.hpp and harvest.hpp.
// A Store is used by one thread at a time: open one per thread, or share a few through a StorePool
// (store_pool.hpp). Open either backend with open_store() (open_store.hpp).
#pragma once

#include <chrono>
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

  // What this store is, for logs and messages ("SQLite file PATH", "PostgreSQL database DB on HOST");
  // never a password.
  virtual std::string describe() const;

  // --- change counter
  // Grows with every committed change, by any process, to certificates (their last use excepted), private
  // keys, trust anchors and local revocation data (CRLs, revocations by hand); harvest logs, warnings and the
  // revocation cache do not count. A cache of decoded keys, anchors or lookups keyed by it is current while
  // it is unchanged. One cheap read.
  virtual std::int64_t generation();

  // --- local revocation data (smime-keystore crl / revoke), consulted by the revocation checker before
  // the network; changes count in the change counter.
  // Stores the CRL for its issuer certificate: replaces the stored one only when this one's thisUpdate is
  // later; an older one is refused (not_newer) and changes nothing.
  virtual CrlPut put_crl(const CrlRecord& crl);
  virtual std::vector<CrlRecord> crls();  // by issuer name, then issuer fingerprint
  virtual std::optional<CrlRecord> crl(std::string_view issuer_fingerprint);
  virtual bool remove_crl(std::string_view issuer_fingerprint);  // false if there was none
  // Revokes a certificate by hand; a second revoke of it replaces reason, time and comment. Returns true
  // when it was not revoked before.
  virtual bool revoke(const RevokedRecord& r);
  virtual bool unrevoke(std::string_view fingerprint);  // false if it was not revoked by hand
  virtual std::vector<RevokedRecord> revoked();         // by fingerprint
  virtual std::optional<RevokedRecord> find_revoked(std::string_view fingerprint);

  // --- the shared revocation cache (revocation.cache "keystore"): entries with their expiry, negative
  // ones included ("undetermined"), and a claim per fetch so that one gateway fetches while the others
  // wait for its entry. These writes do not take part in the change counter.
  virtual std::optional<RevocationEntry> revocation_entry(std::string_view kind, std::string_view key);
  virtual void put_revocation_entry(const RevocationEntry& e);  // replaces an entry of the same kind and key
  // Removes the entry; with `expired_by`, only if it expires at or before that time (so that an entry
  // another gateway has just renewed stays).
  virtual void remove_revocation_entry(std::string_view kind, std::string_view key,
                                       std::optional<Time> expired_by = std::nullopt);
  // Removes the entries expired by `now` and the fetch claims expired on the database's clock.
  virtual std::int64_t purge_revocation_entries(Time now);
  // Claims the fetch `key` for at most `bound` (on the database's clock, shared by every host): returns
  // a token when claimed, nullopt while another holder's claim has not expired. A holder that dies
  // holds nothing once its bound has passed.
  virtual std::optional<std::string> claim_revocation_fetch(std::string_view key, std::chrono::seconds bound);
  virtual void release_revocation_fetch(std::string_view key, std::string_view token);
};

}  // namespace keystore
