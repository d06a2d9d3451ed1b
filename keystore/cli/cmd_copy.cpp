// `copy --from SRC --to DST`: moves a whole store between SQLite and PostgreSQL (either way, or
// between two of a kind), keys included as stored, into an empty destination, in one transaction;
// then reads both back and compares them. Exit 0 only when the copy verified.
#include <iostream>

#include "context.hpp"
#include "keystore/copy.hpp"
#include "keystore/error.hpp"

namespace cli {

namespace {

keystore::StoreLocation location(const Args& a, const std::string& option, bool create) {
  auto value = a.one(option);
  if (!value || value->empty()) throw UsageError("copy: give --" + option + " PATH or URL");
  keystore::StoreLocation where = keystore::location_from_string(*value);
  where.sqlite.create = create;  // the source must exist: never create an empty one by mistake
  where.pg.application_name = "smime-keystore";
  return where;
}

std::string counts(const keystore::StoreCounts& c) {
  return std::to_string(c.certificates) + " certificates (" + std::to_string(c.keys) +
         " with private keys), " + std::to_string(c.anchors) + " trust anchors, " +
         std::to_string(c.harvests) + " harvest log entries, " + std::to_string(c.warnings) + " warnings, " +
         std::to_string(c.crls) + " local CRLs, " + std::to_string(c.revoked) +
         " certificates revoked by hand";
}

}  // namespace

int cmd_copy(Context& c) {
  c.args.positional_count(0, 0);
  const keystore::StoreLocation from = location(c.args, "from", false);
  const keystore::StoreLocation to = location(c.args, "to", true);
  if (from.is_postgresql() == to.is_postgresql() && from.path == to.path && from.url == to.url)
    throw UsageError("copy: --from and --to are the same store");
  auto source = keystore::open_store(from);
  auto destination = keystore::open_store(to);
  keystore::CopyReport report = keystore::copy_store(*source, *destination);
  std::cout << "copied " << counts(report.destination) << "\n  from " << source->describe() << "\n  to   "
            << destination->describe() << "\n";
  if (!report.verified()) {
    std::cerr << "smime-keystore: the copy does not match its source (source: " << counts(report.source)
              << ")\n";
    for (const auto& m : report.mismatches) std::cerr << "  " << m << "\n";
    return kStore;
  }
  std::cout << "verified: the same counts, fingerprints, fields and keys in both\n";
  return kOk;
}

}  // namespace cli
