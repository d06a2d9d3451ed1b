// Reading JSON into typed values: paths, messages with suggestions, value readers, schema-aware objects.
#include "reader.hpp"

#include <algorithm>
#include <stdexcept>

#include "table.hpp"

namespace conf::detail {

namespace {

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

std::string schema_of(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

}  // namespace

// ---- paths and messages ----

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

// The closest candidate within a third of the word's length (at least 2 edits), else a candidate the
// word abbreviates ("dir" for "directory").
std::string suggestion(std::string_view word, const std::vector<std::string>& candidates) {
  std::string lw = ascii_lower(word);
  const std::string* best = nullptr;
  std::size_t best_d = std::max<std::size_t>(2, lw.size() / 3) + 1;
  for (const auto& c : candidates) {
    std::size_t d = edit_distance(lw, ascii_lower(c));
    if (d < best_d) best_d = d, best = &c;
  }
  if (best == nullptr && lw.size() >= 3)
    for (const auto& c : candidates)
      if (ascii_lower(c).starts_with(lw)) return "; did you mean '" + c + "'?";
  return best ? "; did you mean '" + *best + "'?" : "";
}

std::string join(const std::vector<std::string>& v, std::string_view separator) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : std::string(separator)) + s;
  return out;
}

std::string size_text(std::uint64_t n) {
  if (n != 0 && n % GiB == 0) return std::to_string(n / GiB) + "G";
  if (n != 0 && n % MiB == 0) return std::to_string(n / MiB) + "M";
  if (n != 0 && n % KiB == 0) return std::to_string(n / KiB) + "K";
  return std::to_string(n);
}

std::string duration_text(std::chrono::seconds d) {
  const auto n = d.count();
  if (n != 0 && n % 86400 == 0) return std::to_string(n / 86400) + "d";
  if (n != 0 && n % 3600 == 0) return std::to_string(n / 3600) + "h";
  if (n != 0 && n % 60 == 0) return std::to_string(n / 60) + "m";
  return std::to_string(n) + (n == 0 ? "" : "s");
}

// ---- values ----

bool string_value(Ctx& ctx, const json& v, const std::string& path, bool allow_empty, std::string& out) {
  if (!v.is_string()) return ctx.wrong_type(path, "a string", v), false;
  std::string s = v.get<std::string>();
  if (s.empty() && !allow_empty) return ctx.error(path, "must not be empty"), false;
  if (s.find('\0') != std::string::npos) return ctx.error(path, "contains a NUL character"), false;
  out = std::move(s);
  return true;
}

bool bool_value(Ctx& ctx, const json& v, const std::string& path, bool& out) {
  if (!v.is_boolean()) return ctx.wrong_type(path, "true or false", v), false;
  out = v.get<bool>();
  return true;
}

bool integer_value(Ctx& ctx, const json& v, const std::string& path, std::uint64_t min, std::uint64_t max,
                   std::uint64_t& out) {
  const std::string range = "out of range " + std::to_string(min) + ".." + std::to_string(max);
  if (!v.is_number_integer()) return ctx.wrong_type(path, "an integer", v), false;
  if (!v.is_number_unsigned())
    return ctx.error(path, std::to_string(v.get<std::int64_t>()) + " " + range), false;
  const auto n = v.get<std::uint64_t>();
  if (n < min || n > max) return ctx.error(path, std::to_string(n) + " " + range), false;
  out = n;
  return true;
}

// An integer (bytes) or a string "N", "NK", "NM", "NG" (binary multiples).
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

// An integer (seconds) or a string "N", "Ns", "Nm", "Nh", "Nd".
bool duration_value(Ctx& ctx, const json& v, const std::string& path, std::chrono::seconds min,
                    std::chrono::seconds max, std::chrono::seconds& out) {
  std::optional<std::chrono::seconds> d;
  if (v.is_number_unsigned()) {
    auto n = v.get<std::uint64_t>();
    if (n <= static_cast<std::uint64_t>(max.count()))
      d = std::chrono::seconds(static_cast<std::int64_t>(n));
    else
      d = max + std::chrono::seconds(1);
  } else if (v.is_string()) {
    d = parse_duration(v.get<std::string>());
    if (!d) {
      ctx.error(path, "bad duration '" + v.get<std::string>() +
                          "'; expected seconds, or a number with s, m, h or d (e.g. \"30s\")");
      return false;
    }
  } else {
    ctx.wrong_type(path, "a duration (integer seconds or a string like \"30s\")", v);
    return false;
  }
  if (*d < min || *d > max) {
    ctx.error(path, "duration out of range " + std::to_string(min.count()) + "s.." +
                        std::to_string(max.count()) + "s");
    return false;
  }
  out = *d;
  return true;
}

// ---- objects ----

Object::Object(Ctx& ctx, const json* j, std::string path, std::string schema)
    : ctx_(ctx), j_(j), path_(std::move(path)), schema_(std::move(schema)) {
  if (j_ != nullptr && !j_->is_object()) {
    ctx_.wrong_type(path_, "an object", *j_);
    j_ = nullptr;
  }
}

Object::Object(Object& parent, std::string_view key)
    : Object(parent.ctx(), parent.get(key), parent.path_of(key), schema_of(parent.schema(), key)) {}

bool Object::given(std::string_view key) const { return j_ != nullptr && j_->contains(key); }

const Row& Object::row(std::string_view key) const {
  const std::string path = schema_of(schema_, key);
  const Row* r = find_row(path);
  if (r == nullptr)
    throw std::logic_error("conf: the parser reads '" + path + "', which the key table lacks");
  return *r;
}

const json* Object::get(std::string_view key) {
  row(key);
  read_.emplace_back(key);
  if (j_ == nullptr) return nullptr;
  auto it = j_->find(key);
  return it == j_->end() ? nullptr : &it.value();
}

const json* Object::get_or_default(std::string_view key) {
  if (const json* v = get(key)) return v;
  const Row& r = row(key);
  if (r.default_json.empty()) return nullptr;
  return &defaults_.emplace_back(json::parse(r.default_json));
}

const json* Object::require(std::string_view key) {
  const json* v = get(key);
  if (v == nullptr && j_ != nullptr) ctx_.error(path_of(key), "missing key (required)");
  return v;
}

void Object::finish() {
  std::vector<std::string> keys;  // of this object, in table order: the candidates of a suggestion
  for (const Row& r : rows()) {
    if (r.parent() != schema_ || r.key() == "comment") continue;
    keys.emplace_back(r.key());
    if (std::find(read_.begin(), read_.end(), r.key()) == read_.end())
      throw std::logic_error("conf: the key table has '" + std::string(r.path) +
                             "', which the parser never reads");
  }
  if (j_ == nullptr) return;
  for (const auto& [key, value] : j_->items()) {
    if (key == "comment") {
      if (!value.is_string()) ctx_.wrong_type(path_of(key), "a string", value);
    } else if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      ctx_.error(path_of(key), "unknown key" + suggestion(key, keys));
    }
  }
}

// ---- values of an object's key ----

bool read_string(Object& o, std::string_view key, std::string& out, bool allow_empty) {
  const json* v = o.get_or_default(key);
  return v != nullptr && string_value(o.ctx(), *v, o.path_of(key), allow_empty, out);
}

}  // namespace conf::detail
