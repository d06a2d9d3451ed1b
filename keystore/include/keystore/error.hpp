// keystore::Error: the exception type of the keystore module.
//
// Contract: failures of the store itself (the database cannot be opened, is locked past the busy
// timeout, has a schema this program does not know) are Error(store); a request for something that
// is not there is Error(not_found); a certificate refused by the import requirements is
// Error(refused). Malformed certificates and keys surface as smime::Error(bad_input) from the core.
// Expected answers (no usable certificate, a harvest refused by policy) are returned, not thrown.
#pragma once

#include <stdexcept>
#include <string>

namespace keystore {

enum class ErrorKind {
  store,       // database failure (open, I/O, locked, corrupt, unknown schema version)
  not_found,   // no such certificate, anchor or key
  refused,     // a certificate does not meet the requirements for what it is imported for
  locked_key,  // a private key is encrypted and no (or the wrong) key passphrase was given
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

}  // namespace keystore
