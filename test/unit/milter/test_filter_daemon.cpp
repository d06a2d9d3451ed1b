// What the Filter does for the daemon around each message: the counters of metrics.hpp (messages by
// direction and action, the processing time, failures by class) and the key passphrase handed to each
// Job. Driven through RecordingApi, without an MTA.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "keystore/sqlite_store.hpp"
#include "milter/context.hpp"
#include "milter/filter.hpp"
#include "milter/metrics.hpp"
#include "recording_api.hpp"
#include "temp_dir.hpp"

namespace {

using milter::CallbackStatus;

std::shared_ptr<const conf::Config> config_in(const test::TempDir& dir) {
  std::filesystem::create_directories(dir.path("spool"));
  const std::string json = R"({"spool": {"directory": ")" + dir.path("spool") +
                           R"("}, "keystore": {"path": ")" + dir.path("keystore.db") +
                           R"("}, "revocation": {"enabled": false}})";
  return std::make_shared<const conf::Config>(conf::parse(json, "test"));
}

// One message from `client` through the callbacks; the end-of-message status.
CallbackStatus send(milter::Filter& f, const std::string& client) {
  milter::ConnectionContext ctx;
  milter::RecordingApi api;
  api.set_symbol("i", "QID1");
  REQUIRE(f.on_connect(ctx, api, "host", client) == CallbackStatus::continue_);
  REQUIRE(f.on_envfrom(ctx, api, {"<user@example.com>"}) == CallbackStatus::continue_);
  REQUIRE(f.on_envrcpt(ctx, api, {"<bob@example.org>"}) == CallbackStatus::continue_);
  REQUIRE(f.on_header(ctx, api, "Subject", " hi") == CallbackStatus::continue_);
  REQUIRE(f.on_eoh(ctx, api) == CallbackStatus::continue_);
  REQUIRE(f.on_body(ctx, api, "body\r\n") == CallbackStatus::continue_);
  return f.on_eom(ctx, api);
}

struct Store {
  std::unique_ptr<keystore::Store> store;
  explicit Store(const test::TempDir& dir) : store(keystore::open_sqlite_store(dir.path("keystore.db"))) {}
  milter::StoreOpener opener() {
    return [this](milter::ConnectionContext&, const conf::Config&) -> keystore::Store& { return *store; };
  }
};

}  // namespace

TEST_CASE("filter: each end of message is counted by direction and action, with its time",
          "[filter][metrics]") {
  test::TempDir dir;
  milter::LiveConfig live(config_in(dir));
  Store store(dir);
  conf::Action action = conf::Action::accept;
  milter::Filter f(
      live,
      [&](milter::Job&) {
        milter::Verdict v;
        v.action = action;
        return v;
      },
      store.opener());
  milter::metrics::reset();
  CHECK(send(f, "127.0.0.1") == CallbackStatus::continue_);  // internal network: outbound
  action = conf::Action::reject;
  CHECK(send(f, "203.0.113.9") == CallbackStatus::reject);  // from outside: inbound
  CHECK(send(f, "203.0.113.9") == CallbackStatus::reject);
  using milter::metrics::value;
  CHECK(value("smime_messages_total", {{"direction", "outbound"}, {"action", "accept"}}) == 1);
  CHECK(value("smime_messages_total", {{"direction", "inbound"}, {"action", "reject"}}) == 2);
  CHECK(value("smime_messages_total", {{"direction", "inbound"}, {"action", "accept"}}) == 0);
  CHECK(milter::metrics::exposition().find("smime_eom_duration_seconds_count 3\n") != std::string::npos);
}

TEST_CASE("filter: a failure before the pipeline is counted by its class", "[filter][metrics]") {
  test::TempDir dir;
  milter::LiveConfig live(config_in(dir));
  milter::Filter f(
      live, [](milter::Job&) { return milter::Verdict{}; },
      [](milter::ConnectionContext&, const conf::Config&) -> keystore::Store& {
        throw std::runtime_error("the keystore is gone");
      });
  milter::metrics::reset();
  CHECK(send(f, "127.0.0.1") == CallbackStatus::tempfail);  // failure_actions.keystore
  CHECK(milter::metrics::value("smime_failures_total", {{"class", "keystore"}}) == 1);
  CHECK(milter::metrics::value("smime_messages_total", {{"direction", "outbound"}, {"action", "tempfail"}}) ==
        1);
}

TEST_CASE("filter: each Job gets the key passphrase set last", "[filter]") {
  test::TempDir dir;
  milter::LiveConfig live(config_in(dir));
  Store store(dir);
  std::vector<std::string> seen;
  milter::Filter f(
      live,
      [&](milter::Job& job) {
        seen.push_back(job.key_passphrase);
        return milter::Verdict{};
      },
      store.opener());
  send(f, "127.0.0.1");
  f.set_key_passphrase("first");
  send(f, "127.0.0.1");
  f.set_key_passphrase("second");  // a reload
  send(f, "127.0.0.1");
  CHECK(seen == std::vector<std::string>{"", "first", "second"});
}
