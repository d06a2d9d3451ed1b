// The passphrase of the gateway's encrypted private keys, from where the configuration says:
// keystore.key_passphrase_file (a file) or keystore.key_passphrase_credential (a systemd credential,
// $CREDENTIALS_DIRECTORY/NAME, as LoadCredential= provides it). The first line is the passphrase (the
// line end is not part of it; smime-keystore reads --key-pass file:PATH the same way).
//
// Contract: read at start and at each reload, held in memory only (the Filter gives it to each Job).
// The file must be a regular file (a symbolic link is refused), not readable or writable by group or
// others, and its first line must not be empty. Every failure throws PassphraseError naming the file
// and what to do. Neither key set: no passphrase (nullopt).
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

#include "conf/config.hpp"

namespace milter {

class PassphraseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where the passphrase is read from: the file, or the credential resolved against
// `credentials_directory` ($CREDENTIALS_DIRECTORY; null or empty when not started by systemd, which is a
// PassphraseError for a credential). nullopt when neither key is set.
std::optional<std::string> key_passphrase_path(const conf::Keystore& keystore,
                                               const char* credentials_directory);

// Reads it (see the file comment). nullopt when neither key is set.
std::optional<std::string> read_key_passphrase(const conf::Keystore& keystore,
                                               const char* credentials_directory);

}  // namespace milter
