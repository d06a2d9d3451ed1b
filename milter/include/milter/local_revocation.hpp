// The keystore's local revocation data for the revocation checker: revocation::LocalSource over a
// keystore::StorePool (revocation/ does not depend on the keystore; this adapter joins them). Set it in
// revocation::Options::local_source.
//
// What it hands over: the revocation by hand of a certificate (by its SHA-256 fingerprint), and the
// imported CRLs whose issuer name is the issuer's subject (the Checker verifies each against the issuer).
// Parsed once and kept while Store::generation() is unchanged: each lookup reads the counter (one
// cheap query on a leased store) and reloads when it moved, so `smime-keystore revoke` or `crl import`
// is seen by the next message, from any process. One thread reloads while the others wait for it.
// A CRL row that does not parse (only manual SQL can store one) is skipped.
// When the store cannot be read, the data read last is used; before any was read, lookup throws
// (keystore::Error), and the Checker answers undetermined (local-unavailable), never good.
// Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>

#include "keystore/store_pool.hpp"
#include "revocation/local_source.hpp"

namespace milter {

class KeystoreLocalSource final : public revocation::LocalSource {
 public:
  explicit KeystoreLocalSource(std::shared_ptr<keystore::StorePool> pool);
  ~KeystoreLocalSource() override;

  revocation::LocalData lookup(X509* cert, X509* issuer) override;

  // How often the tables were read (for tests: a lookup with an unchanged counter reads none).
  std::uint64_t loads() const;

 private:
  struct Snapshot;
  std::shared_ptr<const Snapshot> current();
  std::shared_ptr<const Snapshot> loaded() const;
  std::shared_ptr<const Snapshot> load();

  std::shared_ptr<keystore::StorePool> pool_;
  mutable std::mutex mutex_;  // guards snapshot_ and loads_
  std::mutex reload_;         // held by the one thread reading the tables
  std::shared_ptr<const Snapshot> snapshot_;
  std::uint64_t loads_ = 0;
};

}  // namespace milter
