// The process's keystore pool and cache of decoded keys (StoreService, KeyCache) seen through the Filter
// with the real pipeline: a change to the store made by another process (smime-keystore, another
// gateway) is used by the next message, and a keystore file deleted or replaced under the running
// milter is noticed, never served from what was decoded before.
#include <catch2/catch.hpp>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include "../smime/test_support.hpp"
#include "conf/config.hpp"
#include "keystore/identity.hpp"
#include "keystore/sqlite_store.hpp"
#include "milter/context.hpp"
#include "milter/filter.hpp"
#include "milter/logging.hpp"
#include "recording_api.hpp"
#include "smime/cert.hpp"
#include "temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using milter::CallbackStatus;
using milter::ConnectionContext;
using milter::Filter;
using milter::LiveConfig;
using milter::RecordingApi;
using TempDir = test::TempDir;

std::shared_ptr<const conf::Config> signing_config(const TempDir& dir) {
  fs::create_directories(dir.path("spool"));
  const std::string json = R"({"spool": {"directory": ")" + dir.path("spool") +
                           R"("}, "keystore": {"path": ")" + dir.path("keystore.db") +
                           R"("}, "revocation": {"enabled": false}, "profiles": {"p": {"mode": "sign",
      "sign_mode": "detached", "signing_identity": "sender-domain"}}, "outbound": {"default_profile": "p"}})";
  return std::make_shared<const conf::Config>(conf::parse(json, "test"));
}

// Puts a gateway identity into the store at `path`, as `smime-keystore import` would from outside.
void import_identity(const std::string& path, const char* name) {
  auto store = keystore::open_sqlite_store(path);
  std::vector<smime::X509Ptr> chain;
  chain.push_back(test::cert("inter"));
  keystore::put_identity(*store, test::cert(name).get(), test::key(name).get(), chain, "",
                         std::time(nullptr));
}

void remove_store_files(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path + suffix);
}

// The milter's log lines, written by the dry run's comment writer into a temporary file.
class CapturedLog {
 public:
  CapturedLog() : file_(std::tmpfile()) {
    REQUIRE(file_ != nullptr);
    milter::logging::init_comments(conf::LogLevel::info, file_);
  }
  ~CapturedLog() {
    milter::logging::init(conf::LogLevel::info, false, false);
    std::fclose(file_);
  }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;
  std::string text() {
    std::fflush(file_);
    std::string all;
    std::rewind(file_);
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, file_)) > 0;) all.append(buf, n);
    std::fseek(file_, 0, SEEK_END);
    return all;
  }

 private:
  std::FILE* file_;
};

struct Gateway {
  LiveConfig live;
  Filter filter{live};  // the real pipeline, store pool and cache
  ConnectionContext ctx;
  explicit Gateway(const TempDir& dir) : live(signing_config(dir)) {
    RecordingApi api;
    ctx.leading_space = true;
    REQUIRE(filter.on_connect(ctx, api, "localhost", "127.0.0.1") == CallbackStatus::continue_);
  }

  // One message from user@example.com on the connection: its status and what the MTA was told.
  CallbackStatus send(RecordingApi& api) {
    REQUIRE(filter.on_envfrom(ctx, api, {"<user@example.com>"}) == CallbackStatus::continue_);
    REQUIRE(filter.on_envrcpt(ctx, api, {"<bob@example.org>"}) == CallbackStatus::continue_);
    REQUIRE(filter.on_header(ctx, api, "From", " user@example.com") == CallbackStatus::continue_);
    REQUIRE(filter.on_header(ctx, api, "Content-Type", " text/plain") == CallbackStatus::continue_);
    REQUIRE(filter.on_eoh(ctx, api) == CallbackStatus::continue_);
    REQUIRE(filter.on_body(ctx, api, "hello\r\n") == CallbackStatus::continue_);
    return filter.on_eom(ctx, api);
  }
  bool sends_signed() {
    RecordingApi api;
    api.set_symbol("i", "Q1");
    return send(api) == CallbackStatus::continue_ &&
           api.body().find("application/pkcs7-signature") != std::string::npos;
  }
};

std::string signer_field(const char* name) {
  return "signer=" + smime::fingerprint_sha256(test::cert(name).get());
}

}  // namespace

TEST_CASE("store cache: an identity imported while the milter runs signs the next message", "[filter][pki]") {
  TempDir dir;
  keystore::open_sqlite_store(dir.path("keystore.db"));  // an empty store
  Gateway gw(dir);
  CHECK_FALSE(gw.sends_signed());  // no identity: passed unsigned (the default missing_identity)
  import_identity(dir.path("keystore.db"), "gw-new");
  CHECK(gw.sends_signed());
}

TEST_CASE("store cache: a keystore deleted while in use takes the keystore action until it is back",
          "[filter][pki]") {
  TempDir dir;
  const std::string path = dir.path("keystore.db");
  import_identity(path, "gw-new");
  import_identity(dir.path("copy.db"), "gw-new");
  Gateway gw(dir);
  REQUIRE(gw.sends_signed());

  remove_store_files(path);
  RecordingApi api;
  api.set_symbol("i", "GONE1");
  CHECK(gw.send(api) == CallbackStatus::tempfail);  // failure_actions.keystore: tempfail by default
  REQUIRE(api.of("setreply").size() == 1);
  CHECK(api.of("setreply")[0].value.find("GONE1") != std::string::npos);
  CHECK_FALSE(api.modified());

  fs::rename(dir.path("copy.db"), path);
  CHECK(gw.sends_signed());
}

TEST_CASE("store cache: another keystore put in the file's place is read, not what was decoded before",
          "[filter][pki]") {
  TempDir dir;
  const std::string path = dir.path("keystore.db");
  import_identity(path, "gw-new");
  import_identity(dir.path("other.db"), "gw-old");  // the same number of changes: the same generation
  CapturedLog log;
  Gateway gw(dir);
  REQUIRE(gw.sends_signed());
  REQUIRE(log.text().find(signer_field("gw-new")) != std::string::npos);

  remove_store_files(path);
  fs::rename(dir.path("other.db"), path);
  const std::size_t before = log.text().size();
  CHECK(gw.sends_signed());
  const std::string after = log.text().substr(before);
  CHECK(after.find(signer_field("gw-old")) != std::string::npos);
  CHECK(after.find(signer_field("gw-new")) == std::string::npos);
}
