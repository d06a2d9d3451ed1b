// How certificates and events look on the terminal and in --json. No key material ever passes here.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "keystore/lookup.hpp"
#include "keystore/record.hpp"

namespace cli {

std::string iso_time(keystore::Time t);  // "2026-01-31T12:00:00Z"
std::string join(const std::vector<std::string>& items, const std::string& sep);
std::string capability_names(const smime::Capabilities& caps);

nlohmann::json to_json(const keystore::CertRecord& r);
nlohmann::json to_json(const keystore::LookupResult& r);
void print_full(const keystore::CertRecord& r, std::ostream& out);                   // `show`
void print_table(const std::vector<keystore::CertRecord>& rows, std::ostream& out);  // `list`

}  // namespace cli
