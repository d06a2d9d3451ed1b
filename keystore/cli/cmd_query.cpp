// Subcommands that only read: list, show, export, harvested, lookup.
#include <iostream>

#include "context.hpp"
#include "format.hpp"
#include "keystore/error.hpp"
#include "keystore/lookup.hpp"
#include "output.hpp"
#include "smime/cert.hpp"

namespace cli {

int cmd_list(Context& c) {
  c.args.positional_count(0, 0);
  keystore::ListFilter f;
  f.address = c.args.one_or("address", "");
  f.domain = c.args.one_or("domain", "");
  if (auto o = c.args.one("origin")) {
    f.origin = keystore::origin_from_string(*o);
    if (!f.origin) throw UsageError("--origin is imported or harvested");
  }
  f.identities_only = c.args.flag("identities");
  auto rows = c.open().list(f);
  if (c.json()) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& r : rows) j.push_back(to_json(r));
    std::cout << j.dump(2) << "\n";
  } else {
    print_table(rows, std::cout);
  }
  return kOk;
}

int cmd_show(Context& c) {
  c.args.positional_count(1, 1);
  auto r = c.select(c.args.positional[0]);
  if (c.json())
    std::cout << to_json(r).dump(2) << "\n";
  else
    print_full(r, std::cout);
  return kOk;
}

int cmd_export(Context& c) {
  const bool all = c.args.flag("all");
  if (all == !c.args.positional.empty()) throw UsageError("export: give certificate fingerprints or --all");
  std::string pem;
  if (all) {
    for (const auto& r : c.open().list({})) pem += smime::to_pem(r.cert.get());
  } else {
    for (const auto& sel : c.args.positional) pem += smime::to_pem(c.select(sel).cert.get());
  }
  write_public_output(c.args.one("out"), pem);
  return kOk;
}

int cmd_harvested(Context& c) {
  c.args.positional_count(0, 0);
  const int hours = c.args.number("hours", 7 * 24, 1, 24 * 3650);
  const keystore::Time since = now() - static_cast<keystore::Time>(hours) * 3600;
  auto events = c.open().harvests_since(since);
  auto warnings = c.open().warnings_since(since);
  if (c.json()) {
    nlohmann::json j = {{"harvests", nlohmann::json::array()}, {"warnings", nlohmann::json::array()}};
    for (const auto& e : events)
      j["harvests"].push_back({{"time", iso_time(e.time)},
                               {"outcome", e.outcome},
                               {"fingerprint", e.fingerprint},
                               {"sender", e.sender},
                               {"message_id", e.message_id},
                               {"detail", e.detail}});
    for (const auto& w : warnings)
      j["warnings"].push_back({{"time", iso_time(w.time)}, {"domain", w.domain}, {"message", w.message}});
    std::cout << j.dump(2) << "\n";
    return kOk;
  }
  for (const auto& w : warnings)
    std::cout << iso_time(w.time) << " WARNING " << w.domain << ": " << w.message << "\n";
  for (const auto& e : events)
    std::cout << iso_time(e.time) << " " << e.outcome << " " << e.fingerprint.substr(0, 23) << " from "
              << e.sender << " " << e.message_id << "\n";
  if (events.empty() && warnings.empty()) std::cout << "no harvests in the last " << hours << " hours\n";
  return kOk;
}

int cmd_lookup(Context& c) {
  c.args.positional_count(1, 1);
  const std::string& who = c.args.positional[0];
  const bool sign = c.args.flag("sign");
  if (!sign && who.find('@') == std::string::npos) throw UsageError("lookup: give an e-mail address");
  keystore::LookupResult r = sign ? keystore::signing_certificate(c.open(), who, now())
                                  : keystore::encryption_certificate(c.open(), who, now());
  if (c.json()) {
    std::cout << to_json(r).dump(2) << "\n";
    return r.found() ? kOk : kNotFound;
  }
  std::cout << (sign ? "sign as " : "encrypt to ") << who << ": ";
  if (r.found()) {
    const auto& f = r.chosen->facts;
    std::cout << f.fingerprint << "\n  matched by " << keystore::to_string(r.match) << ", " << f.subject
              << ", valid until " << iso_time(f.not_after) << "\n";
    if (!sign) {
      auto aead = r.chosen->capabilities.best_aead();
      std::cout << "  cipher: "
                << (aead ? std::string(smime::to_string(*aead)) + " (announced by the owner)"
                         : std::string("aes256-cbc (no AES-GCM announced)"))
                << "\n";
    }
  } else {
    std::cout << "none (" << (r.candidates.empty() ? "none" : keystore::to_string(r.reason)) << ")\n  "
              << r.explanation << "\n";
  }
  for (const auto& cand : r.candidates)
    std::cout << "  candidate " << cand.record.facts.fingerprint.substr(0, 23) << " ("
              << keystore::to_string(cand.match) << "): " << (cand.check.ok() ? "usable" : cand.check.reason)
              << "\n";
  return r.found() ? kOk : kNotFound;
}

}  // namespace cli
