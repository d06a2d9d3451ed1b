// Values with a syntax of their own: header names, authserv-id, libpq strings, credential and account
// names, signing identities, socket modes, the metrics endpoint.
#include "syntax.hpp"

#include <algorithm>

namespace conf::detail {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_field_char(char c) {
  return static_cast<unsigned char>(c) >= 33 && static_cast<unsigned char>(c) <= 126 && c != ':';
}

}  // namespace

std::string header_name_problem(const std::string& s) {
  if (!std::all_of(s.begin(), s.end(), is_field_char))
    return "not a header field name (printable ASCII, no space or colon); \"\" disables it";
  if (s.size() > 76) return "longer than 76 bytes";
  // The milter deletes every copy of the fields it writes (forged ones): never one of these.
  static constexpr std::string_view reserved[] = {"From",
                                                  "To",
                                                  "Cc",
                                                  "Bcc",
                                                  "Sender",
                                                  "Reply-To",
                                                  "Subject",
                                                  "Date",
                                                  "Message-ID",
                                                  "Received",
                                                  "Return-Path",
                                                  "MIME-Version",
                                                  "Authentication-Results",
                                                  "DKIM-Signature",
                                                  "ARC-Seal",
                                                  "ARC-Message-Signature",
                                                  "ARC-Authentication-Results"};
  for (std::string_view r : reserved)
    if (iequals(s, r)) return "'" + s + "' is a field of the message itself; choose a name of our own";
  if (s.size() >= 8 && iequals(std::string_view(s).substr(0, 8), "Content-"))
    return "Content-* fields describe the body; choose a name of our own";
  return {};
}

std::string header_condition_name_problem(const std::string& s) {
  if (!std::all_of(s.begin(), s.end(), is_field_char))
    return "not a header field name (printable ASCII, no space or colon)";
  return {};
}

std::string authserv_id_problem(const std::string& s) {
  const bool ok = s.size() <= 255 && std::all_of(s.begin(), s.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '.' ||
                           c == '-' || c == '_';
                  });
  return ok ? "" : "not a host-name-like token (letters, digits, '.', '-', '_')";
}

std::string libpq_problem(const std::string& s) {
  if (s.starts_with("postgresql://") || s.starts_with("postgres://")) return {};
  if (s.find('=') != std::string::npos) return {};
  return "not a libpq connection string: expected a URL (\"postgresql://user@host/db\") or keywords "
         "(\"host=... dbname=...\")";
}

std::string credential_name_problem(const std::string& s) {
  if (s == "." || s == ".." || s.find('/') != std::string::npos || s.size() > 255)
    return "not a credential name (a file name in $CREDENTIALS_DIRECTORY: no '/', not '.' or '..')";
  return {};
}

std::string account_name_problem(const std::string& s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) <= 32 || c == ':' || c == '/' || c == 127)
      return "not a user or group name (no spaces, colons, slashes or control characters)";
  return {};
}

bool signer_choice_value(Ctx& ctx, const json& v, const std::string& path, SignerChoice& out) {
  std::string s;
  if (!string_value(ctx, v, path, false, s)) return false;
  if (s == "sender-domain") return out = {SignerChoice::Kind::sender_domain, {}}, true;
  if (s == "sender-address") return out = {SignerChoice::Kind::sender_address, {}}, true;
  std::string hex;
  bool ok = true;
  for (char c : s) {
    if (c == ':') continue;
    if (is_hex(c))
      hex += static_cast<char>(c >= 'a' ? c - 'a' + 'A' : c);
    else
      ok = false;
  }
  if (!ok || hex.size() != 64) {
    ctx.error(path, "unknown value '" + s +
                        "'; expected \"sender-domain\", \"sender-address\" or a SHA-256 certificate "
                        "fingerprint (64 hex digits, colons optional)");
    return false;
  }
  std::string fp;
  for (std::size_t i = 0; i < hex.size(); i += 2) fp += (i ? ":" : "") + hex.substr(i, 2);
  out = {SignerChoice::Kind::fingerprint, fp};
  return true;
}

bool socket_mode_value(Ctx& ctx, const json& v, const std::string& path, unsigned& out) {
  const std::string expected = "an octal string like \"0660\"";
  if (!v.is_string()) return ctx.wrong_type(path, expected, v), false;
  const auto s = v.get<std::string>();
  const bool octal = s.size() >= 3 && s.size() <= 4 &&
                     std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '7'; });
  if (!octal) return ctx.error(path, "bad mode '" + s + "'; expected " + expected), false;
  const unsigned mode = static_cast<unsigned>(std::stoul(s, nullptr, 8));
  if (mode > 0777) return ctx.error(path, "mode '" + s + "' out of range 0000..0777"), false;
  out = mode;
  return true;
}

bool metrics_listen_value(Ctx& ctx, const json& v, const std::string& path, std::optional<Endpoint>& out) {
  std::string s;
  if (!string_value(ctx, v, path, true, s)) return false;
  if (s.empty()) return out.reset(), true;
  const std::string form =
      "expected \"HOST:PORT\" on a loopback address (\"127.0.0.1:9100\", \"[::1]:9100\")";
  std::string host, port;
  if (s.front() == '[') {
    const auto close = s.find("]:");
    if (close == std::string::npos) return ctx.error(path, "bad endpoint '" + s + "'; " + form), false;
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string::npos) return ctx.error(path, "missing :PORT; " + form), false;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string::npos)
      return ctx.error(path, "write an IPv6 address in brackets: \"[" + host + "]:" + port + "\""), false;
  }
  if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), is_digit) ||
      std::stoul(port) < 1 || std::stoul(port) > 65535)
    return ctx.error(path, "bad port '" + port + "'; expected 1..65535"), false;
  const auto ip = IpAddress::parse(host);
  const bool v6_text = host.find(':') != std::string::npos;
  IpAddress v6_loopback;
  v6_loopback.v6 = true;
  v6_loopback.bytes[15] = 1;
  const bool loopback = ip && (v6_text ? *ip == v6_loopback : ip->bytes[0] == 127);
  if (!loopback)
    return ctx.error(path, "'" + host +
                               "' is not a loopback address; the metrics endpoint listens on "
                               "127.0.0.0/8 or [::1] only"),
           false;
  out = Endpoint{host, static_cast<std::uint16_t>(std::stoul(port))};
  return true;
}

}  // namespace conf::detail
