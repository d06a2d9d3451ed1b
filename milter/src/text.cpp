#include "milter/text.hpp"

namespace milter {

std::string printable(std::string_view text, std::size_t max) {
  std::string out;
  out.reserve(text.size() < max ? text.size() : max + 3);
  for (char c : text) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? ' ' : c;
  }
  return out;
}

}  // namespace milter
