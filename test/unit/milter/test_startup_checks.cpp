// The start-up checks of `smime-milter -n` (startup_checks.hpp): a good set-up has no error, and each bad
// state gives its one error (or warning) naming the thing. Permissions are computed for the service
// account from the files' modes, so the tests run as root and check on behalf of other accounts.
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "../smime/test_support.hpp"
#include "conf/config.hpp"
#include "keystore/identity.hpp"
#include "keystore/sqlite_store.hpp"
#include "milter/startup_checks.hpp"
#include "smime/cert.hpp"
#include "temp_dir.hpp"

namespace {

using milter::privileges::Account;
namespace startup = milter::startup;

bool is_root() { return geteuid() == 0; }

Account nobody() { return milter::privileges::lookup_account("nobody"); }

// An MTA user of our own: not in the passwd database (the checks only compare ids), in group nogroup.
Account mta() {
  Account a;
  a.name = "mta";
  a.uid = 4242;
  a.gid = 4242;
  a.group_name = "mta";
  a.groups = {4242, milter::privileges::lookup_group("nogroup")};
  return a;
}

struct Setup {
  test::TempDir dir{"smime-startup"};
  std::string keystore = dir.path("ks.db");
  std::string extra;  // more top-level JSON members, each followed by a comma

  Setup() {
    std::filesystem::create_directory(dir.path("spool"));
    ::chmod(dir.root().c_str(), 0755);
    ::chmod(dir.path("spool").c_str(), 0700);
  }

  // The gateway identity gw-new in a fresh keystore, its key encrypted under `passphrase` when given.
  std::string add_identity(const std::string& passphrase = {}) {
    auto store = keystore::open_sqlite_store(keystore);
    std::vector<smime::X509Ptr> chain;
    chain.push_back(test::cert("inter"));
    smime::X509Ptr cert = test::cert("gw-new");
    keystore::put_identity(*store, cert.get(), test::key("gw-new").get(), chain, passphrase, 1000);
    return smime::fingerprint_sha256(cert.get());
  }

  conf::Config config(const std::string& more = {}) const {
    const std::string json = "{ \"listen\": \"unix:" + dir.path("run/milter.sock") + "\", " + extra + more +
                             " \"spool\": { \"directory\": \"" + dir.path("spool") + "\" }," +
                             " \"keystore\": { \"path\": \"" + keystore + "\" }," +
                             " \"revocation\": { \"enabled\": true, \"cache_directory\": \"" +
                             dir.path("cache") + "\" } }";
    return conf::parse(json, "test.json");
  }
};

startup::Context root_context() {
  startup::Context ctx;
  ctx.service = milter::privileges::current_account();
  ctx.started_as = ctx.service;
  ctx.allow_root = true;
  return ctx;
}

std::vector<std::string> of(const startup::Report& r, startup::Severity s) {
  std::vector<std::string> out;
  for (const auto& f : r.findings())
    if (f.severity == s) out.push_back(f.text);
  return out;
}
std::vector<std::string> errors(const startup::Report& r) { return of(r, startup::Severity::error); }
std::vector<std::string> warnings(const startup::Report& r) { return of(r, startup::Severity::warning); }

// The one error, which must contain every part.
void one_error(const startup::Report& r, std::initializer_list<std::string> parts) {
  const auto e = errors(r);
  INFO("errors: " << Catch::Detail::stringify(e));
  REQUIRE(e.size() == 1);
  for (const std::string& p : parts) CHECK(e.front().find(p) != std::string::npos);
}

}  // namespace

TEST_CASE("startup: a good set-up has no error", "[startup]") {
  Setup s;
  s.add_identity();
  const startup::Report r = startup::check_all(s.config(), root_context());
  INFO(Catch::Detail::stringify(errors(r)));
  CHECK(errors(r).empty());
  // running as root (allowed) is still a warning
  CHECK(std::any_of(r.findings().begin(), r.findings().end(), [](const startup::Finding& f) {
    return f.text.find("runs as root") != std::string::npos;
  }));
}

TEST_CASE("startup: root is refused unless allowed", "[startup]") {
  startup::Context ctx = root_context();
  ctx.service = Account{"root", 0, 0, "root", {0}};
  ctx.allow_root = false;
  startup::Report r;
  startup::check_account(ctx, r);
  one_error(r, {"refusing to run as root", "daemon.user", "--allow-root"});
  ctx.allow_root = true;
  startup::Report allowed;
  startup::check_account(ctx, allowed);
  CHECK(errors(allowed).empty());
  CHECK(warnings(allowed).size() == 1);
}

TEST_CASE("startup: a missing keystore", "[startup]") {
  Setup s;
  startup::Report r;
  startup::check_keystore(s.config(), root_context(), r);
  one_error(r, {"keystore " + s.keystore, "does not exist", "smime-keystore --store " + s.keystore});
}

TEST_CASE("startup: a file that is not a database", "[startup]") {
  Setup s;
  std::ofstream(s.keystore)
      << "this is not an SQLite file, not at all; long enough to have a header.........";
  startup::Report r;
  startup::check_keystore(s.config(), root_context(), r);
  one_error(r, {"keystore " + s.keystore, "cannot be read", "backup"});
}

TEST_CASE("startup: a keystore whose pages are damaged fails PRAGMA quick_check", "[startup]") {
  Setup s;
  s.add_identity();
  {
    auto store = keystore::open_sqlite_store(s.keystore);  // checkpoint: everything into the main file
  }
  std::filesystem::remove(s.keystore + "-wal");
  std::filesystem::remove(s.keystore + "-shm");
  // Zero the header of page 7, the index certificate_emails_email: the schema still reads, PRAGMA
  // quick_check finds the damage.
  {
    std::fstream f(s.keystore, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(6 * 4096);
    const std::string zeros(8, '\0');
    f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  }
  startup::Report r;
  startup::check_keystore(s.config(), root_context(), r);
  const auto e = errors(r);
  INFO(Catch::Detail::stringify(e));
  REQUIRE(e.size() == 1);
  CHECK(e.front().find("keystore " + s.keystore) != std::string::npos);
  CHECK(e.front().find("is corrupt (PRAGMA quick_check: ") != std::string::npos);
  CHECK(e.front().find("restore it from a backup") != std::string::npos);
}

TEST_CASE("startup: a keystore newer than this program", "[startup]") {
  Setup s;
  s.add_identity();
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(s.keystore.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "UPDATE schema_version SET version = 999", nullptr, nullptr, nullptr) ==
          SQLITE_OK);
  sqlite3_close(db);
  startup::Report r;
  startup::check_keystore(s.config(), root_context(), r);
  one_error(r, {"schema version 999", "upgrade smime-milter"});
}

TEST_CASE("startup: a keystore the service account cannot write", "[startup]") {
  if (!is_root()) {
    WARN("needs root (files owned by another account)");
    return;
  }
  Setup s;
  s.add_identity();
  ::chmod(s.keystore.c_str(), 0600);  // root's
  startup::Context ctx = root_context();
  ctx.service = nobody();
  ::chown(s.dir.root().c_str(), ctx.service.uid, ctx.service.gid);  // the directory is fine
  startup::Report r;
  startup::check_keystore(s.config(), ctx, r);
  one_error(r, {"keystore " + s.keystore, "not readable and writable by nobody", "chown nobody"});
}

TEST_CASE("startup: a signing identity named by fingerprint must be in the keystore", "[startup]") {
  Setup s;
  s.add_identity();
  const std::string missing(64, 'A');
  const conf::Config c = s.config(
      "\"profiles\": { \"fixed\": { \"mode\": \"sign\", \"signing_identity\": \"" + missing + "\" } },");
  startup::Report r;
  startup::check_keystore(c, root_context(), r);
  one_error(r, {"profiles.fixed.signing_identity", "is not in the keystore"});
}

TEST_CASE("startup: without an identity, signing profiles only warn", "[startup]") {
  Setup s;
  { auto store = keystore::open_sqlite_store(s.keystore); }
  const conf::Config c = s.config(
      "\"profiles\": { \"sign\": { \"mode\": \"sign\" } }, "
      "\"outbound\": { \"default_profile\": \"sign\" },");
  startup::Report r;
  startup::check_keystore(c, root_context(), r);
  CHECK(errors(r).empty());
  const auto w = warnings(r);
  REQUIRE(w.size() == 1);
  CHECK(w.front().find(
            "no gateway identity in the keystore can sign: mail of profile sign is passed unsigned") !=
        std::string::npos);
}

TEST_CASE("startup: an encrypted key and the passphrase", "[startup]") {
  Setup s;
  const std::string fp = s.add_identity("right passphrase");
  startup::Context ctx = root_context();

  SECTION("none configured") {
    startup::Report r;
    startup::check_keystore(s.config(), ctx, r);
    one_error(r, {fp, "is encrypted and no passphrase is configured", "keystore.key_passphrase_file"});
  }
  SECTION("the wrong one") {
    ctx.passphrase.value = "wrong";
    startup::Report r;
    startup::check_keystore(s.config(), ctx, r);
    one_error(r, {"the key passphrase does not open the private key of " + fp});
  }
  SECTION("the right one") {
    ctx.passphrase.value = "right passphrase";
    startup::Report r;
    startup::check_keystore(s.config(), ctx, r);
    CHECK(errors(r).empty());
  }
  SECTION("not available here (-n outside systemd): a warning") {
    ctx.passphrase.unavailable = "not set here";
    startup::Report r;
    startup::check_keystore(s.config(), ctx, r);
    CHECK(errors(r).empty());
    REQUIRE(warnings(r).size() == 1);
    CHECK(warnings(r).front().find(fp + " ") != std::string::npos);
  }
}

TEST_CASE("startup: the passphrase file through make_context", "[startup]") {
  Setup s;
  const std::string file = s.dir.path("pass");
  std::ofstream(file) << "right passphrase\nignored\n";
  const std::string keys =
      "\"keystore\": { \"path\": \"" + s.keystore + "\", \"key_passphrase_file\": \"" + file + "\" }";
  const std::string json = "{ \"listen\": \"inet:10025@127.0.0.1\", " + keys + " }";
  const conf::Config c = conf::parse(json, "test.json");

  SECTION("mode 0600: read, first line") {
    ::chmod(file.c_str(), 0600);
    startup::Report r;
    auto ctx = startup::make_context(c, "", true, true, r);
    REQUIRE(ctx);
    CHECK(ctx->passphrase.value == "right passphrase");
    CHECK(ctx->passphrase.problem.empty());
  }
  SECTION("group-readable: refused") {
    ::chmod(file.c_str(), 0640);
    startup::Report r;
    auto ctx = startup::make_context(c, "", true, true, r);
    REQUIRE(ctx);
    startup::Report checked;
    startup::check_passphrase(*ctx, checked);
    one_error(checked, {file, "group or others", "chmod 0600"});
  }
  SECTION("not readable by the service account") {
    if (!is_root()) return;
    ::chmod(file.c_str(), 0600);
    startup::Report r;
    auto ctx = startup::make_context(c, "", true, true, r);
    REQUIRE(ctx);
    ctx->service = nobody();
    startup::Report checked;
    startup::check_passphrase(*ctx, checked);
    one_error(checked, {file, "not readable by nobody", "reload"});
  }
}

TEST_CASE("startup: a credential outside systemd is unavailable to -n, a problem at start", "[startup]") {
  const conf::Config c = conf::parse(
      "{ \"listen\": \"inet:10025@127.0.0.1\", \"keystore\": { \"key_passphrase_credential\": \"k\" } }",
      "t");
  ::unsetenv("CREDENTIALS_DIRECTORY");
  startup::Report r;
  auto checking = startup::make_context(c, "", true, true, r);
  REQUIRE(checking);
  CHECK(checking->passphrase.problem.empty());
  CHECK(checking->passphrase.unavailable.find("$CREDENTIALS_DIRECTORY") != std::string::npos);
  auto starting = startup::make_context(c, "", true, false, r);
  REQUIRE(starting);
  CHECK(starting->passphrase.problem.find("$CREDENTIALS_DIRECTORY is not set") != std::string::npos);
}

TEST_CASE("startup: an unknown user is an error", "[startup]") {
  startup::Report r;
  const conf::Config c = conf::parse("{ \"listen\": \"inet:10025@127.0.0.1\" }", "t");
  CHECK_FALSE(startup::make_context(c, "no-such-user-here", false, true, r));
  one_error(r, {"no user 'no-such-user-here'"});
}

TEST_CASE("startup: the spool directory", "[startup]") {
  Setup s;
  startup::Context ctx = root_context();

  SECTION("world-writable") {
    ::chmod(s.dir.path("spool").c_str(), 01777);
    startup::Report r;
    startup::check_directories(s.config(), ctx, r);
    one_error(r, {"spool.directory " + s.dir.path("spool"), "world-writable", "mode 1777"});
  }
  SECTION("owned by another user") {
    if (!is_root()) return;
    const Account other = nobody();
    ::chown(s.dir.path("spool").c_str(), other.uid, other.gid);
    startup::Report r;
    startup::check_directories(s.config(), ctx, r);  // service: root
    one_error(r, {"spool.directory", "owned by nobody", "not by root"});
  }
  SECTION("not writable by the service account") {
    if (!is_root()) return;
    ctx.service = nobody();
    startup::Report r;
    startup::check_directories(s.config(), ctx, r);  // root's 0700
    // the cache directory is missing and root makes it: only the spool is a problem
    one_error(r, {"spool.directory", "not writable by nobody", "chown nobody"});
  }
  SECTION("missing, and the account started as cannot make it") {
    if (!is_root()) return;
    std::filesystem::remove(s.dir.path("spool"));
    ctx.service = nobody();
    ctx.started_as = nobody();  // not started as root
    startup::Report r;
    startup::check_directories(s.config(), ctx, r);
    // the spool and the revocation cache: both missing below root's 0755 directory
    const auto e = errors(r);
    REQUIRE(e.size() == 2);
    CHECK(e[0].find("spool.directory " + s.dir.path("spool") + " does not exist and nobody cannot make it") !=
          std::string::npos);
    CHECK(e[1].find("revocation.cache_directory") != std::string::npos);
  }
  SECTION("missing, made at start by root") {
    std::filesystem::remove(s.dir.path("spool"));
    startup::Report r;
    startup::check_directories(s.config(), ctx, r);
    CHECK(errors(r).empty());
    startup::make_missing_directories(s.config(), ctx.service);
    struct stat st {};
    REQUIRE(::stat(s.dir.path("spool").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0700);
    REQUIRE(::stat(s.dir.path("run").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0755);
  }
  SECTION("an existing directory keeps its mode") {
    ::chmod(s.dir.path("spool").c_str(), 0750);
    startup::make_missing_directories(s.config(), ctx.service);
    struct stat st {};
    REQUIRE(::stat(s.dir.path("spool").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0750);
  }
}

TEST_CASE("startup: the MTA must reach the unix socket", "[startup]") {
  Setup s;
  std::filesystem::create_directory(s.dir.path("run"));
  startup::Context ctx = root_context();
  ctx.mta = mta();

  SECTION("a directory on the way it cannot search") {
    ::chmod(s.dir.path("run").c_str(), 0700);
    startup::Report r;
    startup::check_socket(s.config(), ctx, r);
    one_error(r, {"the MTA's user mta cannot reach the socket", s.dir.path("run") + " is not searchable"});
  }
  SECTION("a socket without its group") {
    ::chmod(s.dir.path("run").c_str(), 0755);
    startup::Report r;
    startup::check_socket(s.config(), ctx, r);  // 0660 root:root
    one_error(r, {"cannot connect to " + s.dir.path("run/milter.sock"), "daemon.socket_group"});
  }
  SECTION("daemon.socket_group gives it") {
    ::chmod(s.dir.path("run").c_str(), 0755);
    startup::Report r;
    startup::check_socket(s.config("\"daemon\": { \"socket_group\": \"nogroup\" },"), ctx, r);
    CHECK(errors(r).empty());
  }
  SECTION("a setgid directory of its group gives it") {
    ::chown(s.dir.path("run").c_str(), 0, milter::privileges::lookup_group("nogroup"));
    ::chmod(s.dir.path("run").c_str(), 02750);
    startup::Report r;
    startup::check_socket(s.config(), ctx, r);
    CHECK(errors(r).empty());
  }
  SECTION("an unknown socket group") {
    ::chmod(s.dir.path("run").c_str(), 0755);
    startup::Report r;
    startup::check_socket(s.config("\"daemon\": { \"socket_group\": \"no-such-group-here\" },"), ctx, r);
    one_error(r, {"daemon.socket_group 'no-such-group-here': no such group"});
  }
}

TEST_CASE("startup: choices that weaken the gateway are warnings", "[startup]") {
  const conf::Config c = conf::parse(
      "{ \"listen\": \"inet:10025@127.0.0.1\", \"revocation\": { \"encrypt\": \"fail-open\" } }", "t");
  startup::Report policy;
  startup::check_policy(c, policy);
  CHECK(errors(policy).empty());
  REQUIRE(warnings(policy).size() == 1);
  CHECK(warnings(policy).front() ==
        "revocation.encrypt is fail-open: a revoked certificate will be used when its responder cannot be "
        "reached");
}

TEST_CASE("startup: a TCP socket on another address than loopback is a warning", "[startup]") {
  const conf::Config c = conf::parse("{ \"listen\": \"inet:10025@0.0.0.0\" }", "t");
  startup::Report r;
  startup::check_socket(c, root_context(), r);
  CHECK(errors(r).empty());
  REQUIRE(warnings(r).size() == 1);
  CHECK(warnings(r).front().find("reachable from other hosts") != std::string::npos);
}

TEST_CASE("startup: a configuration file the service account cannot read again is a warning", "[startup]") {
  if (!is_root()) return;
  test::TempDir dir("smime-startup");
  const std::string file = dir.path("milter.json");
  std::ofstream(file) << "{}\n";
  ::chmod(file.c_str(), 0600);
  startup::Context ctx = root_context();
  ctx.service = nobody();
  startup::Report r;
  startup::check_config_file(file, ctx, r);
  CHECK(errors(r).empty());
  REQUIRE(warnings(r).size() == 1);
  CHECK(warnings(r).front().find("not readable by nobody, so a reload (SIGHUP) will be refused") !=
        std::string::npos);
  ::chmod(file.c_str(), 0644);
  startup::Report readable;
  startup::check_config_file(file, ctx, readable);
  CHECK(readable.findings().empty());
}
