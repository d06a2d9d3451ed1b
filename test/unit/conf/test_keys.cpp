// The key table behind conf::keys(): the parser reads every key of it at the path it names and nothing
// outside it, config.hpp's initialisers equal its defaults, man/smime-milter.json.5 documents every key
// with the table's type, bounds and default, and the key list text.
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "conf/keys.hpp"
#include "conf_test_support.hpp"
#include "table.hpp"  // conf's internal rows: the members and readers behind conf::keys()

namespace {

using nlohmann::json;
using test::dump;
using test::errors_of;
using test::has;

// A key's path with a profile named "p" and the first array element: "$.profiles.p.mode".
std::string concrete(std::string path) {
  for (std::size_t at; (at = path.find("[*]")) != std::string::npos;) path.replace(at, 3, "[0]");
  if (path.starts_with("profiles.*.")) path.replace(9, 1, "p");
  return "$." + path;
}

// `doc` with `value` at the key `path`, creating the objects and first array elements on the way.
void put(json& doc, const std::string& path, const json& value) {
  json* node = &doc;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part == "*") part = "p";
    if (dot == std::string::npos) {
      if (!(*node)[part].is_object() && !(*node)[part].is_array()) (*node)[part] = value;
      return;
    }
    if (part.ends_with("[*]")) {
      json& array = (*node)[part.substr(0, part.size() - 3)];
      if (!array.is_array()) array = json::array();
      if (array.empty() || !array[0].is_object()) array[0] = json::object();
      node = &array[0];
    } else {
      json& object = (*node)[part];
      if (!object.is_object()) object = json::object();
      node = &object;
    }
    start = dot + 1;
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// ---- the man page's key headings ----

// Roff text as the reader sees it, without spaces and quotes: "\fB4M\fR \(dqx\(dq" gives "4Mx".
std::string flatten_text(std::string line) {
  static const std::pair<std::string, std::string> escapes[] = {{"\\(dq", "\""}, {"\\e", "\\"}, {"\\-", "-"},
                                                                {"\\fB", ""},    {"\\fI", ""},  {"\\fR", ""},
                                                                {"\\fP", ""},    {"\\&", ""},   {"\\ ", " "}};
  for (const auto& [from, to] : escapes)
    for (std::size_t at; (at = line.find(from)) != std::string::npos;) line.replace(at, from.size(), to);
  std::string out;
  for (char c : line)
    if (c != ' ' && c != '\t' && c != '"') out += c;
  return out;
}

// A roff line without its macro: ".BR a \" (size, default \" 4M )" gives "a(size,default4M)".
std::string flatten(std::string line) {
  if (line.starts_with(".")) {
    const auto space = line.find(' ');
    line = space == std::string::npos ? "" : line.substr(space + 1);
  }
  return flatten_text(line);
}

struct Heading {
  std::vector<std::string> names;  // the keys it documents
  std::string rest;                // flattened text from the "(": type, bounds, default
  bool section = false;            // a .SS heading (documents an object by name only)
  bool in_keys = false;            // in the KEYS section
};

std::vector<Heading> man_headings(const std::string& text) {
  std::vector<Heading> out;
  std::istringstream in(text);
  std::string line, previous, section;
  while (std::getline(in, line)) {
    if (line.starts_with(".SH ")) section = line.substr(4);
    Heading h;
    h.in_keys = section == "KEYS";
    if (line.starts_with(".SS ")) {
      h.section = true;
      h.names.push_back(flatten(line));
      out.push_back(h);
    } else if (previous == ".TP") {
      const std::string flat = flatten(line);
      const auto open = flat.find('(');
      h.rest = open == std::string::npos ? "" : flat.substr(open);
      std::stringstream names(flat.substr(0, open));
      for (std::string name; std::getline(names, name, ',');) h.names.push_back(name);
      out.push_back(h);
    }
    previous = line;
  }
  return out;
}

bool numeric_or_enum(const std::string& type) {
  return type == "integer" || type == "size" || type == "duration" || type == "enum";
}

}  // namespace

TEST_CASE("every key of the table is read by the parser at its path", "[conf][keys]") {
  // A value of the wrong type at each key: the parser must report it there (a key it did not read would
  // be "unknown"; a key it reads but the table lacks throws std::logic_error out of parse()).
  for (const conf::KeySpec& k : conf::keys()) {
    const bool object = k.type.starts_with("object");
    json doc = json::object();
    put(doc, k.path, object ? json::array() : json::object());
    INFO(k.path << " in " << doc.dump());
    const auto issues = errors_of(doc.dump());
    INFO("got:\n" << dump(issues));
    bool reported = false;
    for (const auto& i : issues)
      if (i.path == concrete(k.path) && !i.message.starts_with("unknown key")) reported = true;
    CHECK(reported);
  }
}

TEST_CASE("a document giving every key its default is valid and changes nothing", "[conf][keys]") {
  // Required keys have no default: a sample each (a new required key fails here until it has one).
  const std::map<std::string, json> samples = {{"profiles.*.mode", "sign"},
                                               {"outbound.rules[*].profile", "none"},
                                               {"outbound.rules[*].match.header[*].name", "Subject"},
                                               {"outbound.rules[*].match.header[*].contains", "x"}};
  json doc = json::object();
  for (const conf::KeySpec& k : conf::keys()) {
    if (k.has_default) {
      put(doc, k.path, json::parse(k.fallback));
    } else if (auto s = samples.find(k.path); s != samples.end()) {
      put(doc, k.path, s->second);
    } else if (k.required) {
      FAIL("no sample for the required key " << k.path);
    }
  }
  INFO(doc.dump(2));
  conf::Config c;
  try {
    c = conf::parse(doc.dump(), "t");
  } catch (const conf::ConfigError& e) {
    FAIL(e.what());
  }
  const conf::Config d = conf::parse("{}", "t");
  CHECK(c.listen.to_string() == d.listen.to_string());
  CHECK(c.direction.internal_networks == d.direction.internal_networks);
  CHECK(c.revocation == d.revocation);
  CHECK(c.keystore.path == d.keystore.path);
  CHECK(c.spool.memory_limit == d.spool.memory_limit);
  CHECK(c.outbound.default_profile->name == "none");
  REQUIRE(c.outbound.rules.size() == 1);
  CHECK(c.outbound.rules[0].name == "rules[0]");
  REQUIRE(c.find_profile("p") != nullptr);
  CHECK(c.find_profile("p")->encoding == conf::CmsEncoding::ber);
}

TEST_CASE("the initialisers of config.hpp equal the table's defaults", "[conf][keys]") {
  // Code that builds a conf struct itself (a test, a benchmark) gets the same values as an absent key.
  for (const conf::detail::Row& r : conf::detail::rows()) {
    if (r.initialiser_is_default == nullptr) continue;
    INFO(r.path << " default " << r.default_json);
    CHECK(r.initialiser_is_default(r));
  }
  // The composite keys with a default.
  const conf::Config parsed = conf::parse("{}", "t");
  CHECK(conf::Listen{}.to_string() == parsed.listen.to_string());
  CHECK("\"" + conf::Listen{}.to_string() + "\"" == conf::detail::find_row("listen")->default_json);
  CHECK(conf::DirectionRules{}.internal_networks == parsed.direction.internal_networks);
  CHECK(conf::DirectionRules{}.internal_domains.empty());
  CHECK(conf::Revocation{}.order == parsed.revocation.order);
  CHECK(conf::Revocation{} == parsed.revocation);
}

TEST_CASE("man/smime-milter.json.5 documents every key with the table's type, bounds and default",
          "[conf][keys][man]") {
  const std::vector<Heading> headings = man_headings(read_file(SMIME_CONF_MAN_PAGE));
  REQUIRE(headings.size() > 50);
  std::set<std::string> known;
  for (const conf::KeySpec& k : conf::keys()) {
    known.insert(k.path);
    const Heading* found = nullptr;
    for (const Heading& h : headings)
      if (std::find(h.names.begin(), h.names.end(), k.path) != h.names.end()) found = &h;
    INFO(k.path);
    if (found == nullptr) FAIL_CHECK("the man page has no heading for " << k.path);
    if (found == nullptr || found->section) continue;
    INFO("heading: " << found->rest);
    CHECK(found->rest.find(flatten_text(k.type)) != std::string::npos);
    if (numeric_or_enum(k.type)) CHECK(found->rest.find(flatten_text(k.bounds)) != std::string::npos);
    if (k.has_default) CHECK(found->rest.find("default" + flatten_text(k.fallback)) != std::string::npos);
    if (k.required) CHECK(found->rest.find("required") != std::string::npos);
  }
  // And the other way round: every key the man page documents is one the program knows.
  for (const Heading& h : headings)
    if (h.in_keys && !h.section)
      for (const std::string& name : h.names) {
        INFO("the man page documents " << name);
        CHECK(known.count(name) == 1);
      }
}

TEST_CASE("the key list: one entry per key, with type, bounds, default and help", "[conf][keys]") {
  const auto keys = conf::keys();
  CHECK(keys.size() == conf::detail::rows().size());
  std::set<std::string> paths;
  for (const conf::KeySpec& k : keys) {
    INFO(k.path);
    CHECK(paths.insert(k.path).second);  // once
    CHECK_FALSE(k.type.empty());
    CHECK_FALSE(k.help.empty());
    CHECK((k.required || k.has_default || !k.fallback.empty()));
  }
  std::ostringstream out;
  conf::write_keys(out);
  const std::string text = out.str();
  CHECK(text.find("spool.memory_limit (size, 0..1G, default \"4M\")\n    Body bytes kept in memory") !=
        std::string::npos);
  CHECK(text.find("profiles.*.mode (enum, sign | encrypt | sign-encrypt | triple, required)\n") !=
        std::string::npos);
  CHECK(text.find("revocation.timeout (duration, 1s..10m, default \"15s\")\n") != std::string::npos);
  CHECK(text.find("daemon.pid_file (path, default: none)\n") != std::string::npos);
  CHECK(text.find(
            "inbound.algorithms.min_security_bits (integer, 0 | 80 | 112 | 128 | 192 | 256, default 112)") !=
        std::string::npos);
  for (const conf::KeySpec& k : keys) CHECK(text.find(k.path + " (" + k.type) != std::string::npos);
  CHECK(static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) == 2 * keys.size());
}
