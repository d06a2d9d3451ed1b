// The matching primitives the milter calls per message: address and domain patterns, networks, header
// conditions, and the value syntaxes (sizes, durations).
#include <catch2/catch.hpp>
#include <string>

#include "conf/config.hpp"
#include "conf/match.hpp"

TEST_CASE("address patterns", "[conf][match]") {
  struct Case {
    const char* pattern;
    const char* address;
    bool want;
  };
  const Case cases[] = {
      {"ceo@example.com", "ceo@example.com", true},
      {"ceo@example.com", "<ceo@example.com>", true},
      {"ceo@example.com", " <CEO@Example.COM> ", true},  // local part compared case-insensitively too
      {"ceo@example.com", "ceo@example.com.", true},     // trailing dot of a FQDN
      {"ceo@example.com", "cfo@example.com", false},
      {"ceo@example.com", "ceo@sub.example.com", false},
      {"*@example.com", "anyone@EXAMPLE.com", true},
      {"*@example.com", "anyone@hr.example.com", false},
      {"@example.com", "x@example.com", true},
      {"example.com", "x@example.com", true},
      {"example.com", "x@badexample.com", false},
      {"example.com", "example.com", false},  // no local part
      {"*.example.com", "x@hr.example.com", true},
      {"*.example.com", "x@a.b.example.com", true},
      {"*.example.com", "x@example.com", false},
      {"*.example.com", "x@xexample.com", false},
      {"*@*.example.com", "x@hr.example.com", true},
      {"example.com", "<>", false},  // the null sender
      {"example.com", "", false},
      {"example.com", "@example.com", false},
      {"\"a@b\"@example.com", "\"a@b\"@example.com", true},  // the last @ separates the domain
  };
  for (const auto& k : cases) {
    INFO("pattern " << k.pattern << " address '" << k.address << "' want " << k.want);
    std::string why;
    auto p = conf::AddressPattern::parse(k.pattern, &why);
    INFO(why);
    REQUIRE(p.has_value());
    CHECK(p->matches(k.address) == k.want);
  }
}

TEST_CASE("address pattern syntax errors", "[conf][match]") {
  const char* bad[] = {
      "", "*", "a*@example.com", "user@", "user@exa_mple..com", "a b@example.com", "x@-ex ample.com"};
  for (const char* text : bad) {
    INFO(text);
    std::string why;
    CHECK_FALSE(conf::AddressPattern::parse(text, &why).has_value());
    CHECK_FALSE(why.empty());
  }
  CHECK(conf::AddressPattern::parse("*@Example.COM")->to_string() == "*@example.com");
  CHECK(conf::AddressPattern::parse("example.com")->to_string() == "*@example.com");
  CHECK(conf::AddressPattern::parse("*.example.com")->to_string() == "*@*.example.com");
}

TEST_CASE("domain patterns", "[conf][match]") {
  auto exact = conf::DomainPattern::parse("Example.com");
  auto subs = conf::DomainPattern::parse("*.example.com");
  REQUIRE(exact);
  REQUIRE(subs);
  CHECK(exact->matches("EXAMPLE.COM"));
  CHECK_FALSE(exact->matches("mail.example.com"));
  CHECK(subs->matches("mail.example.com"));
  CHECK_FALSE(subs->matches("example.com"));
  CHECK_FALSE(subs->matches(".example.com"));
}

TEST_CASE("CIDR networks, IPv4 and IPv6", "[conf][match]") {
  struct Case {
    const char* network;
    const char* address;
    bool want;
  };
  const Case cases[] = {
      {"127.0.0.0/8", "127.0.0.1", true},
      {"127.0.0.0/8", "127.255.255.255", true},
      {"127.0.0.0/8", "128.0.0.1", false},
      {"127.0.0.0/8", "::ffff:127.0.0.1", true},  // IPv4-mapped peer of a dual-stack socket
      {"127.0.0.0/8", "::1", false},
      {"::1/128", "::1", true},
      {"::1/128", "::2", false},
      {"::1/128", "127.0.0.1", false},
      {"2001:db8::/32", "2001:DB8:1::5", true},
      {"2001:db8::/32", "2001:db9::1", false},
      {"10.1.2.3", "10.1.2.3", true},  // a bare address is a host
      {"10.1.2.3", "10.1.2.4", false},
      {"0.0.0.0/0", "203.0.113.9", true},
      {"192.168.0.0/23", "192.168.1.200", true},
      {"192.168.0.0/23", "192.168.2.1", false},
      {"fe80::/10", "febf::1", true},
      {"fe80::/10", "fec0::1", false},
      {"10.0.0.0/8", "not an address", false},
  };
  for (const auto& k : cases) {
    INFO(k.network << " contains " << k.address << " want " << k.want);
    std::string why;
    auto n = conf::Cidr::parse(k.network, &why);
    INFO(why);
    REQUIRE(n.has_value());
    CHECK(n->contains(k.address) == k.want);
  }
  const char* bad[] = {
      "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/8/8", "300.0.0.0/8", "::ffff:10.0.0.0/104", "1.2.3.4/-1", ""};
  for (const char* text : bad) {
    INFO(text);
    CHECK_FALSE(conf::Cidr::parse(text).has_value());
  }
}

TEST_CASE("header conditions", "[conf][match]") {
  auto make = [](conf::HeaderCondition::Kind kind, std::string text, bool icase) {
    conf::HeaderCondition h;
    h.name = "Subject";
    h.kind = kind;
    h.text = std::move(text);
    h.ignore_case = icase;
    if (kind == conf::HeaderCondition::Kind::regex)
      h.regex =
          std::regex(h.text, icase ? std::regex::ECMAScript | std::regex::icase : std::regex::ECMAScript);
    return h;
  };
  using K = conf::HeaderCondition::Kind;
  struct Case {
    conf::HeaderCondition cond;
    const char* name;
    const char* value;
    bool want;
  };
  const Case cases[] = {
      {make(K::contains, "[encrypt]", false), "Subject", "Re: [encrypt] offer", true},
      {make(K::contains, "[encrypt]", false), "subject", " Re: [encrypt] offer",
       true},  // name case-insensitive
      {make(K::contains, "[encrypt]", false), "Subject", "Re: [ENCRYPT] offer", false},
      {make(K::contains, "[encrypt]", true), "Subject", "Re: [ENCRYPT] offer", true},
      {make(K::contains, "[encrypt]", false), "X-Subject", "[encrypt]", false},
      {make(K::contains, "Confidential", false), "Subject", "Strictly\r\n Confidential", true},
      {make(K::contains, "Strictly Confidential", false), "Subject", "Strictly\r\n Confidential",
       true},  // unfolded
      {make(K::equals, "secret", false), "Subject", "  secret ", true},
      {make(K::equals, "secret", false), "Subject", "top secret", false},
      {make(K::equals, "secret", true), "Subject", "SECRET", true},
      {make(K::regex, "^\\[(encrypt|secure)\\]", false), "Subject", "[secure] hi", true},
      {make(K::regex, "^\\[(encrypt|secure)\\]", false), "Subject", "Re: [secure] hi", false},
      {make(K::regex, "confidential", true), "Subject", "CONFIDENTIAL", true},
      {make(K::regex, "confidential", false), "Subject", "CONFIDENTIAL", false},
  };
  for (const auto& k : cases) {
    INFO("'" << k.cond.text << "' on " << k.name << ": '" << k.value << "' want " << k.want);
    CHECK(k.cond.matches(k.name, k.value) == k.want);
  }
}

TEST_CASE("a regex sees a bounded prefix of a huge header value, without crashing", "[conf][match]") {
  const auto c = conf::parse(R"({"outbound": {"rules": [{"profile": "none",
      "match": {"header": [{"name": "Subject", "regex": "(a|b)*\\[encrypt\\]"}]}}]}})",
                             "t");
  const conf::HeaderCondition& h = c.outbound.rules.at(0).match.header.at(0);
  CHECK(h.matches("Subject", "ab[encrypt]"));
  // 200 000 bytes: libstdc++'s recursive matcher would overflow the stack on the whole value.
  std::string huge(200000, 'a');
  CHECK_FALSE(h.matches("Subject", huge + "[encrypt]"));
  CHECK(h.matches("Subject", std::string(100, 'a') + "[encrypt]" + huge));
}

TEST_CASE("size and duration syntaxes", "[conf][values]") {
  CHECK(conf::parse_size("0") == 0u);
  CHECK(conf::parse_size("4096") == 4096u);
  CHECK(conf::parse_size("4K") == 4096u);
  CHECK(conf::parse_size("4k") == 4096u);
  CHECK(conf::parse_size("4M") == 4 * conf::MiB);
  CHECK(conf::parse_size("2G") == 2 * conf::GiB);
  for (const char* bad : {"", "M", "4MB", "4 M", "-4", "4.5M", "18446744073709551616", "17179869184G"}) {
    INFO(bad);
    CHECK_FALSE(conf::parse_size(bad).has_value());
  }
  CHECK(conf::parse_duration("30") == std::chrono::seconds(30));
  CHECK(conf::parse_duration("30s") == std::chrono::seconds(30));
  CHECK(conf::parse_duration("5m") == std::chrono::seconds(300));
  CHECK(conf::parse_duration("1h") == std::chrono::seconds(3600));
  CHECK(conf::parse_duration("2d") == std::chrono::seconds(172800));
  for (const char* bad : {"", "s", "30 s", "1.5h", "30ms", "-1"}) {
    INFO(bad);
    CHECK_FALSE(conf::parse_duration(bad).has_value());
  }
}

TEST_CASE("enumeration names round-trip", "[conf][values]") {
  CHECK(conf::to_string(conf::Mode::sign_encrypt) == "sign-encrypt");
  CHECK(conf::to_string(conf::Mode::none) == "none");
  CHECK(conf::to_string(conf::Cipher::automatic) == "auto");
  CHECK(conf::to_string(conf::Action::tempfail) == "tempfail");
  CHECK(conf::to_string(conf::MissingCertificate::split) == "split");
  CHECK(conf::to_string(conf::LogLevel::warning) == "warning");
}

TEST_CASE("regex_shape: nested groups, not escaped or bracketed parentheses; counts' digits",
          "[conf][match]") {
  auto depth = [](std::string_view s) { return conf::regex_shape(s).group_depth; };
  auto count = [](std::string_view s) { return conf::regex_shape(s).longest_count; };
  CHECK(depth("") == 0);
  CHECK(depth("abc") == 0);
  CHECK(depth("(a)(b)") == 1);
  CHECK(depth("((a)|(b(c)))") == 3);
  CHECK(depth("(?:x(?=y))") == 2);
  CHECK(depth("\\(\\(\\(") == 0);
  CHECK(depth("[(((]") == 0);
  CHECK(depth("[\\]((](a)") == 1);
  CHECK(depth("(((((") == 5);          // unbalanced: the compiler refuses it, after the bound
  CHECK(count("order 1234567") == 0);  // literal digits
  CHECK(count("a{3}") == 1);
  CHECK(count("a{12,345}") == 3);
  CHECK(count("a{1,}b,99999") == 1);  // a comma outside braces is literal
  CHECK(count("(a)\\12345") == 5);
}
