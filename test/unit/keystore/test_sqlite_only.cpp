// SqliteStore only: the file, its mode and its WAL companions.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "keystore/error.hpp"
#include "keystore/sqlite_store.hpp"
#include "keystore_support.hpp"

using namespace keystore;

namespace {
unsigned mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<unsigned>(st.st_mode & 0777);
}
}  // namespace

TEST_CASE("a new store file and its WAL companions are created 0600 whatever the umask", "[store][sqlite]") {
  kt::TempDir dir;
  const std::string path = dir.path("ks.db");
  mode_t old = ::umask(0);
  auto store = open_sqlite_store(path);
  ::umask(old);
  store->add(NewCertificate{kt::pki_cert("alice").get(), Origin::imported, kt::now(), {}, {}});
  CHECK(mode_of(path) == 0600);  // a write: -wal and -shm exist while the store is open
  CHECK(mode_of(path + "-wal") == 0600);
  CHECK(mode_of(path + "-shm") == 0600);
}

TEST_CASE("opening a missing file without create fails with a store error", "[store][sqlite]") {
  kt::TempDir dir;
  SqliteOptions o;
  o.create = false;
  CHECK_THROWS_AS(open_sqlite_store(dir.path("missing.db"), o), Error);
}
