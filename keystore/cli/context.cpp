#include "context.hpp"

#include <ctime>
#include <iostream>
#include <iterator>

#include "keystore/error.hpp"
#include "smime/cert.hpp"

namespace cli {

keystore::Time now() { return static_cast<keystore::Time>(std::time(nullptr)); }

std::string read_input(const std::string& path) {
  if (path != "-") return smime::read_file(path);
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

keystore::Store& Context::open() {
  if (!store) store = keystore::open_store(where);
  return *store;
}

keystore::CertRecord Context::select(const std::string& selector) {
  std::size_t digits = 0;
  for (char ch : selector) digits += ch != ':';
  if (digits < 4) throw UsageError("give at least 4 hex digits of the fingerprint, not '" + selector + "'");
  auto found = open().find_prefix(selector);
  if (found.empty()) throw keystore::Error(keystore::ErrorKind::not_found, "no certificate " + selector);
  if (found.size() > 1)
    throw UsageError(std::to_string(found.size()) + " certificates start with " + selector +
                     "; give more digits");
  return std::move(found.front());
}

}  // namespace cli
