#include "format.hpp"

#include <ctime>
#include <iomanip>
#include <ostream>

#include "keystore/requirements.hpp"

namespace cli {

using keystore::CertRecord;

std::string iso_time(keystore::Time t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

std::string capability_names(const smime::Capabilities& caps) {
  if (!caps.present) return "unknown";
  std::vector<std::string> names;
  for (const auto& oid : caps.oids) {
    std::string name = oid;
    for (auto c : {smime::Cipher::aes256_gcm, smime::Cipher::aes128_gcm, smime::Cipher::aes256_cbc,
                   smime::Cipher::aes128_cbc})
      if (smime::oid_of(c) == oid) name = std::string(smime::to_string(c));
    names.push_back(name);
  }
  return join(names, ",");
}

namespace {
std::string uses(const keystore::CertFacts& f) {
  std::string s;
  if (f.can_encrypt()) s += "encrypt";
  if (f.can_sign()) s += s.empty() ? "sign" : ",sign";
  return s.empty() ? "-" : s;
}
}  // namespace

nlohmann::json to_json(const CertRecord& r) {
  const auto& f = r.facts;
  nlohmann::json j = {
      {"fingerprint", f.fingerprint},
      {"origin", keystore::to_string(r.origin)},
      {"subject", f.subject},
      {"issuer", f.issuer},
      {"serial", f.serial},
      {"emails", f.emails},
      {"domains", f.domains},
      {"key_type", keystore::to_string(f.key_type)},
      {"key_bits", f.key_bits},
      {"key_usage",
       f.key_usage ? nlohmann::json(keystore::key_usage_names(*f.key_usage)) : nlohmann::json(nullptr)},
      {"email_protection", f.email_protection},
      {"usable_for", uses(f)},
      {"not_before", iso_time(f.not_before)},
      {"not_after", iso_time(f.not_after)},
      {"first_seen", iso_time(r.first_seen)},
      {"last_used", r.last_used ? nlohmann::json(iso_time(*r.last_used)) : nlohmann::json(nullptr)},
      {"private_key", r.has_private_key},
      {"capabilities",
       r.capabilities.present ? nlohmann::json(r.capabilities.oids) : nlohmann::json(nullptr)},
  };
  if (r.origin == keystore::Origin::harvested)
    j["harvested_from"] = {{"message_id", r.harvested_message_id}, {"sender", r.harvested_sender}};
  return j;
}

nlohmann::json to_json(const keystore::LookupResult& r) {
  nlohmann::json cands = nlohmann::json::array();
  for (const auto& c : r.candidates)
    cands.push_back({{"fingerprint", c.record.facts.fingerprint},
                     {"match", keystore::to_string(c.match)},
                     {"usable", c.check.ok()},
                     {"problem", keystore::to_string(c.check.problem)},
                     {"reason", c.check.reason}});
  nlohmann::json j = {{"found", r.found()}, {"explanation", r.explanation}, {"candidates", cands}};
  if (r.chosen) {
    j["chosen"] = to_json(*r.chosen);
    j["match"] = keystore::to_string(r.match);
  } else {
    j["reason"] = r.candidates.empty() ? std::string("none") : keystore::to_string(r.reason);
  }
  return j;
}

void print_full(const CertRecord& r, std::ostream& out) {
  const auto& f = r.facts;
  auto line = [&](const char* k, const std::string& v) {
    out << std::left << std::setw(16) << k << v << "\n";
  };
  line("fingerprint:", f.fingerprint);
  line("subject:", f.subject);
  line("issuer:", f.issuer);
  line("serial:", f.serial);
  line("emails:", f.emails.empty() ? "-" : join(f.emails, ", "));
  line("domains:", f.domains.empty() ? "-" : join(f.domains, ", "));
  line("key:", keystore::to_string(f.key_type) + " " + std::to_string(f.key_bits) + " bits");
  line("key usage:", f.usage_text());
  line("email protect.:", f.email_protection ? "yes" : "no (extendedKeyUsage lacks emailProtection)");
  line("usable for:", uses(f));
  line("valid from:", iso_time(f.not_before));
  line("valid until:", iso_time(f.not_after));
  line("origin:", keystore::to_string(r.origin));
  if (r.origin == keystore::Origin::harvested)
    line("harvested from:", r.harvested_sender + " " + r.harvested_message_id);
  line("first seen:", iso_time(r.first_seen));
  line("last used:", r.last_used ? iso_time(*r.last_used) : "never");
  line("capabilities:", capability_names(r.capabilities) +
                            (r.capabilities_time ? " (signed " + iso_time(*r.capabilities_time) + ")" : ""));
  line("private key:", r.has_private_key ? "yes (gateway identity)" : "no");
}

void print_table(const std::vector<CertRecord>& rows, std::ostream& out) {
  out << std::left << std::setw(25) << "FINGERPRINT" << std::setw(10) << "ORIGIN" << std::setw(4) << "KEY"
      << std::setw(13) << "USE" << std::setw(12) << "NOT-AFTER"
      << "ADDRESSES\n";
  for (const auto& r : rows) {
    std::vector<std::string> addrs = r.facts.emails;
    addrs.insert(addrs.end(), r.facts.domains.begin(), r.facts.domains.end());
    out << std::setw(25) << r.facts.fingerprint.substr(0, 23) << std::setw(10)
        << keystore::to_string(r.origin) << std::setw(4) << (r.has_private_key ? "yes" : "-") << std::setw(13)
        << uses(r.facts) << std::setw(12) << iso_time(r.facts.not_after).substr(0, 10) << join(addrs, ",")
        << "\n";
  }
}

}  // namespace cli
