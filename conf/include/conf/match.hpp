// Matching primitives of the outbound policy and the direction decision: pure functions on typed
// values, built (and validated) when the configuration is parsed, called by the milter per message.
//
// Contract: the parse() functions return nullopt (with the reason in *why when asked) on malformed text
// and never throw for it; matches()/contains() accept any input (malformed addresses simply do not match),
// are const and safe to call from many threads at once.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <string_view>

namespace conf {

// An IPv4 or IPv6 address. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are kept as IPv4, so a dual-stack
// listener's peers match IPv4 networks.
struct IpAddress {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};  // IPv4: the first 4

  static std::optional<IpAddress> parse(std::string_view text);  // no brackets, no zone index
  std::string to_string() const;
  bool operator==(const IpAddress&) const = default;
};

// A network in CIDR form, "10.0.0.0/8", "2001:db8::/32"; a bare address is a host (/32, /128).
// Host bits must be zero ("10.1.2.3/8" is refused with the network it probably meant).
struct Cidr {
  IpAddress network;
  unsigned prefix = 0;

  static std::optional<Cidr> parse(std::string_view text, std::string* why = nullptr);
  bool contains(const IpAddress& address) const noexcept;  // false across families
  bool contains(std::string_view address) const;           // false if not an address
  std::string to_string() const;                           // "10.0.0.0/8"
  bool operator==(const Cidr&) const = default;
};

// A domain pattern: "example.com" (that domain only) or "*.example.com" (its subdomains, not itself).
// Stored lower-case without a trailing dot; matching is ASCII case-insensitive.
struct DomainPattern {
  std::string domain;
  bool subdomains = false;

  static std::optional<DomainPattern> parse(std::string_view text, std::string* why = nullptr);
  bool matches(std::string_view domain) const noexcept;
  std::string to_string() const;
};

// A sender or recipient pattern:
//   "user@example.com"     that address (local part and domain compared case-insensitively)
//   "*@example.com", "@example.com", "example.com"   any address in that domain
//   "*.example.com", "*@*.example.com"               any address in a subdomain of example.com
// matches() takes an envelope address as the MTA gives it, with or without <angle brackets>; the null
// sender <> and addresses without a domain match only nothing.
struct AddressPattern {
  std::string local;  // lower-case; empty = any local part
  DomainPattern domain;

  static std::optional<AddressPattern> parse(std::string_view text, std::string* why = nullptr);
  bool matches(std::string_view address) const noexcept;
  std::string to_string() const;  // canonical form: "user@example.com", "*@example.com", "*@*.example.com"
};

// A condition on one header field, by name (case-insensitive) and value:
//   contains: substring; equals: the whole (trimmed) value; regex: ECMAScript std::regex, searched.
// The value is unfolded (CR and LF removed) and trimmed before matching; RFC 2047 encoded words are not
// decoded. A regex sees at most the first `regex_value_limit` bytes: libstdc++'s matcher recurses once
// per character and would overflow a thread's stack on a long header.
struct HeaderCondition {
  enum class Kind { contains, equals, regex };
  static constexpr std::size_t regex_value_limit = 1024;
  // The longest regex source accepted: libstdc++'s compiler also recurses, once per term and per group,
  // and a pattern of 100,000 characters overflows an 8 MiB stack.
  static constexpr std::size_t regex_source_limit = 512;
  // Groups nested at most this deep: each level is four frames of that compiler (300 nested "(" in
  // 512 characters overflow a 512 KiB stack under ASan).
  static constexpr std::size_t regex_group_depth_limit = 32;
  // Backreference numbers and repetition counts of at most this many digits: the compiler reads them
  // into a long without an overflow check.
  static constexpr std::size_t regex_count_digits_limit = 4;

  std::string name;  // as configured; compared case-insensitively
  Kind kind = Kind::contains;
  std::string text;  // the substring, the exact value, or the regex source
  bool ignore_case = false;
  std::regex regex;  // compiled at load (kind == regex)

  bool matches_name(std::string_view header_name) const noexcept;
  bool matches(std::string_view header_name, std::string_view value) const;
};

// What an ECMAScript regex source is made of, read before compiling it, so that the compiler's recursion
// and arithmetic stay bounded: how deep its groups nest ("(" outside a bracket expression and not
// escaped opens one), and the longest run of digits after a backslash or in a brace expression.
struct RegexShape {
  std::size_t group_depth = 0;
  std::size_t longest_count = 0;
};
RegexShape regex_shape(std::string_view source) noexcept;

// Lower-cases ASCII letters; other bytes unchanged.
std::string ascii_lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b) noexcept;

}  // namespace conf
