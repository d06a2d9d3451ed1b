// conf::Config: the JSON configuration of smime-milter as typed, validated values.
//
// Contract: parse() (text) and load() (file) read the whole configuration once, check every key
// (types, bounds, enumerations, cross-references) and either return a complete Config or throw one
// conf::ConfigError naming every problem by its JSON path. Nothing in a returned Config needs checking
// again: profile references are resolved, regexes compiled, networks parsed. A Config is a value; the
// milter holds it as std::shared_ptr<const Config> and gives each message the snapshot it started with.
// The defaults below are those of an absent key; man/smime-milter.json.5 documents each one.
// Keys of later issues (inbound processing, revocation) will be added as new sections; unknown keys are
// errors, so an older binary refuses a newer file instead of ignoring part of it.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/error.hpp"
#include "conf/match.hpp"

namespace conf {

inline constexpr std::uint64_t KiB = 1024;
inline constexpr std::uint64_t MiB = 1024 * KiB;
inline constexpr std::uint64_t GiB = 1024 * MiB;

// Where libmilter listens: "unix:PATH", "inet:PORT@HOST", "inet6:PORT@HOST" (HOST with or without [ ]).
struct Listen {
  enum class Kind { unix_socket, inet, inet6 };
  Kind kind = Kind::unix_socket;
  std::string path = "/run/smime-milter/milter.sock";  // unix_socket
  std::string host;                                    // inet/inet6: an address or name, no brackets
  std::uint16_t port = 0;                              // inet/inet6: 1..65535

  std::string to_string() const;  // as configured (canonical), e.g. "inet6:10025@[::1]"
  std::string libmilter() const;  // what smfi_setconn() wants, e.g. "inet6:10025@::1"
};

struct Spool {
  std::filesystem::path directory = "/var/spool/smime-milter";
  std::uint64_t memory_limit = 4 * MiB;  // body bytes kept in memory before spilling to a spool file
};

struct Keystore {
  std::filesystem::path path = "/var/lib/smime-milter/keystore.db";
};

enum class LogLevel { error, warning, info, debug };

struct Log {
  LogLevel level = LogLevel::info;
  bool foreground_stderr = true;  // with -f, log to stderr as well as syslog
};

struct Direction {
  std::vector<Cidr> internal_networks = {*Cidr::parse("127.0.0.0/8"), *Cidr::parse("::1/128")};
  std::vector<DomainPattern> internal_domains;  // sender domains that count as ours
  bool authenticated_is_outbound = true;        // SMTP AUTH makes a message outbound
};

enum class Mode { none, sign, encrypt, sign_encrypt, triple };
enum class SignMode { detached, opaque };
enum class Digest { sha256, sha384, sha512 };
enum class RsaSignaturePadding { pkcs1v15, pss };
enum class Cipher {
  automatic,
  aes256_cbc,
  aes128_gcm,
  aes256_gcm
};  // automatic: by the recipients' capabilities
enum class RsaKeyTransport { pkcs1v15, oaep };
enum class MissingCertificate { bounce, drop, split, plain };

struct SigningIdentity {
  enum class Kind { sender_domain, sender_address, fingerprint };
  Kind kind = Kind::sender_domain;
  std::string fingerprint;  // kind == fingerprint: SHA-256, upper-case hex, colon separated (as the keystore)
};

struct Profile {
  std::string name;
  Mode mode = Mode::sign;
  SignMode sign_mode = SignMode::detached;
  SigningIdentity signing_identity;
  Digest digest = Digest::sha256;
  RsaSignaturePadding rsa_signature_padding = RsaSignaturePadding::pkcs1v15;
  Cipher cipher = Cipher::automatic;
  RsaKeyTransport rsa_key_transport = RsaKeyTransport::pkcs1v15;
  MissingCertificate missing_certificate = MissingCertificate::bounce;

  bool signs() const noexcept {
    return mode == Mode::sign || mode == Mode::sign_encrypt || mode == Mode::triple;
  }
  bool encrypts() const noexcept {
    return mode == Mode::encrypt || mode == Mode::sign_encrypt || mode == Mode::triple;
  }
};

// Every given condition must match; an absent one matches everything. Lists match when any entry does.
struct RuleMatch {
  std::vector<AddressPattern> sender;
  std::vector<AddressPattern> recipient;  // any recipient against any pattern (the milter applies it)
  std::vector<HeaderCondition> header;    // every condition must be met by some header field
  std::optional<std::uint64_t> size_min;  // bytes, inclusive
  std::optional<std::uint64_t> size_max;  // bytes, inclusive
};

struct Rule {
  std::string name;  // as configured, or "rules[N]"
  RuleMatch match;
  std::shared_ptr<const Profile> profile;  // resolved, never null
};

struct Outbound {
  bool skip_already_protected = true;              // leave signed or encrypted messages as they are
  std::vector<Rule> rules;                         // in order; the first match picks the profile
  std::shared_ptr<const Profile> default_profile;  // never null; the built-in "none" unless configured
};

enum class Action { accept, tempfail, reject, discard };

struct FailureActions {
  Action internal = Action::tempfail;
  Action keystore = Action::tempfail;
  Action no_certificate = Action::reject;
  Action bad_input = Action::reject;  // outbound: never let a message the policy protects out unprotected
  Action signing = Action::reject;    // never sent unsigned
};

struct Reinjection {
  std::string host = "127.0.0.1";
  std::uint16_t port = 10026;
  std::chrono::seconds timeout{30};
};

struct Limits {
  std::uint64_t max_message_size = 100 * MiB;
  unsigned mime_depth = 32;
  unsigned mime_parts = 10000;
};

struct Config {
  std::string origin;  // the file name, or what the caller named the text
  Listen listen;
  Spool spool;
  Keystore keystore;
  Log log;
  Direction direction;
  Outbound outbound;
  std::map<std::string, std::shared_ptr<const Profile>, std::less<>> profiles;  // includes "none"
  FailureActions failure_actions;
  std::optional<Reinjection> reinjection;       // required when a profile uses missing_certificate split
  std::string trace_header = "X-SMIME-Milter";  // empty: no trace header
  Limits limits;

  // The profile of that name, or nullptr.
  const Profile* find_profile(std::string_view name) const;
};

// Throws ConfigError. `origin` names the text in messages (a file name, "<built-in default>").
Config parse(std::string_view json_text, std::string_view origin);
// Reads the file (a read failure is a ConfigError at path "$") and parses it with the file name as origin.
Config load(const std::filesystem::path& file);

// The built-in configuration of scripts/run: everything under ./var, sign outbound mail by sender domain.
std::string_view default_config_json();
Config default_config();

// Names as written in the configuration.
std::string_view to_string(LogLevel v);
std::string_view to_string(Mode v);
std::string_view to_string(SignMode v);
std::string_view to_string(Digest v);
std::string_view to_string(RsaSignaturePadding v);
std::string_view to_string(Cipher v);
std::string_view to_string(RsaKeyTransport v);
std::string_view to_string(MissingCertificate v);
std::string_view to_string(Action v);

// Value syntaxes, exposed for the command line and tests. nullopt when malformed or out of range.
std::optional<std::uint64_t> parse_size(std::string_view text);             // "4096", "4K", "4M", "1G"
std::optional<std::chrono::seconds> parse_duration(std::string_view text);  // "30", "30s", "5m", "1h"

}  // namespace conf
