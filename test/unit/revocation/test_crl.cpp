// CRLs served by revocation-test-server on 28480: fresh (DER and PEM), oversized, signed by others, stale.
#include <catch2/catch.hpp>
#include <ctime>

#include "revocation_support.hpp"

using revocation::Checker;
using revocation::Method;
using revocation::Status;
using revocation::Why;

namespace {

revocation::Answer check_crl(const std::string& name,
                             revocation::Options options = test::fast_options({Method::crl})) {
  Checker checker(std::move(options));
  return checker.check(test::rev_cert(name).get(), test::inter().get(), std::time(nullptr));
}

test::HttpServer crl_server(const std::string& variant) {
  return test::HttpServer({test::kCrlPort, test::rev_pki_file("crl/" + variant), "serve", "", 0});
}

}  // namespace

TEST_CASE("revocation: CRL: good and revoked from a fresh DER CRL", "[revocation][crl]") {
  auto server = crl_server("fresh");
  revocation::Answer good = check_crl("rev-crlonly");
  INFO(good.reason);
  CHECK(good.status == Status::good);
  CHECK(good.source == Method::crl);
  CHECK(good.url == test::kCrlUrl);
  CHECK_FALSE(good.stale);
  CHECK(good.next_update.has_value());
  CHECK(good.reason == std::string("good by CRL ") + test::kCrlUrl);

  revocation::Answer revoked = check_crl("rev-revoked");
  INFO(revoked.reason);
  CHECK(revoked.status == Status::revoked);
  CHECK(revoked.revocation_reason == "keyCompromise");
  CHECK(revoked.revoked_at.has_value());
  CHECK(revoked.reason.find(std::string("Z by CRL ") + test::kCrlUrl) != std::string::npos);
}

TEST_CASE("revocation: CRL: a PEM CRL is read too", "[revocation][crl]") {
  auto server = crl_server("fresh-pem");
  CHECK(check_crl("rev-revoked").status == Status::revoked);
  CHECK(check_crl("rev-good").status == Status::good);
}

TEST_CASE("revocation: CRL: a CRL over max_crl_size is too large", "[revocation][crl]") {
  revocation::Options o = test::fast_options({Method::crl});
  o.max_crl_size = 16 * 1024;
  {
    auto server = crl_server("big");
    revocation::Answer a = check_crl("rev-crlonly", o);
    INFO(a.reason);
    CHECK(a.status == Status::undetermined);
    CHECK(a.why == Why::too_large);
    CHECK(a.reason.find("larger than 16384 bytes") != std::string::npos);
  }
  {
    auto server = crl_server("fresh");  // the same limit lets a small CRL through
    CHECK(check_crl("rev-crlonly", o).status == Status::good);
  }
}

TEST_CASE("revocation: CRL: a CRL signed by another CA is refused", "[revocation][crl]") {
  SECTION("another issuer name (root)") {
    auto server = crl_server("other-ca");
    revocation::Answer a = check_crl("rev-revoked");
    INFO(a.reason);
    CHECK(a.status == Status::undetermined);
    CHECK(a.why == Why::bad_signature);
  }
  SECTION("the issuer's name but another key") {
    auto server = crl_server("impostor");
    revocation::Answer a = check_crl("rev-revoked");
    INFO(a.reason);
    CHECK(a.status == Status::undetermined);
    CHECK(a.why == Why::bad_signature);
    CHECK(a.reason.find("signature") != std::string::npos);
  }
}

TEST_CASE("revocation: CRL: a stale CRL within the grace period is used and marked stale",
          "[revocation][crl]") {
  auto server = crl_server("stale");  // nextUpdate 2 hours ago
  revocation::Options o = test::fast_options({Method::crl});
  o.crl_grace = std::chrono::hours(24);
  revocation::Answer a = check_crl("rev-revoked", o);
  INFO(a.reason);
  CHECK(a.status == Status::revoked);
  CHECK(a.stale);
  CHECK(a.reason.find("stale CRL") != std::string::npos);
}

TEST_CASE("revocation: CRL: a stale CRL beyond the grace period is undetermined", "[revocation][crl]") {
  auto server = crl_server("stale");
  revocation::Options o = test::fast_options({Method::crl});
  o.crl_grace = std::chrono::hours(1);
  o.clock_skew = std::chrono::seconds(60);
  revocation::Answer a = check_crl("rev-revoked", o);
  INFO(a.reason);
  CHECK(a.status == Status::undetermined);
  CHECK(a.why == Why::stale);
  CHECK_FALSE(a.stale);
}

TEST_CASE("revocation: CRL: a server that is down is connection refused", "[revocation][crl]") {
  test::wait_port_free(test::kCrlPort);
  revocation::Answer a = check_crl("rev-crlonly");
  INFO(a.reason);
  CHECK(a.why == Why::connection_refused);
  CHECK(a.reason.rfind(std::string("undetermined: crl ") + test::kCrlUrl + ": connection refused", 0) == 0);
}

TEST_CASE("revocation: CRL: a server that closes at once is a network error", "[revocation][crl]") {
  test::HttpServer server({test::kCrlPort, "", "close", "", 0});
  revocation::Answer a = check_crl("rev-crlonly");
  INFO(a.reason);
  CHECK(a.why == Why::network);
  CHECK(server.count() == 1);
}

TEST_CASE("revocation: CRL: a CRL covering some reasons only cannot say good", "[revocation][crl]") {
  auto server = crl_server("partial");
  // rev-good is not on it, but a revocation for another reason would be on another CRL.
  revocation::Answer a = check_crl("rev-good");
  INFO(a.reason);
  CHECK(a.status == Status::undetermined);
  CHECK(a.why == Why::unsupported);
  CHECK(a.reason.find("some revocation reasons only") != std::string::npos);
}
