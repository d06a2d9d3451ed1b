// Value syntaxes of the configuration: sizes, durations; names of the enumerations.
#include "values.hpp"

#include <limits>

namespace conf {

namespace {
template <class E, std::size_t N>
std::string_view name_of(const std::pair<std::string_view, E> (&table)[N], E v) {
  for (const auto& [name, value] : table)
    if (value == v) return name;
  return "?";
}

// Digits, then an optional unit; the number must fit and the product too.
template <class Unit>
std::optional<std::uint64_t> number_with_unit(std::string_view text, Unit unit_of) {
  std::size_t i = 0;
  std::uint64_t n = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    auto d = static_cast<std::uint64_t>(text[i] - '0');
    if (n > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return std::nullopt;
    n = n * 10 + d;
    ++i;
  }
  if (i == 0) return std::nullopt;
  std::optional<std::uint64_t> mult = unit_of(text.substr(i));
  if (!mult) return std::nullopt;
  if (*mult != 0 && n > std::numeric_limits<std::uint64_t>::max() / *mult) return std::nullopt;
  return n * *mult;
}
}  // namespace

std::optional<std::uint64_t> parse_size(std::string_view text) {
  return number_with_unit(text, [](std::string_view unit) -> std::optional<std::uint64_t> {
    if (unit.empty()) return 1;
    if (unit == "K" || unit == "k") return KiB;
    if (unit == "M" || unit == "m") return MiB;
    if (unit == "G" || unit == "g") return GiB;
    return std::nullopt;
  });
}

std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
  auto n = number_with_unit(text, [](std::string_view unit) -> std::optional<std::uint64_t> {
    if (unit.empty() || unit == "s") return 1;
    if (unit == "m") return 60;
    if (unit == "h") return 3600;
    if (unit == "d") return 86400;
    return std::nullopt;
  });
  if (!n || *n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
  return std::chrono::seconds(static_cast<std::chrono::seconds::rep>(*n));
}

std::string Listen::to_string() const {
  switch (kind) {
    case Kind::unix_socket:
      return "unix:" + path;
    case Kind::inet:
      return "inet:" + std::to_string(port) + "@" + host;
    case Kind::inet6:
      return "inet6:" + std::to_string(port) + "@[" + host + "]";
  }
  return "?";
}

std::string Endpoint::to_string() const {
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

std::string Listen::libmilter() const {
  // libmilter's inet6 parser takes the bare address (no brackets).
  return kind == Kind::inet6 ? "inet6:" + std::to_string(port) + "@" + host : to_string();
}

std::string_view to_string(LogLevel v) { return name_of(names::log_level, v); }
std::string_view to_string(Mode v) { return v == Mode::none ? "none" : name_of(names::mode, v); }
std::string_view to_string(SignMode v) { return name_of(names::sign_mode, v); }
std::string_view to_string(Digest v) { return name_of(names::digest, v); }
std::string_view to_string(RsaSignaturePadding v) { return name_of(names::rsa_signature_padding, v); }
std::string_view to_string(Cipher v) { return name_of(names::cipher, v); }
std::string_view to_string(RsaKeyTransport v) { return name_of(names::rsa_key_transport, v); }
std::string_view to_string(MissingCertificate v) { return name_of(names::missing_certificate, v); }
std::string_view to_string(MissingIdentity v) { return name_of(names::missing_identity, v); }
std::string_view to_string(CmsEncoding v) { return name_of(names::cms_encoding, v); }
std::string_view to_string(Sha1Policy v) { return name_of(names::sha1_policy, v); }
std::string_view to_string(RevocationCache v) { return name_of(names::revocation_cache, v); }
std::string_view to_string(Action v) { return name_of(names::action, v); }
std::string_view to_string(InboundAction v) { return name_of(names::inbound_action, v); }
std::string_view to_string(RevocationMethod v) { return name_of(names::revocation_method, v); }
std::string_view to_string(Undetermined v) { return name_of(names::undetermined, v); }

}  // namespace conf
