// smime::Error: the one exception type of the S/MIME core.
//
// Contract: every failure of this library is an smime::Error whose kind says which class of
// failure it is (the milter maps classes to actions) and whose what() names the operation that
// failed; when OpenSSL was involved the whole error queue is appended, not just its first entry.
// Expected verdicts (a bad signature, an untrusted chain) are not errors: verify() returns them.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace smime {

enum class ErrorKind {
  bad_input,  // malformed MIME or CMS, limits exceeded, unsupported structure
  wrong_key,  // none of the given keys can open this message
  crypto,     // an OpenSSL operation failed on well-formed input
  io,         // reading or writing a file failed (full disk, permissions)
  usage,      // the caller passed something unusable (no recipients, key without cert...)
};

std::string_view to_string(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

// Drains OpenSSL's thread-local error queue into one line: "lib:func:reason; lib:...".
// Returns "no OpenSSL error queued" when the queue is empty (a failure return is still a failure).
std::string drain_openssl_errors();

// Throws Error(kind, what + ": " + drained OpenSSL queue).
[[noreturn]] void throw_openssl(ErrorKind kind, std::string_view what);

}  // namespace smime
