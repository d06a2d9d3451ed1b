// MIME headers, Content-Type, the entity parser (ranges, flags, limits) and the transfer codecs.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>

#include "smime/error.hpp"
#include "smime/io.hpp"
#include "smime/mime.hpp"

using namespace smime;
using mime::Encoding;
using mime::Entity;

namespace {

std::string crlf(std::string_view lf_text) {
  std::string out;
  for (char c : lf_text) {
    if (c == '\n') out.push_back('\r');
    out.push_back(c);
  }
  return out;
}

struct Parsed {
  Source src;
  Entity root;
  std::string of(Range r) const { return src.slice(r); }
};

Parsed parse_text(std::string text, const mime::Limits& limits = {}) {
  Source src = Source::from_string(std::move(text));
  Entity root = mime::parse(src, src.all(), limits);
  return Parsed{src, std::move(root)};
}

// The message of the bad_input error parsing `text` throws, or "" if it parses.
std::string parse_error(std::string text, const mime::Limits& limits = {}) {
  try {
    parse_text(std::move(text), limits);
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::bad_input);
    return e.what();
  }
  return "";
}

std::string qp(std::string_view in) {
  StringSink out;
  mime::QuotedPrintableSink enc(out);
  enc.write(in);
  enc.finish();
  return out.take();
}

std::string unqp(std::string_view in) {
  StringSink out;
  mime::decode_quoted_printable(in, out);
  return out.take();
}

std::string unbase64(std::string_view in) {
  StringSink out;
  mime::decode_base64(in, out);
  return out.take();
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("smime-mime-test-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

const char* const kNested =
    "From: a@example.org\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\n"
    "\n"
    "preamble text\n"
    "--outer\n"
    "Content-Type: text/plain\n"
    "\n"
    "first part\n"
    "--outer\n"
    "Content-Type: multipart/alternative; boundary=inner\n"
    "\n"
    "--inner\n"
    "\n"
    "plain alt\n"
    "--inner\n"
    "Content-Type: text/html\n"
    "\n"
    "<p>html</p>\n"
    "--inner--\n"
    "--outer--\n"
    "epilogue\n";

}  // namespace

// ---------------------------------------------------------------- headers

TEST_CASE("parse_headers keeps values byte for byte, folding included", "[mime][headers]") {
  mime::HeaderList h = mime::parse_headers("Subject: hello\r\n  world\r\nX-Empty:\r\nTo:a@b\r\n");
  REQUIRE(h.items.size() == 3);
  CHECK(h.items[0].name == "Subject");
  CHECK(h.items[0].value == " hello\r\n  world");
  CHECK(h.items[0].unfolded() == "hello  world");
  CHECK(h.items[1].value.empty());
  CHECK(h.items[2].value == "a@b");
}

TEST_CASE("write_headers gives back the input with CRLF line ends", "[mime][headers]") {
  const std::string lf = "Subject: a\n\tb\nContent-Type: text/plain;\n charset=utf-8\nX: y\n";
  StringSink out;
  mime::write_headers(mime::parse_headers(lf), out);
  CHECK(out.str() == crlf(lf));
}

TEST_CASE("a header block without a final line end parses", "[mime][headers]") {
  mime::HeaderList h = mime::parse_headers("A: 1\nB: 2");
  REQUIRE(h.items.size() == 2);
  CHECK(h.get("b") == "2");
}

TEST_CASE("header lookups ignore case", "[mime][headers]") {
  mime::HeaderList h = mime::parse_headers("Received: one\r\nreceived: two\r\nSubject: s\r\n");
  CHECK(h.count("RECEIVED") == 2);
  REQUIRE(h.find("subject") != nullptr);
  CHECK(h.find("subject")->name == "Subject");
  CHECK(h.get("received") == "one");
  CHECK(h.get("Missing").empty());
  CHECK(h.find("Missing") == nullptr);
}

TEST_CASE("set replaces every field of a name where the first stood", "[mime][headers]") {
  mime::HeaderList h = mime::parse_headers("A: 1\r\nX: old1\r\nB: 2\r\nx: old2\r\n");
  h.set("X", "new");
  REQUIRE(h.items.size() == 3);
  CHECK(h.items[0].name == "A");
  CHECK(h.items[1].name == "X");
  CHECK(h.items[1].value == " new");
  CHECK(h.items[2].name == "B");
  h.set("C", "3");
  CHECK(h.items.back().name == "C");
  CHECK(h.get("C") == "3");
}

TEST_CASE("add appends with one space and remove_all removes every match", "[mime][headers]") {
  mime::HeaderList h;
  h.add("X-A", "1");
  h.add("x-a", "2");
  h.add("Y", "3");
  CHECK(h.items[0].value == " 1");
  CHECK(h.count("X-A") == 2);
  h.remove_all("X-a");
  REQUIRE(h.items.size() == 1);
  CHECK(h.items[0].name == "Y");
}

TEST_CASE("add and set refuse what would not be one header field", "[mime][headers]") {
  mime::HeaderList h;
  auto kind_of = [&](auto fn) {
    try {
      fn();
    } catch (const Error& e) {
      return e.kind();
    }
    return ErrorKind::crypto;  // "did not throw"
  };
  CHECK(kind_of([&] { h.add("Bad Name", "x"); }) == ErrorKind::usage);
  CHECK(kind_of([&] { h.add("", "x"); }) == ErrorKind::usage);
  CHECK(kind_of([&] { h.add("X", "a\r\nBcc: evil@example.org"); }) == ErrorKind::usage);
  CHECK(kind_of([&] { h.set("X", "trailing\r\n"); }) == ErrorKind::usage);
  CHECK(h.items.empty());
  h.add("X", "folded\r\n value");
  CHECK(h.get("X") == "folded value");
}

TEST_CASE("a name with white space before the colon is found and keeps its bytes", "[mime][headers]") {
  mime::HeaderList h = mime::parse_headers("Subject : old style\r\n");
  CHECK(h.get("Subject") == "old style");
  StringSink out;
  mime::write_headers(h, out);
  CHECK(out.str() == "Subject : old style\r\n");
}

TEST_CASE("malformed header blocks are refused with the offset", "[mime][headers]") {
  struct Row {
    const char* block;
    const char* want;
  };
  const Row rows[] = {
      {"A: 1\r\nno colon here\r\n", "neither a field"},
      {": empty\r\n", "empty name"},
      {" leading continuation\r\n", "continuation line without a field"},
      {"From someone@example.org Mon Jan  1 00:00:00 2024\r\nA: 1\r\n", "mbox \"From \""},
      {"Bad Name: x\r\n", "is not valid"},
      {"A: 1\r\n\r\nB: 2\r\n", "empty line"},
  };
  for (const Row& row : rows) {
    INFO("block: " << row.block);
    try {
      mime::parse_headers(row.block);
      FAIL("want an error containing: " << row.want);
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::bad_input);
      CHECK_THAT(e.what(), Catch::Contains(row.want) && Catch::Contains("byte offset"));
    }
  }
}

TEST_CASE("split_content_headers separates content from routing and drops MIME-Version", "[mime][headers]") {
  mime::HeaderList h = mime::parse_headers(
      "From: a@b\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\ncontent-transfer-encoding: 7bit\r\n"
      "Subject: s\r\n");
  mime::SplitHeaders s = mime::split_content_headers(h);
  REQUIRE(s.outer.items.size() == 2);
  CHECK(s.outer.items[0].name == "From");
  CHECK(s.outer.items[1].name == "Subject");
  REQUIRE(s.content.items.size() == 2);
  CHECK(s.content.items[0].name == "Content-Type");
  CHECK(s.content.items[1].name == "content-transfer-encoding");
}

// ---------------------------------------------------------------- Content-Type, encodings

TEST_CASE("Content-Type values parse to type, subtype and parameters", "[mime][content-type]") {
  struct Row {
    const char* value;
    const char* mime_type;
    const char* param;
    const char* want_param;
  };
  const Row rows[] = {
      {"text/plain", "text/plain", "charset", ""},
      {"Text/HTML; Charset=\"UTF-8\"", "text/html", "charset", "UTF-8"},
      {"multipart/mixed; boundary=\"a\\\"b\\\\c\"", "multipart/mixed", "boundary", "a\"b\\c"},
      {"multipart/mixed (a (nested) comment) ; (c) boundary = xyz (trailing)", "multipart/mixed", "boundary",
       "xyz"},
      {"multipart/mixed;\r\n\tboundary=\"folded value\"", "multipart/mixed", "boundary", "folded value"},
      {"application/pdf; name=\"a;b.pdf\"; size=12", "application/pdf", "size", "12"},
      {"application/pdf; name=\"a;b.pdf\"; size=12", "application/pdf", "name", "a;b.pdf"},
      {"multipart/signed; boundary==_x/y?z; micalg=sha-256", "multipart/signed", "boundary", "=_x/y?z"},
      {"text/plain; charset=a; charset=b", "text/plain", "charset", "a"},
      {"text/plain; ; junk; charset=ok;", "text/plain", "charset", "ok"},
      {"text/plain; broken=\"unterminated", "text/plain", "broken", "unterminated"},
      {"", "text/plain", "boundary", ""},
      {"garbage", "text/plain", "boundary", ""},
      {"text/", "text/plain", "boundary", ""},
      {"/plain", "text/plain", "boundary", ""},
  };
  for (const Row& row : rows) {
    INFO("value: " << row.value);
    mime::ContentType ct = mime::ContentType::parse(row.value);
    CHECK(ct.mime_type() == row.mime_type);
    CHECK(ct.param(row.param) == row.want_param);
  }
}

TEST_CASE("ContentType::is and param ignore case, '*' matches any subtype", "[mime][content-type]") {
  mime::ContentType ct = mime::ContentType::parse("Application/PKCS7-MIME; SMIME-Type=enveloped-data");
  CHECK(ct.is("application", "pkcs7-mime"));
  CHECK(ct.is("APPLICATION", "*"));
  CHECK_FALSE(ct.is("application", "pkcs7-signature"));
  CHECK(ct.param("smime-type") == "enveloped-data");
  CHECK(ct.params.count("smime-type") == 1);
}

TEST_CASE("Content-Transfer-Encoding values map to encodings", "[mime][encoding]") {
  struct Row {
    const char* value;
    Encoding want;
  };
  const Row rows[] = {
      {"", Encoding::seven_bit},         {"  ", Encoding::seven_bit},
      {"7bit", Encoding::seven_bit},     {"8BIT", Encoding::eight_bit},
      {" Binary ", Encoding::binary},    {"Quoted-Printable", Encoding::quoted_printable},
      {"base64", Encoding::base64},      {"base64 (comment)", Encoding::base64},
      {"x-uuencode", Encoding::unknown}, {"7bit junk", Encoding::unknown},
  };
  for (const Row& row : rows) {
    INFO("value: '" << row.value << "'");
    CHECK(mime::parse_encoding(row.value) == row.want);
  }
  CHECK(mime::to_string(Encoding::quoted_printable) == "quoted-printable");
  CHECK(mime::to_string(Encoding::seven_bit) == "7bit");
  CHECK(mime::parse_encoding(mime::to_string(Encoding::base64)) == Encoding::base64);
}

// ---------------------------------------------------------------- parse: structure and ranges

TEST_CASE("a simple message has exact header and body ranges", "[mime][parse]") {
  const std::string text = "Subject: hi\r\nContent-Type: text/plain\r\n\r\nline 1\r\nline 2\r\n";
  Parsed p = parse_text(text);
  CHECK(p.root.whole.offset == 0);
  CHECK(p.root.whole.length == text.size());
  CHECK(p.of(p.root.header) == "Subject: hi\r\nContent-Type: text/plain\r\n");
  CHECK(p.root.body.offset == p.root.header.length + 2);
  CHECK(p.of(p.root.body) == "line 1\r\nline 2\r\n");
  CHECK(p.root.is_leaf());
  CHECK(p.root.depth == 0);
  CHECK(p.root.headers.get("subject") == "hi");
}

TEST_CASE("nested multiparts give byte-exact part ranges, LF and CRLF alike", "[mime][parse]") {
  for (bool use_crlf : {false, true}) {
    INFO("CRLF: " << use_crlf);
    const std::string nl = use_crlf ? "\r\n" : "\n";
    Parsed p = parse_text(use_crlf ? crlf(kNested) : std::string(kNested));
    const Entity& root = p.root;
    REQUIRE(root.content_type.is("multipart", "mixed"));
    CHECK(root.boundary == "outer");
    CHECK(root.closed);
    CHECK(p.of(root.preamble) == "preamble text");
    CHECK(p.of(root.epilogue) == "epilogue" + nl);
    REQUIRE(root.children.size() == 2);

    const Entity& first = root.children[0];
    CHECK(first.depth == 1);
    CHECK(p.of(first.whole) == "Content-Type: text/plain" + nl + nl + "first part");
    CHECK(p.of(first.header) == "Content-Type: text/plain" + nl);
    CHECK(p.of(first.body) == "first part");

    const Entity& alt = root.children[1];
    REQUIRE(alt.content_type.is("multipart", "alternative"));
    CHECK(alt.boundary == "inner");
    CHECK(alt.closed);
    CHECK(alt.preamble.length == 0);
    CHECK(alt.epilogue.length == 0);
    REQUIRE(alt.children.size() == 2);
    CHECK(alt.children[0].header.length == 0);
    CHECK(alt.children[0].content_type.mime_type() == "text/plain");
    CHECK(p.of(alt.children[0].body) == "plain alt");
    CHECK(alt.children[1].depth == 2);
    CHECK(alt.children[1].content_type.mime_type() == "text/html");
    CHECK(p.of(alt.children[1].body) == "<p>html</p>");
    CHECK_FALSE(root.is_leaf());
  }
}

TEST_CASE("an empty line before a delimiter belongs to the part before it only once", "[mime][parse]") {
  Parsed p = parse_text(crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nbody\n\n--b\n\n--b--"));
  REQUIRE(p.root.children.size() == 2);
  CHECK(p.of(p.root.children[0].body) == "body\r\n");  // its own trailing line end is content
  CHECK(p.of(p.root.children[1].body).empty());
  CHECK(p.root.epilogue.length == 0);
  CHECK(p.root.closed);
}

TEST_CASE("delimiter lines: transport padding allowed, longer boundaries are not delimiters",
          "[mime][parse]") {
  Parsed p = parse_text(
      crlf("Content-Type: multipart/mixed; boundary=b\n\n--b \t\n\none\n--bb\n--b-\n--b--  \nepi"));
  REQUIRE(p.root.children.size() == 1);
  CHECK(p.of(p.root.children[0].body) == "one\r\n--bb\r\n--b-");
  CHECK(p.root.closed);
  CHECK(p.of(p.root.epilogue) == "epi");
}

TEST_CASE("a missing close delimiter leaves closed false and the last part to the end", "[mime][parse]") {
  Parsed p = parse_text(crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo\n"));
  CHECK_FALSE(p.root.closed);
  REQUIRE(p.root.children.size() == 2);
  CHECK(p.of(p.root.children[0].body) == "one");
  CHECK(p.of(p.root.children[1].body) == "two\r\n");
  CHECK(p.root.children[1].whole.end() == p.src.size());
  CHECK(p.root.epilogue.length == 0);
}

TEST_CASE("a message ending inside its headers has an empty body", "[mime][parse]") {
  Parsed p = parse_text("Subject: x\r\nX-Last: y");
  CHECK(p.root.headers.items.size() == 2);
  CHECK(p.root.body.length == 0);
  CHECK(p.root.body.offset == p.src.size());
  CHECK(p.of(p.root.header) == "Subject: x\r\nX-Last: y");
}

TEST_CASE("message/rfc822 parts are parsed as messages", "[mime][parse]") {
  Parsed p =
      parse_text(crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n\n"
                      "Subject: inner\nContent-Type: text/plain; charset=utf-8\n\ninner body\n--b--\n"));
  REQUIRE(p.root.children.size() == 1);
  const Entity& msg = p.root.children[0];
  CHECK_FALSE(msg.is_leaf());
  REQUIRE(msg.children.size() == 1);
  const Entity& inner = msg.children[0];
  CHECK(inner.depth == 2);
  CHECK(inner.whole.offset == msg.body.offset);
  CHECK(inner.headers.get("Subject") == "inner");
  CHECK(inner.content_type.param("charset") == "utf-8");
  CHECK(p.of(inner.body) == "inner body");
}

TEST_CASE("message/rfc822 and message/global with base64 or qp stay leaves", "[mime][parse]") {
  for (const char* type : {"message/rfc822", "message/global"}) {
    for (const char* cte : {"base64", "quoted-printable"}) {
      INFO(type << " " << cte);
      Parsed p = parse_text(std::string("Content-Type: ") + type + "\r\nContent-Transfer-Encoding: " + cte +
                            "\r\n\r\nU3ViamVjdDogeA0KDQpib2R5\r\n");
      CHECK(p.root.is_leaf());
      CHECK(p.root.children.empty());
    }
  }
  Parsed global = parse_text("Content-Type: message/global\r\n\r\nSubject: x\r\n\r\nbody");
  REQUIRE(global.root.children.size() == 1);
  CHECK(global.of(global.root.children[0].body) == "body");
}

TEST_CASE("parts of multipart/digest default to message/rfc822", "[mime][parse]") {
  Parsed p =
      parse_text(crlf("Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\nbody\n--d--\n"));
  REQUIRE(p.root.children.size() == 1);
  CHECK(p.root.children[0].content_type.mime_type() == "message/rfc822");
  REQUIRE(p.root.children[0].children.size() == 1);
  CHECK(p.root.children[0].children[0].headers.get("Subject") == "one");
}

TEST_CASE("parse_body parses a body whose headers came separately", "[mime][parse]") {
  Source src = Source::from_string(crlf("--b\nContent-Type: text/plain\n\nx\n--b--\n"));
  mime::HeaderList headers;
  headers.add("Content-Type", "multipart/mixed; boundary=b");
  Entity e = mime::parse_body(src, src.all(), headers);
  CHECK(e.header.length == 0);
  CHECK(e.whole.offset == e.body.offset);
  CHECK(e.whole.length == src.size());
  REQUIRE(e.children.size() == 1);
  CHECK(src.slice(e.children[0].body) == "x");
  CHECK(e.children[0].depth == 1);
}

TEST_CASE("parse_body refuses given fields that would not be written back as one field", "[mime][parse]") {
  Source src = Source::from_string("x\r\n");
  struct Row {
    std::string name, value, problem;
  };
  const Row rows[] = {
      {"Content-Type", " text/plain;\r\nX-Injected: 1", "has a line end that is not a fold"},
      {"Content-Type", " text/plain\n", "has a line end that is not a fold"},
      {"Content-Type", " text/plain\rX", "has a line end that is not a fold"},
      {"Content Type", " text/plain", "invalid header field name"},
      {"", " text/plain", "invalid header field name"},
  };
  for (const Row& row : rows) {
    mime::HeaderList headers;
    headers.items.push_back({row.name, row.value});
    INFO(row.name << ":" << row.value);
    std::string error;
    try {
      (void)mime::parse_body(src, src.all(), headers);
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::bad_input);
      error = e.what();
    }
    CHECK(error.find(row.problem) != std::string::npos);
  }
  // Folds of either line end, and the obsolete space before the colon, are fields.
  mime::HeaderList ok;
  ok.items.push_back({"Content-Type ", " text/plain;\r\n\tcharset=utf-8;\n charset2=x"});
  CHECK(mime::parse_body(src, src.all(), ok).content_type.is("text", "plain"));
}

TEST_CASE("a sub-range of a Source parses with absolute offsets", "[mime][parse]") {
  const std::string prefix = "XXXXXXXXXX";
  Source src = Source::from_string(prefix + "A: 1\r\n\r\nbody" + "YYYY");
  Entity e = mime::parse(src, Range{prefix.size(), 12});
  CHECK(e.header.offset == prefix.size());
  CHECK(src.slice(e.body) == "body");
}

// ---------------------------------------------------------------- parse: flags

TEST_CASE("leaf flags describe the body and are merged into containers", "[mime][parse][flags]") {
  struct Row {
    std::string body;
    bool has_8bit, has_nul, has_bare_cr;
    std::size_t longest;
  };
  const Row rows[] = {
      {"plain\r\nascii", false, false, false, 5},
      {"caf\xc3\xa9\n", true, false, false, 5},
      {std::string("nul\0byte", 8), false, true, false, 8},
      {"bare\rcr\r\n", false, false, true, 7},
      {"ends with cr\r", false, false, true, 13},
      {"crlf only\r\n\r\n", false, false, false, 9},
      {std::string(1500, 'x') + "\nshort", false, false, false, 1500},
  };
  for (const Row& row : rows) {
    INFO("body: " << row.body.substr(0, 20));
    Parsed p = parse_text("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nclean\r\n--b\r\n\r\n" +
                          row.body + "\r\n--b--\r\n");
    REQUIRE(p.root.children.size() == 2);
    const Entity& leaf = p.root.children[1];
    CHECK(leaf.has_8bit == row.has_8bit);
    CHECK(leaf.has_nul == row.has_nul);
    CHECK(leaf.has_bare_cr == row.has_bare_cr);
    CHECK(leaf.longest_line == row.longest);
    CHECK(p.root.has_8bit == row.has_8bit);
    CHECK(p.root.has_nul == row.has_nul);
    CHECK(p.root.has_bare_cr == row.has_bare_cr);
    CHECK(p.root.longest_line == std::max<std::size_t>(row.longest, 5));
    const bool dirty = row.has_8bit || row.has_nul || row.has_bare_cr || row.longest > 998;
    CHECK(leaf.needs_7bit_conversion() == dirty);
    CHECK(p.root.needs_7bit_conversion() == dirty);
    CHECK_FALSE(p.root.children[0].needs_7bit_conversion());
  }
}

// The flags as the definition says them, byte by byte: the parser's chunked scan must agree.
struct ReferenceFlags {
  bool has_8bit = false, has_nul = false, has_bare_cr = false;
  std::size_t longest = 0;
};
ReferenceFlags reference_flags(std::string_view body) {
  ReferenceFlags f;
  std::size_t line = 0;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const auto c = static_cast<unsigned char>(body[i]);
    if (c >= 0x80) f.has_8bit = true;
    if (c == 0) f.has_nul = true;
    if (c == '\r' && (i + 1 == body.size() || body[i + 1] != '\n')) f.has_bare_cr = true;
    if (c == '\n') {
      f.longest = std::max(f.longest, line > 0 && body[i - 1] == '\r' ? line - 1 : line);
      line = 0;
    } else {
      ++line;
    }
  }
  return f.longest = std::max(f.longest, line), f;
}

TEST_CASE("leaf flags agree with a byte-by-byte reading across chunk boundaries", "[mime][parse][flags]") {
  const std::string header = "Content-Type: text/plain\r\n\r\n";
  constexpr std::size_t kChunk = 64 * 1024;  // the parser reads bodies in chunks of this size
  std::mt19937 rng(20261201);
  const char specials[] = {'\r', '\n', '\0', '\x80', '\xff'};
  for (int round = 0; round < 300; ++round) {
    // Base64-like lines with CRLF or LF ends, then a few special bytes, many of them where a chunk
    // ends or begins; some rounds have one long line crossing a boundary.
    std::string body;
    const bool lf = round % 3 == 0;
    while (body.size() < 2 * kChunk + 500) body += std::string(76, 'Q') + (lf ? "\n" : "\r\n");
    if (round % 5 == 1) body.insert(kChunk - 700, std::string(2000, 'L'));
    const int edits = static_cast<int>(rng() % 4);
    for (int k = 0; k < edits; ++k) {
      std::size_t at = rng() % body.size();
      if (rng() % 2) at = std::min(body.size() - 1, (1 + rng() % 2) * kChunk - 2 + rng() % 4);
      body[at] = specials[rng() % sizeof specials];
    }
    if (round % 7 == 2) body.back() = '\r';
    INFO("round " << round);
    Parsed p = parse_text(header + body);
    const ReferenceFlags want = reference_flags(body);
    CHECK(p.root.has_8bit == want.has_8bit);
    CHECK(p.root.has_nul == want.has_nul);
    CHECK(p.root.has_bare_cr == want.has_bare_cr);
    CHECK(p.root.longest_line == want.longest);
  }
}

TEST_CASE("a line over the limit is refused wherever it ends", "[mime][parse][flags]") {
  mime::Limits limits;
  limits.max_line_length = 100 * 1024;  // longer than a chunk
  const std::string header = "Content-Type: text/plain\r\n\r\n";
  for (std::size_t len : {limits.max_line_length, limits.max_line_length + 1}) {
    for (std::string end : {"", "\r", "\r\n", "\n"}) {
      INFO("length " << len << ", end " << end.size());
      const std::string text = header + "a\r\n" + std::string(len, 'x') + end;
      // A CR right before the LF is the line end's; without an LF it is part of the line.
      const std::size_t counted = len + (end == "\r" ? 1 : 0);
      if (counted > limits.max_line_length)
        CHECK_THROWS_WITH(parse_text(text, limits), Catch::Contains("MIME line length"));
      else
        CHECK(parse_text(text, limits).root.longest_line == counted);
    }
  }
}

TEST_CASE("declared 8bit or binary needs conversion even when the bytes are clean", "[mime][parse][flags]") {
  for (const char* cte : {"8bit", "binary"}) {
    Parsed leaf = parse_text(std::string("Content-Transfer-Encoding: ") + cte + "\r\n\r\nascii\r\n");
    CHECK(leaf.root.needs_7bit_conversion());
    Parsed container =
        parse_text(std::string("Content-Type: multipart/mixed; boundary=b\r\nContent-Transfer-Encoding: ") +
                   cte + "\r\n\r\n--b\r\n\r\nascii\r\n--b--\r\n");
    CHECK(container.root.needs_7bit_conversion());
    CHECK_FALSE(container.root.children[0].needs_7bit_conversion());
  }
}

// ---------------------------------------------------------------- parse: errors and limits

TEST_CASE("malformed structures are refused with what and where", "[mime][parse][errors]") {
  struct Row {
    std::string text;
    const char* want;
  };
  const Row rows[] = {
      {"Content-Type: multipart/mixed\r\n\r\nbody\r\n", "without a boundary parameter"},
      {"Content-Type: multipart/mixed; boundary=b\r\n\r\nno delimiter at all\r\n", "no delimiter line"},
      {"Content-Type: multipart/mixed; boundary=b\r\nContent-Transfer-Encoding: "
       "base64\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n",
       "only 7bit, 8bit or binary"},
      {"Content-Type: text/plain\r\nContent-Type: text/html\r\n\r\nx", "2 Content-Type fields"},
      {"Content-Transfer-Encoding: base64\r\nContent-Transfer-Encoding: 7bit\r\n\r\nx",
       "2 Content-Transfer-Encoding fields"},
      {"From someone Mon Jan  1 00:00:00 2024\r\nSubject: x\r\n\r\nbody", "mbox \"From \""},
      {"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nnot a header line\r\n--b--\r\n",
       "neither a field"},
  };
  for (const Row& row : rows) {
    INFO("message: " << row.text);
    std::string what = parse_error(row.text);
    CHECK_THAT(what, Catch::Contains(row.want) && Catch::Contains("byte offset"));
  }
}

TEST_CASE("a nested part's header error names its absolute offset", "[mime][parse][errors]") {
  const std::string head = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n";
  std::string what = parse_error(head + "bad line\r\n\r\nx\r\n--b--\r\n");
  CHECK_THAT(what, Catch::Contains("byte offset " + std::to_string(head.size())));
}

std::string nested_multiparts(int levels) {
  std::string text;
  for (int i = 0; i < levels; ++i) {
    text += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n--b" +
            std::to_string(i) + "\r\n";
  }
  text += "\r\nleaf";
  for (int i = levels - 1; i >= 0; --i) text += "\r\n--b" + std::to_string(i) + "--";
  return text;
}

TEST_CASE("each limit, when exceeded, is named with its value and where", "[mime][parse][limits]") {
  struct Row {
    const char* name;
    std::string text;
    mime::Limits limits;
    std::string want;
  };
  mime::Limits depth;
  depth.max_depth = 3;
  mime::Limits parts;
  parts.max_parts = 3;
  mime::Limits header;
  header.max_header_bytes = 32;
  mime::Limits line;
  line.max_line_length = 100;
  const Row rows[] = {
      {"depth", nested_multiparts(4), depth, "MIME part nesting exceeds the limit of 3"},
      {"parts",
       "Content-Type: multipart/mixed; "
       "boundary=b\r\n\r\n--b\r\n\r\n1\r\n--b\r\n\r\n2\r\n--b\r\n\r\n3\r\n--b--",
       parts, "MIME part count exceeds the limit of 3"},
      {"header", "Subject: " + std::string(40, 's') + "\r\n\r\nbody", header,
       "MIME header block exceeds the limit of 32 bytes"},
      {"body line", "Subject: x\r\n\r\nshort\r\n" + std::string(101, 'x') + "\r\n", line,
       "MIME line length exceeds the limit of 100 bytes (at byte offset 21)"},
      {"header line", "Subject: " + std::string(100, 'x') + "\r\n\r\n", line,
       "MIME line length exceeds the limit of 100"},
      {"preamble line",
       "Content-Type: multipart/mixed; boundary=b\r\n\r\n" + std::string(101, 'p') +
           "\r\n--b\r\n\r\nx\r\n--b--",
       line, "MIME line length exceeds the limit of 100"},
  };
  for (const Row& row : rows) {
    INFO("limit: " << row.name);
    std::string what = parse_error(row.text, row.limits);
    CHECK_THAT(what, Catch::Contains(row.want) && Catch::Contains("byte offset"));
  }
}

TEST_CASE("limits are inclusive: exactly at the limit parses", "[mime][parse][limits]") {
  mime::Limits limits;
  limits.max_depth = 4;  // root at depth 0, leaf at depth 4
  limits.max_line_length = 100;
  limits.max_parts = 5;
  CHECK_NOTHROW(parse_text(nested_multiparts(4), limits));
  CHECK_NOTHROW(parse_text("Subject: x\r\n\r\n" + std::string(100, 'x') + "\r\n", limits));
  CHECK_FALSE(parse_error(nested_multiparts(5), limits).empty());
}

TEST_CASE("the default limits hold for a message of normal shape", "[mime][parse][limits]") {
  CHECK(parse_error(kNested).empty());
  CHECK(parse_error(nested_multiparts(32)).empty());
  CHECK_THAT(parse_error(nested_multiparts(33)), Catch::Contains("limit of 32"));
}

// ---------------------------------------------------------------- parse: file-backed sources

TEST_CASE("a file-backed Source parses exactly like a string, across 64 KiB chunks", "[mime][parse][file]") {
  // Part boundaries straddle the chunk edge at 65536 in several positions.
  std::string text = "Content-Type: multipart/mixed; boundary=edge\r\n\r\n";
  std::mt19937 rng(7);
  for (int i = 0; i < 40; ++i) {
    text += "--edge\r\nContent-Type: application/octet-stream\r\n\r\n";
    std::size_t n = 5000 + rng() % 3000;
    for (std::size_t j = 0; j < n; ++j)
      text.push_back(j % 77 == 76 ? '\n' : static_cast<char>('a' + rng() % 26));
    text += "\r\n";
  }
  text += "--edge--\r\n";
  const std::string path = temp_path("chunks.eml");
  {
    std::ofstream f(path, std::ios::binary);
    f << text;
  }
  Source file = Source::from_file(path);
  Source str = Source::from_string(text);
  Entity a = mime::parse(file, file.all());
  Entity b = mime::parse(str, str.all());
  std::filesystem::remove(path);
  REQUIRE(a.children.size() == 40);
  REQUIRE(b.children.size() == 40);
  for (std::size_t i = 0; i < 40; ++i) {
    CHECK(a.children[i].body.offset == b.children[i].body.offset);
    CHECK(a.children[i].body.length == b.children[i].body.length);
    CHECK(a.children[i].longest_line == b.children[i].longest_line);
    CHECK(str.slice(a.children[i].body).find("--edge") == std::string::npos);
  }
  CHECK(a.whole.length > 3 * 65536);
}

TEST_CASE("a delimiter line split by the 64 KiB chunk edge is found", "[mime][parse][file]") {
  const std::string head = "Content-Type: multipart/mixed; boundary=edge\r\n\r\n--edge\r\n\r\n";
  for (std::size_t shift : {0, 1, 2, 3, 4, 7, 9}) {
    INFO("delimiter starts " << shift << " bytes before the chunk edge");
    std::string body(65536 - head.size() - shift - 2, 'x');
    std::string text = head + body + "\r\n--edge--\r\n";
    Parsed p = parse_text(text);
    REQUIRE(p.root.children.size() == 1);
    CHECK(p.root.children[0].body.length == body.size());
    CHECK(p.root.closed);
  }
}

// ---------------------------------------------------------------- quoted-printable

TEST_CASE("quoted-printable encodes what RFC 2045 requires", "[mime][codec][qp]") {
  struct Row {
    std::string in;
    std::string want;
  };
  const Row rows[] = {
      {"plain text", "plain text"},
      {"a=b", "a=3Db"},
      {"caf\xc3\xa9", "caf=C3=A9"},
      {"tab\there", "tab\there"},
      {"ctl\x01\x7f", "ctl=01=7F"},
      {"trailing \nnext", "trailing=20\r\nnext"},
      {"two  \r\nx", "two =20\r\nx"},
      {"tab\t\n", "tab=09\r\n"},
      {"end space ", "end space=20"},
      {"lf\nline ends\n", "lf\r\nline ends\r\n"},
      {"crlf\r\nkept\r\n", "crlf\r\nkept\r\n"},
      {"lone\rcr", "lone=0Dcr"},
      {"cr at end\r", "cr at end=0D"},
      {"space then cr \rx", "space then cr =0Dx"},
      {"From me\nFrom you", "=46rom me\r\n=46rom you"},
      {"From\n", "From\r\n"},
      {"Frost\n", "Frost\r\n"},
      {"a From b", "a From b"},
      {"From \n", "=46rom=20\r\n"},
      {".\n", "=2E\r\n"},
      {".", "=2E"},
      {".\r\n", "=2E\r\n"},
      {"..\n", "..\r\n"},
      {".x\n", ".x\r\n"},
      {"x\n.\ny", "x\r\n=2E\r\ny"},
      {"--b\n", "=2D-b\r\n"},
      {"x\n-\n", "x\r\n=2D\r\n"},
      {"a-b\n", "a-b\r\n"},
      {"", ""},
  };
  for (const Row& row : rows) {
    INFO("input: " << row.in);
    CHECK(qp(row.in) == row.want);
  }
}

TEST_CASE("quoted-printable lines stay within 76 characters with soft breaks", "[mime][codec][qp]") {
  std::string in(200, 'a');
  in += "\n" + std::string(100, '\xff') + "\n" + std::string(75, 'b') + " \n";
  std::string out = qp(in);
  std::size_t start = 0;
  while (start < out.size()) {
    std::size_t end = out.find("\r\n", start);
    if (end == std::string::npos) end = out.size();
    CHECK(end - start <= 76);
    start = end + 2;
  }
  CHECK(out.find("=\r\n") != std::string::npos);
  CHECK(unqp(out) == crlf(in));
}

TEST_CASE("a soft break never opens a line with a literal 'F', '.' or '-'", "[mime][codec][qp]") {
  for (char c : {'F', '.', '-'}) {
    std::string in(75, 'a');
    in.push_back(c);
    in += "rom x";
    std::string out = qp(in);
    std::size_t brk = out.find("=\r\n");
    REQUIRE(brk != std::string::npos);
    CHECK(out[brk + 3] == '=');
    CHECK(unqp(out) == in);
  }
}

TEST_CASE("quoted-printable output does not depend on how the input is chunked", "[mime][codec][qp]") {
  std::string in = "From x\r\n.\r\ntrailing \t\r\nlone\rcr\n=\xe9" + std::string(90, 'z') + "\r\n.";
  std::string whole = qp(in);
  for (std::size_t step : {1, 2, 3, 5}) {
    StringSink out;
    mime::QuotedPrintableSink enc(out);
    for (std::size_t i = 0; i < in.size(); i += step) enc.write(std::string_view(in).substr(i, step));
    enc.finish();
    enc.finish();  // idempotent
    CHECK(out.str() == whole);
  }
}

TEST_CASE("quoted-printable round trips arbitrary bytes without line ends", "[mime][codec][qp]") {
  std::mt19937 rng(42);
  for (int round = 0; round < 50; ++round) {
    std::string in;
    std::size_t n = rng() % 400;
    for (std::size_t i = 0; i < n; ++i) {
      char c = static_cast<char>(rng() % 256);
      if (c != '\n') in.push_back(c);  // LF becomes a CRLF hard break
    }
    std::string enc = qp(in);
    for (unsigned char c : enc) CHECK((c < 127 && (c >= 32 || c == '\r' || c == '\n' || c == '\t')));
    CHECK(unqp(enc) == in);
  }
}

TEST_CASE("quoted-printable decoding is lenient where RFC 2045 asks it to be", "[mime][codec][qp]") {
  struct Row {
    std::string in;
    std::string want;
  };
  const Row rows[] = {
      {"a=3Db", "a=b"},
      {"lower=3d=c3=a9", "lower=\xc3\xa9"},
      {"soft=\r\nbreak", "softbreak"},
      {"soft=\nbreak", "softbreak"},
      {"padded soft= \t\r\nbreak", "padded softbreak"},
      {"trailing   \r\nx", "trailing\r\nx"},
      {"trailing \t\nx", "trailing\nx"},
      {"end  ", "end"},
      {"kept inner  space", "kept inner  space"},
      {"before soft =\r\nx", "before soft x"},
      {"bad=ZZ", "bad=ZZ"},
      {"bad=4", "bad=4"},
      {"bad=4x", "bad=4x"},
      {"eq at end=", "eq at end"},
      {"=\r\n", ""},
      {"bare\rcr", "bare\rcr"},
      {"= x", "= x"},
  };
  for (const Row& row : rows) {
    INFO("input: " << row.in);
    CHECK(unqp(row.in) == row.want);
  }
}

// ---------------------------------------------------------------- base64

TEST_CASE("base64 decoding skips white space and accepts missing padding", "[mime][codec][base64]") {
  struct Row {
    std::string in;
    std::string want;
  };
  const Row rows[] = {
      {"", ""},
      {"aGVsbG8=", "hello"},
      {"aGVs\r\nbG8=\r\n", "hello"},
      {" a G V s b G 8 = ", "hello"},
      {"aGVsbG8", "hello"},
      {"aGVsbA==", "hell"},
      {"aGVsbA", "hell"},
      {"aGVsbA=", "hell"},
      {"aGk=aGk=", "hihi"},
      {"AP8A/w==", std::string("\x00\xff\x00\xff", 4)},
      {"+/+/", "\xfb\xff\xbf"},
  };
  for (const Row& row : rows) {
    INFO("input: " << row.in);
    CHECK(unbase64(row.in) == row.want);
  }
}

TEST_CASE("base64 decoding refuses what is not base64", "[mime][codec][base64]") {
  struct Row {
    const char* in;
    const char* want;
  };
  const Row rows[] = {
      {"aGV*bG8=", "invalid character 0x2a"}, {"aGVsbG8=-", "invalid character 0x2d"},
      {"a", "truncated final group"},         {"aGVsb", "truncated final group"},
      {"=aGV", "misplaced padding"},          {"a===", "misplaced padding"},
      {"aG=s", "data after padding"},
  };
  for (const Row& row : rows) {
    INFO("input: " << row.in);
    try {
      unbase64(row.in);
      FAIL("want an error containing: " << row.want);
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::bad_input);
      CHECK_THAT(e.what(), Catch::Contains(row.want));
    }
  }
}

TEST_CASE("base64 round trips through Base64Sink for every length", "[mime][codec][base64]") {
  std::mt19937 rng(1);
  for (std::size_t n = 0; n < 200; n += 7) {
    std::string in;
    for (std::size_t i = 0; i < n; ++i) in.push_back(static_cast<char>(rng() % 256));
    StringSink enc;
    Base64Sink b64(enc);
    b64.write(in);
    b64.finish();
    CHECK(unbase64(enc.str()) == in);
  }
}

TEST_CASE("the one-shot decoders do not finish their sink", "[mime][codec]") {
  struct CountingSink final : Sink {
    int finishes = 0;
    std::string data;
    void write(std::string_view b) override { data.append(b); }
    void finish() override { ++finishes; }
  } sink;
  mime::decode_base64("aGk=", sink);
  mime::decode_quoted_printable("=41", sink);
  CHECK(sink.data == "hiA");
  CHECK(sink.finishes == 0);
}

// ---------------------------------------------------------------- boundaries

TEST_CASE("make_boundary gives fresh boundaries that encoders cannot produce", "[mime][codec]") {
  std::string a = mime::make_boundary();
  std::string b = mime::make_boundary();
  CHECK(a != b);
  CHECK(a.size() == 40);
  CHECK(a.rfind("=_smime_", 0) == 0);
  CHECK(a.find_first_not_of("=_smime0123456789ABCDEF") == std::string::npos);
  CHECK(mime::ContentType::parse("multipart/mixed; boundary=\"" + a + "\"").param("boundary") == a);
  // "=_" cannot appear in quoted-printable ('=' is followed by hex or a line end) nor in base64.
  std::string encoded = qp("=_smime_ text with =_ inside");
  CHECK(encoded.find("=_") == std::string::npos);
}
