// The revocation cache shared through the keystore database (revocation.cache "keystore"): two
// Checkers with stores of their own stand for two gateways. What one fetched the other uses with the
// responders down; a dead responder costs the fleet one connection per negative_cache period; one
// fetch per URL across the gateways.
#include <catch2/catch.hpp>
#include <ctime>
#include <thread>

#include "keystore_cache_store.hpp"
#include "keystore_support.hpp"
#include "pg_support.hpp"
#include "revocation_support.hpp"

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
      std::make_shared<test::KeystoreCacheStore>(std::make_shared<keystore::StorePool>(ts.where, 4));
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
