#include "keystore/copy.hpp"

#include <map>
#include <sstream>

#include "keystore/error.hpp"

namespace keystore {

namespace {

// Everything a store holds, keyed so that two stores compare field by field (ids are not compared:
// each store numbers its own rows).
struct Snapshot {
  std::map<std::string, std::string> certificates;  // fingerprint -> its stored fields, one line
  std::map<std::string, std::string> keys;          // fingerprint -> PEM, encrypted flag, chain
  std::map<std::string, std::string> anchors;       // fingerprint -> subject, added
  std::vector<std::string> harvests, warnings;
  std::map<std::string, std::string> crls;     // issuer fingerprint -> its fields, DER included
  std::map<std::string, std::string> revoked;  // fingerprint -> reason, times, comment
  StoreCounts counts() const {
    return {static_cast<std::int64_t>(certificates.size()), static_cast<std::int64_t>(keys.size()),
            static_cast<std::int64_t>(anchors.size()),      static_cast<std::int64_t>(harvests.size()),
            static_cast<std::int64_t>(warnings.size()),     static_cast<std::int64_t>(crls.size()),
            static_cast<std::int64_t>(revoked.size())};
  }
};

std::string opt(const std::optional<Time>& t) { return t ? std::to_string(*t) : "-"; }

std::string describe_record(const CertRecord& r) {
  std::ostringstream s;
  s << to_string(r.origin) << " first_seen=" << r.first_seen << " last_used=" << opt(r.last_used)
    << " message_id=" << r.harvested_message_id << " sender=" << r.harvested_sender
    << " capabilities=" << (r.capabilities.present ? "" : "none");
  for (const auto& oid : r.capabilities.oids) s << oid << ",";
  s << " capabilities_time=" << opt(r.capabilities_time) << " key=" << r.has_private_key;
  return s.str();
}

Snapshot snapshot(Store& store) {
  Snapshot snap;
  for (const CertRecord& r : store.list({})) {
    snap.certificates[r.facts.fingerprint] = describe_record(r);
    if (r.has_private_key)
      if (auto k = store.key(r.facts.fingerprint))
        snap.keys[r.facts.fingerprint] =
            k->pkcs8_pem + "\n" + std::to_string(k->encrypted) + "\n" + k->chain_pem;
  }
  for (const AnchorRecord& a : store.anchors())
    snap.anchors[a.fingerprint] = a.subject + " added=" + std::to_string(a.added);
  for (const HarvestEvent& e : store.harvests_since(0))
    snap.harvests.push_back(std::to_string(e.time) + " " + e.outcome + " " + e.fingerprint + " " + e.sender +
                            " " + e.domain + " " + e.message_id + " " + e.detail);
  for (const WarningRecord& w : store.warnings_since(0))
    snap.warnings.push_back(std::to_string(w.time) + " " + w.domain + " " + w.message);
  for (const CrlRecord& c : store.crls())
    snap.crls[c.issuer_fingerprint] = c.issuer + " this_update=" + std::to_string(c.this_update) +
                                      " next_update=" + opt(c.next_update) +
                                      " imported=" + std::to_string(c.imported) + "\n" + c.der;
  for (const RevokedRecord& r : store.revoked())
    snap.revoked[r.fingerprint] = r.reason + " revoked_at=" + std::to_string(r.revoked_at) +
                                  " added=" + std::to_string(r.added) + " " + r.comment;
  return snap;
}

void compare_maps(const std::string& what, const std::map<std::string, std::string>& a,
                  const std::map<std::string, std::string>& b, std::vector<std::string>& out) {
  for (const auto& [fp, value] : a) {
    auto it = b.find(fp);
    if (it == b.end())
      out.push_back(what + " " + fp + ": missing in the destination");
    else if (it->second != value)
      out.push_back(what + " " + fp + ": differs");
  }
  for (const auto& [fp, value] : b)
    if (a.count(fp) == 0) out.push_back(what + " " + fp + ": only in the destination");
}

void compare_lists(const std::string& what, const std::vector<std::string>& a,
                   const std::vector<std::string>& b, std::vector<std::string>& out) {
  if (a != b)
    out.push_back(what + ": " + std::to_string(a.size()) + " entries in the source, " +
                  std::to_string(b.size()) + " in the destination" +
                  (a.size() == b.size() ? ", contents differ" : ""));
}

bool is_empty(Store& s) {
  return s.list({}).empty() && s.anchors().empty() && s.harvests_since(0).empty() && s.crls().empty() &&
         s.revoked().empty();
}

}  // namespace

CopyReport compare_stores(Store& a, Store& b) {
  const Snapshot sa = snapshot(a), sb = snapshot(b);
  CopyReport report;
  report.source = sa.counts();
  report.destination = sb.counts();
  compare_maps("certificate", sa.certificates, sb.certificates, report.mismatches);
  compare_maps("key of", sa.keys, sb.keys, report.mismatches);
  compare_maps("trust anchor", sa.anchors, sb.anchors, report.mismatches);
  compare_lists("harvest log", sa.harvests, sb.harvests, report.mismatches);
  compare_lists("warnings", sa.warnings, sb.warnings, report.mismatches);
  compare_maps("local CRL of", sa.crls, sb.crls, report.mismatches);
  compare_maps("revoked certificate", sa.revoked, sb.revoked, report.mismatches);
  return report;
}

CopyReport copy_store(Store& from, Store& to) {
  // Both under their writer locks: the source cannot change half-way, the destination is all or nothing.
  from.in_transaction([&] {
    to.in_transaction([&] {
      if (!is_empty(to))
        throw Error(ErrorKind::store, "the destination " + to.describe() +
                                          " is not empty; copy only into a new store (nothing was written)");
      for (const CertRecord& r : from.list({})) {  // in the source's order, so the new ids keep it
        const std::string& fp = r.facts.fingerprint;
        to.add(
            NewCertificate{r.cert.get(), r.origin, r.first_seen, r.harvested_message_id, r.harvested_sender});
        if (r.last_used) to.mark_used(fp, *r.last_used);
        if (r.capabilities.present && r.capabilities_time)
          to.set_capabilities(fp, r.capabilities, *r.capabilities_time);
        if (r.has_private_key) {
          std::optional<StoredKey> k = from.key(fp);
          if (!k)
            throw Error(ErrorKind::store, "the key of " + fp + " vanished from the source during the copy");
          to.put_key(fp, *k);
        }
      }
      for (const AnchorRecord& a : from.anchors()) to.add_anchor(a.cert.get(), a.added);
      for (const HarvestEvent& e : from.harvests_since(0)) to.log_harvest(e);
      for (const WarningRecord& w : from.warnings_since(0)) to.add_warning(w);
      for (const CrlRecord& c : from.crls()) to.put_crl(c);
      for (const RevokedRecord& r : from.revoked()) to.revoke(r);
    });
  });
  return compare_stores(from, to);
}

}  // namespace keystore
