// Copying a whole store to another (SQLite to PostgreSQL or back): certificates with their origin,
// dates, harvest details and capabilities, private keys exactly as stored (encrypted ones stay
// encrypted; no passphrase is needed), trust anchors, the harvest log, the warnings and the local
// revocation data (imported CRLs, revocations by hand). The revocation cache is not copied: it is a cache.
// The destination must be empty; the copy is one transaction on it (all or nothing), and is then verified by
// reading both stores back.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "keystore/store.hpp"

namespace keystore {

struct StoreCounts {
  std::int64_t certificates = 0, keys = 0, anchors = 0, harvests = 0, warnings = 0, crls = 0, revoked = 0;
  bool operator==(const StoreCounts&) const = default;
};

struct CopyReport {
  StoreCounts source, destination;
  std::vector<std::string> mismatches;  // one line each: what differs ("key of AB:CD:...: differs")
  bool verified() const { return mismatches.empty() && source == destination; }
};

// Throws Error(store) if `to` is not empty (nothing is written then), or on a failure of either store.
CopyReport copy_store(Store& from, Store& to);
// Compares two stores as copy_store verifies them: counts, fingerprints, every stored field, keys
// byte for byte.
CopyReport compare_stores(Store& a, Store& b);

}  // namespace keystore
