// Internal: the key table. One row per configuration key: its path, type, bounds, default and help, and
// for a scalar key the member it goes to and how it is read. The parser reads every scalar key through
// its row (read_fields, read_key); composite keys (listen, profiles, rules, match, lists) are rows too,
// with type and help, and keep readers of their own in parse.cpp. conf::keys() is made from this table.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "reader.hpp"

namespace conf::detail {

enum class Kind {
  object,       // a section: its keys are rows of their own
  boolean,      // bool
  integer,      // unsigned integer in [min, max]
  choice,       // unsigned integer out of a fixed list
  size,         // bytes in [min, max]: integer or "4M"
  duration,     // seconds in [min, max]: integer or "30s"
  string,       // std::string (allow_empty, check)
  path,         // std::filesystem::path, not empty
  enumeration,  // an enum, by its names
  custom,       // a scalar with a syntax of its own (read by `apply`)
  composite,    // read by parse.cpp: no member binding here
};

struct Row;
// Reads `v` (the given value or the table's default) at `path` into the row's member of `section`.
using Apply = bool (*)(Ctx& ctx, const json& v, const std::string& path, const Row& row, void* section);

struct Row {
  std::string_view path;  // "spool.memory_limit", "profiles.*.mode", "outbound.rules[*].name"
  Kind kind = Kind::composite;
  std::string_view help;
  std::string_view default_json;   // the value of an absent key, as JSON; "" when it has none
  std::string_view absent;         // without a default: what absence means ("none", "the host name")
  bool required = false;           // absent from a given object: an error
  std::uint64_t min = 0, max = 0;  // integer, size; duration in seconds
  bool allow_empty = false;        // string: "" is a value
  std::string (*check)(const std::string&) = nullptr;  // string: why a value is refused; "" when fine
  std::string_view type;    // custom, composite, string: the type as documented (else derived)
  std::string_view bounds;  // custom, composite, string: the allowed values in words (else derived)
  std::vector<std::string> (*allowed)() = nullptr;  // enumeration, choice: the names
  const std::type_info* section = nullptr;          // the struct the member belongs to
  Apply apply = nullptr;
  bool (*initialiser_is_default)(const Row&) = nullptr;  // the member's initialiser equals the default

  std::string_view key() const;     // "memory_limit"
  std::string_view parent() const;  // "spool"; "" for a top-level key
};

std::span<const Row> rows();
const Row* find_row(std::string_view path);  // nullptr when the table has no such key

// The row for `key` of `o`, read into `section` (given or default). False when invalid or missing.
bool read_row(Object& o, const Row& row, void* section);

// Every scalar key of `o` whose member is in S (table order).
template <class S>
void read_fields(Object& o, S& section) {
  for (const Row& r : rows())
    if (r.apply != nullptr && r.parent() == o.schema() && *r.section == typeid(S)) read_row(o, r, &section);
}

// One scalar key of `o` into `section`; false when invalid or missing.
template <class S>
bool read_key(Object& o, std::string_view key, S& section) {
  const Row& r = o.row(key);
  if (r.apply == nullptr || *r.section != typeid(S))
    throw std::logic_error("conf: key '" + std::string(r.path) + "' is not a scalar of this struct");
  return read_row(o, r, &section);
}

// ---- member bindings ----

template <class>
struct member_traits;
template <class S, class T>
struct member_traits<T S::*> {
  using section = S;
  using type = T;
};
template <auto M>
using section_of = typename member_traits<decltype(M)>::section;
template <auto M>
using member_of = typename member_traits<decltype(M)>::type;

bool read_value(Ctx& ctx, const json& v, const std::string& path, const Row& row, bool& out);
bool read_value(Ctx& ctx, const json& v, const std::string& path, const Row& row, std::string& out);
bool read_value(Ctx& ctx, const json& v, const std::string& path, const Row& row, std::filesystem::path& out);
bool read_value(Ctx& ctx, const json& v, const std::string& path, const Row& row, std::chrono::seconds& out);
bool read_value(Ctx& ctx, const json& v, const std::string& path, const Row& row, std::uint64_t& out);
bool read_value(Ctx& ctx, const json& v, const std::string& path, const Row& row,
                std::optional<std::uint64_t>& out);
bool read_value(Ctx& ctx, const json& v, const std::string& path, const Row& row, unsigned& out);
bool read_value(Ctx& ctx, const json& v, const std::string& path, const Row& row, std::uint16_t& out);

template <auto M>
bool apply_member(Ctx& ctx, const json& v, const std::string& path, const Row& row, void* section) {
  return read_value(ctx, v, path, row, static_cast<section_of<M>*>(section)->*M);
}

template <auto M, const auto& Names>
bool apply_enum(Ctx& ctx, const json& v, const std::string& path, const Row&, void* section) {
  return enum_value(ctx, v, path, Names, static_cast<section_of<M>*>(section)->*M);
}

template <auto M, const auto& Values>
bool apply_choice(Ctx& ctx, const json& v, const std::string& path, const Row& row, void* section) {
  std::vector<std::string> names = row.allowed();
  if (!v.is_number_integer()) return ctx.wrong_type(path, "one of: " + join(names), v), false;
  for (auto value : Values)
    if (v.is_number_unsigned() && v.get<std::uint64_t>() == value)
      return static_cast<section_of<M>*>(section)->*M = value, true;
  ctx.error(path, v.dump() + " is not one of: " + join(names));
  return false;
}

// Read(ctx, v, path, member) -> bool: a scalar with a syntax of its own.
template <auto M, auto Read>
bool apply_custom(Ctx& ctx, const json& v, const std::string& path, const Row&, void* section) {
  return Read(ctx, v, path, static_cast<section_of<M>*>(section)->*M);
}

// Without a default, the initialiser must be the member's empty value (what "absent" leaves).
template <auto M>
bool initialiser_is_default(const Row& row) {
  using S = section_of<M>;
  const S fresh{};
  S parsed{};
  if (row.default_json.empty()) return row.required || fresh.*M == member_of<M>{};
  Ctx scratch;
  const json d = json::parse(row.default_json);
  return row.apply(scratch, d, std::string(row.path), row, &parsed) && scratch.issues.empty() &&
         fresh.*M == parsed.*M;
}

template <const auto& Names>
std::vector<std::string> names_list() {
  return names_of(Names);
}

template <const auto& Values>
std::vector<std::string> values_list() {
  std::vector<std::string> out;
  for (auto v : Values) out.push_back(std::to_string(v));
  return out;
}

}  // namespace conf::detail
