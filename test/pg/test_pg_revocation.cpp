// The revocation cache shared through the keystore database (revocation.cache "keystore"): two
// Checkers with stores of their own stand for two gateways. What one fetched the other uses with the
// responders down; a dead responder costs the fleet one connection per negative_cache period; one
// fetch per URL across the gateways. Then the milter's wiring: two RevocationServices over two
// StoreServices' pools, configured as two milters would be (revocation.cache "keystore"), and the purge.
#include <catch2/catch.hpp>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <thread>

#include "conf/config.hpp"
#include "keystore_support.hpp"
#include "milter/context.hpp"
#include "milter/filter.hpp"
#include "milter/keystore_cache_store.hpp"
#include "milter/revocation_service.hpp"
#include "milter/store_service.hpp"
#include "pg_support.hpp"
#include "recording_api.hpp"
#include "revocation_support.hpp"
#include "smime/cert.hpp"

using revocation::Checker;
using revocation::Method;
using revocation::Status;
using revocation::Why;

namespace {

// One gateway: its own pool (its own connections) on the shared schema.
revocation::Options gateway(const kt::TempStore& ts,
                            std::vector<Method> order = {Method::ocsp, Method::crl}) {
  revocation::Options o = test::fast_options(std::move(order));
  o.cache_store =
      std::make_shared<milter::KeystoreCacheStore>(std::make_shared<keystore::StorePool>(ts.where, 4));
  return o;
}

}  // namespace

TEST_CASE("shared revocation cache: the second gateway answers with the responders down",
          "[revocation][pg]") {
  kt::TempStore ts;
  const std::time_t now = std::time(nullptr);
  smime::X509Ptr issuer = test::inter();
  {
    test::OcspResponder responder;
    test::HttpServer crl({test::kCrlPort, test::rev_pki_file("crl/fresh"), "serve", "", 0});
    Checker first(gateway(ts));
    CHECK(first.check(test::rev_cert("rev-good").get(), issuer.get(), now).status == Status::good);
    CHECK(first.check(test::rev_cert("rev-revoked").get(), issuer.get(), now).status == Status::revoked);
    CHECK(first.check(test::rev_cert("rev-crlonly").get(), issuer.get(), now).status == Status::good);
  }
  CHECK(std::stoi(pgt::query("SELECT count(*) FROM revocation_cache", ts.schema)) >= 3);  // in the database
  test::wait_port_free(test::kOcspPort);
  test::wait_port_free(test::kCrlPort);

  Checker second(gateway(ts));
  revocation::Answer good = second.check(test::rev_cert("rev-good").get(), issuer.get(), now + 60);
  INFO(good.reason);
  CHECK(good.status == Status::good);
  CHECK(good.from_cache);
  revocation::Answer revoked = second.check(test::rev_cert("rev-revoked").get(), issuer.get(), now + 60);
  CHECK(revoked.status == Status::revoked);
  CHECK(revoked.revocation_reason == "keyCompromise");
  CHECK(revoked.from_cache);
  revocation::Answer crl = second.check(test::rev_cert("rev-crlonly").get(), issuer.get(), now + 60);
  CHECK(crl.status == Status::good);
  CHECK(crl.source == Method::crl);
  CHECK(crl.from_cache);
  // cache_entries shows the shared entries, not as files.
  auto entries = second.cache_entries(test::rev_cert("rev-good").get(), issuer.get());
  REQUIRE_FALSE(entries.empty());
  CHECK(entries.front().file.empty());
}

TEST_CASE("shared revocation cache: an undetermined answer is negative-cached for every gateway",
          "[revocation][pg]") {
  kt::TempStore ts;
  test::HttpServer dead({test::kOcspPort, "", "close", "", 0});
  smime::X509Ptr issuer = test::inter();
  const std::time_t now = std::time(nullptr);
  revocation::Options a = gateway(ts, {Method::ocsp});
  revocation::Options b = gateway(ts, {Method::ocsp});
  a.negative_cache = b.negative_cache = std::chrono::seconds(300);
  Checker first(a), second(b);
  revocation::Answer one = first.check(test::rev_cert("rev-good").get(), issuer.get(), now);
  CHECK(one.status == Status::undetermined);
  CHECK(one.why == Why::network);
  CHECK(dead.count() == 1);
  revocation::Answer two = second.check(test::rev_cert("rev-revoked").get(), issuer.get(), now + 10);
  INFO(two.reason);
  CHECK(two.status == Status::undetermined);
  CHECK(two.from_cache);
  CHECK(dead.count() == 1);  // the other gateway did not connect
  // After the period the responder is asked again, once.
  CHECK(second.check(test::rev_cert("rev-good").get(), issuer.get(), now + 301).why == Why::network);
  CHECK(dead.count() == 2);
}

TEST_CASE("shared revocation cache: two gateways checking at once fetch the CRL once", "[revocation][pg]") {
  kt::TempStore ts;
  // A slow server: the second gateway asks while the first one's fetch is under way.
  test::HttpServer crl({test::kCrlPort, test::rev_pki_file("crl/fresh"), "serve", "", 1500});
  smime::X509Ptr issuer = test::inter();
  const std::time_t now = std::time(nullptr);
  Checker first(gateway(ts, {Method::crl})), second(gateway(ts, {Method::crl}));
  smime::X509Ptr cert = test::rev_cert("rev-crlonly");
  revocation::Answer a, b;
  std::thread t1([&] { a = first.check(cert.get(), issuer.get(), now); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::thread t2([&] { b = second.check(cert.get(), issuer.get(), now); });
  t1.join();
  t2.join();
  INFO(a.reason << " / " << b.reason);
  CHECK(a.status == Status::good);
  CHECK(b.status == Status::good);
  CHECK(crl.count() == 1);
}

TEST_CASE("shared revocation cache: a database that is gone is a cache miss, not a failed check",
          "[revocation][pg]") {
  auto ts = std::make_unique<kt::TempStore>();
  revocation::Options o = gateway(*ts, {Method::ocsp});
  ts.reset();  // the schema is dropped: every statement of the cache store now fails
  test::OcspResponder responder;
  Checker checker(o);
  revocation::Answer a =
      checker.check(test::rev_cert("rev-good").get(), test::inter().get(), std::time(nullptr));
  INFO(a.reason);
  CHECK(a.status == Status::good);
}

namespace {

// A milter's configuration on the test's database with the revocation cache in the keystore.
conf::Config keystore_cache_config(const kt::TempStore& ts) {
  conf::Config c;
  c.keystore.url = ts.where.url;
  c.revocation.cache = conf::RevocationCache::keystore;
  c.revocation.order = {conf::RevocationMethod::ocsp};
  c.revocation.connect_timeout = std::chrono::seconds(2);
  c.revocation.timeout = std::chrono::seconds(3);
  return c;
}

revocation::StoredEntry entry(const std::string& key, std::time_t expires_at) {
  return revocation::StoredEntry{"ocsp",     key,          "http://127.0.0.1/", expires_at - 3600,
                                 expires_at, std::nullopt, std::nullopt,        "payload"};
}

}  // namespace

TEST_CASE("two milters on one database: the second uses the OCSP answer the first fetched",
          "[revocation][pg][milter]") {
  kt::TempStore ts;
  const conf::Config config = keystore_cache_config(ts);
  REQUIRE(config.keystore.postgres());
  smime::X509Ptr issuer = test::inter();
  const std::time_t now = std::time(nullptr);
  milter::StoreService stores_a(2), stores_b(2);
  milter::RevocationService gateway_a, gateway_b;
  {
    test::OcspResponder responder;
    std::shared_ptr<revocation::Checker> first = gateway_a.checker_for(config, stores_a.pool(config));
    REQUIRE(first != nullptr);
    revocation::Answer a = first->check(test::rev_cert("rev-good").get(), issuer.get(), now);
    INFO(a.reason);
    CHECK(a.status == Status::good);
    CHECK(a.source == Method::ocsp);
    CHECK_FALSE(a.from_cache);
  }
  test::wait_port_free(test::kOcspPort);
  CHECK(pgt::query("SELECT count(*) FROM revocation_cache WHERE kind = 'ocsp'", ts.schema) == "1");

  std::shared_ptr<revocation::Checker> second = gateway_b.checker_for(config, stores_b.pool(config));
  REQUIRE(second != nullptr);
  CHECK(second != gateway_a.checker_for(config, stores_a.pool(config)));  // two gateways, two checkers
  revocation::Answer b = second->check(test::rev_cert("rev-good").get(), issuer.get(), now + 60);
  INFO(b.reason);
  CHECK(b.status == Status::good);
  CHECK(b.source == Method::ocsp);
  CHECK(b.from_cache);
  // The same configuration and pool keep the checker (and its memory); the files cache replaces it.
  CHECK(gateway_b.checker_for(config, stores_b.pool(config)) == second);
  conf::Config files = config;
  files.revocation.cache = conf::RevocationCache::files;
  files.revocation.cache_directory = ts.dir.path("revocation");
  CHECK(gateway_b.checker_for(files) != second);
}

TEST_CASE("the revocation cache's statements never wait for the stores messages hold",
          "[revocation][pg][milter]") {
  kt::TempStore ts;
  const conf::Config config = keystore_cache_config(ts);
  milter::StoreService stores(1);  // one worker: one message store
  milter::StoreService::Leased message = stores.lease(config);
  CHECK(message.lease->generation() >= 0);
  std::shared_ptr<keystore::StorePool> statements = stores.pool(config);
  CHECK(statements == stores.pool(config));
  milter::KeystoreCacheStore cache(statements);
  const std::time_t now = std::time(nullptr);
  cache.save(entry("while-a-message-holds-its-store", now + 600));  // would wait 30 s, then throw
  CHECK(cache.load("ocsp", "while-a-message-holds-its-store"));
}

TEST_CASE("the keystore revocation cache: expired entries purged at most once per period",
          "[revocation][pg]") {
  kt::TempStore ts;
  milter::KeystoreCacheStore cache(std::make_shared<keystore::StorePool>(ts.where, 2), std::chrono::hours(1));
  const std::time_t now = std::time(nullptr);
  cache.save(entry("expired", now - 10));
  cache.save(entry("current", now + 7200));
  CHECK(cache.purge_if_due(now) == 1);
  CHECK_FALSE(cache.load("ocsp", "expired"));
  CHECK(cache.load("ocsp", "current"));
  cache.save(entry("expired-later", now + 30));
  CHECK(cache.purge_if_due(now + 60) == -1);  // not due: the last purge was a minute ago
  CHECK(cache.load("ocsp", "expired-later"));
  CHECK(cache.purge_if_due(now + 3600) == 1);
  CHECK_FALSE(cache.load("ocsp", "expired-later"));
  CHECK(cache.load("ocsp", "current"));  // expires at now + 7200
}

TEST_CASE("the keystore revocation cache: a purge on a database that is gone is retried a period later",
          "[revocation][pg]") {
  auto ts = std::make_unique<kt::TempStore>();
  milter::KeystoreCacheStore cache(std::make_shared<keystore::StorePool>(ts->where, 1),
                                   std::chrono::hours(1));
  const std::time_t now = std::time(nullptr);
  ts.reset();  // the schema is dropped
  CHECK_THROWS(cache.purge_if_due(now));
  CHECK(cache.purge_if_due(now + 1) == -1);  // not one failed statement per message
}

namespace {

// One gateway's Filter on the shared database (its own StoreService and RevocationService), whose
// pipeline checks `cert` with the checker the Filter gives the message and keeps the answer.
struct Gateway {
  milter::LiveConfig live;
  std::mutex mutex;
  bool had_checker = false;
  revocation::Answer answer;
  milter::Filter filter;

  Gateway(std::shared_ptr<const conf::Config> config, X509* cert, X509* issuer, std::time_t now)
      : live(std::move(config)), filter(live, [this, cert, issuer, now](milter::Job& job) {
          std::lock_guard lock(mutex);
          had_checker = job.checker != nullptr;
          if (job.checker) answer = job.checker->check(cert, issuer, now);
          return milter::Verdict{};
        }) {}

  milter::CallbackStatus message() {
    milter::ConnectionContext ctx;
    milter::RecordingApi api;
    filter.on_connect(ctx, api, "localhost", "127.0.0.1");
    filter.on_helo(ctx, api, "client.example.com");
    filter.on_envfrom(ctx, api, {"<user@example.com>"});
    filter.on_envrcpt(ctx, api, {"<bob@example.org>"});
    filter.on_header(ctx, api, "From", " user@example.com");
    filter.on_header(ctx, api, "Subject", " revocation");
    filter.on_eoh(ctx, api);
    filter.on_body(ctx, api, "text\r\n");
    milter::CallbackStatus status = filter.on_eom(ctx, api);
    filter.on_close(ctx, api);
    return status;
  }
};

}  // namespace

TEST_CASE("two milters' Filters on one database: the second message's checker answers from the first's fetch",
          "[revocation][pg][milter]") {
  kt::TempStore ts;
  auto config = std::make_shared<conf::Config>(keystore_cache_config(ts));
  config->spool.directory = ts.dir.path("spool");
  std::filesystem::create_directories(config->spool.directory);
  smime::X509Ptr cert = test::rev_cert("rev-good");
  smime::X509Ptr issuer = test::inter();
  const std::time_t now = std::time(nullptr);
  Gateway a(config, cert.get(), issuer.get(), now), b(config, cert.get(), issuer.get(), now + 60);
  {
    test::OcspResponder responder;
    CHECK(a.message() == milter::CallbackStatus::continue_);
  }
  test::wait_port_free(test::kOcspPort);
  CHECK(a.had_checker);
  CHECK(a.answer.status == Status::good);
  CHECK_FALSE(a.answer.from_cache);
  CHECK(b.message() == milter::CallbackStatus::continue_);
  INFO(b.answer.reason);
  CHECK(b.had_checker);
  CHECK(b.answer.status == Status::good);
  CHECK(b.answer.from_cache);
}

TEST_CASE("a milter's Filter consults the keystore's revocations by hand, made by another host",
          "[revocation][pg][milter]") {
  kt::TempStore ts;
  auto config = std::make_shared<conf::Config>(keystore_cache_config(ts));
  config->spool.directory = ts.dir.path("spool");
  std::filesystem::create_directories(config->spool.directory);
  smime::X509Ptr cert = test::rev_cert("rev-good");
  smime::X509Ptr issuer = test::inter();
  const std::time_t now = std::time(nullptr);
  Gateway gateway(config, cert.get(), issuer.get(), now);
  CHECK(gateway.message() == milter::CallbackStatus::continue_);
  CHECK(gateway.answer.status != Status::revoked);  // no responder: undetermined
  // An administrator's host revokes it in the shared database: the next message sees it.
  REQUIRE(ts.reopen()->revoke(
      keystore::RevokedRecord{smime::fingerprint_sha256(cert.get()), "keyCompromise", 1, now, "by hand"}));
  CHECK(gateway.message() == milter::CallbackStatus::continue_);
  INFO(gateway.answer.reason);
  CHECK(gateway.answer.status == Status::revoked);
  CHECK(gateway.answer.source == Method::local);
}
