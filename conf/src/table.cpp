// The key table: every configuration key once, in the order of man/smime-milter.json.5.
//
// A row's default is the JSON value an absent key takes; the parser reads it through the same reader as a
// given value, so a default obeys the key's own bounds. Bounds of numbers are written here only; the type
// and bounds texts of conf::keys() and the error messages are derived from them.
#include "table.hpp"

#include <chrono>

#include "syntax.hpp"
#include "values.hpp"

namespace conf::detail {

namespace {

using namespace std::chrono_literals;
using Check = std::string (*)(const std::string&);

// What an absent key means: a default (JSON), nothing ("none" or a note), or an error.
struct Fallback {
  std::string_view json;
  std::string_view note;
  bool required = false;
};
constexpr Fallback def(std::string_view json) { return {json, {}, false}; }
constexpr Fallback none(std::string_view note = "none") { return {{}, note, false}; }
constexpr Fallback required() { return {{}, "required", true}; }

Row row(std::string_view path, Kind kind, Fallback f, std::string_view help) {
  Row r;
  r.path = path;
  r.kind = kind;
  r.help = help;
  r.default_json = f.json;
  r.absent = f.note;
  r.required = f.required;
  return r;
}

template <auto M>
Row bound(Row r, Apply apply = &apply_member<M>) {
  r.section = &typeid(section_of<M>);
  r.apply = apply;
  r.initialiser_is_default = &initialiser_is_default<M>;
  return r;
}

template <auto M>
Row boolean(std::string_view path, Fallback f, std::string_view help) {
  return bound<M>(row(path, Kind::boolean, f, help));
}

template <auto M>
Row integer(std::string_view path, std::uint64_t min, std::uint64_t max, Fallback f, std::string_view help) {
  Row r = row(path, Kind::integer, f, help);
  r.min = min, r.max = max;
  return bound<M>(r);
}

template <auto M>
Row size(std::string_view path, std::uint64_t min, std::uint64_t max, Fallback f, std::string_view help) {
  Row r = row(path, Kind::size, f, help);
  r.min = min, r.max = max;
  return bound<M>(r);
}

template <auto M>
Row duration(std::string_view path, std::chrono::seconds min, std::chrono::seconds max, Fallback f,
             std::string_view help) {
  Row r = row(path, Kind::duration, f, help);
  r.min = static_cast<std::uint64_t>(min.count()), r.max = static_cast<std::uint64_t>(max.count());
  return bound<M>(r);
}

// A string; `check` refuses values, `bounds` says in words what is allowed, `allow_empty` makes "" a value.
template <auto M>
Row text(std::string_view path, Fallback f, std::string_view help, Check check = nullptr,
         std::string_view bounds = {}, bool allow_empty = false) {
  Row r = row(path, Kind::string, f, help);
  r.check = check, r.bounds = bounds, r.allow_empty = allow_empty;
  return bound<M>(r);
}

template <auto M>
Row path(std::string_view path, Fallback f, std::string_view help) {
  return bound<M>(row(path, Kind::path, f, help));
}

template <auto M, const auto& Names>
Row enumeration(std::string_view path, Fallback f, std::string_view help) {
  Row r = row(path, Kind::enumeration, f, help);
  r.allowed = &names_list<Names>;
  return bound<M>(r, &apply_enum<M, Names>);
}

template <auto M, const auto& Values>
Row choice(std::string_view path, Fallback f, std::string_view help) {
  Row r = row(path, Kind::choice, f, help);
  r.allowed = &values_list<Values>;
  return bound<M>(r, &apply_choice<M, Values>);
}

template <auto M, auto Read>
Row custom(std::string_view path, std::string_view type, std::string_view bounds, Fallback f,
           std::string_view help) {
  Row r = row(path, Kind::custom, f, help);
  r.type = type, r.bounds = bounds;
  return bound<M>(r, &apply_custom<M, Read>);
}

Row object(std::string_view path, std::string_view help, Fallback f = none("its keys' defaults")) {
  return row(path, Kind::object, f, help);
}

Row composite(std::string_view path, std::string_view type, std::string_view bounds, Fallback f,
              std::string_view help) {
  Row r = row(path, Kind::composite, f, help);
  r.type = type, r.bounds = bounds;
  return r;
}

constexpr unsigned security_bits[] = {0, 80, 112, 128, 192, 256};
constexpr std::pair<std::string_view, bool> no_distribution_point[] = {{"undetermined", false},
                                                                       {"good", true}};
constexpr std::string_view header_name = "header field name or \"\" (off)";
constexpr std::string_view account = "user or group name";

std::vector<Row> make_rows() {
  return {
      // ---- top level ----
      composite("comment", "string", "", none(),
                "Accepted in every object, at any level, and ignored: JSON has no comments."),
      composite("listen", "string", "unix:PATH | inet:PORT@HOST | inet6:PORT@HOST",
                def(R"("unix:/run/smime-milter/milter.sock")"),
                "Where the milter listens for the MTA; read at start only."),
      text<&Config::trace_header>("trace_header", def(R"("X-SMIME-Milter")"),
                                  "Header field recording what the milter did to a message.",
                                  &header_name_problem, header_name, true),
      // ---- daemon ----
      object("daemon", "How the daemon runs: account, pid file, workers, socket permissions."),
      text<&Daemon::user>("daemon.user", def(R"("")"),
                          "User to run as after start-up; \"\" does not change it.", &account_name_problem,
                          account, true),
      text<&Daemon::group>("daemon.group", def(R"("")"),
                           "Group to switch to after start-up; \"\" is the user's primary group.",
                           &account_name_problem, account, true),
      boolean<&Daemon::allow_root>("daemon.allow_root", def("false"),
                                   "Run as root after start-up; false refuses to."),
      path<&Daemon::pid_file>("daemon.pid_file", none(), "File the daemon writes its process id to."),
      integer<&Daemon::workers>("daemon.workers", 0, 64, def("0"),
                                "Threads that run message processing; 0 is one per CPU core."),
      custom<&Daemon::socket_mode, &socket_mode_value>("daemon.socket_mode", "string", "octal 0000..0777",
                                                       def(R"("0660")"),
                                                       "Permission bits of the unix socket."),
      text<&Daemon::socket_group>(
          "daemon.socket_group", def(R"("")"),
          "Group of the unix socket; \"\" leaves the group it gets from its directory.",
          &account_name_problem, account, true),
      // ---- spool ----
      object("spool", "Where message bodies too large for memory are kept."),
      path<&Spool::directory>("spool.directory", def(R"("/var/spool/smime-milter")"),
                              "Private directory (0700) for bodies larger than spool.memory_limit."),
      size<&Spool::memory_limit>("spool.memory_limit", 0, 1 * GiB, def(R"("4M")"),
                                 "Body bytes kept in memory; a larger body is written to spool.directory."),
      // ---- keystore ----
      object("keystore", "The certificate store shared with smime-keystore(1)."),
      path<&Keystore::path>("keystore.path", def(R"("/var/lib/smime-milter/keystore.db")"),
                            "SQLite keystore file; not with keystore.url."),
      text<&Keystore::url>("keystore.url", none("SQLite at keystore.path"),
                           "PostgreSQL keystore: a libpq URL or keyword string.", &libpq_problem,
                           "postgresql://... or key=value ..."),
      text<&Keystore::read_url>("keystore.read_url", none(),
                                "A read replica of the PostgreSQL keystore (libpq); only with keystore.url.",
                                &libpq_problem, "postgresql://... or key=value ..."),
      path<&Keystore::key_passphrase_file>(
          "keystore.key_passphrase_file", none(),
          "File whose first line is the passphrase of encrypted gateway keys."),
      text<&Keystore::key_passphrase_credential>(
          "keystore.key_passphrase_credential", none(),
          "systemd credential holding that passphrase ($CREDENTIALS_DIRECTORY/NAME); not with the file.",
          &credential_name_problem, "credential name"),
      // ---- log ----
      object("log", "Logging (syslog, facility mail)."),
      enumeration<&Log::level, names::log_level>("log.level", def(R"("info")"),
                                                 "Least severe message logged."),
      boolean<&Log::foreground_stderr>("log.foreground_stderr", def("true"),
                                       "With -f, also write log lines to standard error."),
      // ---- direction ----
      object("direction", "Which messages are outbound (the rest are inbound)."),
      composite("direction.internal_networks", "array of networks", "", def(R"(["127.0.0.0/8", "::1/128"])"),
                "Client addresses that make a message outbound."),
      composite("direction.internal_domains", "array of domains", "", def("[]"),
                "Sender domains that make a message outbound where no client address is known."),
      boolean<&DirectionRules::authenticated_is_outbound>("direction.authenticated_is_outbound", def("true"),
                                                          "An SMTP-authenticated client makes it outbound."),
      // ---- profiles ----
      composite("profiles", "object", "profile name: profile", none("only the built-in none"),
                "Named ways to protect a message; none (leave unchanged) is built in."),
      enumeration<&Profile::mode, names::mode>("profiles.*.mode", required(), "What the profile does."),
      enumeration<&Profile::sign_mode, names::sign_mode>("profiles.*.sign_mode", def(R"("detached")"),
                                                         "multipart/signed, or opaque signed-data."),
      custom<&Profile::signing_identity, &signer_choice_value>(
          "profiles.*.signing_identity", "string", "sender-domain | sender-address | SHA-256 fingerprint",
          def(R"("sender-domain")"), "Which of the gateway's identities signs."),
      enumeration<&Profile::digest, names::digest>("profiles.*.digest", def(R"("sha256")"),
                                                   "Signature digest."),
      enumeration<&Profile::rsa_signature_padding, names::rsa_signature_padding>(
          "profiles.*.rsa_signature_padding", def(R"("pkcs1v15")"), "Padding of RSA signatures."),
      enumeration<&Profile::cipher, names::cipher>(
          "profiles.*.cipher", def(R"("auto")"),
          "Content encryption; auto follows the recipients' capabilities."),
      enumeration<&Profile::rsa_key_transport, names::rsa_key_transport>(
          "profiles.*.rsa_key_transport", def(R"("pkcs1v15")"), "RSA key transport to recipients."),
      enumeration<&Profile::missing_certificate, names::missing_certificate>(
          "profiles.*.missing_certificate", def(R"("bounce")"),
          "What happens when some recipients have no usable certificate."),
      enumeration<&Profile::missing_identity, names::missing_identity>(
          "profiles.*.missing_identity", def(R"("pass")"),
          "A sender without signing identity: passed unsigned, or failure_actions.signing."),
      enumeration<&Profile::encoding, names::cms_encoding>(
          "profiles.*.encoding", def(R"("ber")"),
          "der: definite lengths for messages that fit spool.memory_limit; ber: streamed."),
      // ---- outbound ----
      object("outbound", "The policy for outbound messages."),
      boolean<&Outbound::skip_already_protected>("outbound.skip_already_protected", def("true"),
                                                 "Leave signed or encrypted messages as they are."),
      composite("outbound.rules", "array of rules", "", def("[]"),
                "Tried in order; the first rule that matches picks the profile."),
      text<&Rule::name>("outbound.rules[*].name", none("\"rules[N]\""),
                        "The rule's name in logs and --process."),
      composite("outbound.rules[*].profile", "string", "a profile name or none", required(),
                "The profile of the messages the rule matches."),
      object("outbound.rules[*].match", "The conditions; every one given must match.",
             none("matches every message")),
      composite("outbound.rules[*].match.sender", "array of address patterns", "not empty", none("any"),
                "The envelope sender matches one of them."),
      composite("outbound.rules[*].match.recipient", "array of address patterns", "not empty", none("any"),
                "Some envelope recipient matches one of them."),
      composite("outbound.rules[*].match.header", "array of header conditions", "not empty", none("any"),
                "Every condition is met by some header field."),
      text<&HeaderCondition::name>("outbound.rules[*].match.header[*].name", required(),
                                   "The field's name, compared without regard to case.",
                                   &header_condition_name_problem, "header field name"),
      composite("outbound.rules[*].match.header[*].contains", "string", "one of contains, equals, regex",
                none(), "A substring of the value (not empty)."),
      composite("outbound.rules[*].match.header[*].equals", "string", "one of contains, equals, regex",
                none(), "The whole value."),
      composite("outbound.rules[*].match.header[*].regex", "string", "one of contains, equals, regex", none(),
                "An ECMAScript regular expression searched in the value."),
      boolean<&HeaderCondition::ignore_case>("outbound.rules[*].match.header[*].ignore_case", def("false"),
                                             "Compare the value without regard to case."),
      size<&RuleMatch::size_min>("outbound.rules[*].match.size_min", 0, 64 * GiB, none("no lower bound"),
                                 "The message is at least this large."),
      size<&RuleMatch::size_max>("outbound.rules[*].match.size_max", 0, 64 * GiB, none("no upper bound"),
                                 "The message is at most this large."),
      composite("outbound.default_profile", "string", "a profile name or none", def(R"("none")"),
                "The profile of outbound messages no rule matches."),
      // ---- failure_actions ----
      object("failure_actions", "The answer to the MTA when processing fails, by class of failure."),
      enumeration<&FailureActions::internal, names::action>("failure_actions.internal", def(R"("tempfail")"),
                                                            "An internal error."),
      enumeration<&FailureActions::keystore, names::action>("failure_actions.keystore", def(R"("tempfail")"),
                                                            "The keystore cannot be read."),
      enumeration<&FailureActions::no_certificate, names::action>(
          "failure_actions.no_certificate", def(R"("reject")"),
          "No usable signing identity or recipient certificate."),
      enumeration<&FailureActions::bad_input, names::action>(
          "failure_actions.bad_input", def(R"("reject")"),
          "The message is not valid MIME or exceeds a limit."),
      enumeration<&FailureActions::signing, names::action>("failure_actions.signing", def(R"("reject")"),
                                                           "Signing failed."),
      // ---- reinjection ----
      object("reinjection", "The SMTP listener, without this milter, where split submits the plain copy.",
             none("none; required by split")),
      text<&Reinjection::host>("reinjection.host", def(R"("127.0.0.1")"), "Its address or host name."),
      integer<&Reinjection::port>("reinjection.port", 1, 65535, def("10026"), "Its port."),
      duration<&Reinjection::timeout>("reinjection.timeout", 1s, 1h, def(R"("30s")"),
                                      "For connecting and for each SMTP reply."),
      // ---- limits ----
      object("limits", "Limits on the messages processed."),
      size<&MessageLimits::max_message_size>("limits.max_message_size", 64 * KiB, 64 * GiB, def(R"("100M")"),
                                             "Larger messages are a bad_input failure."),
      integer<&MessageLimits::mime_depth>("limits.mime_depth", 1, 1000, def("32"),
                                          "Maximum nesting of MIME multiparts."),
      integer<&MessageLimits::mime_parts>("limits.mime_parts", 1, 1000000, def("10000"),
                                          "Maximum number of MIME parts."),
      // ---- inbound ----
      object("inbound", "Mail from outside: decrypt, verify, report, harvest."),
      boolean<&Inbound::decrypt>("inbound.decrypt", def("true"),
                                 "Decrypt mail addressed to the gateway's keys."),
      boolean<&Inbound::verify>("inbound.verify", def("true"), "Verify signatures, layer by layer."),
      boolean<&Inbound::remove_signature>("inbound.remove_signature", def("false"),
                                          "After verification, replace the signed entity by its content."),
      text<&Inbound::authserv_id>("inbound.authserv_id", none("the host name"),
                                  "The authserv-id of our Authentication-Results fields.",
                                  &authserv_id_problem, "letters, digits, '.', '-', '_'"),
      integer<&Inbound::max_layers>("inbound.max_layers", 1, 32, def("8"),
                                    "Nested S/MIME layers unwrapped at most."),
      object("inbound.headers", "The simple result header fields for content filters."),
      text<&InboundHeaders::smime>("inbound.headers.smime", def(R"("X-SMIME-Gateway")"),
                                   "yes when the message was signed or encrypted, else no.",
                                   &header_name_problem, header_name, true),
      text<&InboundHeaders::decrypted>("inbound.headers.decrypted", def(R"("X-SMIME-Gateway-Decrypted")"),
                                       "yes, no (not encrypted) or failed.", &header_name_problem,
                                       header_name, true),
      text<&InboundHeaders::verified>("inbound.headers.verified", def(R"("X-SMIME-Gateway-Verified")"),
                                      "yes, no (not signed) or failed.", &header_name_problem, header_name,
                                      true),
      object("inbound.actions", "What happens to a message, by result class."),
      enumeration<&InboundActions::fail, names::inbound_action>(
          "inbound.actions.fail", def(R"("deliver")"), "Bad signature, untrusted, From mismatch, revoked."),
      enumeration<&InboundActions::permerror, names::inbound_action>(
          "inbound.actions.permerror", def(R"("deliver")"), "Malformed S/MIME or MIME."),
      enumeration<&InboundActions::temperror, names::inbound_action>(
          "inbound.actions.temperror", def(R"("deliver")"), "A signer's revocation status is undetermined."),
      enumeration<&InboundActions::undecryptable, names::inbound_action>(
          "inbound.actions.undecryptable", def(R"("deliver")"),
          "Encrypted, but not to us, corrupt or truncated."),
      enumeration<&InboundActions::unauthenticated, names::inbound_action>(
          "inbound.actions.unauthenticated", def(R"("deliver")"),
          "Decrypted CBC content without a valid inner signature."),
      object("inbound.harvest", "Storing signers' certificates in the keystore."),
      boolean<&Harvest::enabled>("inbound.harvest.enabled", def("true"),
                                 "Harvest verified signers' certificates."),
      boolean<&Harvest::unverified>("inbound.harvest.unverified", def("false"),
                                    "Harvest even when the signature did not verify."),
      boolean<&Harvest::updates>("inbound.harvest.updates", def("false"),
                                 "Replace a still valid certificate of the same address by a newer one."),
      size<&Harvest::size_limit>(
          "inbound.harvest.size_limit", 1 * MiB, 1024 * GiB, def(R"("512M")"),
          "Harvested certificates beyond this are evicted, least recently used first."),
      duration<&Harvest::warning_window>("inbound.harvest.warning_window", 0s, 365 * 24h, def(R"("48h")"),
                                         "More than one update from a domain within it raises a warning."),
      object("inbound.algorithms", "The algorithms inbound processing accepts."),
      choice<&InboundAlgorithms::min_security_bits, security_bits>(
          "inbound.algorithms.min_security_bits", def("112"),
          "Least security strength, in bits, of keys and algorithms; 0 accepts any."),
      enumeration<&InboundAlgorithms::sha1, names::sha1_policy>("inbound.algorithms.sha1", def(R"("refuse")"),
                                                                "SHA-1 in signatures."),
      // ---- revocation ----
      object("revocation", "Checking certificates for revocation (OCSP, CRL)."),
      enumeration<&Revocation::encrypt, names::undetermined>(
          "revocation.encrypt", def(R"("fail-closed")"),
          "What an undetermined status means for a recipient."),
      enumeration<&Revocation::verify, names::undetermined>(
          "revocation.verify", def(R"("fail-closed")"), "What an undetermined status means for a signer."),
      boolean<&Revocation::enabled>("revocation.enabled", def("true"), "Check revocation at all."),
      composite("revocation.order", "array of methods", "ocsp | crl, each once, not empty",
                def(R"(["ocsp", "crl"])"), "Methods in order; the next is tried when one is undetermined."),
      enumeration<&Revocation::no_distribution_point_is_good, no_distribution_point>(
          "revocation.no_distribution_point", def(R"("undetermined")"),
          "A certificate naming no OCSP responder and no CRL."),
      duration<&Revocation::connect_timeout>("revocation.connect_timeout", 1s, 300s, def(R"("5s")"),
                                             "Connecting to a responder or CRL server."),
      duration<&Revocation::timeout>("revocation.timeout", 1s, 600s, def(R"("15s")"),
                                     "A whole fetch, redirects included."),
      size<&Revocation::max_crl_size>("revocation.max_crl_size", 1 * KiB, 1 * GiB, def(R"("20M")"),
                                      "Larger CRLs are undetermined."),
      size<&Revocation::max_ocsp_size>("revocation.max_ocsp_size", 1 * KiB, 16 * MiB, def(R"("64K")"),
                                       "Larger OCSP responses are undetermined."),
      text<&Revocation::proxy>("revocation.proxy", def(R"("")"),
                               "HTTP proxy URL (libcurl); \"\" is none. The environment is never used.",
                               nullptr, "", true),
      duration<&Revocation::clock_skew>("revocation.clock_skew", 0s, 24h, def(R"("5m")"),
                                        "Tolerance for OCSP thisUpdate and nextUpdate."),
      duration<&Revocation::ocsp_max_age>(
          "revocation.ocsp_max_age", 60s, 365 * 24h, def(R"("7d")"),
          "Oldest OCSP thisUpdate used; lifetime of answers without nextUpdate."),
      duration<&Revocation::crl_grace>("revocation.crl_grace", 0s, 365 * 24h, def(R"("24h")"),
                                       "A CRL past its nextUpdate is still used this long (logged stale)."),
      duration<&Revocation::negative_cache>("revocation.negative_cache", 0s, 24h, def(R"("5m")"),
                                            "How long an undetermined answer is reused."),
      path<&Revocation::cache_directory>("revocation.cache_directory",
                                         def(R"("/var/cache/smime-milter/revocation")"),
                                         "Cached CRLs and OCSP responses (0700)."),
      enumeration<&Revocation::cache, names::revocation_cache>(
          "revocation.cache", def(R"("files")"),
          "files in cache_directory, or keystore: shared through the PostgreSQL keystore."),
      // ---- metrics ----
      object("metrics", "The metrics endpoint."),
      custom<&Metrics::listen, &metrics_listen_value>("metrics.listen", "string",
                                                      "HOST:PORT on 127.0.0.0/8 or [::1]", def(R"("")"),
                                                      "Where metrics are served; \"\" is off."),
  };
}

}  // namespace

std::span<const Row> rows() {
  static const std::vector<Row> table = make_rows();
  return table;
}

}  // namespace conf::detail
