// What start-up needs beyond a valid configuration file, checked the same way by `smime-milter -n` and
// by the daemon before it starts (an error refuses the start with the same line, exit status 78):
//  - the account: not root unless allowed (daemon.allow_root, --allow-root);
//  - the directories: spool.directory and revocation.cache_directory exist or can be made, are writable
//    by the service account, and are not world-writable or owned by another user than it or root;
//  - the unix socket: its directory the same, the path fits a socket address, and the MTA's user
//    (postfix, when that user exists) can reach it: every directory on the way searchable, and the
//    socket's mode and group (daemon.socket_mode, daemon.socket_group or the directory's setgid group)
//    let it connect;
//  - the keystore: it exists, is readable and writable by the service account, opens, its schema is
//    current (SQLite: PRAGMA quick_check passes); every identity's private key loads with the key
//    passphrase, and every signing identity a profile names by fingerprint exists with its key;
//  - the key passphrase: readable (key_passphrase.hpp) and readable by the service account for reloads;
//  - warnings for choices that weaken the gateway (fail-open revocation, revocation off, root, ...).
// Each finding is one line that names the thing and says what to do. Permissions are computed for the
// service account from the files' modes (privileges::may_access), so that `-n` run as root checks what
// the daemon will meet after it leaves root. ACLs are not read.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.hpp"
#include "milter/privileges.hpp"

namespace milter::startup {

enum class Severity { error, warning };

struct Finding {
  Severity severity = Severity::error;
  std::string text;
};

class Report {
 public:
  void error(std::string text) { findings_.push_back({Severity::error, std::move(text)}); }
  void warning(std::string text) { findings_.push_back({Severity::warning, std::move(text)}); }
  void merge(const Report& other) {
    findings_.insert(findings_.end(), other.findings_.begin(), other.findings_.end());
  }
  const std::vector<Finding>& findings() const { return findings_; }
  std::size_t errors() const;
  std::size_t warnings() const { return findings_.size() - errors(); }

 private:
  std::vector<Finding> findings_;
};

// The key passphrase as the checks see it.
struct Passphrase {
  std::optional<std::string> value;  // read; nullopt: none configured, or see below
  std::string problem;               // not empty: it could not be read (an error)
  std::string unavailable;           // not empty: not readable here (-n outside systemd): keys unchecked
  std::optional<std::string> path;   // the file read (or to be read), for the reload check
};

struct Context {
  privileges::Account service;             // who the daemon runs as after start-up
  privileges::Account started_as;          // who makes missing directories (root before the switch)
  bool switch_user = false;                // started as root, service is another account
  bool allow_root = false;                 // daemon.allow_root or --allow-root
  std::optional<privileges::Account> mta;  // the MTA's user that must reach a unix socket
  Passphrase passphrase;
};

// The context for this process: the account it was started as; the one it runs as (`user`, "USER" or
// "USER:GROUP" from -u, else daemon.user and daemon.group, else the account started as); the MTA's user;
// the key passphrase, read now. `checking` (-n): a credential only systemd provides counts as
// unavailable (a warning: the keys it opens are not checked), not as a problem. A problem with the
// accounts goes into the report and gives nullopt (nothing else can be checked without them).
std::optional<Context> make_context(const conf::Config& config, std::string_view user, bool allow_root,
                                    bool checking, Report& report);

// The MTA's user to check the socket for: postfix when the passwd database has it.
std::optional<privileges::Account> mta_account();

void check_account(const Context& ctx, Report& report);
void check_directories(const conf::Config& config, const Context& ctx, Report& report);
void check_socket(const conf::Config& config, const Context& ctx, Report& report);
void check_passphrase(const Context& ctx, Report& report);
void check_keystore(const conf::Config& config, const Context& ctx, Report& report);
void check_policy(const conf::Config& config, Report& report);
// The configuration file, read again at each SIGHUP by the service account: a warning when it cannot.
void check_config_file(const std::string& path, const Context& ctx, Report& report);
// All of the above, in that order.
Report check_all(const conf::Config& config, const Context& ctx);

// Makes the spool and revocation cache directories that are missing (mode 0700) and the unix socket's
// directory (0755: the socket's own mode protects it), each component owned by `service` when made by
// root. An existing directory is never changed. Throws std::runtime_error naming the path.
void make_missing_directories(const conf::Config& config, const privileges::Account& service);

}  // namespace milter::startup
