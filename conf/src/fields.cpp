// Reading a scalar key through its row: the default of an absent key, required keys, the typed readers.
#include <limits>

#include "table.hpp"

namespace conf::detail {

std::string_view Row::key() const {
  const auto dot = path.rfind('.');
  return dot == std::string_view::npos ? path : path.substr(dot + 1);
}

std::string_view Row::parent() const {
  const auto dot = path.rfind('.');
  return dot == std::string_view::npos ? std::string_view() : path.substr(0, dot);
}

const Row* find_row(std::string_view path) {
  for (const Row& r : rows())
    if (r.path == path) return &r;
  return nullptr;
}

bool read_row(Object& o, const Row& row, void* section) {
  const std::string_view key = row.key();
  const json* v = row.required ? o.require(key) : o.get_or_default(key);
  if (v == nullptr) return !row.required;
  return row.apply(o.ctx(), *v, o.path_of(key), row, section);
}

bool read_value(Ctx& ctx, const json& v, const std::string& path, const Row&, bool& out) {
  return bool_value(ctx, v, path, out);
}

bool read_value(Ctx& ctx, const json& v, const std::string& path, const Row& row, std::string& out) {
  std::string s;
  if (!string_value(ctx, v, path, row.allow_empty, s)) return false;
  if (row.check != nullptr && !(row.allow_empty && s.empty()))
    if (std::string why = row.check(s); !why.empty()) return ctx.error(path, why), false;
  out = std::move(s);
  return true;
}

bool read_value(Ctx& ctx, const json& v, const std::string& path, const Row&, std::filesystem::path& out) {
  std::string s;
  if (!string_value(ctx, v, path, false, s)) return false;
  out = s;
  return true;
}

bool read_value(Ctx& ctx, const json& v, const std::string& path, const Row& row, std::chrono::seconds& out) {
  using std::chrono::seconds;
  return duration_value(ctx, v, path, seconds(static_cast<seconds::rep>(row.min)),
                        seconds(static_cast<seconds::rep>(row.max)), out);
}

bool read_value(Ctx& ctx, const json& v, const std::string& path, const Row& row, std::uint64_t& out) {
  if (row.kind == Kind::integer) return integer_value(ctx, v, path, row.min, row.max, out);
  auto n = size_value(ctx, v, path, row.min, row.max);
  if (n) out = *n;
  return n.has_value();
}

bool read_value(Ctx& ctx, const json& v, const std::string& path, const Row& row,
                std::optional<std::uint64_t>& out) {
  auto n = size_value(ctx, v, path, row.min, row.max);
  if (n) out = *n;
  return n.has_value();
}

namespace {
template <class T>
bool narrow_integer(Ctx& ctx, const json& v, const std::string& path, const Row& row, T& out) {
  static_assert(std::numeric_limits<T>::is_integer && !std::numeric_limits<T>::is_signed);
  std::uint64_t n = 0;
  if (row.max > std::numeric_limits<T>::max())
    throw std::logic_error("conf: the bounds of '" + std::string(row.path) + "' exceed its member's type");
  if (!integer_value(ctx, v, path, row.min, row.max, n)) return false;
  out = static_cast<T>(n);
  return true;
}
}  // namespace

bool read_value(Ctx& ctx, const json& v, const std::string& path, const Row& row, unsigned& out) {
  return narrow_integer(ctx, v, path, row, out);
}

bool read_value(Ctx& ctx, const json& v, const std::string& path, const Row& row, std::uint16_t& out) {
  return narrow_integer(ctx, v, path, row, out);
}

}  // namespace conf::detail
