// See startup_checks.hpp.
#include "milter/startup_checks.hpp"

#include <arpa/inet.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "keystore/error.hpp"
#include "keystore/identity.hpp"
#include "keystore/open_store.hpp"
#include "keystore/sqlite_store.hpp"
#include "milter/key_passphrase.hpp"
#include "smime/error.hpp"

namespace milter::startup {
namespace {

namespace fs = std::filesystem;
using privileges::Account;
using privileges::group_name;
using privileges::may_access;

std::string octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

std::string user_name(uid_t uid) {
  if (const struct passwd* pw = getpwuid(uid)) return pw->pw_name;
  return "uid " + std::to_string(uid);
}

std::optional<struct stat> stat_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return std::nullopt;
  return st;
}

// The nearest existing ancestor of a missing path (the path itself when it exists).
fs::path existing_ancestor(fs::path p) {
  p = fs::absolute(p).lexically_normal();
  while (!p.empty() && !stat_of(p)) {
    if (p == p.root_path()) break;
    p = p.parent_path();
  }
  return p;
}

// An existing directory the daemon writes in: not world-writable, owned by the service account or root,
// writable and searchable by the service account.
void check_existing_directory(const fs::path& dir, const struct stat& st, std::string_view what,
                              const Context& ctx, Report& report) {
  const std::string name = std::string(what) + " " + dir.string();
  const std::string& user = ctx.service.name;
  if (!S_ISDIR(st.st_mode)) {
    report.error(name + " is not a directory: give a directory in " + std::string(what));
    return;
  }
  if ((st.st_mode & S_IWOTH) != 0) {
    report.error(
        name + " is world-writable (mode " + octal(st.st_mode) +
        "), where anyone could replace what the daemon writes: use a private directory (install -d -o " +
        user + " -m 0700 DIR) or chmod o-w " + dir.string());
    return;
  }
  if (st.st_uid != ctx.service.uid && st.st_uid != 0) {
    report.error(name + " is owned by " + user_name(st.st_uid) + ", not by " + user +
                 " (the daemon's user) or root: chown " + user + " " + dir.string());
    return;
  }
  if (!may_access(st, ctx.service, W_OK | X_OK))
    report.error(name + " is not writable by " + user + " (mode " + octal(st.st_mode) + ", owner " +
                 user_name(st.st_uid) + "): chown " + user + " " + dir.string());
}

// A directory that exists, or that start-up can make (its nearest existing ancestor writable by whoever
// makes it).
void check_state_directory(const fs::path& dir, std::string_view what, const Context& ctx, Report& report) {
  if (auto st = stat_of(dir)) {
    check_existing_directory(dir, *st, what, ctx, report);
    return;
  }
  const fs::path ancestor = existing_ancestor(dir);
  const auto ast = stat_of(ancestor);
  if (!ast || !S_ISDIR(ast->st_mode)) {
    report.error(std::string(what) + " " + dir.string() + " cannot be made: " + ancestor.string() +
                 " is not a directory");
    return;
  }
  if (!may_access(*ast, ctx.started_as, W_OK | X_OK))
    report.error(std::string(what) + " " + dir.string() + " does not exist and " + ctx.started_as.name +
                 " cannot make it in " + ancestor.string() + ": make it (install -d -o " + ctx.service.name +
                 " -m 0700 " + dir.string() + ")");
}

bool is_loopback_host(const std::string& host) {
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return host == "localhost";
}

// The group the socket will have: daemon.socket_group, else the directory's when it is setgid, else the
// service account's.
std::optional<gid_t> socket_gid(const conf::Config& config, const std::optional<struct stat>& dir_st,
                                const Context& ctx, Report& report) {
  if (!config.daemon.socket_group.empty()) {
    try {
      return privileges::lookup_group(config.daemon.socket_group);
    } catch (const privileges::PrivilegeError&) {
      report.error("daemon.socket_group '" + config.daemon.socket_group + "': no such group");
      return std::nullopt;
    }
  }
  if (dir_st && (dir_st->st_mode & S_ISGID) != 0) return dir_st->st_gid;
  return ctx.service.gid;
}

// Every directory from / down to `dir` (those that exist) must be searchable by the MTA's user.
bool mta_reaches(const fs::path& dir, const Account& mta, const std::string& socket, Report& report) {
  fs::path walk;
  for (const fs::path& part : fs::absolute(dir).lexically_normal()) {
    walk /= part;
    const auto st = stat_of(walk);
    if (!st) return true;  // made at start, mode 0755
    if (!may_access(*st, mta, X_OK)) {
      report.error("the MTA's user " + mta.name + " cannot reach the socket " + socket + ": " +
                   walk.string() + " is not searchable by it (mode " + octal(st->st_mode) + ", owner " +
                   user_name(st->st_uid) + ", group " + group_name(st->st_gid) +
                   "): let it through (chmod o+x, or group " + mta.name + " with g+x) or move the socket");
      return false;
    }
  }
  return true;
}

void check_mta_connects(const conf::Config& config, const std::optional<struct stat>& dir_st,
                        const Context& ctx, Report& report) {
  const std::string& socket = config.listen.path;
  const fs::path dir = fs::path(socket).parent_path();
  const std::optional<gid_t> gid = socket_gid(config, dir_st, ctx, report);
  if (!gid) return;
  if (!config.daemon.socket_group.empty() && !ctx.started_as.is_root() && !ctx.service.in_group(*gid))
    report.error("daemon.socket_group " + config.daemon.socket_group + ": " + ctx.service.name +
                 " is not a member of it, so it cannot give the socket that group: start the daemon as root, "
                 "add " +
                 ctx.service.name + " to the group, or use a setgid directory of that group");
  if (!ctx.mta || !mta_reaches(dir, *ctx.mta, socket, report)) return;
  struct stat predicted {};
  predicted.st_mode = S_IFSOCK | static_cast<mode_t>(config.daemon.socket_mode);
  predicted.st_uid = ctx.service.uid;
  predicted.st_gid = *gid;
  if (!may_access(predicted, *ctx.mta, R_OK | W_OK))
    report.error("the MTA's user " + ctx.mta->name + " cannot connect to " + socket + " (mode " +
                 octal(predicted.st_mode) + ", owner " + ctx.service.name + ", group " + group_name(*gid) +
                 "): set daemon.socket_group to " + ctx.mta->group_name + ", or make " + dir.string() +
                 " setgid group " + ctx.mta->group_name + " (chgrp " + ctx.mta->group_name + " " +
                 dir.string() + "; chmod 2750 " + dir.string() + ")");
}

// ---- the keystore

void check_key(keystore::Store& store, const keystore::CertRecord& rec, const Context& ctx, Report& report) {
  const std::string& fp = rec.facts.fingerprint;
  const std::optional<keystore::StoredKey> stored = store.key(fp);
  if (!stored) return;
  const std::string who = fp + " (" + rec.facts.subject + ")";
  if (stored->encrypted && !ctx.passphrase.value) {
    if (!ctx.passphrase.unavailable.empty())
      report.warning("the private key of " + who +
                     " is encrypted and was not checked: " + ctx.passphrase.unavailable);
    else if (ctx.passphrase.problem.empty())
      report.error("the private key of " + who +
                   " is encrypted and no passphrase is configured: set keystore.key_passphrase_file or "
                   "keystore.key_passphrase_credential");
    return;
  }
  try {
    keystore::load_identity(store, fp, ctx.passphrase.value.value_or(std::string()));
  } catch (const keystore::Error& e) {
    if (e.kind() == keystore::ErrorKind::store) throw;
    if (e.kind() == keystore::ErrorKind::locked_key)
      report.error("the key passphrase does not open the private key of " + who +
                   ": give the passphrase it was stored with (smime-keystore import --key-pass)");
    else
      report.error("the identity " + who + " cannot be loaded: " + e.what());
  } catch (const smime::Error& e) {
    report.error("the identity " + who + " cannot be loaded: " + e.what());
  }
}

void check_identities(const conf::Config& config, keystore::Store& store, const Context& ctx,
                      Report& report) {
  keystore::ListFilter only_keys;
  only_keys.identities_only = true;
  const std::vector<keystore::CertRecord> identities = store.list(only_keys);
  bool can_sign = false;
  for (const keystore::CertRecord& rec : identities) {
    check_key(store, rec, ctx, report);
    can_sign = can_sign || rec.facts.can_sign();
  }
  for (const auto& [name, profile] : config.profiles) {
    if (!profile->signs()) continue;
    const conf::SignerChoice& signer = profile->signing_identity;
    if (signer.kind == conf::SignerChoice::Kind::fingerprint) {
      const std::optional<keystore::CertRecord> rec = store.find(signer.fingerprint);
      if (!rec)
        report.error(
            "profiles." + name + ".signing_identity " + signer.fingerprint +
            " is not in the keystore: import it with its key (smime-keystore import CERT --key KEY)");
      else if (!rec->has_private_key)
        report.error(
            "profiles." + name + ".signing_identity " + signer.fingerprint +
            " has no private key in the keystore: import the key (smime-keystore import CERT --key KEY)");
    } else if (!can_sign) {
      report.warning(
          "no gateway identity in the keystore can sign: mail of profile " + name + " is " +
          (profile->missing_identity == conf::MissingIdentity::pass ? "passed unsigned" : "rejected") +
          " until one is added (smime-keystore generate --import, or import CERT --key KEY)");
    }
  }
}

// The SQLite file: present, accessible to the service account, intact, of the current schema. Returns
// whether it may be opened for the identity checks.
bool check_sqlite_file(const std::string& path, const Context& ctx, Report& report) {
  const std::string& user = ctx.service.name;
  const auto st = stat_of(path);
  if (!st) {
    report.error("keystore " + path + " does not exist: create it as " + user + " (runuser -u " + user +
                 " -- smime-keystore --store " + path + " list) and add the gateway's key (smime-keystore " +
                 "generate --import, or import CERT --key KEY)");
    return false;
  }
  if (!S_ISREG(st->st_mode)) {
    report.error("keystore " + path + " is not a regular file");
    return false;
  }
  const fs::path dir = fs::absolute(path).parent_path();
  if (auto dst = stat_of(dir)) check_existing_directory(dir, *dst, "the keystore's directory", ctx, report);
  for (const std::string& file : {path, path + "-wal", path + "-shm"}) {
    const auto fst = stat_of(file);
    if (fst && !may_access(*fst, ctx.service, R_OK | W_OK)) {
      report.error("keystore " + file + " is not readable and writable by " + user + " (mode " +
                   octal(fst->st_mode) + ", owner " + user_name(fst->st_uid) + "): chown " + user + " " +
                   file);
      return false;
    }
  }
  keystore::SqliteHealth health;
  try {
    health = keystore::sqlite_health(path);
  } catch (const keystore::Error& e) {
    const bool malformed = std::string_view(e.what()).find("malformed") != std::string_view::npos;
    report.error("keystore " + path + (malformed ? " is corrupt (" : " cannot be read (") + e.what() +
                 "): restore it from a backup" + (malformed ? "" : ", or create a new one"));
    return false;
  }
  const int ours = keystore::sqlite_schema_version();
  if (!health.problems.empty()) {
    report.error(
        "keystore " + path + " is corrupt (PRAGMA quick_check: " + health.problems.front() +
        (health.problems.size() > 1 ? "; " + std::to_string(health.problems.size()) + " problems" : "") +
        "): restore it from a backup");
    return false;
  }
  if (health.schema_version == 0) {
    report.error("keystore " + path +
                 " holds no keystore (no schema): give the right keystore.path, or "
                 "create one with smime-keystore --store PATH list");
    return false;
  }
  if (health.schema_version > ours) {
    report.error("keystore " + path + " has schema version " + std::to_string(health.schema_version) +
                 ", newer than this program (" + std::to_string(ours) + "): upgrade smime-milter");
    return false;
  }
  if (health.schema_version < ours) {
    report.warning("keystore " + path + " has schema version " + std::to_string(health.schema_version) +
                   "; it is migrated to " + std::to_string(ours) + " when the daemon first opens it");
    return false;
  }
  return true;
}

}  // namespace

std::size_t Report::errors() const {
  return static_cast<std::size_t>(std::count_if(
      findings_.begin(), findings_.end(), [](const Finding& f) { return f.severity == Severity::error; }));
}

std::optional<Context> make_context(const conf::Config& config, std::string_view user, bool allow_root,
                                    bool checking, Report& report) {
  Context ctx;
  ctx.allow_root = allow_root || config.daemon.allow_root;
  try {
    ctx.started_as = privileges::current_account();
    std::optional<Account> wanted;
    if (!user.empty())
      wanted = privileges::parse_account(user);
    else if (!config.daemon.user.empty())
      wanted = privileges::lookup_account(config.daemon.user, config.daemon.group);
    else if (!config.daemon.group.empty())
      wanted = privileges::lookup_account(std::to_string(ctx.started_as.uid), config.daemon.group);
    const privileges::Plan plan = privileges::plan_for(ctx.started_as, wanted ? &*wanted : nullptr);
    ctx.service = plan.target;
    ctx.switch_user = plan.switch_user;
  } catch (const privileges::PrivilegeError& e) {
    report.error(e.what());
    return std::nullopt;
  }
  ctx.mta = mta_account();
  const char* credentials = std::getenv("CREDENTIALS_DIRECTORY");
  const bool from_systemd_only = config.keystore.key_passphrase_file.empty() &&
                                 !config.keystore.key_passphrase_credential.empty() &&
                                 (credentials == nullptr || *credentials == '\0');
  if (checking && from_systemd_only) {
    ctx.passphrase.unavailable =
        "keystore.key_passphrase_credential " + config.keystore.key_passphrase_credential +
        " is given by systemd to the service only ($CREDENTIALS_DIRECTORY is not set "
        "here): encrypted keys are not checked";
    return ctx;
  }
  try {
    ctx.passphrase.value = read_key_passphrase(config.keystore, credentials);
    if (!config.keystore.key_passphrase_file.empty())
      ctx.passphrase.path = config.keystore.key_passphrase_file.string();
  } catch (const PassphraseError& e) {
    ctx.passphrase.problem = e.what();
  }
  return ctx;
}

std::optional<privileges::Account> mta_account() {
  if (getpwnam("postfix") == nullptr) return std::nullopt;
  try {
    return privileges::lookup_account("postfix");
  } catch (const privileges::PrivilegeError&) {
    return std::nullopt;
  }
}

void check_account(const Context& ctx, Report& report) {
  if (!ctx.service.is_root()) return;
  if (!ctx.allow_root)
    report.error(
        "refusing to run as root: set daemon.user (the Debian package's is smime-milter) or give "
        "-u USER; to run as root anyway, set daemon.allow_root or give --allow-root");
  else
    report.warning(
        "runs as root (daemon.allow_root / --allow-root): hostile MIME, CMS and ASN.1 are parsed "
        "with every privilege; set daemon.user instead");
}

void check_directories(const conf::Config& config, const Context& ctx, Report& report) {
  check_state_directory(config.spool.directory, "spool.directory", ctx, report);
  if (config.revocation.enabled && config.revocation.cache == conf::RevocationCache::files)
    check_state_directory(config.revocation.cache_directory, "revocation.cache_directory", ctx, report);
}

void check_socket(const conf::Config& config, const Context& ctx, Report& report) {
  const conf::Listen& listen = config.listen;
  if (listen.kind != conf::Listen::Kind::unix_socket) {
    if (!is_loopback_host(listen.host))
      report.warning("listen " + listen.to_string() +
                     " is reachable from other hosts, and the milter protocol has no authentication: "
                     "firewall the port or listen on a loopback address or a unix socket");
    return;
  }
  const std::string& socket = listen.path;
  if (socket.size() >= sizeof(sockaddr_un{}.sun_path)) {
    report.error("listen " + socket + " is longer than a unix socket address allows (" +
                 std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes): use a shorter path");
    return;
  }
  if (struct stat st{}; ::lstat(socket.c_str(), &st) == 0 && !S_ISSOCK(st.st_mode)) {
    report.error("listen " + socket + " exists and is not a socket: remove it or give another path");
    return;
  }
  const fs::path dir = fs::path(socket).parent_path();
  const std::optional<struct stat> dir_st = stat_of(dir.empty() ? fs::path(".") : dir);
  if (dir_st)
    check_existing_directory(dir, *dir_st, "the socket's directory", ctx, report);
  else
    check_state_directory(dir, "the socket's directory", ctx, report);
  check_mta_connects(config, dir_st, ctx, report);
}

void check_passphrase(const Context& ctx, Report& report) {
  const Passphrase& p = ctx.passphrase;
  if (!p.problem.empty()) report.error(p.problem);
  if (!p.unavailable.empty()) report.warning(p.unavailable);
  if (!p.value || !p.path) return;
  if (auto st = stat_of(*p.path); st && !may_access(*st, ctx.service, R_OK))
    report.error("the key passphrase file " + *p.path + " is not readable by " + ctx.service.name +
                 ", which reads it again at each reload: chown " + ctx.service.name + " " + *p.path);
}

void check_keystore(const conf::Config& config, const Context& ctx, Report& report) {
  keystore::StoreLocation where;
  where.url = config.keystore.url;
  where.read_url = config.keystore.read_url;
  where.path = config.keystore.path.string();
  where.sqlite.create = false;
  where.sqlite.read_only = true;
  if (!where.is_postgresql() && !check_sqlite_file(where.path, ctx, report)) return;
  try {
    std::unique_ptr<keystore::Store> store = keystore::open_store(where);
    check_identities(config, *store, ctx, report);
  } catch (const std::exception& e) {
    report.error("keystore " + where.describe() + " cannot be used: " + e.what());
  }
}

void check_policy(const conf::Config& config, Report& report) {
  const conf::Revocation& r = config.revocation;
  if (!r.enabled) {
    report.warning(
        "revocation.enabled is false: revoked certificates are used for encryption and accepted "
        "in signatures");
    return;
  }
  if (r.encrypt == conf::Undetermined::fail_open)
    report.warning(
        "revocation.encrypt is fail-open: a revoked certificate will be used when its responder "
        "cannot be reached");
  if (r.verify == conf::Undetermined::fail_open)
    report.warning(
        "revocation.verify is fail-open: a signature by a revoked certificate will pass when its "
        "responder cannot be reached");
  if (r.no_distribution_point_is_good)
    report.warning(
        "revocation.no_distribution_point_is_good is true: a certificate that names no OCSP "
        "responder or CRL is taken as not revoked");
}

void check_config_file(const std::string& path, const Context& ctx, Report& report) {
  const auto st = stat_of(path);
  if (!st || may_access(*st, ctx.service, R_OK)) return;
  report.warning("the configuration " + path + " is not readable by " + ctx.service.name +
                 ", so a reload (SIGHUP) will be refused: chmod o+r " + path + " or chgrp it to " +
                 ctx.service.group_name);
}

Report check_all(const conf::Config& config, const Context& ctx) {
  Report report;
  check_account(ctx, report);
  check_directories(config, ctx, report);
  check_socket(config, ctx, report);
  check_passphrase(ctx, report);
  check_keystore(config, ctx, report);
  check_policy(config, report);
  return report;
}

namespace {

// Makes dir and its missing ancestors with `mode`, each given to `owner` when made by root.
void make_directory(const fs::path& dir, mode_t mode, const Account& owner) {
  if (stat_of(dir)) return;
  const fs::path parent = fs::absolute(dir).lexically_normal().parent_path();
  if (parent != dir && !parent.empty()) make_directory(parent, mode, owner);
  if (::mkdir(dir.c_str(), mode) != 0) {
    if (errno == EEXIST) return;
    throw std::runtime_error("cannot make the directory " + dir.string() + ": " + std::strerror(errno));
  }
  // Ours: its mode is what we asked, whatever the umask.
  if (::chmod(dir.c_str(), mode) != 0 || (geteuid() == 0 && ::chown(dir.c_str(), owner.uid, owner.gid) != 0))
    throw std::runtime_error("cannot set the owner and mode of " + dir.string() + ": " +
                             std::strerror(errno));
}

}  // namespace

void make_missing_directories(const conf::Config& config, const privileges::Account& service) {
  make_directory(config.spool.directory, 0700, service);
  if (config.revocation.enabled && config.revocation.cache == conf::RevocationCache::files)
    make_directory(config.revocation.cache_directory, 0700, service);
  if (config.listen.kind == conf::Listen::Kind::unix_socket) {
    const fs::path dir = fs::path(config.listen.path).parent_path();
    if (!dir.empty()) make_directory(dir, 0755, service);
  }
}

}  // namespace milter::startup
