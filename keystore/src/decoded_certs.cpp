#include "decoded_certs.hpp"

#include <mutex>
#include <string>
#include <unordered_map>

#include "smime/cert.hpp"

namespace keystore {

namespace {

// Enough for the certificates a gateway reads over and over (its identities, its anchors, its
// frequent correspondents); beyond that the cache starts over rather than growing with the store.
constexpr std::size_t kMaxEntries = 512;

struct Cache {
  std::mutex mutex;
  std::unordered_map<std::string, DecodedCert> entries;
};

Cache& cache() {
  // Never destroyed: its X509 objects must not be freed after OpenSSL's own exit-time clean-up, which
  // may run first (and the memory goes with the process anyway).
  static Cache* c = new Cache;
  return *c;
}

DecodedCert copy_of(const DecodedCert& d) { return DecodedCert{smime::share(d.cert.get()), d.facts}; }

}  // namespace

DecodedCert decode_stored_certificate(std::string_view bytes) {
  Cache& c = cache();
  const std::string key(bytes);
  {
    std::lock_guard lock(c.mutex);
    if (auto it = c.entries.find(key); it != c.entries.end()) return copy_of(it->second);
  }
  // Decoded outside the lock: other threads' hits do not wait for a decode.
  DecodedCert made;
  made.cert = smime::load_certificate(bytes);
  made.facts = facts_of(made.cert.get());
  std::lock_guard lock(c.mutex);
  if (c.entries.size() >= kMaxEntries) c.entries.clear();
  return copy_of(c.entries.try_emplace(key, std::move(made)).first->second);
}

}  // namespace keystore
