// smime-keystore: inspect and manage the smime-milter certificate store.
//
// Exit codes (see smime-keystore(1)): 0 done; 1 not found / no usable certificate; 2 usage; 3 bad
// input; 4 refused (the certificate requirements; a CRL that does not verify or is not newer); 5 store or
// internal failure; revocation: 6 revoked, 7 undetermined. Errors are one line on standard error saying what
// to do.
#include <openssl/err.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "conf/error.hpp"
#include "context.hpp"
#include "keystore/error.hpp"
#include "milter/settings.hpp"
#include "smime/error.hpp"

namespace {

using cli::OptSpec;

const char kUsage[] =
    "usage: smime-keystore [--store PATH | --url URL | -c FILE] COMMAND [options] [arguments]\n"
    "  list      [--address A] [--domain D] [--origin imported|harvested] [--identities] [--json]\n"
    "  show      FINGERPRINT [--json]\n"
    "  import    FILE... [--pass SRC] [--key FILE] [--key-pass SRC] [--purpose encrypt|sign|both|any] "
    "[--force]\n"
    "  export    (FINGERPRINT... | --all) [--out FILE]\n"
    "  remove    FINGERPRINT...\n"
    "  harvested [--hours N] [--json]\n"
    "  trust     add FILE... [--force] | list [--json] | remove FINGERPRINT...\n"
    "  lookup    ADDRESS [--sign] [--json]\n"
    "  revocation (FINGERPRINT | ADDRESS | FILE) [--config FILE] [--cached] [--json]\n"
    "  crl       import FILE [--issuer FILE] | list [--json] | remove ISSUER-FINGERPRINT...\n"
    "  revoke    (FINGERPRINT | FILE) --reason REASON [--comment TEXT]\n"
    "  unrevoke  (FINGERPRINT | FILE)...\n"
    "  revoked   [--json]\n"
    "  generate  [--cn CN] [--org O] [--unit OU] [--locality L] [--state ST] [--country C] [--email A]...\n"
    "            [--dns D]... [--digest sha256|sha384|sha512] [--days N] [--key-type rsa|ec] [--key-size "
    "BITS]\n"
    "            [--curve P-256|P-384|P-521] [--usage sign|encrypt|both] [--csr] [--out FILE]\n"
    "            (--key-out FILE [--key-out-pass SRC] | --import [--key-pass SRC])\n"
    "  copy      --from PATH|URL --to PATH|URL\n"
    "SRC is env:VARIABLE, file:PATH or prompt. The store is --store PATH (SQLite) or --url URL\n"
    "(PostgreSQL: postgresql://... or a libpq keyword string), else the milter's keystore section of\n"
    "-c/--config FILE, else $SMIME_KEYSTORE_URL, else $SMIME_KEYSTORE, else\n"
    "/var/lib/smime-milter/keystore.db. See smime-keystore(1).\n";

struct Command {
  std::function<int(cli::Context&)> run;
  std::vector<OptSpec> options;
};

const std::map<std::string, Command>& commands() {
  static const std::map<std::string, Command> table = {
      {"list",
       {cli::cmd_list, {{"address", true}, {"domain", true}, {"origin", true}, {"identities"}, {"json"}}}},
      {"show", {cli::cmd_show, {{"json"}}}},
      {"import",
       {cli::cmd_import, {{"pass", true}, {"key", true}, {"key-pass", true}, {"purpose", true}, {"force"}}}},
      {"export", {cli::cmd_export, {{"all"}, {"out", true}}}},
      {"remove", {cli::cmd_remove, {}}},
      {"harvested", {cli::cmd_harvested, {{"hours", true}, {"json"}}}},
      {"trust", {cli::cmd_trust, {{"force"}, {"json"}}}},
      {"lookup", {cli::cmd_lookup, {{"sign"}, {"json"}}}},
      {"revocation", {cli::cmd_revocation, {{"config", true}, {"cached"}, {"json"}}}},
      {"generate", {cli::cmd_generate, {{"cn", true},       {"org", true},      {"unit", true},
                                        {"locality", true}, {"state", true},    {"country", true},
                                        {"email", true},    {"dns", true},      {"digest", true},
                                        {"days", true},     {"key-type", true}, {"key-size", true},
                                        {"curve", true},    {"usage", true},    {"csr"},
                                        {"out", true},      {"key-out", true},  {"key-out-pass", true},
                                        {"import"},         {"key-pass", true}}}},
      {"copy", {cli::cmd_copy, {{"from", true}, {"to", true}}}},
      {"crl", {cli::cmd_crl, {{"issuer", true}, {"json"}}}},
      {"revoke", {cli::cmd_revoke, {{"reason", true}, {"comment", true}}}},
      {"unrevoke", {cli::cmd_unrevoke, {}}},
      {"revoked", {cli::cmd_revoked, {{"json"}}}},
  };
  return table;
}

int fail(int code, const std::string& message, const std::string& hint) {
  std::cerr << "smime-keystore: " << message << (hint.empty() ? "" : "; " + hint) << "\n";
  return code;
}

// Set once the store's location is known: the hint for a store failure depends on the backend.
bool g_postgresql = false;

// The store named by the global options (or the same options after the command), else by the milter's
// configuration file, else by the environment, else the default file.
keystore::StoreLocation store_location(const std::optional<std::string>& path,
                                       const std::optional<std::string>& url,
                                       const std::optional<conf::Keystore>& configured) {
  if (path && url) throw cli::UsageError("give --store PATH or --url URL, not both");
  keystore::StoreLocation where;
  if (url) {
    where.url = *url;
  } else if (path) {
    where.path = *path;
  } else if (configured) {
    where = milter::settings::store_location(*configured);
    where.sqlite = keystore::SqliteOptions{};  // as --store: the administrator may create the store
  } else if (const char* env = std::getenv("SMIME_KEYSTORE_URL"); env != nullptr && *env != '\0') {
    where.url = env;
  } else if (const char* file = std::getenv("SMIME_KEYSTORE"); file != nullptr && *file != '\0') {
    where.path = file;
  } else {
    where.path = "/var/lib/smime-milter/keystore.db";
  }
  where.pg.application_name = "smime-keystore";
  return where;
}

int run(int argc, char** argv) {
  std::vector<std::string> words(argv + 1, argv + argc);
  std::optional<std::string> path, url, config;
  // Global options come before the command.
  std::size_t i = 0;
  for (; i < words.size() && words[i].rfind("-", 0) == 0; ++i) {
    const std::string& w = words[i];
    if (w == "--help") {
      std::cout << kUsage;
      return cli::kOk;
    }
    if ((w == "--store" || w == "--url") && i + 1 < words.size())
      (w == "--store" ? path : url) = words[++i];
    else if ((w == "-c" || w == "--config") && i + 1 < words.size())
      config = words[++i];
    else if (w.rfind("--store=", 0) == 0)
      path = w.substr(8);
    else if (w.rfind("--url=", 0) == 0)
      url = w.substr(6);
    else if (w.rfind("--config=", 0) == 0)
      config = w.substr(9);
    else
      throw cli::UsageError("unknown option " + w + " before the command");
  }
  if (i >= words.size()) throw cli::UsageError("no command given");
  const std::string name = words[i];
  if (name == "help") {
    std::cout << kUsage;
    return cli::kOk;
  }
  auto it = commands().find(name);
  if (it == commands().end()) throw cli::UsageError("unknown command '" + name + "'");
  std::vector<std::string> rest(words.begin() + static_cast<std::ptrdiff_t>(i) + 1, words.end());
  std::vector<OptSpec> specs = it->second.options;
  specs.push_back({"store", true});  // also accepted after the command
  specs.push_back({"url", true});
  if (std::none_of(specs.begin(), specs.end(), [](const OptSpec& o) { return o.name == "config"; }))
    specs.push_back({"config", true});
  cli::Args args = cli::parse(name, rest, specs);
  if (auto s = args.one("store")) path = *s;
  if (auto u = args.one("url")) url = *u;
  if (auto f = args.one("config")) {
    if (config && *config != *f) throw cli::UsageError("give --config once");
    config = *f;
  }
  if (config && !args.one("config")) args.options.emplace("config", *config);  // revocation reads it there
  std::optional<conf::Keystore> configured;
  if (config) configured = conf::load(*config).keystore;
  cli::Context ctx{std::move(args), store_location(path, url, configured), nullptr, configured};
  g_postgresql = ctx.where.is_postgresql();
  return it->second.run(ctx);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const cli::UsageError& e) {
    return fail(cli::kUsage, e.what(), "see 'smime-keystore --help'");
  } catch (const keystore::Error& e) {
    switch (e.kind()) {
      case keystore::ErrorKind::not_found:
        return fail(cli::kNotFound, e.what(), "see 'smime-keystore list'");
      case keystore::ErrorKind::refused:
        return fail(cli::kRefused, e.what(), "");
      case keystore::ErrorKind::locked_key:
        return fail(cli::kBadInput, e.what(),
                    "give --key-pass, set SMIME_KEYSTORE_KEY_PASS_FILE or -c the milter's configuration");
      case keystore::ErrorKind::store:
        return fail(cli::kStore, e.what(),
                    g_postgresql
                        ? "check --url / $SMIME_KEYSTORE_URL, that the database is up, and the role's "
                          "privileges (smime-keystore(1), DATABASE ROLES)"
                        : "check --store / $SMIME_KEYSTORE, the file's owner and mode, and free space");
    }
    return fail(cli::kStore, e.what(), "");
  } catch (const smime::Error& e) {
    switch (e.kind()) {
      case smime::ErrorKind::bad_input:
      case smime::ErrorKind::wrong_key:
        return fail(cli::kBadInput, e.what(), "check the file's format and the passphrase");
      case smime::ErrorKind::io:
        return fail(cli::kBadInput, e.what(), "check the path and permissions");
      case smime::ErrorKind::usage:
        return fail(cli::kUsage, e.what(), "see 'smime-keystore --help'");
      case smime::ErrorKind::crypto:
        break;
    }
    return fail(cli::kStore, e.what(), "this is an internal failure; please report it");
  } catch (const conf::ConfigError& e) {
    return fail(cli::kBadInput, e.what(), "check the file given with --config (smime-milter -n -c FILE)");
  } catch (const std::exception& e) {
    return fail(cli::kStore, e.what(), "this is an internal failure; please report it");
  }
}
