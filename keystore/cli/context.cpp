#include "context.hpp"

#include <cstdlib>
#include <ctime>
#include <iostream>
#include <iterator>

#include "keystore/error.hpp"
#include "milter/key_passphrase.hpp"
#include "secret.hpp"
#include "smime/cert.hpp"
#include "smime/error.hpp"

namespace cli {

keystore::Time now() { return static_cast<keystore::Time>(std::time(nullptr)); }

std::string read_input(const std::string& path) {
  if (path != "-") return smime::read_file(path);
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

std::string Context::key_passphrase() const {
  if (auto src = args.one("key-pass")) return read_secret(*src, "key passphrase of the store");
  if (const char* f = std::getenv("SMIME_KEYSTORE_KEY_PASS_FILE"))
    return read_secret(std::string("file:") + f, "");
  if (configured) {
    try {
      return milter::read_key_passphrase(*configured, std::getenv("CREDENTIALS_DIRECTORY")).value_or("");
    } catch (const milter::PassphraseError& e) {
      throw smime::Error(smime::ErrorKind::io, e.what());
    }
  }
  return {};
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
