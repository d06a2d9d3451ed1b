// Canonical form for signing (RFC 8551 3.1) and decoded bodies.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>

#include "smime/error.hpp"
#include "smime/io.hpp"
#include "smime/mime.hpp"

using namespace smime;
using namespace std::string_literals;
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
};

Parsed parse_text(std::string text) {
  Source src = Source::from_string(std::move(text));
  Entity root = mime::parse(src, src.all());
  return Parsed{src, std::move(root)};
}

std::string canonical(const Parsed& p) {
  StringSink out;
  mime::write_canonical(p.src, p.root, out);
  return out.take();
}

std::string canonical(std::string text) { return canonical(parse_text(std::move(text))); }

std::string decoded(const Parsed& p, const Entity& leaf) {
  StringSink out;
  mime::write_decoded_body(p.src, leaf, out);
  return out.take();
}

// Every byte 7-bit and not NUL, every CR followed by LF and every LF preceded by CR, no line over 998.
void check_7bit_crlf(const std::string& text) {
  std::size_t line = 0;
  std::size_t longest = 0;
  bool clean = true;
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80 || c == 0) clean = false;
    if (c == '\r' && (i + 1 >= text.size() || text[i + 1] != '\n')) clean = false;
    if (c == '\n' && (i == 0 || text[i - 1] != '\r')) clean = false;
    if (c == '\n' || c == '\r') {
      line = 0;
    } else {
      longest = std::max(longest, ++line);
    }
  }
  CHECK(clean);
  CHECK(longest <= 998);
}

std::string binary_bytes() {
  std::string b;
  for (int i = 0; i < 256; ++i) b.push_back(static_cast<char>(i));
  b += "\n\r\n\r\0\nend\n"s;
  return b;
}

const std::string kEightBitText = "caf\xc3\xa9 = cr\xc3\xa8me\nFrom here\n.\nend of line   \n";

}  // namespace

TEST_CASE("an 8bit text part becomes quoted-printable with CRLF hard breaks", "[canonical]") {
  std::string out = canonical("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n" +
                              kEightBitText);
  CHECK(out ==
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        "caf=C3=A9 =3D cr=C3=A8me\r\n=46rom here\r\n=2E\r\nend of line  =20\r\n");
  Parsed again = parse_text(out);
  CHECK(again.root.encoding == mime::Encoding::quoted_printable);
  CHECK(decoded(again, again.root) == crlf(kEightBitText));
}

TEST_CASE("text mislabelled 7bit with 8-bit bytes is made quoted-printable too", "[canonical]") {
  std::string out = canonical("Content-Type: text/plain\n\nna\xc3\xafve\n");
  CHECK(out ==
        "Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nna=C3=AFve\r\n");
}

TEST_CASE("a binary part is base64-encoded from its raw bytes and decodes back exactly", "[canonical]") {
  for (const char* type : {"application/octet-stream", "text/plain"}) {
    INFO("type: " << type);
    const std::string raw = binary_bytes();
    Parsed p =
        parse_text(std::string("Content-Type: ") + type + "\nContent-Transfer-Encoding: binary\n\n" + raw);
    std::string out = canonical(p);
    check_7bit_crlf(out);
    Parsed again = parse_text(out);
    CHECK(again.root.encoding == mime::Encoding::base64);
    CHECK(again.root.headers.get("Content-Type") == type);
    CHECK(decoded(again, again.root) == raw);  // LF and lone CR untouched
  }
}

TEST_CASE("8-bit bytes in a non-text part give base64 of the raw bytes", "[canonical]") {
  const std::string raw = "\x89PNG\r\n\x1a\n\xff\xfe";
  Parsed p = parse_text("Content-Type: image/png\nContent-Transfer-Encoding: 8bit\n\n" + raw);
  Parsed again = parse_text(canonical(p));
  CHECK(again.root.encoding == mime::Encoding::base64);
  CHECK(decoded(again, again.root) == raw);
}

TEST_CASE("declared 8bit with 7-bit content is only relabelled", "[canonical]") {
  CHECK(canonical("Content-Type: text/plain\nContent-Transfer-Encoding: 8bit\n\nplain ascii\nlines\n") ==
        "Content-Type: text/plain\r\nContent-Transfer-Encoding: 7bit\r\n\r\nplain ascii\r\nlines\r\n");
}

TEST_CASE("a base64 part with LF line ends needs nothing but CRLF", "[canonical]") {
  const std::string in =
      "Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n\naGVsbG8g\nd29ybGQ=\n";
  CHECK(canonical(in) == crlf(in));
}

TEST_CASE("base64 on one over-long line is re-wrapped", "[canonical]") {
  std::string raw(3000, '\0');
  std::mt19937 rng(3);
  for (char& c : raw) c = static_cast<char>(rng() % 256);
  StringSink enc;
  {
    Base64Sink b64(enc);
    b64.write(raw);
    b64.finish();
  }
  std::string one_line;
  for (char c : enc.str()) {
    if (c != '\r' && c != '\n') one_line.push_back(c);
  }
  REQUIRE(one_line.size() > 998);
  std::string out = canonical(
      "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" + one_line);
  check_7bit_crlf(out);
  Parsed again = parse_text(out);
  CHECK(again.root.longest_line == 76);
  CHECK(decoded(again, again.root) == raw);
}

TEST_CASE("long 7bit text lines, bare CRs and NULs are made quoted-printable", "[canonical]") {
  struct Row {
    std::string body;
    std::string want_decoded;
  };
  const Row rows[] = {
      {std::string(1200, 'w') + "\n", std::string(1200, 'w') + "\r\n"},
      {"bare\rcr\n", "bare\rcr\r\n"},
      {std::string("nul\0here\n", 9), std::string("nul\0here\r\n", 10)},
  };
  for (const Row& row : rows) {
    Parsed p = parse_text("Content-Type: text/plain\n\n" + row.body);
    REQUIRE(p.root.needs_7bit_conversion());
    std::string out = canonical(p);
    check_7bit_crlf(out);
    Parsed again = parse_text(out);
    CHECK(again.root.encoding == mime::Encoding::quoted_printable);
    CHECK_FALSE(again.root.needs_7bit_conversion());
    CHECK(decoded(again, again.root) == row.want_decoded);
  }
}

TEST_CASE("quoted-printable with raw 8-bit bytes is decoded and encoded again", "[canonical]") {
  Parsed p = parse_text(
      "Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\na=3Db \xe9=\nsoft\n");
  std::string out = canonical(p);
  CHECK(out ==
        "Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\na=3Db =E9soft\r\n");
}

TEST_CASE("a part re-encoded as quoted-printable never makes a delimiter of its decoded text",
          "[canonical]") {
  // "=0A--b" decodes to a line "--b": written literally it would end the part there.
  const std::string in =
      "Content-Type: multipart/mixed; boundary=b\n\n"
      "--b\n"
      "Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n"
      "\xc3\xa9=0A--b=0ANot a header\n"
      "--b--\n";
  std::string out = canonical(in);
  check_7bit_crlf(out);
  Parsed again = parse_text(out);
  REQUIRE(again.root.children.size() == 1);
  CHECK(decoded(again, again.root.children[0]) == "\xc3\xa9\r\n--b\r\nNot a header");
  CHECK(canonical(out) == out);
}

TEST_CASE("in a nested multipart only the 8bit part changes", "[canonical]") {
  const std::string in =
      "From: a@example.org\n"
      "Content-Type: multipart/mixed; boundary=\"outer\"\n"
      "Content-Transfer-Encoding: 8bit\n"
      "\n"
      "preamble\n"
      "--outer\n"
      "Content-Type: multipart/alternative; boundary=inner\n"
      "\n"
      "--inner \n"
      "Content-Type: text/plain; charset=us-ascii\n"
      "\n"
      "untouched =3D text\n"
      "--inner\n"
      "Content-Type: text/html; charset=utf-8\n"
      "Content-Transfer-Encoding: 8bit\n"
      "\n"
      "<p>\xc3\xa9</p>\n"
      "--inner--\n"
      "--outer\n"
      "Content-Type: application/octet-stream\n"
      "Content-Transfer-Encoding: base64\n"
      "\n"
      "AAEC\n"
      "--outer--\n"
      "epilogue\n";
  Parsed p = parse_text(in);
  std::string out = canonical(p);
  check_7bit_crlf(out);
  std::string want = crlf(in);
  auto replace = [&](const std::string& from, const std::string& to) {
    std::size_t at = want.find(from);
    REQUIRE(at != std::string::npos);
    want.replace(at, from.size(), to);
  };
  replace("Content-Transfer-Encoding: 8bit\r\n\r\npreamble",
          "Content-Transfer-Encoding: 7bit\r\n\r\npreamble");
  replace("Content-Transfer-Encoding: 8bit\r\n\r\n<p>\xc3\xa9</p>",
          "Content-Transfer-Encoding: quoted-printable\r\n\r\n<p>=C3=A9</p>");
  CHECK(out == want);

  Parsed again = parse_text(out);
  const Entity& html = again.root.children[0].children[1];
  CHECK(decoded(again, html) == "<p>\xc3\xa9</p>");
  CHECK(decoded(again, again.root.children[1]) == std::string("\0\1\2", 3));
}

TEST_CASE("a multipart/signed keeps its parts' bytes, an 8bit part included", "[canonical]") {
  // An author's signature under our encryption, or a forwarded signed message: the signature covers the
  // 8bit part as it is, so only the line ends change (they were CRLF when it was signed).
  const std::string signed_part =
      "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; "
      "boundary=\"sig\"\n"
      "\n"
      "--sig\n"
      "Content-Type: text/plain; charset=utf-8\n"
      "Content-Transfer-Encoding: 8bit\n"
      "\n"
      "Gr\xc3\xbc\xc3\x9f"
      "e\n"
      "--sig\n"
      "Content-Type: application/pkcs7-signature; name=smime.p7s\n"
      "Content-Transfer-Encoding: base64\n"
      "\n"
      "AAEC\n"
      "--sig--\n";
  CHECK(canonical(signed_part) == crlf(signed_part));

  const std::string forwarded =
      "Content-Type: multipart/mixed; boundary=\"outer\"\n"
      "\n"
      "--outer\n"
      "Content-Type: text/plain; charset=utf-8\n"
      "Content-Transfer-Encoding: 8bit\n"
      "\n"
      "\xc3\xa9\n"
      "--outer\n" +
      signed_part + "--outer--\n";
  std::string want = crlf(forwarded);
  const std::string from = "Content-Transfer-Encoding: 8bit\r\n\r\n\xc3\xa9";
  want.replace(want.find(from), from.size(), "Content-Transfer-Encoding: quoted-printable\r\n\r\n=C3=A9");
  CHECK(canonical(forwarded) == want);
}

TEST_CASE("message/rfc822 parts are canonicalised recursively", "[canonical]") {
  const std::string in =
      "Content-Type: multipart/mixed; boundary=b\n"
      "\n"
      "--b\n"
      "Content-Type: message/rfc822\n"
      "Content-Transfer-Encoding: 8bit\n"
      "\n"
      "Subject: forwarded\n"
      "Content-Type: text/plain; charset=utf-8\n"
      "Content-Transfer-Encoding: 8bit\n"
      "\n"
      "gr\xc3\xbc\xc3\x9f\x65\n"
      "--b--\n";
  Parsed p = parse_text(in);
  REQUIRE(p.root.children[0].children.size() == 1);
  std::string out = canonical(p);
  CHECK(out == crlf("Content-Type: multipart/mixed; boundary=b\n"
                    "\n"
                    "--b\n"
                    "Content-Type: message/rfc822\n"
                    "Content-Transfer-Encoding: 7bit\n"
                    "\n"
                    "Subject: forwarded\n"
                    "Content-Type: text/plain; charset=utf-8\n"
                    "Content-Transfer-Encoding: quoted-printable\n"
                    "\n"
                    "gr=C3=BC=C3=9Fe\n"
                    "--b--\n"));
}

TEST_CASE("a clean message is its input with CRLF line ends, byte for byte", "[canonical]") {
  const std::string in =
      "Subject: folded\n"
      " subject\n"
      "Content-Type: multipart/mixed; boundary=b\n"
      "\n"
      "pre\n"
      "\n"
      "--b\t \n"
      "\n"
      "no headers\n"
      "--b\n"
      "--b\n"
      "Content-Type: text/plain\n"
      "\n"
      "--b--\n"
      "\n"
      "epilogue line\n";
  for (const std::string& text : {in, crlf(in)}) {
    Parsed p = parse_text(text);
    REQUIRE_FALSE(p.root.needs_7bit_conversion());
    CHECK(canonical(p) == crlf(in));
  }
}

TEST_CASE("an entity without a blank line gets none, only a final line end", "[canonical]") {
  CHECK(canonical("Subject: x\nX-Last: y") == "Subject: x\r\nX-Last: y\r\n");
  CHECK(canonical("Subject: x\n\n") == "Subject: x\r\n\r\n");
}

TEST_CASE("a multipart missing its close delimiter gets one", "[canonical]") {
  std::string out = canonical("Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo\n");
  CHECK(out ==
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b\r\n\r\ntwo\r\n\r\n--b--\r\n");
  Parsed again = parse_text(out);
  CHECK(again.root.closed);
  REQUIRE(again.root.children.size() == 2);
  CHECK(again.src.slice(again.root.children[1].body) == "two\r\n");
}

TEST_CASE("canonicalising canonical output gives the same bytes", "[canonical]") {
  const std::string inputs[] = {
      "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n" + kEightBitText,
      "Content-Transfer-Encoding: binary\nContent-Type: application/octet-stream\n\n" + binary_bytes(),
      "Content-Type: multipart/mixed; boundary=b\nContent-Transfer-Encoding: 8bit\n\n--b\n"
      "Content-Type: text/plain\n\n\xe9t\xe9\n--b\nContent-Type: image/gif\nContent-Transfer-Encoding: "
      "binary\n\n"
      "GIF\0\xff\n--b\nContent-Type: message/rfc822\n\nSubject: x\nContent-Transfer-Encoding: 8bit\n\n\xff\n--b\n\n"s +
          std::string(2000, 'L') + "\n",
      "Subject: already clean\n\nplain\n",
  };
  for (const std::string& in : inputs) {
    std::string once = canonical(in);
    std::string twice = canonical(once);
    CHECK(once == twice);
    check_7bit_crlf(once);
    CHECK_FALSE(parse_text(once).root.needs_7bit_conversion());
  }
}

TEST_CASE("a body given apart from its headers is canonicalised with them", "[canonical]") {
  Source src = Source::from_string("caf\xc3\xa9\n");
  mime::HeaderList headers;
  headers.add("Content-Type", "text/plain; charset=utf-8");
  Entity e = mime::parse_body(src, src.all(), headers);
  StringSink out;
  mime::write_canonical(src, e, out);
  CHECK(out.str() ==
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
        "quoted-printable\r\n\r\ncaf=C3=A9\r\n");
}

TEST_CASE("an unknown transfer encoding that needs re-encoding is refused", "[canonical]") {
  Parsed p = parse_text("Content-Type: text/plain\nContent-Transfer-Encoding: x-custom\n\n\xff\n");
  StringSink out;
  try {
    mime::write_canonical(p.src, p.root, out);
    FAIL("an unknown encoding with 8-bit content must not be guessed at");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::bad_input);
    CHECK_THAT(e.what(), Catch::Contains("x-custom"));
  }
  Parsed clean = parse_text("Content-Transfer-Encoding: x-custom\n\nascii\n");
  CHECK(canonical(clean) == "Content-Transfer-Encoding: x-custom\r\n\r\nascii\r\n");
}

TEST_CASE("write_decoded_body decodes base64 and quoted-printable, copies the rest", "[canonical]") {
  struct Row {
    const char* cte;
    std::string body;
    std::string want;
  };
  const Row rows[] = {
      {"base64", "aGVs\nbG8=\n", "hello"},
      {"quoted-printable", "a=3Db=\nc\n", "a=bc\n"},
      {"7bit", "as is\n", "as is\n"},
      {"binary", std::string("\0\n\r", 3), std::string("\0\n\r", 3)},
  };
  for (const Row& row : rows) {
    INFO("encoding: " << row.cte);
    Parsed p = parse_text(std::string("Content-Transfer-Encoding: ") + row.cte + "\n\n" + row.body);
    CHECK(decoded(p, p.root) == row.want);
  }
  Parsed bad = parse_text("Content-Transfer-Encoding: base64\n\nnot*base64\n");
  CHECK_THROWS_AS(decoded(bad, bad.root), Error);
}

TEST_CASE("write_canonical leaves finishing the sink to its caller", "[canonical]") {
  struct CountingSink final : Sink {
    int finishes = 0;
    std::string data;
    void write(std::string_view b) override { data.append(b); }
    void finish() override { ++finishes; }
  } sink;
  Parsed p = parse_text(
      "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\n\xe9\n--b\n"
      "Content-Type: x/y\nContent-Transfer-Encoding: binary\n\n\xff\n--b--\n");
  mime::write_canonical(p.src, p.root, sink);
  CHECK(sink.finishes == 0);
  CHECK(sink.data.find("=E9") != std::string::npos);
}

TEST_CASE("a large 8bit part streams from a file and decodes back", "[canonical][file]") {
  std::string body;
  std::mt19937 rng(11);
  while (body.size() < 3 * 1024 * 1024) {
    std::size_t n = rng() % 120;
    for (std::size_t i = 0; i < n; ++i) body.push_back(static_cast<char>(0x20 + rng() % 0xC0));
    body += "\r\n";
  }
  const std::string path =
      (std::filesystem::temp_directory_path() / ("smime-canon-test-" + std::to_string(::getpid()))).string();
  {
    std::ofstream f(path, std::ios::binary);
    f << "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" << body;
  }
  Source src = Source::from_file(path);
  Entity e = mime::parse(src, src.all());
  const std::string out_path = path + ".out";
  {
    FileSink out(out_path);
    mime::write_canonical(src, e, out);
    out.finish();
  }
  Source canon = Source::from_file(out_path);
  Entity again = mime::parse(canon, canon.all());
  CHECK(again.encoding == mime::Encoding::quoted_printable);
  CHECK(again.longest_line <= 76);
  CHECK_FALSE(again.has_8bit);
  StringSink dec;
  mime::write_decoded_body(canon, again, dec);
  CHECK(dec.str() == body);
  std::filesystem::remove(path);
  std::filesystem::remove(out_path);
}
