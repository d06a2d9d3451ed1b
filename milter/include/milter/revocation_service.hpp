// The revocation checker of the running configuration: one revocation::Checker shared by every
// connection (so its cache and its one-fetch-per-URL rule cover all of them), rebuilt only when a
// reload changes the `revocation` section. Messages hold the checker they started with (shared_ptr),
// so a reload never pulls it from under a message in flight.
//
// The checker consults the keystore's local revocation data (smime-keystore crl import, revoke) before
// the network, reread when the store's change counter moves.
//
// revocation.cache "keystore": the checker keeps its cache in the keystore's database, through the
// keystore location's statements' pool (KeystoreCacheStore over StoreService::pool), and purges expired
// entries at most hourly, on a message.
#pragma once

#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "conf/config.hpp"
#include "keystore/store_pool.hpp"
#include "milter/keystore_cache_store.hpp"
#include "milter/logging.hpp"
#include "revocation/decision.hpp"
#include "revocation/revocation.hpp"

namespace milter {

class RevocationService {
 public:
  // The checker for this configuration; null when revocation checking is turned off. `keystore`: the
  // keystore's statements' pool (StoreService::pool): the keystore's CRLs and revocations by hand are
  // consulted first through it (KeystoreLocalSource), and with revocation.cache "keystore" (which needs
  // it) the cache is kept there. Another pool (the keystore file replaced) makes another checker. A
  // purge that fails is logged, never thrown.
  std::shared_ptr<revocation::Checker> checker_for(const conf::Config& config,
                                                   std::shared_ptr<keystore::StorePool> keystore = nullptr);

 private:
  std::mutex mutex_;
  std::optional<conf::Revocation> settings_;
  std::shared_ptr<keystore::StorePool> pool_;  // the pool the local source and the cache store use
  std::shared_ptr<KeystoreCacheStore> cache_;  // null for the files cache
  std::shared_ptr<revocation::Checker> checker_;
};

// The log line of one decision: "revocation op=... subject=... certificate=FP status=... [why=...]
// source=... [url=...] cached=... decision=... reason=...". `subject` names what the certificate is used
// for (the recipient address, or the signer).
logging::Line revocation_line(revocation::Operation operation, std::string_view subject, X509* cert,
                              const revocation::Decision& decision);

}  // namespace milter
