// The pid file (pid_file.hpp) and the key passphrase (key_passphrase.hpp): small files with rules.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>

#include "conf/config.hpp"
#include "milter/key_passphrase.hpp"
#include "milter/pid_file.hpp"
#include "temp_dir.hpp"

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream(path) << text;
  ::chmod(path.c_str(), mode);
}

}  // namespace

TEST_CASE("pid file: written, held, removed", "[pid_file]") {
  test::TempDir dir("smime-pid");
  const std::string path = dir.path("milter.pid");
  {
    milter::PidFile pid(path, 4242);
    CHECK(slurp(path) == "4242\n");
    // a second daemon finds it held, and is told who holds it
    CHECK_THROWS_WITH(milter::PidFile(path, 4343),
                      Catch::Contains("held by a running smime-milter (pid 4242)"));
    CHECK(slurp(path) == "4242\n");
  }
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("pid file: a stale file is taken over", "[pid_file]") {
  test::TempDir dir("smime-pid");
  const std::string path = dir.path("milter.pid");
  write(path, "99999999\nleft over\n", 0644);
  milter::PidFile pid(path, 17);
  CHECK(slurp(path) == "17\n");
}

TEST_CASE("pid file: a symbolic link is refused and its target untouched", "[pid_file]") {
  test::TempDir dir("smime-pid");
  write(dir.path("target"), "precious\n", 0644);
  std::filesystem::create_symlink(dir.path("target"), dir.path("milter.pid"));
  CHECK_THROWS_WITH(milter::PidFile(dir.path("milter.pid"), 1), Catch::Contains("symbolic link"));
  CHECK(slurp(dir.path("target")) == "precious\n");
}

TEST_CASE("pid file: a file replaced meanwhile is not removed", "[pid_file]") {
  test::TempDir dir("smime-pid");
  const std::string path = dir.path("milter.pid");
  {
    milter::PidFile pid(path, 5);
    std::filesystem::remove(path);
    write(path, "6\n", 0644);  // another daemon's
  }
  CHECK(slurp(path) == "6\n");
}

TEST_CASE("pid file: a directory that cannot be written names the remedy", "[pid_file]") {
  CHECK_THROWS_WITH(milter::PidFile("/nonexistent-dir/milter.pid", 1), Catch::Contains("/run/smime-milter"));
}

TEST_CASE("key passphrase: the first line of a private file", "[key_passphrase]") {
  test::TempDir dir("smime-pass");
  conf::Keystore k;
  k.key_passphrase_file = dir.path("pass");

  SECTION("read") {
    write(dir.path("pass"), "correct horse\nsecond line\n", 0600);
    CHECK(milter::read_key_passphrase(k, nullptr) == "correct horse");
  }
  SECTION("without a line end") {
    write(dir.path("pass"), "no newline", 0400);
    CHECK(milter::read_key_passphrase(k, nullptr) == "no newline");
  }
  SECTION("readable by others: refused") {
    write(dir.path("pass"), "secret\n", 0644);
    CHECK_THROWS_WITH(
        milter::read_key_passphrase(k, nullptr),
        Catch::Contains("accessible by group or others (mode 0644)") && Catch::Contains("chmod 0600"));
  }
  SECTION("empty: refused") {
    write(dir.path("pass"), "\nsecond\n", 0600);
    CHECK_THROWS_WITH(milter::read_key_passphrase(k, nullptr), Catch::Contains("is empty"));
  }
  SECTION("missing: refused") {
    CHECK_THROWS_WITH(milter::read_key_passphrase(k, nullptr), Catch::Contains("No such file"));
  }
  SECTION("a symbolic link: refused") {
    write(dir.path("real"), "secret\n", 0600);
    std::filesystem::create_symlink(dir.path("real"), dir.path("pass"));
    CHECK_THROWS_WITH(milter::read_key_passphrase(k, nullptr), Catch::Contains("symbolic link"));
  }
}

TEST_CASE("key passphrase: a systemd credential", "[key_passphrase]") {
  test::TempDir dir("smime-cred");
  conf::Keystore k;
  k.key_passphrase_credential = "smime-milter.key-passphrase";
  write(dir.path("smime-milter.key-passphrase"), "from systemd\n", 0400);
  CHECK(milter::read_key_passphrase(k, dir.root().c_str()) == "from systemd");
  CHECK_THROWS_WITH(milter::read_key_passphrase(k, nullptr),
                    Catch::Contains("$CREDENTIALS_DIRECTORY is not set"));
  CHECK_THROWS_WITH(milter::read_key_passphrase(k, ""),
                    Catch::Contains("LoadCredential=smime-milter.key-passphrase"));
  k.key_passphrase_credential = "../etc/passwd";
  CHECK_THROWS_WITH(milter::read_key_passphrase(k, dir.root().c_str()),
                    Catch::Contains("not a credential name"));
}

TEST_CASE("key passphrase: none configured", "[key_passphrase]") {
  CHECK_FALSE(milter::read_key_passphrase(conf::Keystore{}, nullptr).has_value());
}
