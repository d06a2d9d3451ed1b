// The per-message body buffer: memory up to the limit, an anonymous spool file past it.
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>

#include "milter/message_buffer.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

// Entries left in the spool directory (anonymous spool files leave none).
std::size_t entries(const test::TempDir& dir) {
  return static_cast<std::size_t>(
      std::distance(fs::directory_iterator(dir.root()), fs::directory_iterator()));
}

}  // namespace

TEST_CASE("a body under the limit stays in memory and comes back byte for byte", "[milter][buffer]") {
  test::TempDir dir;
  milter::MessageBuffer buf(dir.root(), 1024);
  buf.append("Hello\r\n");
  buf.append("World\r\n");
  CHECK_FALSE(buf.spooled());
  CHECK(buf.size() == 14);
  smime::Source s = buf.finish();
  CHECK(s.slice(s.all()) == "Hello\r\nWorld\r\n");
  CHECK(entries(dir) == 0);
}

TEST_CASE("a body past the limit moves to an anonymous spool file, nothing lost, no name left",
          "[milter][buffer]") {
  test::TempDir dir;
  std::string expected;
  {
    milter::MessageBuffer buf(dir.root(), 64 * 1024);
    for (int i = 0; i < 5000; ++i) {
      std::string line = "line " + std::to_string(i) + " of a message that will not fit in memory\r\n";
      buf.append(line);
      expected += line;
    }
    CHECK(buf.spooled());
    CHECK(buf.size() == expected.size());
    CHECK(entries(dir) == 0);  // unlinked from the start: a crash leaves nothing behind
    smime::Source s = buf.finish();
    CHECK(s.size() == expected.size());
    CHECK(s.slice(s.all()) == expected);
  }
  CHECK(entries(dir) == 0);
}

TEST_CASE("the limit is exact: a body of exactly the limit stays in memory", "[milter][buffer]") {
  test::TempDir dir;
  milter::MessageBuffer buf(dir.root(), 10);
  buf.append("0123456789");
  CHECK_FALSE(buf.spooled());
  buf.append("x");
  CHECK(buf.spooled());
  CHECK(buf.finish().slice({0, 11}) == "0123456789x");
}

TEST_CASE("a spool directory that cannot be written is an io error naming it", "[milter][buffer]") {
  milter::MessageBuffer buf("/nonexistent/spool", 4);
  try {
    buf.append("more than four bytes");
    FAIL("no error");
  } catch (const smime::Error& e) {
    CHECK(e.kind() == smime::ErrorKind::io);
    CHECK_THAT(e.what(), Catch::Contains("/nonexistent/spool"));
  }
}

TEST_CASE("a full disk while spooling is an io error, not a truncated body", "[milter][buffer]") {
  test::TempDir dir;
  milter::MessageBuffer buf(dir.root(), 16);
  // Limit the file size this process may write (as a full disk would), and ignore the signal so the
  // write fails with EFBIG instead of killing the test.
  struct rlimit old {};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
  struct rlimit small = old;
  small.rlim_cur = 100000;
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  bool threw = false;
  try {
    for (int i = 0; i < 100; ++i) buf.append(std::string(10000, 'x'));
    buf.finish();
  } catch (const smime::Error& e) {
    threw = true;
    CHECK(e.kind() == smime::ErrorKind::io);
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  CHECK(threw);
}
