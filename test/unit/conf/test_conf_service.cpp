// conf::parse: the keys of running as a service and of the keystore, profile, inbound, revocation and
// metrics additions — defaults, good values, bad values named by their paths.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "conf_test_support.hpp"

namespace {

using test::dump;
using test::errors_of;
using test::has;

const std::string pg = R"("url": "postgresql://smime@db.test/keystore")";

}  // namespace

TEST_CASE("service keys: defaults", "[conf][defaults]") {
  const conf::Config c = conf::parse("{}", "t");
  CHECK(c.daemon.user.empty());
  CHECK(c.daemon.group.empty());
  CHECK_FALSE(c.daemon.allow_root);
  CHECK(c.daemon.pid_file.empty());
  CHECK(c.daemon.workers == 0);
  CHECK(c.daemon.socket_mode == 0660);
  CHECK(c.daemon.socket_group.empty());
  CHECK(c.keystore.url.empty());
  CHECK_FALSE(c.keystore.postgres());
  CHECK(c.keystore.read_url.empty());
  CHECK(c.keystore.key_passphrase_file.empty());
  CHECK(c.keystore.key_passphrase_credential.empty());
  CHECK(c.inbound.max_layers == 8);
  CHECK(c.inbound.algorithms.min_security_bits == 112);
  CHECK(c.inbound.algorithms.sha1 == conf::Sha1Policy::refuse);
  CHECK(c.revocation.cache == conf::RevocationCache::files);
  CHECK_FALSE(c.metrics.listen.has_value());
  const auto p = conf::parse(R"({"profiles": {"p": {"mode": "sign"}}})", "t");
  CHECK(p.find_profile("p")->missing_identity == conf::MissingIdentity::pass);
  CHECK(p.find_profile("p")->encoding == conf::CmsEncoding::ber);
}

TEST_CASE("service keys: good values", "[conf][values]") {
  const conf::Config c = conf::parse(R"({
    "daemon": {"user": "smime-milter", "group": "smime", "allow_root": true, "pid_file": "/run/sm/pid",
               "workers": 64, "socket_mode": "770", "socket_group": "postfix"},
    "keystore": {)" + pg + R"(, "read_url": "host=replica.test dbname=keystore",
                 "key_passphrase_credential": "gateway-keys"},
    "profiles": {"p": {"mode": "sign", "missing_identity": "reject", "encoding": "der"}},
    "inbound": {"max_layers": 32, "algorithms": {"min_security_bits": 0, "sha1": "accept"}},
    "revocation": {"cache": "keystore"},
    "metrics": {"listen": "127.0.0.1:9100"}})",
                                     "t");
  CHECK(c.daemon.user == "smime-milter");
  CHECK(c.daemon.group == "smime");
  CHECK(c.daemon.allow_root);
  CHECK(c.daemon.pid_file == "/run/sm/pid");
  CHECK(c.daemon.workers == 64);
  CHECK(c.daemon.socket_mode == 0770);
  CHECK(c.daemon.socket_group == "postfix");
  CHECK(c.keystore.postgres());
  CHECK(c.keystore.url == "postgresql://smime@db.test/keystore");
  CHECK(c.keystore.read_url == "host=replica.test dbname=keystore");
  CHECK(c.keystore.key_passphrase_credential == "gateway-keys");
  CHECK(c.find_profile("p")->missing_identity == conf::MissingIdentity::reject);
  CHECK(c.find_profile("p")->encoding == conf::CmsEncoding::der);
  CHECK(c.inbound.max_layers == 32);
  CHECK(c.inbound.algorithms.min_security_bits == 0);
  CHECK(c.inbound.algorithms.sha1 == conf::Sha1Policy::accept);
  CHECK(c.revocation.cache == conf::RevocationCache::keystore);
  REQUIRE(c.metrics.listen.has_value());
  CHECK(c.metrics.listen->host == "127.0.0.1");
  CHECK(c.metrics.listen->port == 9100);
  CHECK(c.metrics.listen->to_string() == "127.0.0.1:9100");

  const auto other = conf::parse(R"({"daemon": {"socket_mode": "0600"},
    "keystore": {"key_passphrase_file": "/etc/smime-milter/passphrase"},
    "inbound": {"max_layers": 1, "algorithms": {"min_security_bits": 256}},
    "metrics": {"listen": "[::1]:65535"}})",
                                 "t");
  CHECK(other.daemon.socket_mode == 0600);
  CHECK(other.keystore.key_passphrase_file == "/etc/smime-milter/passphrase");
  CHECK(other.inbound.max_layers == 1);
  CHECK(other.inbound.algorithms.min_security_bits == 256);
  REQUIRE(other.metrics.listen.has_value());
  CHECK(other.metrics.listen->host == "::1");
  CHECK(other.metrics.listen->to_string() == "[::1]:65535");
  CHECK(conf::parse(R"({"metrics": {"listen": "127.8.9.10:1"}})", "t").metrics.listen->port == 1);
  CHECK_FALSE(conf::parse(R"({"metrics": {"listen": ""}})", "t").metrics.listen.has_value());
  CHECK(conf::to_string(conf::CmsEncoding::der) == "der");
  CHECK(conf::to_string(conf::MissingIdentity::reject) == "reject");
  CHECK(conf::to_string(conf::Sha1Policy::accept) == "accept");
  CHECK(conf::to_string(conf::RevocationCache::keystore) == "keystore");
}

TEST_CASE("service keys: bad values are named by their paths", "[conf][errors]") {
  struct Case {
    std::string json;
    std::string path;
    std::string fragment;
  };
  const std::vector<Case> cases = {
      {R"({"daemon": {"user": "smime milter"}})", "$.daemon.user", "not a user or group name"},
      {R"({"daemon": {"group": "a:b"}})", "$.daemon.group", "not a user or group name"},
      {R"({"daemon": {"socket_group": 5}})", "$.daemon.socket_group", "expected a string, got integer"},
      {R"({"daemon": {"allow_root": "yes"}})", "$.daemon.allow_root", "expected true or false"},
      {R"({"daemon": {"pid_file": ""}})", "$.daemon.pid_file", "must not be empty"},
      {R"({"daemon": {"workers": 65}})", "$.daemon.workers", "65 out of range 0..64"},
      {R"({"daemon": {"workers": -1}})", "$.daemon.workers", "-1 out of range 0..64"},
      {R"({"daemon": {"socket_mode": 660}})", "$.daemon.socket_mode",
       "expected an octal string like \"0660\""},
      {R"({"daemon": {"socket_mode": "0868"}})", "$.daemon.socket_mode", "bad mode '0868'"},
      {R"({"daemon": {"socket_mode": "66"}})", "$.daemon.socket_mode", "bad mode '66'"},
      {R"({"daemon": {"socket_mode": "4755"}})", "$.daemon.socket_mode", "out of range 0000..0777"},
      {R"({"daemon": {"sockt_mode": "0660"}})", "$.daemon.sockt_mode", "did you mean 'socket_mode'?"},
      {R"({"keystore": {"url": "/var/lib/keystore.db"}})", "$.keystore.url", "not a libpq connection string"},
      {R"({"keystore": {"url": ""}})", "$.keystore.url", "must not be empty"},
      {R"({"keystore": {"path": "/x.db", )" + pg + "}}", "$.keystore.path", "not allowed with keystore.url"},
      {R"({"keystore": {"read_url": "host=replica"}})", "$.keystore.read_url", "needs keystore.url"},
      {R"({"keystore": {)" + pg + R"(, "read_url": "replica"}})", "$.keystore.read_url",
       "not a libpq connection string"},
      {R"({"keystore": {"key_passphrase_file": "/p", "key_passphrase_credential": "c"}})",
       "$.keystore.key_passphrase_credential", "not allowed with keystore.key_passphrase_file"},
      {R"({"keystore": {"key_passphrase_credential": "a/b"}})", "$.keystore.key_passphrase_credential",
       "not a credential name"},
      {R"({"keystore": {"key_passphrase_credential": ".."}})", "$.keystore.key_passphrase_credential",
       "not a credential name"},
      {R"({"keystore": {"key_passphrase_file": 1}})", "$.keystore.key_passphrase_file", "expected a string"},
      {R"({"profiles": {"p": {"mode": "sign", "missing_identity": "bounce"}}})",
       "$.profiles.p.missing_identity", "unknown value 'bounce'; expected one of: pass, reject"},
      {R"({"profiles": {"p": {"mode": "sign", "encoding": "cer"}}})", "$.profiles.p.encoding",
       "expected one of: ber, der"},
      {R"({"inbound": {"max_layers": 0}})", "$.inbound.max_layers", "0 out of range 1..32"},
      {R"({"inbound": {"max_layers": 33}})", "$.inbound.max_layers", "33 out of range 1..32"},
      {R"({"inbound": {"algorithms": {"min_security_bits": 100}}})", "$.inbound.algorithms.min_security_bits",
       "100 is not one of: 0, 80, 112, 128, 192, 256"},
      {R"({"inbound": {"algorithms": {"min_security_bits": "112"}}})",
       "$.inbound.algorithms.min_security_bits", "expected one of: 0, 80, 112, 128, 192, 256, got string"},
      {R"({"inbound": {"algorithms": {"sha1": "allow"}}})", "$.inbound.algorithms.sha1",
       "expected one of: refuse, accept"},
      {R"({"inbound": {"algorithms": {"sha_1": "refuse"}}})", "$.inbound.algorithms.sha_1",
       "did you mean 'sha1'?"},
      {R"({"inbound": {"algorithms": []}})", "$.inbound.algorithms", "expected an object, got array"},
      {R"({"revocation": {"cache": "memory"}})", "$.revocation.cache", "expected one of: files, keystore"},
      {R"({"revocation": {"cache": "keystore"}})", "$.revocation.cache", "'keystore' needs keystore.url"},
      {R"({"metrics": {"listen": "192.0.2.1:9100"}})", "$.metrics.listen", "not a loopback address"},
      {R"({"metrics": {"listen": "0.0.0.0:9100"}})", "$.metrics.listen", "not a loopback address"},
      {R"({"metrics": {"listen": "[2001:db8::1]:9100"}})", "$.metrics.listen", "not a loopback address"},
      {R"({"metrics": {"listen": "[::ffff:127.0.0.1]:9100"}})", "$.metrics.listen", "not a loopback address"},
      {R"({"metrics": {"listen": "localhost:9100"}})", "$.metrics.listen", "not a loopback address"},
      {R"({"metrics": {"listen": "::1:9100"}})", "$.metrics.listen", "in brackets"},
      {R"({"metrics": {"listen": "127.0.0.1"}})", "$.metrics.listen", "missing :PORT"},
      {R"({"metrics": {"listen": "127.0.0.1:0"}})", "$.metrics.listen", "bad port '0'"},
      {R"({"metrics": {"listen": "[::1]9100"}})", "$.metrics.listen", "bad endpoint"},
      {R"({"metrics": {"listen": 9100}})", "$.metrics.listen", "expected a string"},
      {R"({"metrics": {"port": 9100}})", "$.metrics.port", "unknown key"},
  };
  for (const auto& k : cases) {
    INFO(k.json);
    const auto issues = errors_of(k.json);
    INFO("got:\n" << dump(issues));
    CHECK(has(issues, k.path, k.fragment));
  }
}

TEST_CASE("the keystore's connection string is never quoted back", "[conf][errors]") {
  // It may hold a password.
  const auto issues = errors_of(R"({"keystore": {"url": "user:s3cret@db"}})");
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].path == "$.keystore.url");
  CHECK(issues[0].message.find("s3cret") == std::string::npos);
}

TEST_CASE("the example file sets the service keys", "[conf][example]") {
  const conf::Config c = conf::load(SMIME_CONF_EXAMPLE);
  CHECK(c.daemon.user == "smime-milter");
  CHECK(c.daemon.socket_group == "postfix");
  CHECK(c.daemon.socket_mode == 0660);
  CHECK(c.daemon.pid_file == "/run/smime-milter/smime-milter.pid");
  CHECK(c.find_profile("confidential")->encoding == conf::CmsEncoding::der);
  CHECK(c.find_profile("confidential")->missing_identity == conf::MissingIdentity::reject);
  CHECK(c.inbound.algorithms.min_security_bits == 112);
  CHECK(c.revocation.cache == conf::RevocationCache::files);
  CHECK_FALSE(c.metrics.listen.has_value());
  const conf::Config d = conf::default_config();
  CHECK(d.daemon.user.empty());
  CHECK_FALSE(d.keystore.postgres());
}
