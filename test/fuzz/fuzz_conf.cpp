// The JSON configuration: conf::parse on arbitrary text, then the matchers it built applied to a
// few envelope addresses, client addresses and header fields, as the milter applies them per message.
// Properties:
//  - a bad file is one conf::ConfigError (every problem named by its path); nothing else escapes;
//  - every network, domain and address pattern written out in canonical form parses back to itself.
// Header values are short: a regex of the administrator's that backtracks exponentially is theirs to
// fix, not something for the fuzzer to time out on.
#include <cstdint>
#include <string>

#include "conf/config.hpp"
#include "conf/error.hpp"
#include "conf/match.hpp"
#include "fuzz_support.hpp"

namespace {

constexpr const char* kAddresses[] = {"alice@example.com", "<Bob@Sub.Example.COM>", "<>", "nodomain",
                                      "x@[192.0.2.1]"};
constexpr const char* kClients[] = {"127.0.0.1",    "192.0.2.77",      "::1",
                                    "2001:db8::42", "::ffff:10.1.2.3", "junk"};
constexpr const char* kHeaders[][2] = {
    {"Subject", " [encrypt] quarterly report"}, {"List-Id", "<list.example.com>"}, {"X-Secure", "\r\n yes"}};

void check_networks(const conf::Config& c) {
  for (const auto& cidr : c.direction.internal_networks) {
    for (const char* client : kClients) (void)cidr.contains(std::string_view(client));
    auto again = conf::Cidr::parse(cidr.to_string());
    fuzz::require(again && *again == cidr, "a network survives its canonical form");
  }
  for (const auto& d : c.direction.internal_domains) {
    (void)d.matches("example.com");
    auto again = conf::DomainPattern::parse(d.to_string());
    fuzz::require(again && again->to_string() == d.to_string(),
                  "a domain pattern survives its canonical form");
  }
}

void check_addresses(const std::vector<conf::AddressPattern>& patterns) {
  for (const auto& p : patterns) {
    for (const char* a : kAddresses) (void)p.matches(a);
    auto again = conf::AddressPattern::parse(p.to_string());
    fuzz::require(again && again->to_string() == p.to_string(),
                  "an address pattern survives its canonical form");
  }
}

void check_rules(const conf::Config& c) {
  for (const auto& rule : c.outbound.rules) {
    fuzz::require(rule.profile != nullptr, "a rule's profile is resolved");
    check_addresses(rule.match.sender);
    check_addresses(rule.match.recipient);
    for (const auto& h : rule.match.header)
      for (const auto& field : kHeaders) (void)h.matches(field[0], field[1]);
  }
  fuzz::require(c.outbound.default_profile != nullptr, "the default profile is resolved");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  conf::Config c;
  try {
    c = conf::parse(fuzz::as_text(data, size), "fuzz");
  } catch (const conf::ConfigError& err) {
    fuzz::require(!err.errors().empty(), "a ConfigError names at least one problem");
    return 0;
  }
  (void)c.listen.to_string();
  (void)c.listen.libmilter();
  check_networks(c);
  check_rules(c);
  return 0;
}
