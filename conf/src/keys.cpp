// conf::keys() and write_keys(): the key table as documentation, its type and bounds texts derived from
// the rows the parser reads through.
#include "conf/keys.hpp"

#include <ostream>

#include "table.hpp"

namespace conf {

namespace {

using detail::Kind;
using detail::Row;

std::string type_of(const Row& r) {
  switch (r.kind) {
    case Kind::object:
      return "object";
    case Kind::boolean:
      return "boolean";
    case Kind::integer:
    case Kind::choice:
      return "integer";
    case Kind::size:
      return "size";
    case Kind::duration:
      return "duration";
    case Kind::path:
      return "path";
    case Kind::enumeration:
      return "enum";
    case Kind::string:
      return r.type.empty() ? "string" : std::string(r.type);
    case Kind::custom:
    case Kind::composite:
      return std::string(r.type);
  }
  return "?";
}

std::string bounds_of(const Row& r) {
  using std::chrono::seconds;
  switch (r.kind) {
    case Kind::integer:
      return std::to_string(r.min) + ".." + std::to_string(r.max);
    case Kind::size:
      return detail::size_text(r.min) + ".." + detail::size_text(r.max);
    case Kind::duration:
      return detail::duration_text(seconds(static_cast<seconds::rep>(r.min))) + ".." +
             detail::duration_text(seconds(static_cast<seconds::rep>(r.max)));
    case Kind::choice:
    case Kind::enumeration:
      return detail::join(r.allowed(), " | ");
    default:
      return std::string(r.bounds);
  }
}

std::vector<KeySpec> make_keys() {
  std::vector<KeySpec> out;
  for (const Row& r : detail::rows()) {
    KeySpec k;
    k.path = r.path;
    k.type = type_of(r);
    k.has_default = !r.default_json.empty();
    k.fallback = k.has_default ? std::string(r.default_json) : std::string(r.absent);
    k.required = r.required;
    k.bounds = bounds_of(r);
    k.help = r.help;
    out.push_back(std::move(k));
  }
  return out;
}

}  // namespace

std::span<const KeySpec> keys() {
  static const std::vector<KeySpec> table = make_keys();
  return table;
}

void write_keys(std::ostream& out) {
  for (const KeySpec& k : keys()) {
    out << k.path << " (" << k.type;
    if (!k.bounds.empty()) out << ", " << k.bounds;
    if (k.has_default)
      out << ", default " << k.fallback;
    else if (k.required)
      out << ", required";
    else
      out << ", default: " << k.fallback;
    out << ")\n    " << k.help << "\n";
  }
}

}  // namespace conf
