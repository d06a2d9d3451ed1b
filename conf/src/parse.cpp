// The parser: JSON text to a validated conf::Config, every problem collected in one pass.
//
// Each section is read by a function over an `Object` reader that remembers which keys the schema asked
// for; whatever else the object holds is reported as an unknown key (with the closest known key as a
// suggestion). A problem is recorded with its path and reading goes on with the default, so one typo does
// not hide the next. Cross-references (profiles, reinjection) are checked once every section is read.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "conf/config.hpp"
#include "values.hpp"

namespace conf {

namespace {

using json = nlohmann::ordered_json;

// ---- paths and messages ----

bool is_identifier(std::string_view key) {
  if (key.empty() || (key[0] >= '0' && key[0] <= '9')) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\u00";
      out += hex[(c >> 4) & 0xf];
      out += hex[c & 0xf];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string member_path(const std::string& base, std::string_view key) {
  return is_identifier(key) ? base + "." + std::string(key) : base + "[" + quoted(key) + "]";
}

std::string index_path(const std::string& base, std::size_t i) {
  return base + "[" + std::to_string(i) + "]";
}

std::string_view type_name(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "integer";
    case json::value_t::number_float:
      return "number";
    case json::value_t::string:
      return "string";
    case json::value_t::array:
      return "array";
    case json::value_t::object:
      return "object";
    default:
      return "value";
  }
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// "; did you mean 'x'?" for the closest candidate within a third of the word's length (at least 2 edits),
// else for a candidate the word abbreviates.
std::string suggestion(std::string_view word, const std::vector<std::string>& candidates) {
  std::string lw = ascii_lower(word);
  const std::string* best = nullptr;
  std::size_t best_d = std::max<std::size_t>(2, lw.size() / 3) + 1;
  for (const auto& c : candidates) {
    std::size_t d = edit_distance(lw, ascii_lower(c));
    if (d < best_d) best_d = d, best = &c;
  }
  if (best == nullptr && lw.size() >= 3)  // an abbreviation: "dir" for "directory"
    for (const auto& c : candidates)
      if (ascii_lower(c).starts_with(lw)) return "; did you mean '" + c + "'?";
  return best ? "; did you mean '" + *best + "'?" : "";
}

template <class E, std::size_t N>
std::vector<std::string> names_of(const std::pair<std::string_view, E> (&table)[N]) {
  std::vector<std::string> out;
  for (const auto& [name, value] : table) out.emplace_back(name);
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// ---- the reader ----

struct Ctx {
  std::vector<Issue> issues;
  void error(std::string path, std::string message) {
    issues.push_back({std::move(path), std::move(message)});
  }
  void wrong_type(const std::string& path, std::string_view expected, const json& got) {
    error(path, "expected " + std::string(expected) + ", got " + std::string(type_name(got)));
  }
};

// One JSON object of the schema. Absent (nullptr) reads as empty: every key takes its default.
class Object {
 public:
  Object(Ctx& ctx, const json* j, std::string path) : ctx_(ctx), j_(j), path_(std::move(path)) {
    if (j_ != nullptr && !j_->is_object()) {
      ctx_.wrong_type(path_, "an object", *j_);
      j_ = nullptr;
    }
  }
  Object(const Object&) = delete;
  Object& operator=(const Object&) = delete;
  ~Object() = default;

  Ctx& ctx() { return ctx_; }
  bool present() const { return j_ != nullptr; }
  const std::string& path() const { return path_; }
  std::string path_of(std::string_view key) const { return member_path(path_, key); }

  // The member `key` (now a known key of this object), or nullptr.
  const json* get(std::string_view key) {
    known_.emplace_back(key);
    if (j_ == nullptr) return nullptr;
    auto it = j_->find(key);
    return it == j_->end() ? nullptr : &it.value();
  }
  const json* require(std::string_view key) {
    const json* v = get(key);
    if (v == nullptr && j_ != nullptr) ctx_.error(path_of(key), "missing key (required)");
    return v;
  }

  // Reports the keys nobody asked for; "comment" is accepted anywhere and must be a string.
  void finish() {
    if (j_ == nullptr) return;
    for (const auto& [key, value] : j_->items()) {
      if (key == "comment") {
        if (!value.is_string()) ctx_.wrong_type(path_of(key), "a string", value);
      } else if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
        ctx_.error(path_of(key), "unknown key" + suggestion(key, known_));
      }
    }
  }

 private:
  Ctx& ctx_;
  const json* j_;
  std::string path_;
  std::vector<std::string> known_;
};

bool read_string(Object& o, std::string_view key, std::string& out, bool allow_empty = false) {
  const json* v = o.get(key);
  if (v == nullptr) return false;
  if (!v->is_string()) return o.ctx().wrong_type(o.path_of(key), "a string", *v), false;
  std::string s = v->get<std::string>();
  if (s.empty() && !allow_empty) return o.ctx().error(o.path_of(key), "must not be empty"), false;
  if (s.find('\0') != std::string::npos)
    return o.ctx().error(o.path_of(key), "contains a NUL character"), false;
  out = std::move(s);
  return true;
}

bool read_path(Object& o, std::string_view key, std::filesystem::path& out) {
  std::string s;
  if (!read_string(o, key, s)) return false;
  out = s;
  return true;
}

bool read_bool(Object& o, std::string_view key, bool& out) {
  const json* v = o.get(key);
  if (v == nullptr) return false;
  if (!v->is_boolean()) return o.ctx().wrong_type(o.path_of(key), "true or false", *v), false;
  out = v->get<bool>();
  return true;
}

template <class T>
bool read_integer(Object& o, std::string_view key, T& out, std::uint64_t min, std::uint64_t max) {
  const json* v = o.get(key);
  if (v == nullptr) return false;
  const std::string path = o.path_of(key);
  const std::string range = "out of range " + std::to_string(min) + ".." + std::to_string(max);
  if (!v->is_number_integer()) return o.ctx().wrong_type(path, "an integer", *v), false;
  if (!v->is_number_unsigned())
    return o.ctx().error(path, std::to_string(v->get<std::int64_t>()) + " " + range), false;
  auto n = v->get<std::uint64_t>();
  if (n < min || n > max) return o.ctx().error(path, std::to_string(n) + " " + range), false;
  out = static_cast<T>(n);
  return true;
}

std::string size_text(std::uint64_t n) {
  if (n != 0 && n % GiB == 0) return std::to_string(n / GiB) + "G";
  if (n != 0 && n % MiB == 0) return std::to_string(n / MiB) + "M";
  if (n != 0 && n % KiB == 0) return std::to_string(n / KiB) + "K";
  return std::to_string(n);
}

// A size: an integer (bytes) or a string "N", "NK", "NM", "NG" (binary multiples).
std::optional<std::uint64_t> size_value(Ctx& ctx, const json& v, const std::string& path, std::uint64_t min,
                                        std::uint64_t max) {
  std::optional<std::uint64_t> n;
  if (v.is_number_unsigned()) {
    n = v.get<std::uint64_t>();
  } else if (v.is_string()) {
    n = parse_size(v.get<std::string>());
    if (!n) {
      ctx.error(path, "bad size '" + v.get<std::string>() +
                          "'; expected bytes, or a number with K, M or G (e.g. \"4M\")");
      return std::nullopt;
    }
  } else if (v.is_number_integer()) {
    ctx.error(path, "size must not be negative");
    return std::nullopt;
  } else {
    ctx.wrong_type(path, "a size (integer bytes or a string like \"4M\")", v);
    return std::nullopt;
  }
  if (*n < min || *n > max) {
    ctx.error(path, "size " + size_text(*n) + " out of range " + size_text(min) + ".." + size_text(max));
    return std::nullopt;
  }
  return n;
}

bool read_size(Object& o, std::string_view key, std::uint64_t& out, std::uint64_t min, std::uint64_t max) {
  const json* v = o.get(key);
  if (v == nullptr) return false;
  auto n = size_value(o.ctx(), *v, o.path_of(key), min, max);
  if (n) out = *n;
  return n.has_value();
}

bool read_duration(Object& o, std::string_view key, std::chrono::seconds& out, std::chrono::seconds min,
                   std::chrono::seconds max) {
  const json* v = o.get(key);
  if (v == nullptr) return false;
  const std::string path = o.path_of(key);
  std::optional<std::chrono::seconds> d;
  if (v->is_number_unsigned()) {
    auto n = v->get<std::uint64_t>();
    if (n <= static_cast<std::uint64_t>(max.count()))
      d = std::chrono::seconds(static_cast<std::int64_t>(n));
    else
      d = max + std::chrono::seconds(1);
  } else if (v->is_string()) {
    d = parse_duration(v->get<std::string>());
    if (!d) {
      o.ctx().error(path, "bad duration '" + v->get<std::string>() +
                              "'; expected seconds, or a number with s, m, h or d (e.g. \"30s\")");
      return false;
    }
  } else {
    o.ctx().wrong_type(path, "a duration (integer seconds or a string like \"30s\")", *v);
    return false;
  }
  if (*d < min || *d > max) {
    o.ctx().error(path, "duration out of range " + std::to_string(min.count()) + "s.." +
                            std::to_string(max.count()) + "s");
    return false;
  }
  out = *d;
  return true;
}

template <class E, std::size_t N>
bool read_enum(Object& o, std::string_view key, E& out, const std::pair<std::string_view, E> (&table)[N]) {
  const json* v = o.get(key);
  if (v == nullptr) return false;
  auto names = names_of(table);
  if (!v->is_string()) return o.ctx().wrong_type(o.path_of(key), "one of: " + join(names), *v), false;
  const auto s = v->get<std::string>();
  for (const auto& [name, value] : table)
    if (name == s) return out = value, true;
  o.ctx().error(o.path_of(key), "unknown value '" + s + "'; expected one of: " + join(names));
  return false;
}

// An array of strings, each turned into T by `make` (which reports its own errors); empty arrays refused.
template <class T, class Make>
bool read_list(Object& o, std::string_view key, std::vector<T>& out, std::string_view what, Make make,
               bool allow_empty = true) {
  const json* v = o.get(key);
  if (v == nullptr) return false;
  const std::string path = o.path_of(key);
  if (!v->is_array()) return o.ctx().wrong_type(path, "an array of " + std::string(what), *v), false;
  if (v->empty() && !allow_empty)
    return o.ctx().error(path, "must not be empty (leave the key out to match everything)"), false;
  std::vector<T> items;
  bool ok = true;
  for (std::size_t i = 0; i < v->size(); ++i) {
    const json& item = (*v)[i];
    const std::string ipath = index_path(path, i);
    if (!item.is_string()) {
      o.ctx().wrong_type(ipath, std::string(what), item);
      ok = false;
      continue;
    }
    std::string why;
    if (auto t = make(item.get<std::string>(), &why))
      items.push_back(std::move(*t));
    else
      o.ctx().error(ipath, why), ok = false;
  }
  if (ok) out = std::move(items);
  return ok;
}

// ---- sections ----

void read_listen(Object& root, Listen& out) {
  std::string s;
  if (!read_string(root, "listen", s)) return;
  const std::string path = root.path_of("listen");
  Ctx& ctx = root.ctx();
  const std::string forms = "expected \"unix:PATH\", \"inet:PORT@HOST\" or \"inet6:PORT@HOST\"";
  Listen l;
  if (s.starts_with("unix:") || s.starts_with("local:")) {
    l.path = s.substr(s.find(':') + 1);
    if (l.path.empty()) return ctx.error(path, "empty socket path; " + forms);
    if (l.path.size() > 107)
      return ctx.error(path, "socket path longer than 107 bytes (the limit of sun_path)");
    out = l;
    return;
  }
  bool v6 = s.starts_with("inet6:");
  if (!v6 && !s.starts_with("inet:")) return ctx.error(path, "bad socket '" + s + "'; " + forms);
  std::string rest = s.substr(v6 ? 6 : 5);
  auto at = rest.find('@');
  if (at == std::string::npos)
    return ctx.error(path, "missing @HOST; " + forms + " (give the address to listen on)");
  std::string port = rest.substr(0, at), host = rest.substr(at + 1);
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoul(port) < 1 || std::stoul(port) > 65535)
    return ctx.error(path, "bad port '" + port + "'; expected 1..65535");
  if (v6 && host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) return ctx.error(path, "empty host; " + forms);
  if (host.find_first_of(" \t[]@/") != std::string::npos) return ctx.error(path, "bad host '" + host + "'");
  auto ip = IpAddress::parse(host);
  if (!v6 && host.find(':') != std::string::npos)
    return ctx.error(path, "IPv6 address with inet:; write \"inet6:" + port + "@[" + host + "]\"");
  if (v6 && host.find(':') != std::string::npos && !(ip && ip->v6))
    return ctx.error(path, "bad IPv6 address '" + host + "'");
  l.kind = v6 ? Listen::Kind::inet6 : Listen::Kind::inet;
  l.path.clear();
  l.host = host;
  l.port = static_cast<std::uint16_t>(std::stoul(port));
  out = l;
}

void read_spool(Ctx& ctx, const json* j, Spool& out) {
  Object o(ctx, j, "$.spool");
  read_path(o, "directory", out.directory);
  read_size(o, "memory_limit", out.memory_limit, 0, 1 * GiB);
  o.finish();
}

void read_keystore(Ctx& ctx, const json* j, Keystore& out) {
  Object o(ctx, j, "$.keystore");
  read_path(o, "path", out.path);
  o.finish();
}

void read_log(Ctx& ctx, const json* j, Log& out) {
  Object o(ctx, j, "$.log");
  read_enum(o, "level", out.level, names::log_level);
  read_bool(o, "foreground_stderr", out.foreground_stderr);
  o.finish();
}

void read_direction(Ctx& ctx, const json* j, Direction& out) {
  Object o(ctx, j, "$.direction");
  read_list(o, "internal_networks", out.internal_networks, "CIDR networks (strings)",
            [](const std::string& s, std::string* why) { return Cidr::parse(s, why); });
  read_list(o, "internal_domains", out.internal_domains, "domains (strings)",
            [](const std::string& s, std::string* why) { return DomainPattern::parse(s, why); });
  read_bool(o, "authenticated_is_outbound", out.authenticated_is_outbound);
  o.finish();
}

// "sender-domain", "sender-address", or a SHA-256 fingerprint (64 hex digits, colons and case free).
bool read_signing_identity(Object& o, SigningIdentity& out) {
  std::string s;
  if (!read_string(o, "signing_identity", s)) return false;
  if (s == "sender-domain") return out = {SigningIdentity::Kind::sender_domain, {}}, true;
  if (s == "sender-address") return out = {SigningIdentity::Kind::sender_address, {}}, true;
  std::string hex;
  bool ok = true;
  for (char c : s) {
    if (c == ':') continue;
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
      hex += static_cast<char>(c >= 'a' ? c - 'a' + 'A' : c);
    else
      ok = false;
  }
  if (!ok || hex.size() != 64) {
    o.ctx().error(
        o.path_of("signing_identity"),
        "unknown value '" + s +
            "'; expected \"sender-domain\", \"sender-address\" or a SHA-256 certificate fingerprint "
            "(64 hex digits, colons optional)");
    return false;
  }
  std::string fp;
  for (std::size_t i = 0; i < hex.size(); i += 2) fp += (i ? ":" : "") + hex.substr(i, 2);
  out = {SigningIdentity::Kind::fingerprint, fp};
  return true;
}

Profile read_profile(Ctx& ctx, const json& j, const std::string& path, const std::string& name) {
  Object o(ctx, &j, path);
  Profile p;
  p.name = name;
  if (o.present() && o.require("mode") != nullptr) read_enum(o, "mode", p.mode, names::mode);
  read_enum(o, "sign_mode", p.sign_mode, names::sign_mode);
  read_signing_identity(o, p.signing_identity);
  read_enum(o, "digest", p.digest, names::digest);
  read_enum(o, "rsa_signature_padding", p.rsa_signature_padding, names::rsa_signature_padding);
  read_enum(o, "cipher", p.cipher, names::cipher);
  read_enum(o, "rsa_key_transport", p.rsa_key_transport, names::rsa_key_transport);
  read_enum(o, "missing_certificate", p.missing_certificate, names::missing_certificate);
  o.finish();
  return p;
}

using ProfileMap = std::map<std::string, std::shared_ptr<const Profile>, std::less<>>;

ProfileMap read_profiles(Ctx& ctx, const json* j) {
  ProfileMap out;
  auto none = std::make_shared<Profile>();
  none->name = "none";
  none->mode = Mode::none;
  out.emplace("none", std::move(none));
  if (j == nullptr) return out;
  if (!j->is_object()) return ctx.wrong_type("$.profiles", "an object (profile name: profile)", *j), out;
  for (const auto& [name, value] : j->items()) {
    const std::string path = member_path("$.profiles", name);
    if (name == "comment") {
      if (!value.is_string()) ctx.wrong_type(path, "a string", value);
      continue;
    }
    if (name == "none") {
      ctx.error(path, "'none' is the built-in profile that leaves messages unchanged; choose another name");
      continue;
    }
    if (name.empty()) {
      ctx.error(path, "empty profile name");
      continue;
    }
    out.emplace(name, std::make_shared<const Profile>(read_profile(ctx, value, path, name)));
  }
  return out;
}

// The profile named by the string at `key`, or nullptr (reported) when it is not defined.
std::shared_ptr<const Profile> resolve_profile(Object& o, std::string_view key, const ProfileMap& profiles,
                                               bool required, std::string fallback = {}) {
  std::string name = std::move(fallback);
  bool given = required ? (o.require(key) != nullptr && read_string(o, key, name))
                        : (read_string(o, key, name) || !name.empty());
  if (!given) return nullptr;
  auto it = profiles.find(name);
  if (it != profiles.end()) return it->second;
  std::vector<std::string> defined;
  for (const auto& [n, p] : profiles) defined.push_back(n);
  std::string hint = suggestion(name, defined);
  o.ctx().error(o.path_of(key),
                "no profile named '" + name + "'" + (hint.empty() ? "; defined: " + join(defined) : hint));
  return nullptr;
}

std::optional<HeaderCondition> read_header_condition(Ctx& ctx, const json& j, const std::string& path) {
  Object o(ctx, &j, path);
  if (!o.present()) return std::nullopt;
  HeaderCondition h;
  bool ok = true;
  if (o.require("name") != nullptr) {
    if (read_string(o, "name", h.name)) {
      for (char c : h.name)
        if (static_cast<unsigned char>(c) < 33 || static_cast<unsigned char>(c) > 126 || c == ':') {
          ctx.error(o.path_of("name"), "not a header field name (printable ASCII, no space or colon)");
          ok = false;
          break;
        }
    } else {
      ok = false;
    }
  } else {
    ok = false;
  }
  static constexpr std::pair<std::string_view, HeaderCondition::Kind> kinds[] = {
      {"contains", HeaderCondition::Kind::contains},
      {"equals", HeaderCondition::Kind::equals},
      {"regex", HeaderCondition::Kind::regex}};
  int given = 0;
  for (const auto& [key, kind] : kinds) {
    const json* v = o.get(key);
    if (v == nullptr) continue;
    ++given;
    if (!read_string(o, key, h.text, kind == HeaderCondition::Kind::equals)) ok = false;
    h.kind = kind;
  }
  read_bool(o, "ignore_case", h.ignore_case);
  if (given != 1) {
    ctx.error(path, "give exactly one of 'contains', 'equals', 'regex'");
    ok = false;
  } else if (ok && h.kind == HeaderCondition::Kind::regex &&
             h.text.size() > HeaderCondition::regex_source_limit) {
    ctx.error(o.path_of("regex"),
              "longer than " + std::to_string(HeaderCondition::regex_source_limit) + " characters");
    ok = false;
  } else if (ok && h.kind == HeaderCondition::Kind::regex) {
    try {
      auto flags = std::regex::ECMAScript | std::regex::optimize;
      if (h.ignore_case) flags |= std::regex::icase;
      h.regex = std::regex(h.text, flags);
    } catch (const std::regex_error& e) {
      ctx.error(o.path_of("regex"), std::string("invalid regular expression: ") + e.what());
      ok = false;
    }
  }
  o.finish();
  if (!ok) return std::nullopt;
  return h;
}

RuleMatch read_match(Ctx& ctx, const json* j, const std::string& path) {
  Object o(ctx, j, path);
  RuleMatch m;
  auto address = [](const std::string& s, std::string* why) { return AddressPattern::parse(s, why); };
  read_list(o, "sender", m.sender, "address patterns (strings)", address, false);
  read_list(o, "recipient", m.recipient, "address patterns (strings)", address, false);
  if (const json* h = o.get("header")) {
    const std::string hpath = o.path_of("header");
    if (!h->is_array()) {
      ctx.wrong_type(hpath, "an array of header conditions", *h);
    } else if (h->empty()) {
      ctx.error(hpath, "must not be empty (leave the key out to match everything)");
    } else {
      for (std::size_t i = 0; i < h->size(); ++i)
        if (auto c = read_header_condition(ctx, (*h)[i], index_path(hpath, i)))
          m.header.push_back(std::move(*c));
    }
  }
  std::uint64_t n = 0;
  if (read_size(o, "size_min", n, 0, 64 * GiB)) m.size_min = n;
  if (read_size(o, "size_max", n, 0, 64 * GiB)) m.size_max = n;
  if (m.size_min && m.size_max && *m.size_min > *m.size_max)
    ctx.error(o.path_of("size_min"),
              "greater than size_max (" + size_text(*m.size_max) + "): the rule can never match");
  o.finish();
  return m;
}

void read_outbound(Ctx& ctx, const json* j, const ProfileMap& profiles, Outbound& out) {
  Object o(ctx, j, "$.outbound");
  read_bool(o, "skip_already_protected", out.skip_already_protected);
  if (const json* rules = o.get("rules")) {
    const std::string rpath = o.path_of("rules");
    if (!rules->is_array()) {
      ctx.wrong_type(rpath, "an array of rules", *rules);
    } else {
      for (std::size_t i = 0; i < rules->size(); ++i) {
        const std::string path = index_path(rpath, i);
        Object r(ctx, &(*rules)[i], path);
        if (!r.present()) continue;
        Rule rule;
        rule.name = "rules[" + std::to_string(i) + "]";
        read_string(r, "name", rule.name);
        rule.match = read_match(ctx, r.get("match"), r.path_of("match"));
        rule.profile = resolve_profile(r, "profile", profiles, true);
        r.finish();
        if (rule.profile) out.rules.push_back(std::move(rule));
      }
    }
  }
  out.default_profile = resolve_profile(o, "default_profile", profiles, false, "none");
  if (!out.default_profile) out.default_profile = profiles.at("none");
  o.finish();
}

void read_failure_actions(Ctx& ctx, const json* j, FailureActions& out) {
  Object o(ctx, j, "$.failure_actions");
  read_enum(o, "internal", out.internal, names::action);
  read_enum(o, "keystore", out.keystore, names::action);
  read_enum(o, "no_certificate", out.no_certificate, names::action);
  read_enum(o, "bad_input", out.bad_input, names::action);
  read_enum(o, "signing", out.signing, names::action);
  o.finish();
}

void read_reinjection(Ctx& ctx, const json* j, std::optional<Reinjection>& out) {
  Object o(ctx, j, "$.reinjection");
  if (!o.present()) return;
  Reinjection r;
  read_string(o, "host", r.host);
  read_integer(o, "port", r.port, 1, 65535);
  read_duration(o, "timeout", r.timeout, std::chrono::seconds(1), std::chrono::seconds(3600));
  o.finish();
  out = r;
}

void read_limits(Ctx& ctx, const json* j, Limits& out) {
  Object o(ctx, j, "$.limits");
  read_size(o, "max_message_size", out.max_message_size, 64 * KiB, 64 * GiB);
  read_integer(o, "mime_depth", out.mime_depth, 1, 1000);
  read_integer(o, "mime_parts", out.mime_parts, 1, 1000000);
  o.finish();
}

// Why `s` is not usable as a header field name we write, or "" when it is.
std::string header_name_problem(const std::string& s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) < 33 || static_cast<unsigned char>(c) > 126 || c == ':')
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

// A header field name we write; "" (turned off) allowed.
void read_header_name(Object& o, std::string_view key, std::string& out) {
  std::string s = out;
  if (!read_string(o, key, s, true)) return;
  if (std::string why = header_name_problem(s); !why.empty()) return o.ctx().error(o.path_of(key), why);
  out = s;
}

void read_trace_header(Object& root, std::string& out) { read_header_name(root, "trace_header", out); }

// The machine's host name: the default authserv-id.
std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

// An RFC 8601 authserv-id is a `value` (a token or quoted string); we accept what is a token and a
// domain-like name: letters, digits and ".-_".
bool valid_authserv_id(const std::string& s) {
  return !s.empty() && s.size() <= 255 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
  });
}

void read_inbound(Ctx& ctx, const json* j, Inbound& out) {
  Object o(ctx, j, "$.inbound");
  read_bool(o, "decrypt", out.decrypt);
  read_bool(o, "verify", out.verify);
  read_bool(o, "remove_signature", out.remove_signature);
  if (read_string(o, "authserv_id", out.authserv_id) && !valid_authserv_id(out.authserv_id))
    ctx.error(o.path_of("authserv_id"), "not a host-name-like token (letters, digits, '.', '-', '_')");
  if (out.authserv_id.empty()) out.authserv_id = host_name();
  {
    Object h(ctx, o.get("headers"), o.path_of("headers"));
    read_header_name(h, "smime", out.headers.smime);
    read_header_name(h, "decrypted", out.headers.decrypted);
    read_header_name(h, "verified", out.headers.verified);
    h.finish();
  }
  {
    Object a(ctx, o.get("actions"), o.path_of("actions"));
    read_enum(a, "fail", out.actions.fail, names::inbound_action);
    read_enum(a, "permerror", out.actions.permerror, names::inbound_action);
    read_enum(a, "temperror", out.actions.temperror, names::inbound_action);
    read_enum(a, "undecryptable", out.actions.undecryptable, names::inbound_action);
    read_enum(a, "unauthenticated", out.actions.unauthenticated, names::inbound_action);
    a.finish();
  }
  {
    Object h(ctx, o.get("harvest"), o.path_of("harvest"));
    read_bool(h, "enabled", out.harvest.enabled);
    read_bool(h, "unverified", out.harvest.unverified);
    read_bool(h, "updates", out.harvest.updates);
    read_size(h, "size_limit", out.harvest.size_limit, 1 * MiB, 1024 * GiB);
    read_duration(h, "warning_window", out.harvest.warning_window, std::chrono::seconds(0),
                  std::chrono::seconds(365LL * 86400));
    h.finish();
  }
  o.finish();
}

void read_revocation(Ctx& ctx, const json* j, Revocation& out) {
  Object o(ctx, j, "$.revocation");
  read_bool(o, "enabled", out.enabled);
  std::vector<RevocationMethod> order;
  if (const json* v = o.get("order"); v != nullptr && v->is_array() && v->empty()) {
    ctx.error(o.path_of("order"),
              "must name at least one method (\"ocsp\", \"crl\"); to check nothing set "
              "revocation.enabled to false");
  } else if (read_list(
                 o, "order", order, "\"ocsp\" or \"crl\"",
                 [](const std::string& s, std::string* why) -> std::optional<RevocationMethod> {
                   for (const auto& [name, value] : names::revocation_method)
                     if (name == s) return value;
                   *why = "unknown method '" + s + "'; expected \"ocsp\" or \"crl\"";
                   return std::nullopt;
                 },
                 false)) {
    std::set<RevocationMethod> seen(order.begin(), order.end());
    if (seen.size() != order.size())
      ctx.error(o.path_of("order"), "a method is named twice");
    else
      out.order = std::move(order);
  }
  read_enum(o, "encrypt", out.encrypt, names::undetermined);
  read_enum(o, "verify", out.verify, names::undetermined);
  {
    const json* v = o.get("no_distribution_point");
    if (v != nullptr) {
      if (v->is_string() && v->get<std::string>() == "good")
        out.no_distribution_point_is_good = true;
      else if (v->is_string() && v->get<std::string>() == "undetermined")
        out.no_distribution_point_is_good = false;
      else
        ctx.error(o.path_of("no_distribution_point"), "expected one of: undetermined, good");
    }
  }
  read_duration(o, "connect_timeout", out.connect_timeout, std::chrono::seconds(1),
                std::chrono::seconds(300));
  read_duration(o, "timeout", out.timeout, std::chrono::seconds(1), std::chrono::seconds(600));
  read_size(o, "max_crl_size", out.max_crl_size, 1 * KiB, 1 * GiB);
  read_size(o, "max_ocsp_size", out.max_ocsp_size, 1 * KiB, 16 * MiB);
  read_string(o, "proxy", out.proxy, true);
  read_duration(o, "clock_skew", out.clock_skew, std::chrono::seconds(0), std::chrono::seconds(86400));
  read_duration(o, "ocsp_max_age", out.ocsp_max_age, std::chrono::seconds(60),
                std::chrono::seconds(365LL * 86400));
  read_duration(o, "crl_grace", out.crl_grace, std::chrono::seconds(0), std::chrono::seconds(365LL * 86400));
  read_duration(o, "negative_cache", out.negative_cache, std::chrono::seconds(0),
                std::chrono::seconds(86400));
  read_path(o, "cache_directory", out.cache_directory);
  if (out.connect_timeout > out.timeout)
    ctx.error(o.path_of("connect_timeout"), "greater than revocation.timeout");
  o.finish();
}

// ---- JSON syntax: errors with line and column, duplicate keys ----

struct Frame {
  bool array = false;
  std::set<std::string> keys;
  std::string key;
  std::size_t index = 0;
};

std::string frames_path(const std::vector<Frame>& frames, std::size_t upto) {
  std::string path = "$";
  for (std::size_t i = 0; i + 1 < upto; ++i)
    path = frames[i].array ? index_path(path, frames[i].index) : member_path(path, frames[i].key);
  return path;
}

std::optional<json> parse_json(Ctx& ctx, std::string_view text) {
  std::vector<Frame> frames;
  auto callback = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        frames.push_back(Frame{event == json::parse_event_t::array_start, {}, {}, 0});
        break;
      case json::parse_event_t::key: {
        Frame& f = frames.back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second)
          ctx.error(member_path(frames_path(frames, frames.size()), f.key), "duplicate key");
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        frames.pop_back();
        if (!frames.empty() && frames.back().array) ++frames.back().index;
        break;
      case json::parse_event_t::value:
        if (!frames.empty() && frames.back().array) ++frames.back().index;
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), callback);
  } catch (const json::parse_error& e) {
    // e.byte is the 1-based offset of the byte where parsing failed.
    std::size_t end = std::min<std::size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < end; ++i) {
      if (text[i] == '\n')
        ++line, column = 1;
      else
        ++column;
    }
    std::string what = e.what();
    if (auto col = what.find("column "); col != std::string::npos) {
      if (auto colon = what.find(": ", col); colon != std::string::npos) what = what.substr(colon + 2);
    } else if (auto bracket = what.find("] "); bracket != std::string::npos) {
      what = what.substr(bracket + 2);
    }
    ctx.error("$", "JSON syntax error at line " + std::to_string(line) + ", column " +
                       std::to_string(column) + ": " + what);
    return std::nullopt;
  } catch (const json::out_of_range& e) {
    // A number too large for a double (1e309) is reported apart, without a position.
    std::string what = e.what();
    if (auto bracket = what.find("] "); bracket != std::string::npos) what = what.substr(bracket + 2);
    ctx.error("$", "JSON syntax error: " + what);
    return std::nullopt;
  }
}

}  // namespace

ConfigError::ConfigError(std::string origin, std::vector<Issue> issues)
    : std::runtime_error([&] {
        std::string text;
        for (const auto& i : issues)
          text += (text.empty() ? "" : "\n") + origin + ": " + i.path + ": " + i.message;
        return text;
      }()),
      origin_(std::move(origin)),
      issues_(std::move(issues)) {}

const Profile* Config::find_profile(std::string_view name) const {
  auto it = profiles.find(name);
  return it == profiles.end() ? nullptr : it->second.get();
}

Config parse(std::string_view json_text, std::string_view origin) {
  Ctx ctx;
  std::optional<json> doc = parse_json(ctx, json_text);
  if (!doc) throw ConfigError(std::string(origin), std::move(ctx.issues));

  Config c;
  c.origin = origin;
  Object root(ctx, &*doc, "$");
  if (root.present()) {
    read_listen(root, c.listen);
    read_spool(ctx, root.get("spool"), c.spool);
    read_keystore(ctx, root.get("keystore"), c.keystore);
    read_log(ctx, root.get("log"), c.log);
    read_direction(ctx, root.get("direction"), c.direction);
    c.profiles = read_profiles(ctx, root.get("profiles"));
    read_outbound(ctx, root.get("outbound"), c.profiles, c.outbound);
    read_failure_actions(ctx, root.get("failure_actions"), c.failure_actions);
    read_reinjection(ctx, root.get("reinjection"), c.reinjection);
    read_trace_header(root, c.trace_header);
    read_limits(ctx, root.get("limits"), c.limits);
    read_inbound(ctx, root.get("inbound"), c.inbound);
    read_revocation(ctx, root.get("revocation"), c.revocation);
    root.finish();

    // Cross-checks once everything is read.
    if (!c.reinjection) {
      for (const auto& [name, p] : c.profiles)
        if (p->encrypts() && p->missing_certificate == MissingCertificate::split)
          ctx.error(member_path(member_path("$.profiles", name), "missing_certificate"),
                    "'split' needs the 'reinjection' section (where the unencrypted copy is submitted)");
    }
    if (c.spool.memory_limit > c.limits.max_message_size)
      ctx.error("$.spool.memory_limit",
                "greater than limits.max_message_size (" + size_text(c.limits.max_message_size) + ")");
  } else {
    c.profiles = read_profiles(ctx, nullptr);
    read_inbound(ctx, nullptr, c.inbound);
  }
  if (!ctx.issues.empty()) throw ConfigError(std::string(origin), std::move(ctx.issues));
  if (!c.outbound.default_profile) c.outbound.default_profile = c.profiles.at("none");
  return c;
}

Config load(const std::filesystem::path& file) {
  const std::string origin = file.string();
  auto fail = [&](const std::string& why) {
    return ConfigError(origin, {{"$", "cannot read the file: " + why}});
  };
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) throw fail("is a directory");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw fail(std::strerror(errno));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw fail(std::strerror(errno));
  return parse(text, origin);
}

}  // namespace conf
