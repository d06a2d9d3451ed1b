// Internal: reading JSON values into typed ones, every problem recorded with its path.
//
// An Object is one JSON object of the schema. It knows its place in the key table (its schema path,
// "profiles.*"), so it can only be asked for keys the table has (anything else is a bug, std::logic_error),
// gives an absent key the table's default, reports the keys nobody asked for as unknown (suggesting the
// closest key of the table), and checks on finish() that every key the table gives it was read.
#pragma once

#include <cstdint>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "conf/config.hpp"

namespace conf::detail {

using json = nlohmann::ordered_json;

struct Row;

// ---- paths and messages ----

std::string member_path(const std::string& base, std::string_view key);  // $.a.b or $.a["b c"]
std::string index_path(const std::string& base, std::size_t i);          // $.a[3]
std::string_view type_name(const json& j);                               // "integer", "object", ...
// "; did you mean 'x'?" for the closest candidate, or "" when none is close.
std::string suggestion(std::string_view word, const std::vector<std::string>& candidates);
std::string join(const std::vector<std::string>& v, std::string_view separator = ", ");
std::string size_text(std::uint64_t n);             // 4194304 -> "4M"
std::string duration_text(std::chrono::seconds d);  // 3600 -> "1h", 90 -> "90s"

template <class E, std::size_t N>
std::vector<std::string> names_of(const std::pair<std::string_view, E> (&table)[N]) {
  std::vector<std::string> out;
  for (const auto& [name, value] : table) out.emplace_back(name);
  return out;
}

// ---- the problems of one parse ----

struct Ctx {
  std::vector<Issue> issues;
  void error(std::string path, std::string message) {
    issues.push_back({std::move(path), std::move(message)});
  }
  void wrong_type(const std::string& path, std::string_view expected, const json& got) {
    error(path, "expected " + std::string(expected) + ", got " + std::string(type_name(got)));
  }
};

// ---- values: each reads `v` (given or default) at `path`, reports what is wrong, false then ----

bool string_value(Ctx& ctx, const json& v, const std::string& path, bool allow_empty, std::string& out);
bool bool_value(Ctx& ctx, const json& v, const std::string& path, bool& out);
bool integer_value(Ctx& ctx, const json& v, const std::string& path, std::uint64_t min, std::uint64_t max,
                   std::uint64_t& out);
std::optional<std::uint64_t> size_value(Ctx& ctx, const json& v, const std::string& path, std::uint64_t min,
                                        std::uint64_t max);
bool duration_value(Ctx& ctx, const json& v, const std::string& path, std::chrono::seconds min,
                    std::chrono::seconds max, std::chrono::seconds& out);

template <class E, std::size_t N>
bool enum_value(Ctx& ctx, const json& v, const std::string& path,
                const std::pair<std::string_view, E> (&table)[N], E& out) {
  const auto names = names_of(table);
  if (!v.is_string()) return ctx.wrong_type(path, "one of: " + join(names), v), false;
  const auto s = v.get<std::string>();
  for (const auto& [name, value] : table)
    if (name == s) return out = value, true;
  ctx.error(path, "unknown value '" + s + "'; expected one of: " + join(names));
  return false;
}

// ---- objects ----

class Object {
 public:
  // `j` absent (nullptr) reads as empty: every key takes its default. `schema` is the object's path in
  // the key table: "" for the root, "spool", "profiles.*", "outbound.rules[*].match".
  Object(Ctx& ctx, const json* j, std::string path, std::string schema);
  // The member object `key` of `parent` (a row of kind object).
  Object(Object& parent, std::string_view key);
  Object(const Object&) = delete;
  Object& operator=(const Object&) = delete;
  ~Object() = default;

  Ctx& ctx() { return ctx_; }
  bool present() const { return j_ != nullptr; }
  const std::string& path() const { return path_; }
  const std::string& schema() const { return schema_; }
  std::string path_of(std::string_view key) const { return member_path(path_, key); }
  bool given(std::string_view key) const;  // the object holds the key (asks for nothing)

  // The table's row for `key` of this object; std::logic_error when the table has none.
  const Row& row(std::string_view key) const;
  // The member `key` as given, or nullptr. Marks the key as read.
  const json* get(std::string_view key);
  // As given, else the table's default, else nullptr.
  const json* get_or_default(std::string_view key);
  // As given, or nullptr with "missing key (required)" when the object is present.
  const json* require(std::string_view key);

  // Reports the keys nobody asked for ("comment" is accepted anywhere and must be a string); throws
  // std::logic_error when a key of the table for this object was never read.
  void finish();

 private:
  Ctx& ctx_;
  const json* j_;
  std::string path_;
  std::string schema_;
  std::vector<std::string> read_;
  std::deque<json> defaults_;  // parsed table defaults handed out by get_or_default()
};

// ---- values of an object's key (given or default; false when absent or wrong) ----

bool read_string(Object& o, std::string_view key, std::string& out, bool allow_empty = false);

// An array of strings, each turned into T by `make` (which reports its own errors); empty arrays refused
// unless allow_empty.
template <class T, class Make>
bool read_list(Object& o, std::string_view key, std::vector<T>& out, std::string_view what, Make make,
               bool allow_empty = true) {
  const json* v = o.get_or_default(key);
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

}  // namespace conf::detail
