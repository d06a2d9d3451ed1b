// Direction (outbound or inbound) and the outbound policy (which profile, by which rule): pure
// functions of the configuration and the message, driven by tables ("want: X, got: Y").
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "milter/direction.hpp"
#include "milter/message.hpp"
#include "milter/pipeline.hpp"
#include "milter/policy.hpp"
#include "smime/mime.hpp"

namespace {

milter::Message make_message(std::string sender, std::vector<std::string> rcpts, const std::string& headers,
                             std::string body = "hello\r\n") {
  milter::Message m;
  m.envelope.queue_id = "TEST";
  m.envelope.sender = std::move(sender);
  m.envelope.recipients = std::move(rcpts);
  m.headers = smime::mime::parse_headers(headers);
  m.body = smime::Source::from_string(std::move(body));
  return m;
}

const char* kDirectionConfig = R"({
  "direction": {
    "internal_networks": ["10.0.0.0/8", "2001:db8::/32"],
    "internal_domains": ["example.com", "*.example.com"],
    "authenticated_is_outbound": true
  }
})";

}  // namespace

TEST_CASE("direction: authenticated, internal network, internal domain only without a client address",
          "[milter][direction]") {
  const conf::Config config = conf::parse(kDirectionConfig, "test");
  struct Row {
    std::string what;
    std::string client;
    bool authenticated;
    std::string sender;
    milter::Direction want;
    std::string reason;
  };
  const std::vector<Row> rows = {
      {"authenticated from outside", "203.0.113.5", true, "someone@elsewhere.net",
       milter::Direction::outbound, "reason=authenticated"},
      {"internal IPv4 network", "10.1.2.3", false, "x@elsewhere.net", milter::Direction::outbound,
       "reason=internal-network"},
      {"internal IPv6 network", "2001:db8::25", false, "", milter::Direction::outbound,
       "reason=internal-network"},
      {"IPv4-mapped IPv6 client", "::ffff:10.9.9.9", false, "", milter::Direction::outbound,
       "reason=internal-network"},
      {"external client forging an internal sender", "203.0.113.5", false, "ceo@example.com",
       milter::Direction::inbound, "reason=external-client"},
      {"dry run, internal domain", "", false, "alice@example.com", milter::Direction::outbound,
       "reason=internal-domain"},
      {"dry run, internal subdomain", "", false, "<bob@Mail.Example.COM>", milter::Direction::outbound,
       "reason=internal-domain"},
      {"dry run, external domain", "", false, "alice@example.org", milter::Direction::inbound,
       "reason=no-internal-match"},
      {"dry run, null sender", "", false, "", milter::Direction::inbound, "reason=no-internal-match"},
      {"external client, no auth", "198.51.100.7", false, "a@b.net", milter::Direction::inbound,
       "reason=external-client"},
  };
  for (const Row& row : rows) {
    INFO(row.what);
    milter::Envelope env;
    env.client_address = row.client;
    env.authenticated = row.authenticated;
    env.auth_user = row.authenticated ? "alice" : "";
    env.sender = row.sender;
    const milter::DirectionDecision d = milter::explain_direction(config, env);
    CHECK(d.direction == row.want);
    CHECK(d.reason.str().find(row.reason) != std::string::npos);
    CHECK(milter::decide_direction(config, env) == row.want);
  }
}

TEST_CASE("direction: authentication counts only when configured to", "[milter][direction]") {
  const conf::Config config =
      conf::parse(R"({"direction": {"internal_networks": [], "authenticated_is_outbound": false}})", "test");
  milter::Envelope env;
  env.client_address = "203.0.113.5";
  env.authenticated = true;
  CHECK(milter::decide_direction(config, env) == milter::Direction::inbound);
}

namespace {

const char* kPolicyConfig = R"({
  "profiles": {
    "sign": { "mode": "sign" },
    "encrypt": { "mode": "sign-encrypt", "missing_certificate": "plain" },
    "confidential": { "mode": "triple", "missing_certificate": "bounce" },
    "big": { "mode": "sign", "sign_mode": "opaque" }
  },
  "outbound": {
    "rules": [
      { "name": "hr", "match": { "sender": ["*@hr.example.com", "ceo@example.com"] }, "profile": "confidential" },
      { "name": "subject-tag",
        "match": { "header": [ { "name": "Subject", "regex": "\\[(encrypt|secure)\\]", "ignore_case": true } ] },
        "profile": "encrypt" },
      { "name": "partner-small", "match": { "recipient": ["partner.example.net"], "size_max": 100 },
        "profile": "encrypt" },
      { "name": "both-headers",
        "match": { "header": [ { "name": "X-Class", "equals": "secret" },
                               { "name": "X-Dept", "contains": "legal" } ] },
        "profile": "confidential" },
      { "name": "large", "match": { "size_min": 1000 }, "profile": "big" },
      { "name": "lists", "match": { "header": [ { "name": "List-Id", "contains": "." } ] }, "profile": "none" }
    ],
    "default_profile": "sign"
  }
})";

}  // namespace

TEST_CASE("policy: rules in order, every condition must match, first match wins, else the default",
          "[milter][policy]") {
  const conf::Config config = conf::parse(kPolicyConfig, "test");
  struct Row {
    std::string what;
    std::string sender;
    std::vector<std::string> rcpts;
    std::string headers;
    std::size_t body_size;
    std::string want_rule;
    std::string want_profile;
  };
  const std::vector<Row> rows = {
      {"nothing matches", "alice@example.com", {"x@y.org"}, "Subject: hi\r\n", 10, "default", "sign"},
      {"sender wildcard domain",
       "pay@hr.example.com",
       {"x@y.org"},
       "Subject: hi\r\n",
       10,
       "hr",
       "confidential"},
      {"sender exact address, other case",
       "CEO@Example.com",
       {"x@y.org"},
       "Subject: hi\r\n",
       10,
       "hr",
       "confidential"},
      {"sender in parent domain does not match *@hr",
       "pay@example.com",
       {"x@y.org"},
       "Subject: hi\r\n",
       10,
       "default",
       "sign"},
      {"first match wins over a later one",
       "ceo@example.com",
       {"x@y.org"},
       "Subject: [encrypt] hi\r\n",
       10,
       "hr",
       "confidential"},
      {"subject regex, ignoring case",
       "a@example.com",
       {"x@y.org"},
       "Subject: re: [SECURE] plans\r\n",
       10,
       "subject-tag",
       "encrypt"},
      {"folded subject is unfolded",
       "a@example.com",
       {"x@y.org"},
       "Subject: quarterly\r\n [encrypt] numbers\r\n",
       10,
       "subject-tag",
       "encrypt"},
      {"regex on another header does not count",
       "a@example.com",
       {"x@y.org"},
       "X-Subject: [encrypt]\r\n",
       10,
       "default",
       "sign"},
      {"any recipient, within the size",
       "a@example.com",
       {"x@y.org", "b@partner.example.net"},
       "Subject: x\r\n",
       100,
       "partner-small",
       "encrypt"},
      {"recipient matches but the body is too large",
       "a@example.com",
       {"b@partner.example.net"},
       "Subject: x\r\n",
       101,
       "default",
       "sign"},
      {"two header conditions, both met",
       "a@example.com",
       {"x@y.org"},
       "X-Class: secret\r\nX-Dept: legal dept\r\n",
       10,
       "both-headers",
       "confidential"},
      {"two header conditions, one met",
       "a@example.com",
       {"x@y.org"},
       "X-Class: secret\r\nX-Dept: sales\r\n",
       10,
       "default",
       "sign"},
      {"equals compares the whole trimmed value",
       "a@example.com",
       {"x@y.org"},
       "X-Class:  secret \r\nX-Dept: legal\r\n",
       10,
       "both-headers",
       "confidential"},
      {"equals is not contains",
       "a@example.com",
       {"x@y.org"},
       "X-Class: top secret\r\nX-Dept: legal\r\n",
       10,
       "default",
       "sign"},
      {"size_min inclusive", "a@example.com", {"x@y.org"}, "Subject: x\r\n", 1000, "large", "big"},
      {"size_min not reached", "a@example.com", {"x@y.org"}, "Subject: x\r\n", 999, "default", "sign"},
      {"a rule may pick 'none'",
       "a@example.com",
       {"x@y.org"},
       "List-Id: <dev.lists.example.com>\r\n",
       10,
       "lists",
       "none"},
      {"null sender uses the From header",
       "",
       {"x@y.org"},
       "From: \"Pay (HR)\" <pay@hr.example.com>\r\n",
       10,
       "hr",
       "confidential"},
      {"envelope sender wins over From",
       "a@example.com",
       {"x@y.org"},
       "From: ceo@example.com\r\n",
       10,
       "default",
       "sign"},
  };
  for (const Row& row : rows) {
    INFO(row.what);
    milter::Message m = make_message(row.sender, row.rcpts, row.headers, std::string(row.body_size, 'x'));
    const milter::PolicyChoice c = milter::select_profile(config, m);
    REQUIRE(c.profile != nullptr);
    CHECK(c.rule == row.want_rule);
    CHECK(c.profile->name == row.want_profile);
  }
}

TEST_CASE("policy: the From header address is found in the usual forms", "[milter][policy]") {
  struct Row {
    std::string value;
    std::string want;
  };
  const std::vector<Row> rows = {
      {" alice@example.com", "alice@example.com"},
      {" Alice <alice@example.com>", "alice@example.com"},
      {" \"Doe, John <fake@evil.test>\" <john@example.com>", "john@example.com"},
      {" alice@example.com (Alice Liddell)", "alice@example.com"},
      {" (comment <x@y.z>) bob@example.com", "bob@example.com"},
      {" undisclosed-recipients:;", ""},
      {"", ""},
  };
  for (const Row& row : rows) {
    INFO("value: [" << row.value << "]");
    CHECK(milter::header_address(row.value) == row.want);
  }
}
