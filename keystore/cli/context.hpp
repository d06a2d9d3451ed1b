// What every subcommand gets: its parsed arguments and the store (opened on first use), plus the exit
// codes scripts rely on.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "args.hpp"
#include "conf/config.hpp"
#include "keystore/open_store.hpp"
#include "keystore/store.hpp"

namespace cli {

enum Exit : int {
  kOk = 0,
  kNotFound = 1,  // no such certificate, or no usable certificate (lookup)
  kUsage = 2,
  kBadInput = 3,      // unreadable or malformed file, wrong passphrase
  kRefused = 4,       // certificate does not meet the requirements (use --force)
  kStore = 5,         // the store cannot be opened, is locked, or another internal failure
  kRevoked = 6,       // revocation: the certificate is revoked
  kUndetermined = 7,  // revocation: its status could not be determined
};

struct Context {
  Args args;
  keystore::StoreLocation where;  // --store PATH or --url URL (else the environment, else the default)
  std::unique_ptr<keystore::Store> store;
  // -c/--config FILE: the milter's keystore section (the store's location when --store/--url are not
  // given, and the key passphrase of the stored private keys).
  std::optional<conf::Keystore> configured;

  keystore::Store& open();
  bool json() const { return args.flag("json"); }
  // Certificates matching a selector: a fingerprint (or a prefix of at least 4 hex digits, colons optional).
  // UsageError if ambiguous, keystore::Error(not_found) if none.
  keystore::CertRecord select(const std::string& selector);
  // The passphrase that encrypts private keys put into the store: --key-pass SRC, else the file named by
  // $SMIME_KEYSTORE_KEY_PASS_FILE, else the milter's (keystore.key_passphrase_file or _credential of
  // -c FILE), else none ("": stored unencrypted).
  std::string key_passphrase() const;
};

keystore::Time now();
// A file's bytes, or standard input for "-". smime::Error(io) when unreadable.
std::string read_input(const std::string& path);

int cmd_list(Context& c);
int cmd_show(Context& c);
int cmd_export(Context& c);
int cmd_harvested(Context& c);
int cmd_lookup(Context& c);
int cmd_import(Context& c);
int cmd_remove(Context& c);
int cmd_trust(Context& c);
int cmd_generate(Context& c);
int cmd_revocation(Context& c);
int cmd_copy(Context& c);
int cmd_crl(Context& c);
int cmd_revoke(Context& c);
int cmd_unrevoke(Context& c);
int cmd_revoked(Context& c);

}  // namespace cli
