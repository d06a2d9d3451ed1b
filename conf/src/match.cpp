// Matching primitives: IP networks, domain and address patterns, header conditions.
#include "conf/match.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace conf {

namespace {

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

void set_why(std::string* why, std::string text) {
  if (why != nullptr) *why = std::move(text);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// A DNS name in ASCII: labels of letters, digits, '-', '_' (1..63 bytes), at most 253 bytes.
bool valid_domain(std::string_view d, std::string* why) {
  if (d.empty()) return set_why(why, "empty domain"), false;
  if (d.size() > 253) return set_why(why, "domain longer than 253 bytes"), false;
  std::size_t start = 0;
  while (start <= d.size()) {
    std::size_t dot = d.find('.', start);
    if (dot == std::string_view::npos) dot = d.size();
    std::string_view label = d.substr(start, dot - start);
    if (label.empty()) return set_why(why, "empty label in domain '" + std::string(d) + "'"), false;
    if (label.size() > 63) return set_why(why, "label longer than 63 bytes"), false;
    for (char c : label) {
      if (static_cast<unsigned char>(c) >= 0x80)
        return set_why(why, "non-ASCII domain; write it in its A-label (xn--) form"), false;
      if (!is_label_char(c))
        return set_why(why,
                       "invalid character '" + std::string(1, c) + "' in domain '" + std::string(d) + "'"),
               false;
    }
    start = dot + 1;
  }
  return true;
}

}  // namespace

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

// ---- IpAddress, Cidr ----

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  std::string s(text);
  IpAddress a;
  in_addr v4{};
  in6_addr v6{};
  if (s.find(':') == std::string::npos) {
    if (inet_pton(AF_INET, s.c_str(), &v4) != 1) return std::nullopt;
    std::memcpy(a.bytes.data(), &v4, 4);
    return a;
  }
  if (inet_pton(AF_INET6, s.c_str(), &v6) != 1) return std::nullopt;
  static constexpr std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(&v6, mapped, 12) == 0) {
    std::memcpy(a.bytes.data(), reinterpret_cast<const std::uint8_t*>(&v6) + 12, 4);
    return a;
  }
  a.v6 = true;
  std::memcpy(a.bytes.data(), &v6, 16);
  return a;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf) == nullptr) return "?";
  return buf;
}

namespace {
bool prefix_equal(const IpAddress& a, const IpAddress& b, unsigned prefix) {
  unsigned full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(a.bytes.data(), b.bytes.data(), full) != 0) return false;
  if (rest == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a.bytes[full] & mask) == (b.bytes[full] & mask);
}
}  // namespace

std::optional<Cidr> Cidr::parse(std::string_view text, std::string* why) {
  std::string_view addr = text, len;
  bool has_len = false;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    len = text.substr(slash + 1);
    has_len = true;
  }
  auto ip = IpAddress::parse(addr);
  if (!ip || (addr.find(':') != std::string_view::npos && !ip->v6)) {
    // ::ffff:a.b.c.d networks are refused: write the IPv4 network, which matches mapped peers too.
    set_why(why, "not an IPv4 or IPv6 address: '" + std::string(addr) + "'");
    return std::nullopt;
  }
  const unsigned max = ip->v6 ? 128 : 32;
  unsigned prefix = max;
  if (has_len) {
    if (len.empty() || len.size() > 3 ||
        !std::all_of(len.begin(), len.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      set_why(why, "prefix length must be a number 0.." + std::to_string(max));
      return std::nullopt;
    }
    prefix = static_cast<unsigned>(std::stoul(std::string(len)));
    if (prefix > max) {
      set_why(why, "prefix length " + std::to_string(prefix) + " out of range 0.." + std::to_string(max));
      return std::nullopt;
    }
  }
  Cidr c{*ip, prefix};
  IpAddress masked{ip->v6, {}};
  for (unsigned bit = 0; bit < prefix; ++bit)
    if (ip->bytes[bit / 8] & (0x80 >> (bit % 8)))
      masked.bytes[bit / 8] |= static_cast<std::uint8_t>(0x80 >> (bit % 8));
  if (masked != *ip) {
    set_why(why, "host bits set; did you mean '" + masked.to_string() + "/" + std::to_string(prefix) + "'?");
    return std::nullopt;
  }
  return c;
}

bool Cidr::contains(const IpAddress& address) const noexcept {
  return address.v6 == network.v6 && prefix_equal(address, network, prefix);
}

bool Cidr::contains(std::string_view address) const {
  auto ip = IpAddress::parse(address);
  return ip && contains(*ip);
}

std::string Cidr::to_string() const { return network.to_string() + "/" + std::to_string(prefix); }

// ---- DomainPattern ----

std::optional<DomainPattern> DomainPattern::parse(std::string_view text, std::string* why) {
  DomainPattern p;
  std::string d = ascii_lower(text);
  if (d.starts_with("*.")) {
    p.subdomains = true;
    d.erase(0, 2);
  }
  if (d.ends_with('.')) d.pop_back();
  if (!valid_domain(d, why)) return std::nullopt;
  p.domain = std::move(d);
  return p;
}

bool DomainPattern::matches(std::string_view d) const noexcept {
  if (d.ends_with('.')) d.remove_suffix(1);
  if (!subdomains) return iequals(d, domain);
  return d.size() > domain.size() + 1 && d[d.size() - domain.size() - 1] == '.' &&
         iequals(d.substr(d.size() - domain.size()), domain);
}

std::string DomainPattern::to_string() const { return (subdomains ? "*." : "") + domain; }

// ---- AddressPattern ----

std::optional<AddressPattern> AddressPattern::parse(std::string_view text, std::string* why) {
  AddressPattern p;
  std::string_view domain = text;
  if (auto at = text.rfind('@'); at != std::string_view::npos) {
    std::string_view local = text.substr(0, at);
    domain = text.substr(at + 1);
    if (local != "*" && !local.empty()) {
      if (local.find('*') != std::string_view::npos) {
        set_why(why, "'*' is allowed only as the whole local part ('*@domain')");
        return std::nullopt;
      }
      for (char c : local)
        if (static_cast<unsigned char>(c) <= 0x20 || c == '<' || c == '>' || c == 0x7f) {
          set_why(why, "invalid character in local part '" + std::string(local) + "'");
          return std::nullopt;
        }
      p.local = ascii_lower(local);
    }
  }
  auto d = DomainPattern::parse(domain, why);
  if (!d) return std::nullopt;
  p.domain = std::move(*d);
  return p;
}

bool AddressPattern::matches(std::string_view address) const noexcept {
  address = trim(address);
  if (address.size() >= 2 && address.front() == '<' && address.back() == '>')
    address = address.substr(1, address.size() - 2);
  auto at = address.rfind('@');
  if (at == std::string_view::npos || at == 0) return false;
  if (!local.empty() && !iequals(address.substr(0, at), local)) return false;
  return domain.matches(address.substr(at + 1));
}

std::string AddressPattern::to_string() const {
  return (local.empty() ? "*" : local) + "@" + domain.to_string();
}

// ---- HeaderCondition ----

bool HeaderCondition::matches_name(std::string_view header_name) const noexcept {
  return iequals(trim(header_name), name);
}

bool HeaderCondition::matches(std::string_view header_name, std::string_view value) const {
  if (!matches_name(header_name)) return false;
  std::string v;
  v.reserve(value.size());
  for (char c : value)
    if (c != '\r' && c != '\n') v.push_back(c);
  std::string_view tv = trim(v);
  switch (kind) {
    case Kind::equals:
      return ignore_case ? iequals(tv, text) : tv == text;
    case Kind::contains:
      if (!ignore_case) return tv.find(text) != std::string_view::npos;
      return ascii_lower(tv).find(ascii_lower(text)) != std::string::npos;
    case Kind::regex:
      try {
        tv = tv.substr(0, std::min(tv.size(), regex_value_limit));
        return std::regex_search(tv.begin(), tv.end(), regex);
      } catch (const std::regex_error&) {
        return false;  // error_complexity / error_stack: treated as no match
      }
  }
  return false;
}

namespace {

std::size_t digits_at(std::string_view s, std::size_t i) noexcept {
  std::size_t n = 0;
  while (i + n < s.size() && s[i + n] >= '0' && s[i + n] <= '9') ++n;
  return n;
}

}  // namespace

RegexShape regex_shape(std::string_view source) noexcept {
  RegexShape shape;
  std::size_t depth = 0;
  bool in_class = false, in_braces = false;
  for (std::size_t i = 0; i < source.size(); ++i) {
    const char c = source[i];
    if (c == '\\') {
      shape.longest_count = std::max(shape.longest_count, digits_at(source, i + 1));  // a backreference
      ++i;  // the escaped character is literal
    } else if (in_class) {
      in_class = c != ']';
    } else if (c == '[') {
      in_class = true;
    } else if (c == '{' || (in_braces && c == ',')) {
      in_braces = true;
      shape.longest_count = std::max(shape.longest_count, digits_at(source, i + 1));
    } else if (c == '}') {
      in_braces = false;
    } else if (c == '(') {
      shape.group_depth = std::max(shape.group_depth, ++depth);
    } else if (c == ')' && depth > 0) {
      --depth;
    }
  }
  return shape;
}

}  // namespace conf
