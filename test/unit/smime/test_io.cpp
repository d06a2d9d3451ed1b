// Sources, sinks and the BIO adapters that stream between them and OpenSSL.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "smime/io.hpp"
#include "smime/mime.hpp"

using namespace smime;

namespace {
std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("smime-test-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

std::string read_bio_all(BIO* bio, int chunk) {
  std::string out;
  std::string buf(static_cast<std::size_t>(chunk), '\0');
  for (int n; (n = BIO_read(bio, buf.data(), chunk)) > 0;)
    out.append(buf.data(), static_cast<std::size_t>(n));
  return out;
}

class ThrowingSink final : public Sink {
 public:
  void write(std::string_view) override { throw Error(ErrorKind::io, "disk full (test)"); }
};
}  // namespace

TEST_CASE("a string source reads ranges and stops at its end", "[io]") {
  Source s = Source::from_string("hello world");
  CHECK(s.size() == 11);
  CHECK(s.slice({6, 5}) == "world");
  CHECK(s.slice({6, 100}) == "world");
  CHECK(s.slice({20, 5}).empty());
}

TEST_CASE("a file source reads with pread, never whole", "[io]") {
  std::string path = temp_path("source");
  { std::ofstream(path, std::ios::binary) << std::string(200000, 'x') << "END"; }
  Source s = Source::from_file(path);
  CHECK(s.size() == 200003);
  CHECK(s.slice({200000, 3}) == "END");
  std::filesystem::remove(path);
  CHECK_THROWS_AS(Source::from_file(path), Error);
}

TEST_CASE("a file sink creates its file 0600 and writes every byte", "[io]") {
  std::string path = temp_path("sink");
  {
    FileSink f(path);
    for (int i = 0; i < 1000; ++i) f.write(std::string(1000, static_cast<char>('a' + i % 26)));
    f.finish();
  }
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(st.st_size == 1000000);
  std::filesystem::remove(path);
}

TEST_CASE("a full disk is an io error naming the file", "[io]") {
  REQUIRE(std::filesystem::exists("/dev/full"));
  FileSink f("/dev/full");
  try {
    f.write(std::string(200000, 'x'));
    f.finish();
    FAIL("no error on a full device");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::io);
    CHECK_THAT(e.what(), Catch::Contains("/dev/full") && Catch::Contains("No space left"));
  }
}

TEST_CASE("base64 output has CRLF lines of 76 characters and decodes back", "[io]") {
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 7));
  StringSink text;
  Base64Sink b64(text);
  b64.write(data.substr(0, 3));  // in pieces of odd sizes
  b64.write(data.substr(3, 500));
  b64.write(data.substr(503));
  b64.finish();
  const std::string& t = text.str();
  std::size_t start = 0;
  for (std::size_t end; (end = t.find("\r\n", start)) != std::string::npos; start = end + 2) {
    INFO("line at " << start);
    CHECK(end - start <= 76);
  }
  CHECK(start == t.size());
  StringSink back;
  mime::decode_base64(t, back);
  CHECK(back.str() == data);
}

TEST_CASE("CRLF sink turns bare LF into CRLF and keeps CRLF, even split across writes", "[io]") {
  StringSink out;
  CrlfSink crlf(out);
  crlf.write("a\nb\r");
  crlf.write("\nc\n");
  crlf.finish();
  CHECK(out.str() == "a\r\nb\r\nc\r\n");
}

TEST_CASE("a source BIO reads a range, optionally with canonical line ends", "[io]") {
  Source s = Source::from_string("XXline1\nline2\r\nline3\nYY");
  Range r{2, s.size() - 4};
  for (int chunk : {1, 2, 3, 7, 4096}) {
    INFO("read size " << chunk);
    BioPtr raw = make_source_bio(s, r);
    CHECK(read_bio_all(raw.get(), chunk) == "line1\nline2\r\nline3\n");
    BioPtr crlf = make_source_bio(s, r, true);
    CHECK(read_bio_all(crlf.get(), chunk) == "line1\r\nline2\r\nline3\r\n");
  }
}

TEST_CASE("a sink BIO forwards writes and keeps the sink's exception for rethrow", "[io]") {
  StringSink ok;
  BioPtr bio = make_sink_bio(ok);
  CHECK(BIO_write(bio.get(), "abc", 3) == 3);
  CHECK(ok.str() == "abc");

  ThrowingSink bad;
  BioPtr failing = make_sink_bio(bad);
  CHECK(BIO_write(failing.get(), "abc", 3) < 0);
  CHECK_THROWS_WITH(rethrow_sink_error(failing.get()), Catch::Contains("disk full"));
}
