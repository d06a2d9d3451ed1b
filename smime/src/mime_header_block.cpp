// starts_with_header_block(): is content a MIME entity (header block, empty line, body) or raw text?
#include "mime_detail.hpp"
#include "smime/mime.hpp"

namespace smime::mime {

namespace {

bool is_ftext(char c) { return c >= 33 && c <= 126 && c != ':'; }

// A field's first line: ftext+, optional white space (obsolete syntax), ':'.
bool is_field_start(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && is_ftext(line[i])) ++i;
  if (i == 0) return false;
  while (i < line.size() && detail::is_wsp(line[i])) ++i;
  return i < line.size() && line[i] == ':';
}

}  // namespace

bool starts_with_header_block(std::string_view s, const Limits& limits) {
  bool in_field = false;
  for (std::size_t pos = 0; pos < s.size();) {
    const std::size_t lf = s.find('\n', pos);
    if (lf == std::string_view::npos || lf > limits.max_header_bytes) return false;  // no end of block
    std::string_view line = s.substr(pos, lf - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) return true;  // the empty line that ends the block
    if (line.find('\r') != std::string_view::npos || line.find('\0') != std::string_view::npos) return false;
    if (detail::is_wsp(line.front())) {
      if (!in_field) return false;  // a continuation with nothing to continue
    } else if (!is_field_start(line)) {
      return false;
    }
    in_field = true;
    pos = lf + 1;
  }
  return false;
}

bool starts_with_header_block(const Source& src, Range r, const Limits& limits) {
  const std::uint64_t n = std::min<std::uint64_t>(r.length, limits.max_header_bytes + 2);
  return starts_with_header_block(src.slice({r.offset, n}), limits);
}

}  // namespace smime::mime
