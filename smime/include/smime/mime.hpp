// MIME entities (RFC 2045-2049, RFC 5322 header syntax) as the S/MIME core needs them.
//
// Contract: parse() reads a Source range and returns the entity's structure as byte ranges into that
// Source plus small parsed copies of each header block; bodies are never copied, so a 100 MB message
// costs the size of its tree, not of its bytes. Malformed input the parser cannot make sense of, and
// every limit, throw Error(bad_input) naming the limit and where it was hit. Lenient where real mail
// is sloppy (LF-only line ends, a missing final boundary, header names in any case); strict where a
// wrong guess would change what was signed.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "smime/io.hpp"

namespace smime::mime {

struct Limits {
  std::size_t max_depth = 32;                  // nesting of multipart and message/rfc822
  std::size_t max_parts = 10000;               // entities in one message, the root included
  std::size_t max_header_bytes = 1024 * 1024;  // one entity's header block
  std::size_t max_line_length = 1024 * 1024;   // any one line, without its line end
};

// One header field. `value` is everything after the colon exactly as written: leading white space
// and folding (line end + WSP) included, the final line end excluded. Serialised as
// name ":" value CRLF (folding line ends become CRLF), so an untouched header keeps its bytes.
struct Header {
  std::string name;
  std::string value;
  // The value unfolded (line ends removed) and trimmed of surrounding white space.
  std::string unfolded() const;
};

class HeaderList {
 public:
  std::vector<Header> items;

  // First header with this name (case-insensitive), or nullptr.
  const Header* find(std::string_view name) const;
  // Unfolded, trimmed value of the first header with this name; empty if absent.
  std::string get(std::string_view name) const;
  std::size_t count(std::string_view name) const;
  void remove_all(std::string_view name);
  // Appends `name: value` (a single space is put after the colon).
  void add(std::string_view name, std::string_view value);
  // Replaces every header of that name with one `name: value` where the first one stood (or appends).
  void set(std::string_view name, std::string_view value);
};

// Does the content begin with an RFC 5322 header block, i.e. is it a MIME entity rather than raw
// text? True when it starts with fields (a name of printable ASCII other than ':', optional white
// space, ':'; continuation lines starting with space or tab; 8-bit bytes allowed in values) or with
// nothing, followed by an empty line; LF, CRLF and mixed line ends alike. False for anything else:
// raw text, an mbox "From " line, a bare CR or NUL in the block, a header block without the empty
// line after it (which would hide text in a header), or one longer than limits.max_header_bytes.
// Reads at most max_header_bytes + 2 bytes of the range.
bool starts_with_header_block(const Source& src, Range r, const Limits& limits = {});
bool starts_with_header_block(std::string_view content, const Limits& limits = {});

// Parses a header block (up to, not including, the blank line). Throws on a line that is neither a
// field nor a continuation, on an empty field name, and on the limits.
HeaderList parse_headers(std::string_view block, const Limits& limits = {});
// name ":" value CRLF for each header, line ends of folded values turned into CRLF.
void write_headers(const HeaderList& headers, Sink& out);

// Headers that describe content (name starts with "Content-", case-insensitive) go inside a
// protected entity; everything else (routing headers) stays outside. MIME-Version goes to neither.
struct SplitHeaders {
  HeaderList outer;
  HeaderList content;
};
SplitHeaders split_content_headers(const HeaderList& headers);

struct ContentType {
  std::string type = "text";                  // lower case
  std::string subtype = "plain";              // lower case
  std::map<std::string, std::string> params;  // names lower case, values unquoted (RFC 2231 not decoded)

  // A missing or unparsable value gives text/plain (RFC 2045 section 5.2).
  static ContentType parse(std::string_view value);
  bool is(std::string_view t, std::string_view s) const;  // case-insensitive; s == "*" matches any
  bool is_multipart() const { return type == "multipart"; }
  std::string param(std::string_view name) const;  // empty if absent
  std::string mime_type() const { return type + "/" + subtype; }
};

enum class Encoding { seven_bit, eight_bit, binary, quoted_printable, base64, unknown };
Encoding parse_encoding(std::string_view value);  // missing/empty gives seven_bit
std::string_view to_string(Encoding e);

struct Entity {
  Range whole;   // first header byte to last body byte
  Range header;  // the header block, without the blank line
  Range
      body;  // after the blank line; for a part, up to (not including) the line end before the next delimiter
  HeaderList headers;
  ContentType content_type;
  Encoding encoding = Encoding::seven_bit;
  std::size_t depth = 0;

  // multipart/*: the parts in order, plus preamble and epilogue ranges.
  // message/rfc822 (and message/global): the one enclosed message.
  std::vector<Entity> children;
  std::string boundary;
  Range preamble;
  Range epilogue;
  bool closed = true;  // multipart: the close delimiter "--boundary--" was found

  // What the body holds (leaves only; for containers the union over children):
  bool has_8bit = false;     // a byte >= 0x80
  bool has_nul = false;      // a NUL byte
  bool has_bare_cr = false;  // a CR not followed by LF
  std::size_t longest_line = 0;

  bool is_leaf() const { return children.empty() && !content_type.is_multipart(); }
  // True when this entity (or anything inside it) is not 7-bit clean and must be re-encoded before signing.
  bool needs_7bit_conversion() const;
};

// Parses an entity whose header block starts at r.offset (a whole message or a MIME part).
Entity parse(const Source& src, Range r, const Limits& limits = {});
// Parses a body whose header block is given separately (the milter receives headers and body apart).
// The resulting entity's header range is empty and whole == body. A given field that would not be
// written back as one field (an invalid name, a line end in the value that is no fold) is bad_input.
Entity parse_body(const Source& src, Range body, HeaderList headers, const Limits& limits = {});

// Writes the entity in the canonical form for signing (RFC 8551 section 3.1.1-3.1.3): CRLF line ends
// throughout; every leaf that is not 7-bit clean (declared 8bit/binary, or 8-bit bytes found) is
// re-encoded as quoted-printable (text/*) or base64 (anything else) with its Content-Transfer-Encoding
// updated; containers of such parts get 7bit; message/rfc822 parts are canonicalised recursively.
// Parts that need no change keep their bytes apart from line ends. Headers come from entity.headers.
void write_canonical(const Source& src, const Entity& e, Sink& out);

// Writes the body of a leaf decoded from its transfer encoding (base64, quoted-printable; others as is).
void write_decoded_body(const Source& src, const Entity& leaf, Sink& out);

// Encoding filters usable on their own.
class QuotedPrintableSink final : public Sink {  // RFC 2045 6.7, CRLF lines, soft breaks at 76
 public:
  explicit QuotedPrintableSink(Sink& next) : next_(next) {}
  void write(std::string_view bytes) override;
  void finish() override;

 private:
  Sink& next_;
  std::string line_;  // encoded text of the current output line
  std::string held_;  // a trailing space/tab or CR not yet known to be at a line end
};
// Decodes base64, ignoring white space and line ends; throws Error(bad_input) on other characters.
void decode_base64(std::string_view text, Sink& out);
void decode_quoted_printable(std::string_view text, Sink& out);

// A fresh boundary string: random, 7-bit, cannot occur in base64 or quoted-printable output.
std::string make_boundary();

}  // namespace smime::mime
