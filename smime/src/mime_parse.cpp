// MIME entity parser: the structure of a message as byte ranges into its Source (RFC 2045, 2046).
//
// Contract: reads the Source forward in 64 KiB chunks (a multipart's body once to find its
// delimiters, each leaf's body once more for its flags) and never holds more than one chunk, one
// header block and the first bytes of a line. Bodies are ranges, never copies. Throws
// Error(bad_input) naming what is wrong and its byte offset: a malformed header block, a multipart
// without a boundary parameter or without any delimiter, a transfer encoding a container may not
// have, and every limit of Limits. A missing close delimiter is not an error (closed = false).
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "mime_detail.hpp"
#include "smime/error.hpp"
#include "smime/mime.hpp"

namespace smime::mime {

namespace {

using detail::kChunk;

constexpr std::size_t kMaxDelimiterPadding = 1024;  // transport padding recognised after "--boundary"
constexpr std::size_t kMax7bitLine = 998;           // RFC 5322 2.1.1, RFC 2045 2.7

struct Context {
  const Source& src;
  const Limits& limits;
  std::size_t entities = 0;  // entities made so far, the root included
  std::string buffer;        // leaf scanning, reused
};

std::string at(std::uint64_t offset) { return " (at byte offset " + std::to_string(offset) + ")"; }

[[noreturn]] void fail(const std::string& what, std::uint64_t offset) {
  throw Error(ErrorKind::bad_input, what + at(offset));
}

[[noreturn]] void limit_exceeded(const std::string& what, std::size_t limit, std::string_view unit,
                                 std::uint64_t offset) {
  fail(what + " exceeds the limit of " + std::to_string(limit) + std::string(unit), offset);
}

Range clamp(const Source& src, Range r) {
  std::uint64_t size = src.size();
  r.offset = std::min(r.offset, size);
  r.length = std::min(r.length, size - r.offset);
  return r;
}

// ---- reading lines ----

struct Line {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;  // without the line end
  unsigned eol = 0;          // 0 (end of range), 1 (LF) or 2 (CRLF)
  std::string head;          // the first bytes of the line, up to the capture asked for
  std::uint64_t end() const { return offset + length + eol; }
};

// Lines of a Source range, read in chunks. A line longer than max_line (line end excluded) throws.
class LineReader {
 public:
  LineReader(const Source& src, Range r, std::size_t max_line)
      : src_(src), pos_(r.offset), end_(r.end()), max_line_(max_line) {}

  // The next line with at most `capture` of its first bytes copied into line.head; false at the end.
  // With `first` given, only a line that begins with that byte is captured (a multipart's delimiter
  // search looks at lines that begin with "-" only, and copying the others is most of its work).
  bool next(Line& line, std::size_t capture, char first = '\0');

 private:
  bool fill();  // makes the byte at pos_ available in buf_; false at the end of the range

  const Source& src_;
  std::uint64_t pos_;
  std::uint64_t end_;
  std::size_t max_line_;
  std::string buf_;
  std::uint64_t buf_offset_ = 0;
  std::size_t buf_len_ = 0;
};

bool LineReader::fill() {
  if (pos_ >= end_) return false;
  if (pos_ >= buf_offset_ && pos_ < buf_offset_ + buf_len_) return true;
  if (buf_.empty()) buf_.resize(kChunk);
  std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, end_ - pos_));
  std::size_t n = src_.read(pos_, buf_.data(), want);
  if (n == 0) {  // the Source ended early (it shrank): the range ends here
    end_ = pos_;
    return false;
  }
  buf_offset_ = pos_;
  buf_len_ = n;
  return true;
}

bool LineReader::next(Line& line, std::size_t capture, char first) {
  if (!fill()) return false;
  if (first != '\0' && buf_[static_cast<std::size_t>(pos_ - buf_offset_)] != first) capture = 0;
  line.offset = pos_;
  line.eol = 0;
  line.head.clear();
  std::uint64_t raw = 0;  // bytes before the LF, a CR included
  char last = '\0';
  while (fill()) {
    const char* data = buf_.data() + (pos_ - buf_offset_);
    std::size_t avail = static_cast<std::size_t>(buf_offset_ + buf_len_ - pos_);
    const auto* nl = static_cast<const char*>(std::memchr(data, '\n', avail));
    std::size_t seg = nl ? static_cast<std::size_t>(nl - data) : avail;
    if (line.head.size() < capture) line.head.append(data, std::min(seg, capture - line.head.size()));
    if (seg > 0) last = data[seg - 1];
    raw += seg;
    pos_ += seg;
    if (raw > max_line_ + 1) limit_exceeded("MIME line length", max_line_, " bytes", line.offset);
    if (nl) {
      ++pos_;
      line.eol = (raw > 0 && last == '\r') ? 2 : 1;
      break;
    }
  }
  line.length = line.eol == 2 ? raw - 1 : raw;
  if (line.length > max_line_) limit_exceeded("MIME line length", max_line_, " bytes", line.offset);
  if (line.head.size() > line.length) line.head.resize(static_cast<std::size_t>(line.length));
  return true;
}

// ---- header block ----

struct Split {
  Range header;  // up to and including the line end of the last header line
  Range body;    // after the blank line
};

// Finds the blank line ending the header block at r.offset. Without one, all of r is the header
// block and the body is empty.
Split split_header_block(Context& ctx, Range r) {
  LineReader reader(ctx.src, r, ctx.limits.max_line_length);
  Line line;
  std::uint64_t header_end = r.offset;
  while (reader.next(line, 0)) {
    if (line.length == 0) return Split{{r.offset, header_end - r.offset}, {line.end(), r.end() - line.end()}};
    header_end = line.end();
    if (header_end - r.offset > ctx.limits.max_header_bytes) {
      limit_exceeded("MIME header block", ctx.limits.max_header_bytes, " bytes", r.offset);
    }
  }
  return Split{{r.offset, header_end - r.offset}, {header_end, 0}};
}

// Content-Type and Content-Transfer-Encoding; more than one of either is ambiguous, so refused.
void describe(Entity& e, bool digest_child) {
  for (std::string_view name : {"Content-Type", "Content-Transfer-Encoding"}) {
    if (e.headers.count(name) > 1) {
      fail("MIME entity has " + std::to_string(e.headers.count(name)) + " " + std::string(name) + " fields",
           e.whole.offset);
    }
  }
  if (e.headers.find("Content-Type")) {
    e.content_type = ContentType::parse(e.headers.get("Content-Type"));
  } else if (digest_child) {
    e.content_type.type = "message";
    e.content_type.subtype = "rfc822";
  }
  e.encoding = parse_encoding(e.headers.get("Content-Transfer-Encoding"));
}

// ---- entities ----

void enter(Context& ctx, std::size_t depth, std::uint64_t offset) {
  if (depth > ctx.limits.max_depth) limit_exceeded("MIME part nesting", ctx.limits.max_depth, "", offset);
  if (++ctx.entities > ctx.limits.max_parts)
    limit_exceeded("MIME part count", ctx.limits.max_parts, "", offset);
}

void absorb(Entity& parent, const Entity& child) {
  parent.has_8bit = parent.has_8bit || child.has_8bit;
  parent.has_nul = parent.has_nul || child.has_nul;
  parent.has_bare_cr = parent.has_bare_cr || child.has_bare_cr;
  parent.longest_line = std::max(parent.longest_line, child.longest_line);
}

void parse_content(Context& ctx, Entity& e);

Entity parse_entity(Context& ctx, Range r, std::size_t depth, bool digest_child) {
  enter(ctx, depth, r.offset);
  Split split = split_header_block(ctx, r);
  Entity e;
  e.whole = r;
  e.header = split.header;
  e.body = split.body;
  e.depth = depth;
  e.headers = detail::parse_headers_at(ctx.src.slice(split.header), ctx.limits, split.header.offset);
  describe(e, digest_child);
  parse_content(ctx, e);
  return e;
}

// Whether any byte of data has its high bit set, eight bytes at a time (the loop vectorises).
bool has_high_bit(const char* data, std::size_t n) {
  std::uint64_t acc = 0;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, data + i, 8);
    acc |= word;
  }
  for (; i < n; ++i) acc |= static_cast<unsigned char>(data[i]);
  return (acc & 0x8080808080808080ULL) != 0;
}

// Leaf flags, and the line length limit, over the body in chunks. A leaf's body can be most of a
// large message, so each chunk is searched with memchr (line ends, NULs, CRs) rather than byte by
// byte; a flag once set is not searched for again.
class LeafScanner {
 public:
  LeafScanner(Entity& e, std::size_t max_line) : e_(e), max_line_(max_line) {}

  void scan(const char* data, std::size_t n, std::uint64_t offset) {
    if (n == 0) return;
    if (!e_.has_8bit && has_high_bit(data, n)) e_.has_8bit = true;
    if (!e_.has_nul && std::memchr(data, '\0', n) != nullptr) e_.has_nul = true;
    if (prev_cr_ && data[0] != '\n') e_.has_bare_cr = true;  // the chunk before ended in a CR
    std::size_t i = 0;
    while (i < n) {
      const auto* nl = static_cast<const char*>(std::memchr(data + i, '\n', n - i));
      const std::size_t seg_end = nl ? static_cast<std::size_t>(nl - data) : n;  // [i, seg_end): no LF
      const std::size_t seg = seg_end - i;
      if (seg > 0) {
        // A CR before the segment's last byte is followed by something else than LF: bare. The
        // last byte's CR is decided by what follows it (the LF here, or the next chunk).
        if (!e_.has_bare_cr && seg > 1 && std::memchr(data + i, '\r', seg - 1) != nullptr)
          e_.has_bare_cr = true;
        prev_cr_ = data[seg_end - 1] == '\r';
        line_len_ += seg;
      }
      if (!nl) {
        if (line_len_ > max_line_ + 1) end_line(line_len_);  // too long whatever ends it
        return;
      }
      end_line(prev_cr_ ? line_len_ - 1 : line_len_);
      line_start_ = offset + seg_end + 1;
      line_len_ = 0;
      prev_cr_ = false;
      i = seg_end + 1;
    }
  }

  void finish() {
    if (prev_cr_) e_.has_bare_cr = true;  // a CR at the very end has no LF after it
    end_line(line_len_);
  }

  void start(std::uint64_t offset) { line_start_ = offset; }

 private:
  void end_line(std::uint64_t len) {
    if (len > max_line_) limit_exceeded("MIME line length", max_line_, " bytes", line_start_);
    e_.longest_line = std::max<std::size_t>(e_.longest_line, static_cast<std::size_t>(len));
  }

  Entity& e_;
  std::size_t max_line_;
  std::uint64_t line_start_ = 0;
  std::uint64_t line_len_ = 0;
  bool prev_cr_ = false;
};

void scan_leaf(Context& ctx, Entity& e) {
  if (ctx.buffer.empty()) ctx.buffer.resize(kChunk);
  LeafScanner scanner(e, ctx.limits.max_line_length);
  scanner.start(e.body.offset);
  std::uint64_t pos = e.body.offset;
  while (pos < e.body.end()) {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, e.body.end() - pos));
    std::size_t n = ctx.src.read(pos, ctx.buffer.data(), want);
    if (n == 0) break;
    scanner.scan(ctx.buffer.data(), n, pos);
    pos += n;
  }
  scanner.finish();
}

// ---- multipart ----

struct Layout {
  Range preamble;
  std::vector<Range> parts;
  Range epilogue;
  bool closed = false;
};

enum class Delimiter { none, part, close };

// "--boundary" ["--"] followed by nothing but transport padding (white space).
Delimiter delimiter_kind(const Line& line, std::string_view boundary) {
  if (line.head.size() != line.length || line.length < boundary.size() + 2) return Delimiter::none;
  std::string_view text = line.head;
  if (!text.starts_with("--") || text.substr(2, boundary.size()) != boundary) return Delimiter::none;
  text.remove_prefix(2 + boundary.size());
  Delimiter kind = Delimiter::part;
  if (text.starts_with("--")) {
    kind = Delimiter::close;
    text.remove_prefix(2);
  }
  return std::all_of(text.begin(), text.end(), detail::is_wsp) ? kind : Delimiter::none;
}

// Finds the delimiter lines of a multipart body. The line end before a delimiter belongs to it
// (RFC 2046 5.1.1), so a part ends before that line end.
Layout find_parts(Context& ctx, const Entity& e) {
  Layout layout;
  LineReader reader(ctx.src, e.body, ctx.limits.max_line_length);
  const std::size_t capture = e.boundary.size() + 4 + kMaxDelimiterPadding;
  Line line;
  unsigned prev_eol = 0;
  bool seen = false;
  std::uint64_t part_start = 0;
  while (reader.next(line, capture, '-')) {
    Delimiter kind = delimiter_kind(line, e.boundary);
    if (kind != Delimiter::none) {
      std::uint64_t seg_end = line.offset - prev_eol;
      if (!seen) {
        layout.preamble = Range{e.body.offset, seg_end - e.body.offset};
        seen = true;
      } else {
        seg_end = std::max(seg_end, part_start);  // "--b" LF "--b": an empty part
        layout.parts.push_back(Range{part_start, seg_end - part_start});
        if (ctx.entities + layout.parts.size() > ctx.limits.max_parts) {
          limit_exceeded("MIME part count", ctx.limits.max_parts, "", line.offset);
        }
      }
      if (kind == Delimiter::close) {
        layout.closed = true;
        layout.epilogue = Range{line.end(), e.body.end() - line.end()};
        return layout;
      }
      part_start = line.end();
    }
    prev_eol = line.eol;
  }
  if (!seen) {
    fail(e.content_type.mime_type() + " body has no delimiter line for boundary \"" + e.boundary + "\"",
         e.body.offset);
  }
  layout.parts.push_back(Range{part_start, e.body.end() - part_start});
  layout.epilogue = Range{e.body.end(), 0};
  return layout;
}

void parse_multipart(Context& ctx, Entity& e) {
  e.boundary = e.content_type.param("boundary");
  if (e.boundary.empty()) fail(e.content_type.mime_type() + " without a boundary parameter", e.whole.offset);
  if (e.encoding != Encoding::seven_bit && e.encoding != Encoding::eight_bit &&
      e.encoding != Encoding::binary) {
    fail(e.content_type.mime_type() + " with Content-Transfer-Encoding \"" +
             e.headers.get("Content-Transfer-Encoding") + "\" (only 7bit, 8bit or binary are allowed)",
         e.whole.offset);
  }
  Layout layout = find_parts(ctx, e);
  e.preamble = layout.preamble;
  e.epilogue = layout.epilogue;
  e.closed = layout.closed;
  const bool digest = e.content_type.subtype == "digest";
  e.children.reserve(layout.parts.size());
  for (const Range& part : layout.parts) {
    e.children.push_back(parse_entity(ctx, part, e.depth + 1, digest));
    absorb(e, e.children.back());
  }
}

bool encloses_message(const Entity& e) {
  if (!e.content_type.is("message", "rfc822") && !e.content_type.is("message", "global")) return false;
  // A message may only be 7bit, 8bit or binary; an encoded one is invalid and stays a leaf.
  return e.encoding == Encoding::seven_bit || e.encoding == Encoding::eight_bit ||
         e.encoding == Encoding::binary;
}

void parse_content(Context& ctx, Entity& e) {
  if (e.content_type.is_multipart()) {
    parse_multipart(ctx, e);
  } else if (encloses_message(e)) {
    e.children.push_back(parse_entity(ctx, e.body, e.depth + 1, false));
    absorb(e, e.children.back());
  } else {
    scan_leaf(ctx, e);
  }
}

}  // namespace

Entity parse(const Source& src, Range r, const Limits& limits) {
  Context ctx{src, limits, 0, {}};
  return parse_entity(ctx, clamp(src, r), 0, false);
}

Entity parse_body(const Source& src, Range body, HeaderList headers, const Limits& limits) {
  Context ctx{src, limits, 0, {}};
  body = clamp(src, body);
  enter(ctx, 0, body.offset);
  // Fields given apart (by an MTA) were never read as a header block: one that would not be written
  // back as one field would make the entity written from them another one.
  for (const Header& h : headers.items)
    if (std::optional<std::string> problem = detail::field_problem(h.name, h.value))
      fail("MIME entity given apart: " + *problem, body.offset);
  Entity e;
  e.whole = body;
  e.header = Range{body.offset, 0};
  e.body = body;
  e.headers = std::move(headers);
  describe(e, false);
  parse_content(ctx, e);
  return e;
}

bool Entity::needs_7bit_conversion() const {
  if (encoding == Encoding::eight_bit || encoding == Encoding::binary) return true;
  if (!is_leaf()) {
    return std::any_of(children.begin(), children.end(),
                       [](const Entity& c) { return c.needs_7bit_conversion(); });
  }
  return has_8bit || has_nul || has_bare_cr || longest_line > kMax7bitLine;
}

}  // namespace smime::mime
