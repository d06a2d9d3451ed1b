// The parser: JSON text to a validated conf::Config, every problem collected in one pass.
//
// Each section is read over an `Object` (reader.hpp) tied to its place in the key table: scalar keys are
// read through their rows (read_fields, read_key: type, bounds, default), composite ones (listen, lists,
// profiles, rules, header conditions) by the functions below. A problem is recorded with its path and
// reading goes on with the default, so one typo does not hide the next. Cross-references (profiles,
// reinjection, keystore and revocation cache) are checked once every section is read.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

#include "conf/config.hpp"
#include "table.hpp"
#include "values.hpp"

namespace conf {

namespace detail {
namespace {

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

// A section of scalar keys only.
template <class S>
void read_section(Object& root, std::string_view key, S& out) {
  Object o(root, key);
  read_fields(o, out);
  o.finish();
}

// With a url the keystore is PostgreSQL: the SQLite file is then not used and must not be configured.
void read_keystore(Object& root, Keystore& out) {
  Object o(root, "keystore");
  read_fields(o, out);
  Ctx& ctx = o.ctx();
  if (!out.url.empty() && o.given("path"))
    ctx.error(o.path_of("path"),
              "not allowed with keystore.url (the keystore is then PostgreSQL): give one of "
              "keystore.path and keystore.url");
  if (out.url.empty() && !out.read_url.empty())
    ctx.error(o.path_of("read_url"),
              "needs keystore.url (it names a read replica of the PostgreSQL keystore)");
  if (!out.key_passphrase_file.empty() && !out.key_passphrase_credential.empty())
    ctx.error(o.path_of("key_passphrase_credential"),
              "not allowed with keystore.key_passphrase_file: give one of them");
  o.finish();
}

void read_direction(Object& root, DirectionRules& out) {
  Object o(root, "direction");
  read_list(o, "internal_networks", out.internal_networks, "CIDR networks (strings)",
            [](const std::string& s, std::string* why) { return Cidr::parse(s, why); });
  read_list(o, "internal_domains", out.internal_domains, "domains (strings)",
            [](const std::string& s, std::string* why) { return DomainPattern::parse(s, why); });
  read_fields(o, out);
  o.finish();
}

Profile read_profile(Ctx& ctx, const json& j, const std::string& path, const std::string& name) {
  Object o(ctx, &j, path, "profiles.*");
  Profile p;
  p.name = name;
  read_fields(o, p);
  o.finish();
  return p;
}

using ProfileMap = std::map<std::string, std::shared_ptr<const Profile>, std::less<>>;

ProfileMap read_profiles(Object& root) {
  ProfileMap out;
  auto none = std::make_shared<Profile>();
  none->name = "none";
  none->mode = Mode::none;
  out.emplace("none", std::move(none));
  Ctx& ctx = root.ctx();
  const json* j = root.get("profiles");
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

// The profile named by the string at `key` (given or the table's default), or nullptr (reported) when it
// is not defined.
std::shared_ptr<const Profile> resolve_profile(Object& o, std::string_view key, const ProfileMap& profiles) {
  std::string name;
  const bool given = o.row(key).required ? (o.require(key) != nullptr && read_string(o, key, name))
                                         : read_string(o, key, name);
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

// Why a regex source is refused before it is compiled: the bounds that keep libstdc++'s compiler (it
// recurses per term and group, and reads numbers without an overflow check) within a thread's stack.
std::optional<std::string> regex_source_problem(std::string_view source) {
  if (source.size() > HeaderCondition::regex_source_limit)
    return "longer than " + std::to_string(HeaderCondition::regex_source_limit) + " characters";
  const RegexShape shape = regex_shape(source);
  if (shape.group_depth > HeaderCondition::regex_group_depth_limit)
    return "groups nested deeper than " + std::to_string(HeaderCondition::regex_group_depth_limit);
  if (shape.longest_count > HeaderCondition::regex_count_digits_limit)
    return "a backreference or repetition count of more than " +
           std::to_string(HeaderCondition::regex_count_digits_limit) + " digits";
  return std::nullopt;
}

std::optional<HeaderCondition> read_header_condition(Ctx& ctx, const json& j, const std::string& path,
                                                     const std::string& schema) {
  Object o(ctx, &j, path, schema);
  if (!o.present()) return std::nullopt;
  HeaderCondition h;
  bool ok = read_key(o, "name", h);
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
  read_key(o, "ignore_case", h);
  if (given != 1) {
    ctx.error(path, "give exactly one of 'contains', 'equals', 'regex'");
    ok = false;
  } else if (ok && h.kind == HeaderCondition::Kind::regex) {
    if (std::optional<std::string> problem = regex_source_problem(h.text)) {
      ctx.error(o.path_of("regex"), *problem);
      ok = false;
    }
  }
  if (ok && h.kind == HeaderCondition::Kind::regex) {
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

RuleMatch read_match(Object& rule) {
  Object o(rule, "match");
  Ctx& ctx = o.ctx();
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
        if (auto c = read_header_condition(ctx, (*h)[i], index_path(hpath, i), o.schema() + ".header[*]"))
          m.header.push_back(std::move(*c));
    }
  }
  read_fields(o, m);
  if (m.size_min && m.size_max && *m.size_min > *m.size_max)
    ctx.error(o.path_of("size_min"),
              "greater than size_max (" + size_text(*m.size_max) + "): the rule can never match");
  o.finish();
  return m;
}

void read_outbound(Object& root, const ProfileMap& profiles, Outbound& out) {
  Object o(root, "outbound");
  Ctx& ctx = o.ctx();
  read_fields(o, out);
  if (const json* rules = o.get_or_default("rules")) {
    const std::string rpath = o.path_of("rules");
    if (!rules->is_array()) {
      ctx.wrong_type(rpath, "an array of rules", *rules);
    } else {
      for (std::size_t i = 0; i < rules->size(); ++i) {
        Object r(ctx, &(*rules)[i], index_path(rpath, i), "outbound.rules[*]");
        if (!r.present()) continue;
        Rule rule;
        rule.name = "rules[" + std::to_string(i) + "]";
        read_key(r, "name", rule);
        rule.match = read_match(r);
        rule.profile = resolve_profile(r, "profile", profiles);
        r.finish();
        if (rule.profile) out.rules.push_back(std::move(rule));
      }
    }
  }
  out.default_profile = resolve_profile(o, "default_profile", profiles);
  if (!out.default_profile) out.default_profile = profiles.at("none");
  o.finish();
}

void read_reinjection(Object& root, std::optional<Reinjection>& out) {
  Object o(root, "reinjection");
  if (!o.present()) return;
  Reinjection r;
  read_fields(o, r);
  o.finish();
  out = r;
}

// The machine's host name: the default authserv-id.
std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

void read_inbound(Object& root, Inbound& out) {
  Object o(root, "inbound");
  read_fields(o, out);
  if (out.authserv_id.empty()) out.authserv_id = host_name();
  read_section(o, "headers", out.headers);
  read_section(o, "actions", out.actions);
  read_section(o, "harvest", out.harvest);
  read_section(o, "algorithms", out.algorithms);
  o.finish();
}

void read_revocation(Object& root, Revocation& out) {
  Object o(root, "revocation");
  Ctx& ctx = o.ctx();
  read_fields(o, out);
  std::vector<RevocationMethod> order;
  if (const json* v = o.get_or_default("order"); v != nullptr && v->is_array() && v->empty()) {
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
  if (out.connect_timeout > out.timeout)
    ctx.error(o.path_of("connect_timeout"), "greater than revocation.timeout");
  o.finish();
}

// Checks between sections, once everything is read.
void cross_check(Ctx& ctx, const Config& c) {
  if (!c.reinjection) {
    for (const auto& [name, p] : c.profiles)
      if (p->encrypts() && p->missing_certificate == MissingCertificate::split)
        ctx.error(member_path(member_path("$.profiles", name), "missing_certificate"),
                  "'split' needs the 'reinjection' section (where the unencrypted copy is submitted)");
  }
  if (c.spool.memory_limit > c.limits.max_message_size)
    ctx.error("$.spool.memory_limit",
              "greater than limits.max_message_size (" + size_text(c.limits.max_message_size) + ")");
  if (c.revocation.cache == RevocationCache::keystore && !c.keystore.postgres())
    ctx.error("$.revocation.cache",
              "'keystore' needs keystore.url (the cache is shared through the PostgreSQL keystore)");
}

void read_config(Object& root, Config& c) {
  read_listen(root, c.listen);
  read_fields(root, c);
  read_section(root, "daemon", c.daemon);
  read_section(root, "spool", c.spool);
  read_keystore(root, c.keystore);
  read_section(root, "log", c.log);
  read_direction(root, c.direction);
  c.profiles = read_profiles(root);
  read_outbound(root, c.profiles, c.outbound);
  read_section(root, "failure_actions", c.failure_actions);
  read_reinjection(root, c.reinjection);
  read_section(root, "limits", c.limits);
  read_inbound(root, c.inbound);
  read_revocation(root, c.revocation);
  read_section(root, "metrics", c.metrics);
  root.finish();
  cross_check(root.ctx(), c);
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
}  // namespace detail

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
  detail::Ctx ctx;
  std::optional<detail::json> doc = detail::parse_json(ctx, json_text);
  if (!doc) throw ConfigError(std::string(origin), std::move(ctx.issues));

  Config c;
  c.origin = origin;
  detail::Object root(ctx, &*doc, "$", "");
  if (root.present()) detail::read_config(root, c);  // else the root's type is the error
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
