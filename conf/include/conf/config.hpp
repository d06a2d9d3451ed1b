// conf::Config: the JSON configuration of smime-milter as typed, validated values.
//
// Contract: parse() (text) and load() (file) read the whole configuration once, check every key
// (types, bounds, enumerations, cross-references) and either return a complete Config or throw one
// conf::ConfigError naming every problem by its JSON path. Nothing in a returned Config needs checking
// again: profile references are resolved, regexes compiled, networks parsed. A Config is a value; the
// milter holds it as std::shared_ptr<const Config> and gives each message the snapshot it started with.
// Every key is a row of one table (conf/keys.hpp, conf/src/table.cpp): its path, member, type, default,
// bounds and help. The parser gives an absent key the table's default; the default member initialisers
// below exist for code that builds these structs directly, and test_conf proves they equal the table's.
// man/smime-milter.json.5 documents each key (test_conf fails when it lacks one).
// Unknown keys are errors, so an older binary refuses a newer file instead of ignoring part of it.
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

// SQLite at `path`, or PostgreSQL when `url` is set (then `path` must not be given).
struct Keystore {
  std::filesystem::path path = "/var/lib/smime-milter/keystore.db";
  std::string url;       // libpq URL or keyword string; "": SQLite at path
  std::string read_url;  // a read replica (libpq); "": none. Only with url
  // The passphrase of encrypted gateway keys: the first line of a file, or of a systemd credential
  // ($CREDENTIALS_DIRECTORY/NAME). At most one of the two; both empty: the keys are not encrypted.
  std::filesystem::path key_passphrase_file;
  std::string key_passphrase_credential;

  bool postgres() const noexcept { return !url.empty(); }
};

// How the daemon runs: the account it switches to after start-up, its pid file, its worker pool, and
// the permissions of its unix socket.
struct Daemon {
  std::string user;                // "": keep the user it was started as
  std::string group;               // "": the user's primary group
  bool allow_root = false;         // refuse to run as root after start-up unless true
  std::filesystem::path pid_file;  // empty: none
  unsigned workers = 0;            // threads that run message processing; 0: one per CPU core
  unsigned socket_mode = 0660;     // permission bits of the unix socket
  std::string socket_group;        // "": leave the group the socket gets from its directory
};

enum class LogLevel { error, warning, info, debug };

struct Log {
  LogLevel level = LogLevel::info;
  bool foreground_stderr = true;  // with -f, log to stderr as well as syslog
};

struct DirectionRules {
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
// A sender without a signing identity: passed unsigned (logged), or failure_actions.signing applies.
enum class MissingIdentity { pass, reject };
// der: definite lengths, for messages that fit spool.memory_limit (larger ones stream BER); ber: streamed.
enum class CmsEncoding { ber, der };

struct SignerChoice {
  enum class Kind { sender_domain, sender_address, fingerprint };
  Kind kind = Kind::sender_domain;
  std::string fingerprint;  // kind == fingerprint: SHA-256, upper-case hex, colon separated (as the keystore)

  bool operator==(const SignerChoice&) const = default;
};

struct Profile {
  std::string name;
  Mode mode = Mode::sign;
  SignMode sign_mode = SignMode::detached;
  SignerChoice signing_identity;
  Digest digest = Digest::sha256;
  RsaSignaturePadding rsa_signature_padding = RsaSignaturePadding::pkcs1v15;
  Cipher cipher = Cipher::automatic;
  RsaKeyTransport rsa_key_transport = RsaKeyTransport::pkcs1v15;
  MissingCertificate missing_certificate = MissingCertificate::bounce;
  MissingIdentity missing_identity = MissingIdentity::pass;
  CmsEncoding encoding = CmsEncoding::ber;

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

struct MessageLimits {
  std::uint64_t max_message_size = 100 * MiB;
  unsigned mime_depth = 32;
  unsigned mime_parts = 10000;
};

// ---- inbound ----

// What happens to an inbound message of a result class (below): delivered with the result headers,
// put on hold (Postfix hold queue, smfi_quarantine with the reason), refused (550 5.7.x) or tempfailed.
enum class InboundAction { deliver, quarantine, reject, tempfail };

// The result classes of inbound processing and their actions; every default is deliver (the headers
// tell content filters and users what was found).
struct InboundActions {
  InboundAction fail =
      InboundAction::deliver;  // smime=fail: bad signature, untrusted, From mismatch, revoked
  InboundAction permerror = InboundAction::deliver;  // smime=permerror: malformed S/MIME structure or MIME
  InboundAction temperror = InboundAction::deliver;  // smime=temperror: revocation undetermined (fail-closed)
  InboundAction undecryptable = InboundAction::deliver;  // encrypted, but not to us, corrupt or truncated
  InboundAction unauthenticated =
      InboundAction::deliver;  // decrypted CBC content without a valid inner signature
};

// The simple result headers for content filters (Cisco's smime-gateway conditions); an empty name turns
// that header off. Values: "yes", "no", or "failed" (see man/smime-milter.json.5).
struct InboundHeaders {
  std::string smime = "X-SMIME-Gateway";                // yes: the message was signed and/or encrypted
  std::string decrypted = "X-SMIME-Gateway-Decrypted";  // yes / no (not encrypted) / failed
  std::string verified = "X-SMIME-Gateway-Verified";    // yes / no (not signed) / failed
};

struct Harvest {
  bool enabled = true;
  bool unverified = false;  // keystore::HarvestPolicy::harvest_unverified
  bool updates = false;     // keystore::HarvestPolicy::harvest_updates
  std::uint64_t size_limit = 512 * MiB;
  std::chrono::seconds warning_window{48 * 3600};
};

enum class Sha1Policy { refuse, accept };

// The algorithms inbound processing accepts.
struct InboundAlgorithms {
  unsigned min_security_bits = 112;  // least security strength in bits (0, 80, 112, 128, 192, 256); 0: any
  Sha1Policy sha1 = Sha1Policy::refuse;  // SHA-1 in signatures
};

struct Inbound {
  bool decrypt = true;
  bool verify = true;
  bool remove_signature =
      false;  // after verification (triple wrap: the inner one); the result stays in the headers
  std::string authserv_id;  // RFC 8601 authserv-id; the host name when not configured (resolved at load)
  InboundHeaders headers;
  InboundActions actions;
  Harvest harvest;
  unsigned max_layers = 8;  // nested S/MIME layers unwrapped at most (a triple wrap has three)
  InboundAlgorithms algorithms;
};

// ---- revocation ----

enum class RevocationMethod { ocsp, crl };
// Where fetched CRLs and OCSP responses are kept: files in cache_directory (per host), or the PostgreSQL
// keystore (shared by every milter using it).
enum class RevocationCache { files, keystore };
// What a revocation status that could not be determined means for an operation. `revoked` is always refused.
enum class Undetermined {
  fail_closed,  // unusable: encryption treats the recipient as without certificate; a signer is temperror
  fail_open,    // used, with a warning in the log and a mark on the message
  tempfail,     // the whole message is tempfailed (the MTA retries later)
};

struct Revocation {
  bool enabled = true;
  std::vector<RevocationMethod> order = {RevocationMethod::ocsp, RevocationMethod::crl};
  Undetermined encrypt = Undetermined::fail_closed;  // encrypting to a recipient
  Undetermined verify = Undetermined::fail_closed;   // accepting a signer
  // A certificate that names no OCSP responder and no CRL cannot be checked: undetermined like any other
  // (the policy above applies), or taken as good (for a private CA without revocation service). Logged.
  bool no_distribution_point_is_good = false;
  std::chrono::seconds connect_timeout{5};
  std::chrono::seconds timeout{15};  // a whole fetch, redirects included
  std::uint64_t max_crl_size = 20 * MiB;
  std::uint64_t max_ocsp_size = 64 * KiB;
  std::string proxy;  // libcurl proxy URL; empty: none (environment variables are not used)
  std::chrono::seconds clock_skew{300};
  std::chrono::seconds ocsp_max_age{7 * 24 *
                                    3600};  // a response without nextUpdate: used this long after thisUpdate
  std::chrono::seconds crl_grace{24 * 3600};  // a CRL past nextUpdate is still used this long (logged stale)
  std::chrono::seconds negative_cache{300};   // an undetermined answer is reused this long
  std::filesystem::path cache_directory = "/var/cache/smime-milter/revocation";
  RevocationCache cache = RevocationCache::files;

  bool operator==(const Revocation&) const = default;
};

// A TCP endpoint; host is an address without brackets.
struct Endpoint {
  std::string host;
  std::uint16_t port = 0;

  std::string to_string() const;  // "127.0.0.1:9100", "[::1]:9100"
  bool operator==(const Endpoint&) const = default;
};

struct Metrics {
  std::optional<Endpoint> listen;  // a loopback address; nullopt: no metrics endpoint
};

struct Config {
  std::string origin;  // the file name, or what the caller named the text
  Listen listen;
  Daemon daemon;
  Spool spool;
  Keystore keystore;
  Log log;
  DirectionRules direction;
  Outbound outbound;
  std::map<std::string, std::shared_ptr<const Profile>, std::less<>> profiles;  // includes "none"
  FailureActions failure_actions;
  std::optional<Reinjection> reinjection;       // required when a profile uses missing_certificate split
  std::string trace_header = "X-SMIME-Milter";  // empty: no trace header
  MessageLimits limits;
  Inbound inbound;
  Revocation revocation;
  Metrics metrics;

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
std::string_view to_string(MissingIdentity v);
std::string_view to_string(CmsEncoding v);
std::string_view to_string(Sha1Policy v);
std::string_view to_string(RevocationCache v);
std::string_view to_string(Action v);
std::string_view to_string(InboundAction v);
std::string_view to_string(RevocationMethod v);
std::string_view to_string(Undetermined v);

// Value syntaxes, exposed for the command line and tests. nullopt when malformed or out of range.
std::optional<std::uint64_t> parse_size(std::string_view text);             // "4096", "4K", "4M", "1G"
std::optional<std::chrono::seconds> parse_duration(std::string_view text);  // "30", "30s", "5m", "1h"

}  // namespace conf
