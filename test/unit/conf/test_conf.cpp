// conf::parse / conf::load: defaults, every class of error named by its JSON path, several errors at
// once, the built-in default and the example file.
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "conf_test_support.hpp"

namespace {

using conf::Issue;

using test::dump;
using test::errors_of;
using test::has;

}  // namespace

TEST_CASE("an empty object gives every documented default", "[conf][defaults]") {
  const conf::Config c = conf::parse("{}", "empty");
  CHECK(c.origin == "empty");
  CHECK(c.listen.kind == conf::Listen::Kind::unix_socket);
  CHECK(c.listen.path == "/run/smime-milter/milter.sock");
  CHECK(c.listen.libmilter() == "unix:/run/smime-milter/milter.sock");
  CHECK(c.spool.directory == "/var/spool/smime-milter");
  CHECK(c.spool.memory_limit == 4 * conf::MiB);
  CHECK(c.keystore.path == "/var/lib/smime-milter/keystore.db");
  CHECK(c.log.level == conf::LogLevel::info);
  CHECK(c.log.foreground_stderr);
  REQUIRE(c.direction.internal_networks.size() == 2);
  CHECK(c.direction.internal_networks[0].to_string() == "127.0.0.0/8");
  CHECK(c.direction.internal_networks[1].to_string() == "::1/128");
  CHECK(c.direction.internal_domains.empty());
  CHECK(c.direction.authenticated_is_outbound);
  CHECK(c.outbound.skip_already_protected);
  CHECK(c.outbound.rules.empty());
  REQUIRE(c.outbound.default_profile != nullptr);
  CHECK(c.outbound.default_profile->name == "none");
  CHECK(c.outbound.default_profile->mode == conf::Mode::none);
  CHECK(c.profiles.size() == 1);
  CHECK(c.find_profile("none") == c.outbound.default_profile.get());
  CHECK(c.failure_actions.internal == conf::Action::tempfail);
  CHECK(c.failure_actions.keystore == conf::Action::tempfail);
  CHECK(c.failure_actions.no_certificate == conf::Action::reject);
  CHECK(c.failure_actions.bad_input == conf::Action::reject);
  CHECK(c.failure_actions.signing == conf::Action::reject);
  CHECK_FALSE(c.reinjection.has_value());
  CHECK(c.trace_header == "X-SMIME-Milter");
  CHECK(c.limits.max_message_size == 100 * conf::MiB);
  CHECK(c.limits.mime_depth == 32);
  CHECK(c.limits.mime_parts == 10000);
}

TEST_CASE("a profile's absent keys take their defaults", "[conf][defaults]") {
  const auto c = conf::parse(R"({"profiles": {"p": {"mode": "encrypt"}},
                                 "reinjection": {}, "outbound": {"default_profile": "p"}})",
                             "t");
  const conf::Profile* p = c.find_profile("p");
  REQUIRE(p != nullptr);
  CHECK(c.outbound.default_profile.get() == p);
  CHECK(p->name == "p");
  CHECK(p->mode == conf::Mode::encrypt);
  CHECK(p->encrypts());
  CHECK_FALSE(p->signs());
  CHECK(p->sign_mode == conf::SignMode::detached);
  CHECK(p->signing_identity.kind == conf::SignerChoice::Kind::sender_domain);
  CHECK(p->digest == conf::Digest::sha256);
  CHECK(p->rsa_signature_padding == conf::RsaSignaturePadding::pkcs1v15);
  CHECK(p->cipher == conf::Cipher::automatic);
  CHECK(p->rsa_key_transport == conf::RsaKeyTransport::pkcs1v15);
  CHECK(p->missing_certificate == conf::MissingCertificate::bounce);
  REQUIRE(c.reinjection.has_value());
  CHECK(c.reinjection->host == "127.0.0.1");
  CHECK(c.reinjection->port == 10026);
  CHECK(c.reinjection->timeout == std::chrono::seconds(30));
}

TEST_CASE("values are typed: sizes, durations, enums, listen forms, fingerprints", "[conf][values]") {
  const auto c = conf::parse(R"({
    "listen": "inet6:10025@[::1]",
    "spool": {"memory_limit": 65536},
    "log": {"level": "debug", "foreground_stderr": false},
    "direction": {"internal_networks": ["10.0.0.0/8"], "internal_domains": ["Example.COM.", "*.Corp.Example"],
                  "authenticated_is_outbound": false},
    "profiles": {"x": {"mode": "triple", "sign_mode": "opaque", "digest": "sha512",
                       "signing_identity": "ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89",
                       "rsa_signature_padding": "pss", "cipher": "aes128-gcm", "rsa_key_transport": "oaep",
                       "missing_certificate": "split"}},
    "reinjection": {"host": "::1", "port": 2525, "timeout": "2m"},
    "failure_actions": {"internal": "discard", "bad_input": "accept"},
    "trace_header": "",
    "limits": {"max_message_size": "1G", "mime_depth": 5, "mime_parts": 7}
  })",
                             "t");
  CHECK(c.listen.kind == conf::Listen::Kind::inet6);
  CHECK(c.listen.host == "::1");
  CHECK(c.listen.port == 10025);
  CHECK(c.listen.libmilter() == "inet6:10025@::1");
  CHECK(c.listen.to_string() == "inet6:10025@[::1]");
  CHECK(c.spool.memory_limit == 65536);
  CHECK(c.log.level == conf::LogLevel::debug);
  CHECK_FALSE(c.log.foreground_stderr);
  REQUIRE(c.direction.internal_networks.size() == 1);
  CHECK(c.direction.internal_networks[0].contains("10.200.0.1"));
  REQUIRE(c.direction.internal_domains.size() == 2);
  CHECK(c.direction.internal_domains[0].domain == "example.com");
  CHECK(c.direction.internal_domains[1].to_string() == "*.corp.example");
  CHECK_FALSE(c.direction.authenticated_is_outbound);
  const conf::Profile* p = c.find_profile("x");
  REQUIRE(p != nullptr);
  CHECK(p->mode == conf::Mode::triple);
  CHECK(p->sign_mode == conf::SignMode::opaque);
  CHECK(p->digest == conf::Digest::sha512);
  CHECK(p->signing_identity.kind == conf::SignerChoice::Kind::fingerprint);
  CHECK(p->signing_identity.fingerprint ==
        "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89");
  CHECK(p->rsa_signature_padding == conf::RsaSignaturePadding::pss);
  CHECK(p->cipher == conf::Cipher::aes128_gcm);
  CHECK(p->rsa_key_transport == conf::RsaKeyTransport::oaep);
  CHECK(p->missing_certificate == conf::MissingCertificate::split);
  REQUIRE(c.reinjection);
  CHECK(c.reinjection->host == "::1");
  CHECK(c.reinjection->port == 2525);
  CHECK(c.reinjection->timeout == std::chrono::minutes(2));
  CHECK(c.failure_actions.internal == conf::Action::discard);
  CHECK(c.failure_actions.bad_input == conf::Action::accept);
  CHECK(c.failure_actions.keystore == conf::Action::tempfail);
  CHECK(c.trace_header.empty());
  CHECK(c.limits.max_message_size == conf::GiB);
  CHECK(c.limits.mime_depth == 5);
  CHECK(c.limits.mime_parts == 7);
}

TEST_CASE("listen forms", "[conf][values]") {
  struct Case {
    const char* text;
    conf::Listen::Kind kind;
    const char* libmilter;
  };
  const Case cases[] = {
      {"unix:/run/m.sock", conf::Listen::Kind::unix_socket, "unix:/run/m.sock"},
      {"local:./var/run/m.sock", conf::Listen::Kind::unix_socket, "unix:./var/run/m.sock"},
      {"inet:10025@127.0.0.1", conf::Listen::Kind::inet, "inet:10025@127.0.0.1"},
      {"inet:1@localhost", conf::Listen::Kind::inet, "inet:1@localhost"},
      {"inet6:65535@::1", conf::Listen::Kind::inet6, "inet6:65535@::1"},
  };
  for (const auto& k : cases) {
    INFO(k.text);
    const auto c = conf::parse(std::string(R"({"listen": ")") + k.text + "\"}", "t");
    CHECK(c.listen.kind == k.kind);
    CHECK(c.listen.libmilter() == k.libmilter);
  }
}

TEST_CASE("every class of error names its path", "[conf][errors]") {
  struct Case {
    const char* what;
    std::string json;
    std::string path;
    std::string fragment;
  };
  const std::vector<Case> cases = {
      {"unknown key with suggestion", R"({"spool": {"memory_limt": "4M"}})", "$.spool.memory_limt",
       "unknown key; did you mean 'memory_limit'?"},
      {"unknown top-level key with suggestion", R"({"profile": {}})", "$.profile",
       "did you mean 'profiles'?"},
      {"unknown key, nothing close", R"({"zzzzzzzz": 1})", "$.zzzzzzzz", "unknown key"},
      {"abbreviated key", R"({"spool": {"dir": "/x"}})", "$.spool.dir",
       "unknown key; did you mean 'directory'?"},
      {"unknown key in a header condition", R"({"outbound": {"rules": [{"profile": "none",
         "match": {"header": [{"name": "Subject", "contains": "x", "ignorecase": true}]}}]}})",
       "$.outbound.rules[0].match.header[0].ignorecase", "did you mean 'ignore_case'?"},
      {"wrong type: string wanted", R"({"keystore": {"path": 7}})", "$.keystore.path",
       "expected a string, got integer"},
      {"wrong type: boolean wanted", R"({"log": {"foreground_stderr": "yes"}})", "$.log.foreground_stderr",
       "expected true or false, got string"},
      {"wrong type: object wanted", R"({"spool": []})", "$.spool", "expected an object, got array"},
      {"wrong type: integer wanted", R"({"limits": {"mime_depth": 3.5}})", "$.limits.mime_depth",
       "expected an integer, got number"},
      {"root not an object", R"([1, 2])", "$", "expected an object, got array"},
      {"comment must be a string", R"({"log": {"comment": 1}})", "$.log.comment", "expected a string"},
      {"bad enum names the allowed values", R"({"log": {"level": "verbose"}})", "$.log.level",
       "unknown value 'verbose'; expected one of: error, warning, info, debug"},
      {"bad action", R"({"failure_actions": {"signing": "bounce"}})", "$.failure_actions.signing",
       "expected one of: accept, tempfail, reject, discard"},
      {"bad mode", R"({"profiles": {"p": {"mode": "sign+encrypt"}}})", "$.profiles.p.mode",
       "expected one of: sign, encrypt, sign-encrypt, triple"},
      {"bad cipher", R"({"profiles": {"p": {"mode": "encrypt", "cipher": "des3"}}})", "$.profiles.p.cipher",
       "expected one of: auto, aes256-cbc, aes128-gcm, aes256-gcm"},
      {"profile without mode", R"({"profiles": {"p": {"digest": "sha256"}}})", "$.profiles.p.mode",
       "missing key"},
      {"bad signing identity", R"({"profiles": {"p": {"mode": "sign", "signing_identity": "ABCD"}}})",
       "$.profiles.p.signing_identity", "SHA-256 certificate fingerprint"},
      {"profile named none", R"({"profiles": {"none": {"mode": "sign"}}})", "$.profiles.none", "built-in"},
      {"path of an odd profile name is quoted", R"({"profiles": {"my profile": {"mode": "x"}}})",
       R"($.profiles["my profile"].mode)", "unknown value 'x'"},
      {"bad size string", R"({"spool": {"memory_limit": "4MB"}})", "$.spool.memory_limit",
       "bad size '4MB'; expected bytes, or a number with K, M or G"},
      {"negative size", R"({"spool": {"memory_limit": -1}})", "$.spool.memory_limit", "must not be negative"},
      {"size out of range", R"({"limits": {"max_message_size": "1K"}})", "$.limits.max_message_size",
       "size 1K out of range 64K..64G"},
      {"size overflow", R"({"spool": {"memory_limit": "99999999999999999999"}})", "$.spool.memory_limit",
       "bad size"},
      {"integer out of range", R"({"limits": {"mime_depth": 0}})", "$.limits.mime_depth",
       "0 out of range 1..1000"},
      {"negative integer", R"({"reinjection": {"port": -5}})", "$.reinjection.port",
       "-5 out of range 1..65535"},
      {"port too large", R"({"reinjection": {"port": 70000}})", "$.reinjection.port",
       "70000 out of range 1..65535"},
      {"bad duration", R"({"reinjection": {"timeout": "30 seconds"}})", "$.reinjection.timeout",
       "bad duration"},
      {"duration out of range", R"({"reinjection": {"timeout": 0}})", "$.reinjection.timeout",
       "duration out of range 1s..3600s"},
      {"bad CIDR", R"({"direction": {"internal_networks": ["127.0.0.0/8", "10.0.0.0/33"]}})",
       "$.direction.internal_networks[1]", "prefix length 33 out of range 0..32"},
      {"CIDR with host bits", R"({"direction": {"internal_networks": ["192.168.1.5/24"]}})",
       "$.direction.internal_networks[0]", "did you mean '192.168.1.0/24'?"},
      {"not an address", R"({"direction": {"internal_networks": ["localhost"]}})",
       "$.direction.internal_networks[0]", "not an IPv4 or IPv6 address"},
      {"bad IPv6 CIDR", R"({"direction": {"internal_networks": ["fe80::/129"]}})",
       "$.direction.internal_networks[0]", "out of range 0..128"},
      {"list of wrong item type", R"({"direction": {"internal_domains": ["example.com", 3]}})",
       "$.direction.internal_domains[1]", "expected domains (strings), got integer"},
      {"bad domain", R"({"direction": {"internal_domains": ["exa mple.com"]}})",
       "$.direction.internal_domains[0]", "invalid character ' '"},
      {"non-ASCII domain", R"({"direction": {"internal_domains": ["bücher.example"]}})",
       "$.direction.internal_domains[0]", "A-label"},
      {"bad regex",
       R"({"outbound": {"rules": [{"profile": "none", "match": {"header": [{"name": "Subject", "regex": "[encrypt"}]}}]}})",
       "$.outbound.rules[0].match.header[0].regex", "invalid regular expression"},
      {"regex too long",
       R"({"outbound": {"rules": [{"profile": "none", "match": {"header": [{"name": "Subject", "regex": ")" +
           std::string(513, 'a') + R"("}]}}]}})",
       "$.outbound.rules[0].match.header[0].regex", "longer than 512 characters"},
      {"regex groups nested too deep",
       R"({"outbound": {"rules": [{"profile": "none", "match": {"header": [{"name": "Subject", "regex": ")" +
           std::string(33, '(') + "a" + std::string(33, ')') + R"("}]}}]}})",
       "$.outbound.rules[0].match.header[0].regex", "groups nested deeper than 32"},
      {"regex count too long",
       R"({"outbound": {"rules": [{"profile": "none", "match": {"header": [{"name": "Subject", "regex": "a{1,12345}"}]}}]}})",
       "$.outbound.rules[0].match.header[0].regex", "repetition count of more than 4 digits"},
      {"regex backreference too long",
       R"({"outbound": {"rules": [{"profile": "none", "match": {"header": [{"name": "Subject", "regex": "(a)\\77777777777777777777"}]}}]}})",
       "$.outbound.rules[0].match.header[0].regex", "repetition count of more than 4 digits"},
      {"header condition with two kinds", R"({"outbound": {"rules": [{"profile": "none",
         "match": {"header": [{"name": "Subject", "contains": "a", "regex": "b"}]}}]}})",
       "$.outbound.rules[0].match.header[0]", "exactly one of"},
      {"header condition without name",
       R"({"outbound": {"rules": [{"profile": "none", "match": {"header": [{"contains": "a"}]}}]}})",
       "$.outbound.rules[0].match.header[0].name", "missing key"},
      {"header name with a colon",
       R"({"outbound": {"rules": [{"profile": "none", "match": {"header": [{"name": "Subject:", "contains": "a"}]}}]}})",
       "$.outbound.rules[0].match.header[0].name", "not a header field name"},
      {"bad address pattern",
       R"({"outbound": {"rules": [{"profile": "none", "match": {"sender": ["a*b@example.com"]}}]}})",
       "$.outbound.rules[0].match.sender[0]", "'*' is allowed only as the whole local part"},
      {"empty pattern list", R"({"outbound": {"rules": [{"profile": "none", "match": {"recipient": []}}]}})",
       "$.outbound.rules[0].match.recipient", "must not be empty"},
      {"size_min above size_max",
       R"({"outbound": {"rules": [{"profile": "none", "match": {"size_min": "2M", "size_max": "1M"}}]}})",
       "$.outbound.rules[0].match.size_min", "greater than size_max (1M)"},
      {"rule's missing profile", R"({"profiles": {"encrypt": {"mode": "encrypt"}},
         "outbound": {"rules": [{"match": {}, "profile": "encrpyt"}]}})",
       "$.outbound.rules[0].profile", "no profile named 'encrpyt'; did you mean 'encrypt'?"},
      {"rule without profile", R"({"outbound": {"rules": [{"match": {}}]}})", "$.outbound.rules[0].profile",
       "missing key"},
      {"missing default profile lists the defined ones", R"({"outbound": {"default_profile": "zzzzzz"}})",
       "$.outbound.default_profile", "no profile named 'zzzzzz'; defined: none"},
      {"split without reinjection",
       R"({"profiles": {"e": {"mode": "sign-encrypt", "missing_certificate": "split"}}})",
       "$.profiles.e.missing_certificate", "'split' needs the 'reinjection' section"},
      {"bad listen", R"({"listen": "tcp:25"})", "$.listen", "expected \"unix:PATH\", \"inet:PORT@HOST\""},
      {"listen without host", R"({"listen": "inet:10025"})", "$.listen", "missing @HOST"},
      {"listen bad port", R"({"listen": "inet:0@127.0.0.1"})", "$.listen", "bad port '0'"},
      {"listen IPv6 with inet", R"({"listen": "inet:10025@::1"})", "$.listen", "write \"inet6:10025@[::1]\""},
      {"listen socket path too long", R"({"listen": "unix:/)" + std::string(120, 'a') + R"("})", "$.listen",
       "longer than 107 bytes"},
      {"empty path", R"({"spool": {"directory": ""}})", "$.spool.directory", "must not be empty"},
      {"bad trace header", R"({"trace_header": "X SMIME"})", "$.trace_header", "not a header field name"},
      {"memory limit above message limit", R"({"spool": {"memory_limit": "200M"}})", "$.spool.memory_limit",
       "greater than limits.max_message_size (100M)"},
      {"duplicate key", R"({"log": {"level": "info", "level": "debug"}})", "$.log.level", "duplicate key"},
      {"duplicate key inside an array",
       R"({"outbound": {"rules": [{"profile": "none"}, {"profile": "none", "profile": "none"}]}})",
       "$.outbound.rules[1].profile", "duplicate key"},
      {"JSON syntax error gives line and column", "{\n  \"log\": {\n    \"level\": \"info\",\n  }\n}", "$",
       "JSON syntax error at line 4, column 3"},
      {"truncated JSON", "{\"log\": ", "$", "JSON syntax error at line 1, column 9"},
      {"empty text", "", "$", "JSON syntax error at line 1, column 1"},
  };
  for (const auto& k : cases) {
    INFO(k.what << "\n" << k.json);
    const auto issues = errors_of(k.json);
    INFO("got:\n" << dump(issues));
    CHECK(has(issues, k.path, k.fragment));
  }
}

TEST_CASE("an unknown key far from every known one gets no suggestion", "[conf][errors]") {
  const auto issues = errors_of(R"({"zzzzzzzz": 1})");
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].message == "unknown key");
}

TEST_CASE("several errors are reported at once, in one message", "[conf][errors]") {
  const std::string text = R"({
    "spool": {"memory_limt": "4M", "directory": 5},
    "log": {"level": "loud"},
    "direction": {"internal_networks": ["10.0.0.1/8"]},
    "profiles": {"enc": {"mode": "encrypt", "missing_certificate": "split"}},
    "outbound": {"rules": [{"match": {"header": [{"name": "Subject", "regex": "("}]}, "profile": "enc"},
                           {"match": {}, "profile": "missing"}]},
    "limits": {"mime_parts": "many"}
  })";
  try {
    conf::parse(text, "/etc/smime-milter.json");
    FAIL("accepted");
  } catch (const conf::ConfigError& e) {
    const auto& issues = e.errors();
    INFO(dump(issues));
    CHECK(issues.size() == 8);
    CHECK(has(issues, "$.spool.memory_limt", "unknown key"));
    CHECK(has(issues, "$.spool.directory", "expected a string"));
    CHECK(has(issues, "$.log.level", "unknown value 'loud'"));
    CHECK(has(issues, "$.direction.internal_networks[0]", "host bits set"));
    CHECK(has(issues, "$.outbound.rules[0].match.header[0].regex", "invalid regular expression"));
    CHECK(has(issues, "$.outbound.rules[1].profile", "no profile named 'missing'"));
    CHECK(has(issues, "$.limits.mime_parts", "expected an integer, got string"));
    CHECK(has(issues, "$.profiles.enc.missing_certificate", "'split' needs"));
    CHECK(e.origin() == "/etc/smime-milter.json");
    // what(): one line per issue, "origin: $.path: message".
    const std::string what = e.what();
    CHECK(what.find("/etc/smime-milter.json: $.log.level: unknown value 'loud'") != std::string::npos);
    CHECK(static_cast<std::size_t>(std::count(what.begin(), what.end(), '\n')) == issues.size() - 1);
  }
}

TEST_CASE("split is required to have reinjection only when the profile encrypts", "[conf][cross]") {
  CHECK_NOTHROW(conf::parse(R"({"profiles": {"s": {"mode": "sign", "missing_certificate": "split"}}})", "t"));
  CHECK_NOTHROW(conf::parse(R"({"profiles": {"e": {"mode": "triple", "missing_certificate": "split"}},
                                "reinjection": {"port": 10026}})",
                            "t"));
  CHECK_THROWS_AS(
      conf::parse(R"({"profiles": {"e": {"mode": "triple", "missing_certificate": "split"}}})", "t"),
      conf::ConfigError);
}

TEST_CASE("rules keep their order, names and resolved profiles", "[conf][rules]") {
  const auto c = conf::parse(R"({
    "profiles": {"enc": {"mode": "encrypt"}, "sig": {"mode": "sign"}},
    "outbound": {"rules": [
      {"name": "first", "match": {"sender": ["CEO@Example.com"], "size_min": 0, "size_max": "10M"}, "profile": "enc"},
      {"match": {"header": [{"name": "subject", "contains": "[encrypt]"}, {"name": "X-Class", "equals": "secret"}]},
       "profile": "sig"},
      {"profile": "none"}
    ], "default_profile": "sig"}})",
                             "t");
  REQUIRE(c.outbound.rules.size() == 3);
  const auto& r0 = c.outbound.rules[0];
  CHECK(r0.name == "first");
  CHECK(r0.profile.get() == c.find_profile("enc"));
  REQUIRE(r0.match.sender.size() == 1);
  CHECK(r0.match.sender[0].to_string() == "ceo@example.com");
  CHECK(r0.match.size_min == std::optional<std::uint64_t>(0));
  CHECK(r0.match.size_max == std::optional<std::uint64_t>(10 * conf::MiB));
  const auto& r1 = c.outbound.rules[1];
  CHECK(r1.name == "rules[1]");
  CHECK(r1.profile->name == "sig");
  REQUIRE(r1.match.header.size() == 2);
  CHECK(r1.match.header[0].kind == conf::HeaderCondition::Kind::contains);
  CHECK(r1.match.header[1].kind == conf::HeaderCondition::Kind::equals);
  CHECK_FALSE(r1.match.size_min.has_value());
  const auto& r2 = c.outbound.rules[2];
  CHECK(r2.profile->mode == conf::Mode::none);
  CHECK(r2.match.sender.empty());
  CHECK(r2.match.header.empty());
  CHECK(c.outbound.default_profile->name == "sig");
}

TEST_CASE("the built-in default parses and is what scripts/run needs", "[conf][default]") {
  const conf::Config c = conf::default_config();
  CHECK(c.origin == "<built-in default>");
  CHECK(c.listen.kind == conf::Listen::Kind::unix_socket);
  CHECK(c.listen.path.starts_with("./var/run/"));
  CHECK(c.spool.directory == "./var/spool");
  CHECK(c.keystore.path == "./var/keystore.db");
  REQUIRE(c.outbound.default_profile);
  CHECK(c.outbound.default_profile->name == "sign");
  CHECK(c.outbound.default_profile->mode == conf::Mode::sign);
  CHECK(c.outbound.default_profile->sign_mode == conf::SignMode::detached);
  CHECK(c.outbound.default_profile->signing_identity.kind == conf::SignerChoice::Kind::sender_domain);
  REQUIRE(c.direction.internal_networks.size() == 2);
  CHECK(c.direction.internal_networks[0].to_string() == "127.0.0.0/8");
  CHECK(c.direction.internal_networks[1].to_string() == "::1/128");
  CHECK(conf::default_config_json().find("\"comment\"") != std::string_view::npos);
}

TEST_CASE("the example file loads, with comments everywhere", "[conf][example]") {
  const conf::Config c = conf::load(SMIME_CONF_EXAMPLE);
  CHECK(c.origin == SMIME_CONF_EXAMPLE);
  CHECK(c.profiles.size() == 4);  // sign, encrypt, confidential, and the built-in none
  REQUIRE(c.outbound.rules.size() == 4);
  CHECK(c.outbound.rules[0].profile->name == "confidential");
  CHECK(c.outbound.rules[0].match.sender[1].matches("<CEO@example.com>"));
  CHECK(c.outbound.rules[0].match.sender[0].matches("payroll@hr.example.com"));
  CHECK(c.outbound.rules[1].match.header[0].matches("subject", "Re: [ENCRYPT] contract"));
  CHECK(c.outbound.rules[2].match.recipient[1].matches("bob@eu.partner.example.net"));
  CHECK(c.outbound.rules[3].profile->mode == conf::Mode::none);
  REQUIRE(c.reinjection);
  CHECK(c.reinjection->port == 10026);
  CHECK(c.find_profile("encrypt")->missing_certificate == conf::MissingCertificate::split);
  CHECK(c.find_profile("confidential")->cipher == conf::Cipher::aes256_gcm);
}

TEST_CASE("load names the file in its errors", "[conf][load]") {
  const std::string path = "test_conf_bad.json";
  {
    std::ofstream out(path, std::ios::binary);
    out << "{\"log\": {\"level\": \"loud\"}}";
  }
  try {
    conf::load(path);
    FAIL("accepted");
  } catch (const conf::ConfigError& e) {
    CHECK(std::string(e.what()) ==
          "test_conf_bad.json: $.log.level: unknown value 'loud'; expected one of: error, warning, info, "
          "debug");
  }
  std::remove(path.c_str());
  try {
    conf::load("/nonexistent/smime-milter.json");
    FAIL("accepted");
  } catch (const conf::ConfigError& e) {
    REQUIRE(e.errors().size() == 1);
    CHECK(e.errors()[0].path == "$");
    CHECK(e.errors()[0].message.find("cannot read the file: No such file or directory") != std::string::npos);
  }
}
