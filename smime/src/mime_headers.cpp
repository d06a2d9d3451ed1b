// Header fields (RFC 5322 section 2.2), Content-Type (RFC 2045 section 5) and
// Content-Transfer-Encoding (RFC 2045 section 6).
//
// Contract: parse_headers keeps every field's value byte for byte (folding included), so
// write_headers gives back the input apart from line ends. It throws Error(bad_input) with the byte
// offset for a line that is neither a field nor a continuation (an mbox "From " line included), an
// empty or malformed field name, and the header limits. HeaderList::add/set throw Error(usage) for a
// name or value that would not serialise as one field. ContentType::parse never throws: what it
// cannot read gives text/plain, a malformed parameter is skipped.
#include <algorithm>
#include <optional>
#include <string>

#include "mime_detail.hpp"
#include "smime/error.hpp"
#include "smime/mime.hpp"

namespace smime::mime {

// ---- small string helpers (shared through mime_detail.hpp) ----

namespace detail {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

std::string_view trim_wsp(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace detail

using detail::iequals;
using detail::is_wsp;

namespace {

// A field name as it may be stored: ftext (printable ASCII but ':'), optionally followed by white
// space before the colon (RFC 5322 obsolete syntax, kept so the bytes survive).
std::string_view name_core(std::string_view stored) {
  while (!stored.empty() && is_wsp(stored.back())) stored.remove_suffix(1);
  return stored;
}

bool is_ftext(char c) { return c >= 33 && c <= 126 && c != ':'; }

bool valid_field_name(std::string_view name) {
  std::string_view core = name_core(name);
  return !core.empty() && std::all_of(core.begin(), core.end(), is_ftext);
}

bool name_matches(const Header& h, std::string_view name) { return iequals(name_core(h.name), name); }

// A value given to add/set must not start a new field: every line end inside it must be followed by
// white space (a fold), and it must not end with a line end.
void check_new_field(std::string_view name, std::string_view value) {
  if (name_core(name).size() != name.size()) {
    throw Error(ErrorKind::usage, "invalid header field name \"" + std::string(name) + "\"");
  }
  if (std::optional<std::string> problem = detail::field_problem(name, value))
    throw Error(ErrorKind::usage, *problem);
}

}  // namespace

namespace detail {

std::optional<std::string> field_problem(std::string_view name, std::string_view value) {
  if (!valid_field_name(name)) return "invalid header field name \"" + std::string(name) + "\"";
  for (std::size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c != '\r' && c != '\n') continue;
    if (c == '\r' && i + 1 < value.size() && value[i + 1] == '\n') ++i;
    if (i + 1 >= value.size() || !is_wsp(value[i + 1]))
      return "value of header field \"" + std::string(name) + "\" has a line end that is not a fold";
  }
  return std::nullopt;
}

}  // namespace detail

// ---- Header, HeaderList ----

std::string Header::unfolded() const {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c != '\r' && c != '\n') out.push_back(c);
  }
  return std::string(detail::trim_wsp(out));
}

const Header* HeaderList::find(std::string_view name) const {
  for (const Header& h : items) {
    if (name_matches(h, name)) return &h;
  }
  return nullptr;
}

std::string HeaderList::get(std::string_view name) const {
  const Header* h = find(name);
  return h ? h->unfolded() : std::string();
}

std::size_t HeaderList::count(std::string_view name) const {
  return static_cast<std::size_t>(
      std::count_if(items.begin(), items.end(), [&](const Header& h) { return name_matches(h, name); }));
}

void HeaderList::remove_all(std::string_view name) {
  std::erase_if(items, [&](const Header& h) { return name_matches(h, name); });
}

namespace {
// " " + value, written out: GCC 12 at -O3 warns falsely (-Wrestrict, bug 105329) on the operator+ form.
std::string with_leading_space(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 1);
  out.push_back(' ');
  out.append(value);
  return out;
}
}  // namespace

void HeaderList::add(std::string_view name, std::string_view value) {
  check_new_field(name, value);
  items.push_back(Header{std::string(name), with_leading_space(value)});
}

void HeaderList::set(std::string_view name, std::string_view value) {
  check_new_field(name, value);
  auto first =
      std::find_if(items.begin(), items.end(), [&](const Header& h) { return name_matches(h, name); });
  if (first == items.end()) {
    items.push_back(Header{std::string(name), with_leading_space(value)});
    return;
  }
  *first = Header{std::string(name), with_leading_space(value)};
  std::size_t keep = static_cast<std::size_t>(first - items.begin());
  std::size_t index = 0;
  std::erase_if(items, [&](const Header& h) { return index++ != keep && name_matches(h, name); });
}

// ---- parse_headers ----

namespace {

[[noreturn]] void header_error(const std::string& what, std::uint64_t offset) {
  throw Error(ErrorKind::bad_input, what + " (at byte offset " + std::to_string(offset) + ")");
}

void check_header_limits(std::string_view block, const Limits& limits, std::uint64_t base) {
  if (block.size() > limits.max_header_bytes) {
    header_error(
        "MIME header block exceeds the limit of " + std::to_string(limits.max_header_bytes) + " bytes", base);
  }
}

// One line of the block: its text without line end, and the line end as written ("", "\n", "\r\n").
struct BlockLine {
  std::string_view text;
  std::string_view eol;
  std::size_t offset;
};

// Splits off the line at `pos`; pos moves past its line end.
BlockLine next_block_line(std::string_view block, std::size_t& pos) {
  BlockLine line{{}, {}, pos};
  std::size_t nl = block.find('\n', pos);
  std::size_t end = nl == std::string_view::npos ? block.size() : nl;
  std::size_t text_end =
      (end > pos && nl != std::string_view::npos && block[end - 1] == '\r') ? end - 1 : end;
  line.text = block.substr(pos, text_end - pos);
  line.eol = block.substr(text_end, (nl == std::string_view::npos ? end : end + 1) - text_end);
  pos = nl == std::string_view::npos ? block.size() : nl + 1;
  return line;
}

void check_field_line(const BlockLine& line, bool first, std::uint64_t base) {
  std::uint64_t at = base + line.offset;
  if (line.text.empty()) header_error("empty line inside a MIME header block", at);
  if (first && line.text.starts_with("From ")) {
    header_error("mbox \"From \" separator line where a MIME header field was expected", at);
  }
  std::size_t colon = line.text.find(':');
  if (colon == std::string_view::npos) {
    header_error("MIME header line is neither a field (\"name:\") nor a continuation", at);
  }
  if (colon == 0) header_error("MIME header field with an empty name", at);
  if (!valid_field_name(line.text.substr(0, colon))) {
    header_error("MIME header field name \"" +
                     std::string(line.text.substr(0, std::min<std::size_t>(colon, 80))) + "\" is not valid",
                 at);
  }
}

}  // namespace

namespace detail {

HeaderList parse_headers_at(std::string_view block, const Limits& limits, std::uint64_t base) {
  check_header_limits(block, limits, base);
  HeaderList out;
  std::size_t pos = 0;
  while (pos < block.size()) {
    BlockLine line = next_block_line(block, pos);
    if (line.text.size() > limits.max_line_length) {
      header_error(
          "MIME line length exceeds the limit of " + std::to_string(limits.max_line_length) + " bytes",
          base + line.offset);
    }
    if (!line.text.empty() && is_wsp(line.text.front())) {
      if (out.items.empty())
        header_error("MIME header continuation line without a field before it", base + line.offset);
      out.items.back().value.append(line.text);  // the fold's line end was appended with the line before
    } else {
      check_field_line(line, out.items.empty(), base);
      std::size_t colon = line.text.find(':');
      out.items.push_back(
          Header{std::string(line.text.substr(0, colon)), std::string(line.text.substr(colon + 1))});
    }
    // Keep this line's end inside the value if the next line continues it.
    if (pos < block.size() && is_wsp(block[pos])) out.items.back().value.append(line.eol);
  }
  return out;
}

}  // namespace detail

HeaderList parse_headers(std::string_view block, const Limits& limits) {
  return detail::parse_headers_at(block, limits, 0);
}

void write_headers(const HeaderList& headers, Sink& out) {
  std::string text;
  for (const Header& h : headers.items) {
    text.append(h.name);
    text.push_back(':');
    for (std::size_t i = 0; i < h.value.size(); ++i) {
      char c = h.value[i];
      if (c == '\n' && (i == 0 || h.value[i - 1] != '\r')) text.push_back('\r');
      text.push_back(c);
    }
    text.append("\r\n");
  }
  out.write(text);
}

SplitHeaders split_content_headers(const HeaderList& headers) {
  SplitHeaders split;
  for (const Header& h : headers.items) {
    std::string_view name = name_core(h.name);
    if (iequals(name, "MIME-Version")) continue;
    (detail::istarts_with(name, "Content-") ? split.content : split.outer).items.push_back(h);
  }
  return split;
}

// ---- Content-Type ----

namespace {

bool is_tspecial(char c) { return std::string_view("()<>@,;:\\\"/[]?=").find(c) != std::string_view::npos; }
bool is_token_char(char c) { return c > 32 && c < 127 && !is_tspecial(c); }

// A cursor over a structured header value: tokens, quoted strings, comments (RFC 2045 section 5.1,
// RFC 5322 section 3.2.2).
class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  bool at_end() const { return i_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[i_]; }
  bool consume(char c) {
    if (peek() != c || at_end()) return false;
    ++i_;
    return true;
  }

  // White space, line ends and (nested (comments)) with backslash escapes.
  void skip_cfws() {
    while (!at_end()) {
      char c = s_[i_];
      if (is_wsp(c) || c == '\r' || c == '\n') {
        ++i_;
      } else if (c == '(') {
        skip_comment();
      } else {
        return;
      }
    }
  }

  std::string token() {
    std::size_t start = i_;
    while (!at_end() && is_token_char(s_[i_])) ++i_;
    return std::string(s_.substr(start, i_ - start));
  }

  // A parameter value: a quoted string, or (leniently) anything up to ';', white space or a comment.
  std::string value() {
    if (peek() == '"') return quoted();
    std::size_t start = i_;
    while (!at_end()) {
      char c = s_[i_];
      if (c == ';' || c == '(' || c == '"' || static_cast<unsigned char>(c) <= 32 || c == 127) break;
      ++i_;
    }
    return std::string(s_.substr(start, i_ - start));
  }

  // Skips a malformed parameter: up to (not past) the next ';' outside quotes and comments.
  void skip_parameter() {
    while (!at_end() && s_[i_] != ';') {
      if (s_[i_] == '"') {
        quoted();
      } else if (s_[i_] == '(') {
        skip_comment();
      } else {
        ++i_;
      }
    }
  }

 private:
  std::string quoted() {
    std::string out;
    ++i_;  // the opening quote
    while (!at_end()) {
      char c = s_[i_++];
      if (c == '"') return out;
      if (c == '\\' && !at_end()) c = s_[i_++];
      if (c != '\r' && c != '\n') out.push_back(c);
    }
    return out;  // unterminated: taken to the end
  }

  void skip_comment() {
    int depth = 0;
    while (!at_end()) {
      char c = s_[i_++];
      if (c == '\\') {
        if (!at_end()) ++i_;
      } else if (c == '(') {
        ++depth;
      } else if (c == ')' && --depth == 0) {
        return;
      }
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

void parse_parameters(Lexer& lex, std::map<std::string, std::string>& params) {
  for (;;) {
    lex.skip_cfws();
    if (lex.at_end()) return;
    if (!lex.consume(';')) {  // junk where a ';' belongs
      lex.skip_parameter();
      continue;
    }
    lex.skip_cfws();
    if (lex.at_end() || lex.peek() == ';') continue;
    std::string name = lex.token();
    lex.skip_cfws();
    if (name.empty() || !lex.consume('=')) {
      lex.skip_parameter();
      continue;
    }
    lex.skip_cfws();
    std::string value = lex.value();
    params.emplace(detail::to_lower(name), std::move(value));  // the first of duplicates wins
  }
}

}  // namespace

ContentType ContentType::parse(std::string_view value) {
  Lexer lex(value);
  lex.skip_cfws();
  std::string type = lex.token();
  lex.skip_cfws();
  if (type.empty() || !lex.consume('/')) return ContentType{};
  lex.skip_cfws();
  std::string subtype = lex.token();
  if (subtype.empty()) return ContentType{};
  ContentType ct;
  ct.type = detail::to_lower(type);
  ct.subtype = detail::to_lower(subtype);
  parse_parameters(lex, ct.params);
  return ct;
}

bool ContentType::is(std::string_view t, std::string_view s) const {
  return iequals(type, t) && (s == "*" || iequals(subtype, s));
}

std::string ContentType::param(std::string_view name) const {
  auto it = params.find(detail::to_lower(name));
  return it == params.end() ? std::string() : it->second;
}

// ---- Content-Transfer-Encoding ----

Encoding parse_encoding(std::string_view value) {
  Lexer lex(value);
  lex.skip_cfws();
  std::string token = detail::to_lower(lex.token());
  lex.skip_cfws();
  if (!lex.at_end()) return Encoding::unknown;    // "7bit foo", "@": not a mechanism we know
  if (token.empty()) return Encoding::seven_bit;  // nothing but white space and comments
  if (token == "7bit") return Encoding::seven_bit;
  if (token == "8bit") return Encoding::eight_bit;
  if (token == "binary") return Encoding::binary;
  if (token == "quoted-printable") return Encoding::quoted_printable;
  if (token == "base64") return Encoding::base64;
  return Encoding::unknown;
}

std::string_view to_string(Encoding e) {
  switch (e) {
    case Encoding::seven_bit:
      return "7bit";
    case Encoding::eight_bit:
      return "8bit";
    case Encoding::binary:
      return "binary";
    case Encoding::quoted_printable:
      return "quoted-printable";
    case Encoding::base64:
      return "base64";
    case Encoding::unknown:
      return "unknown";
  }
  return "unknown";
}

}  // namespace smime::mime
