#include "keystore/record.hpp"

#include <cctype>

namespace keystore {

std::string to_string(Origin o) { return o == Origin::harvested ? "harvested" : "imported"; }

std::optional<Origin> origin_from_string(const std::string& s) {
  if (s == "imported") return Origin::imported;
  if (s == "harvested") return Origin::harvested;
  return std::nullopt;
}

CertRecord CertRecord::clone() const {
  CertRecord r;
  r.id = id;
  r.origin = origin;
  r.cert = smime::share(cert.get());
  r.facts = facts;
  r.first_seen = first_seen;
  r.last_used = last_used;
  r.harvested_message_id = harvested_message_id;
  r.harvested_sender = harvested_sender;
  r.capabilities = capabilities;
  r.capabilities_time = capabilities_time;
  r.has_private_key = has_private_key;
  return r;
}

CrlPut crl_put_outcome(const std::optional<CrlRecord>& stored, const CrlRecord& incoming) {
  if (!stored) return CrlPut::stored;
  if (stored->der == incoming.der) return CrlPut::unchanged;
  if (incoming.this_update <= stored->this_update) return CrlPut::not_newer;
  return CrlPut::replaced;
}

std::optional<std::string> fingerprint_prefix(std::string_view hex_prefix) {
  std::string hex;
  for (char c : hex_prefix) {
    if (c == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    hex.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  if (hex.empty()) return std::nullopt;
  std::string pattern;
  for (std::size_t i = 0; i < hex.size(); ++i) {
    if (i > 0 && i % 2 == 0) pattern.push_back(':');
    pattern.push_back(hex[i]);
  }
  return pattern;
}

}  // namespace keystore
