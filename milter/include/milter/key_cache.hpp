// Decoded keystore material, kept per process: the trust anchors (and the X509_STORE made of them),
// the gateway identities used for signing (certificate, chain and private key as OpenSSL objects),
// the decryption keys, and which identity signs for a sender's domain or address. Decoding these for
// every message cost more than the RSA operation itself; and a key object made once keeps OpenSSL's
// RSA blinding, which a fresh object would set up again for every signature.
//
// Contract:
//  - Everything is keyed by the keystore's location and its change counter (keystore::Store::generation,
//    bumped by every change of certificates, keys or anchors by any process: an import with
//    smime-keystore is seen by the next message). A different location or generation, or another key
//    passphrase, drops everything at once (a reload that changes them included); clear() empties it.
//  - A signing choice (which identity signs for a domain or address) is reused at most kChoiceTtl:
//    validity is a matter of time as well as of the store.
//  - Keys are held only as OpenSSL objects in memory and handed out as shared references; nothing
//    decoded is written anywhere. Thread-safe: the worker threads share one cache.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "keystore/identity.hpp"
#include "keystore/lookup.hpp"
#include "keystore/store.hpp"
#include "smime/decrypt.hpp"
#include "smime/ossl.hpp"

namespace milter {

class KeyCache {
 public:
  static constexpr std::time_t kChoiceTtl = 60;

  struct Anchors {
    std::vector<smime::X509Ptr> certs;
    std::shared_ptr<X509_STORE> store;  // the certs as a prepared trust store
  };
  struct DecryptionKeys {
    std::vector<smime::DecryptionKey> keys;
    std::vector<std::string> fingerprints;  // of each key's certificate, in order
    std::vector<std::string> skipped;       // "FINGERPRINT: why" for keys that cannot be loaded
  };
  // A signing choice: the lookup's answer for a domain or an address.
  struct Choice {
    keystore::LookupResult lookup;
    std::time_t made = 0;
  };

  // Where the material comes from: the store, its location (for the key) and the generation read for
  // this message. All throw what the keystore throws.
  struct From {
    keystore::Store& store;
    const std::string& location;
    std::int64_t generation;
    const std::string& key_passphrase;
  };

  std::shared_ptr<const Anchors> anchors(const From& from);
  // As keystore::load_identity (throws its errors), decoded once.
  std::shared_ptr<const keystore::Identity> identity(const From& from, const std::string& fingerprint);
  std::shared_ptr<const DecryptionKeys> decryption_keys(const From& from);
  // As keystore::signing_certificate(address_or_domain, now), reused for kChoiceTtl.
  std::shared_ptr<const Choice> signing_choice(const From& from, const std::string& address_or_domain,
                                               std::time_t now);

  // Last-use bookkeeping: whether a certificate's last use is due to be written (older than
  // keystore::kLastUseGranularity by the store's record and by what this process wrote since), and
  // that it was written. Cached lookups carry the last use they read; this keeps them from asking for
  // a write with every message.
  bool last_use_due(const std::string& fingerprint, const std::optional<keystore::Time>& stored,
                    keystore::Time now);
  void last_use_written(const std::string& fingerprint, keystore::Time now);

  void clear();

 private:
  // Drops everything unless it belongs to this location, generation and passphrase. Lock held.
  void align(const From& from);

  std::mutex mutex_;
  std::string location_;
  std::int64_t generation_ = -1;
  std::string passphrase_;
  std::shared_ptr<const Anchors> anchors_;
  std::map<std::string, std::shared_ptr<const keystore::Identity>> identities_;
  std::shared_ptr<const DecryptionKeys> decryption_;
  std::map<std::string, std::shared_ptr<const Choice>> choices_;
  std::map<std::string, keystore::Time> written_;  // last uses this process wrote (kept across generations)
};

}  // namespace milter
