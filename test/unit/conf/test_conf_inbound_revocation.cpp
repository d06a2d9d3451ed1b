// conf::parse: the inbound and revocation sections — defaults, values, errors by path.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "conf_test_support.hpp"

namespace {

using test::errors_of;
using test::has;

std::string host_name() {
  char buf[256] = {};
  REQUIRE(gethostname(buf, sizeof buf - 1) == 0);
  return buf;
}

}  // namespace

TEST_CASE("inbound and revocation defaults", "[conf][defaults]") {
  const conf::Config c = conf::parse("{}", "t");
  CHECK(c.inbound.decrypt);
  CHECK(c.inbound.verify);
  CHECK_FALSE(c.inbound.remove_signature);
  CHECK(c.inbound.authserv_id == host_name());
  CHECK(c.inbound.headers.smime == "X-SMIME-Gateway");
  CHECK(c.inbound.headers.decrypted == "X-SMIME-Gateway-Decrypted");
  CHECK(c.inbound.headers.verified == "X-SMIME-Gateway-Verified");
  CHECK(c.inbound.actions.fail == conf::InboundAction::deliver);
  CHECK(c.inbound.actions.undecryptable == conf::InboundAction::deliver);
  CHECK(c.inbound.harvest.enabled);
  CHECK_FALSE(c.inbound.harvest.unverified);
  CHECK(c.inbound.harvest.size_limit == 512 * conf::MiB);
  CHECK(c.inbound.harvest.warning_window == std::chrono::hours(48));

  CHECK(c.revocation.enabled);
  CHECK(c.revocation.order ==
        std::vector<conf::RevocationMethod>{conf::RevocationMethod::ocsp, conf::RevocationMethod::crl});
  CHECK(c.revocation.encrypt == conf::Undetermined::fail_closed);
  CHECK(c.revocation.verify == conf::Undetermined::fail_closed);
  CHECK_FALSE(c.revocation.no_distribution_point_is_good);
  CHECK(c.revocation.connect_timeout == std::chrono::seconds(5));
  CHECK(c.revocation.timeout == std::chrono::seconds(15));
  CHECK(c.revocation.negative_cache == std::chrono::seconds(300));
  CHECK(c.revocation.proxy.empty());
}

TEST_CASE("inbound and revocation values are typed", "[conf][values]") {
  const conf::Config c = conf::parse(R"({
    "inbound": {"decrypt": false, "remove_signature": true, "authserv_id": "mx.Example.net",
                "headers": {"smime": "X-Was-SMIME", "decrypted": ""},
                "actions": {"fail": "quarantine", "permerror": "reject", "temperror": "tempfail",
                            "undecryptable": "deliver", "unauthenticated": "reject"},
                "harvest": {"enabled": false, "unverified": true, "updates": true, "size_limit": "16M",
                            "warning_window": "2d"}},
    "revocation": {"order": ["crl"], "encrypt": "fail-open", "verify": "tempfail",
                   "no_distribution_point": "good", "connect_timeout": "2s", "timeout": "1m",
                   "max_crl_size": "5M", "max_ocsp_size": "32K", "proxy": "http://proxy.test:3128",
                   "clock_skew": "1m", "ocsp_max_age": "1d", "crl_grace": "0", "negative_cache": "30s",
                   "cache_directory": "/tmp/rev"}})",
                                     "t");
  CHECK_FALSE(c.inbound.decrypt);
  CHECK(c.inbound.remove_signature);
  CHECK(c.inbound.authserv_id == "mx.Example.net");
  CHECK(c.inbound.headers.smime == "X-Was-SMIME");
  CHECK(c.inbound.headers.decrypted.empty());
  CHECK(c.inbound.headers.verified == "X-SMIME-Gateway-Verified");
  CHECK(c.inbound.actions.fail == conf::InboundAction::quarantine);
  CHECK(c.inbound.actions.permerror == conf::InboundAction::reject);
  CHECK(c.inbound.actions.temperror == conf::InboundAction::tempfail);
  CHECK(c.inbound.actions.unauthenticated == conf::InboundAction::reject);
  CHECK_FALSE(c.inbound.harvest.enabled);
  CHECK(c.inbound.harvest.unverified);
  CHECK(c.inbound.harvest.updates);
  CHECK(c.inbound.harvest.size_limit == 16 * conf::MiB);
  CHECK(c.inbound.harvest.warning_window == std::chrono::hours(48));
  CHECK(c.revocation.order == std::vector<conf::RevocationMethod>{conf::RevocationMethod::crl});
  CHECK(c.revocation.encrypt == conf::Undetermined::fail_open);
  CHECK(c.revocation.verify == conf::Undetermined::tempfail);
  CHECK(c.revocation.no_distribution_point_is_good);
  CHECK(c.revocation.timeout == std::chrono::seconds(60));
  CHECK(c.revocation.max_ocsp_size == 32 * conf::KiB);
  CHECK(c.revocation.proxy == "http://proxy.test:3128");
  CHECK(c.revocation.crl_grace == std::chrono::seconds(0));
  CHECK(c.revocation.cache_directory == "/tmp/rev");
  CHECK(conf::to_string(conf::Undetermined::fail_closed) == "fail-closed");
  CHECK(conf::to_string(conf::InboundAction::quarantine) == "quarantine");
}

TEST_CASE("inbound and revocation errors name their paths", "[conf][errors]") {
  const auto issues = errors_of(R"({
    "inbound": {"authserv_id": "mx example", "headers": {"verified": "X Bad"},
                "actions": {"fail": "bounce", "temperor": "deliver"}, "harvest": {"size_limit": "1K"}},
    "revocation": {"order": ["ocsp", "ocsp"], "encrypt": "open", "no_distribution_point": "maybe",
                   "connect_timeout": "30s", "timeout": "10s", "cache_dir": "/x"}})");
  CHECK(has(issues, "$.inbound.authserv_id", "host-name-like"));
  CHECK(has(issues, "$.inbound.headers.verified", "not a header field name"));
  CHECK(has(issues, "$.inbound.actions.fail", "expected one of: deliver, quarantine, reject, tempfail"));
  CHECK(has(issues, "$.inbound.actions.temperor", "did you mean 'temperror'"));
  CHECK(has(issues, "$.inbound.harvest.size_limit", "out of range"));
  CHECK(has(issues, "$.revocation.order", "named twice"));
  CHECK(has(issues, "$.revocation.encrypt", "fail-closed, fail-open, tempfail"));
  CHECK(has(issues, "$.revocation.no_distribution_point", "undetermined, good"));
  CHECK(has(issues, "$.revocation.connect_timeout", "greater than revocation.timeout"));
  CHECK(has(issues, "$.revocation.cache_dir", "did you mean 'cache_directory'"));
  CHECK(has(errors_of(R"({"revocation": {"order": []}})"), "$.revocation.order", "at least one method"));
  // Names the milter deletes forged copies of must never be the message's own fields.
  CHECK(has(errors_of(R"({"inbound": {"headers": {"smime": "From"}}})"), "$.inbound.headers.smime",
            "field of the message itself"));
  CHECK(has(errors_of(R"({"inbound": {"headers": {"verified": "authentication-results"}}})"),
            "$.inbound.headers.verified", "field of the message itself"));
  CHECK(has(errors_of(R"({"inbound": {"headers": {"decrypted": "Content-Type"}}})"),
            "$.inbound.headers.decrypted", "Content-*"));
  CHECK(
      has(errors_of(R"({"trace_header": "MIME-Version"})"), "$.trace_header", "field of the message itself"));
  CHECK(has(errors_of(R"({"revocation": {"order": ["ldap"]}})"), "$.revocation.order[0]", "unknown method"));
}
