// The checker as a whole: order and fallback, missing distribution points and issuers, single flight,
// find_issuer and the names.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <ctime>
#include <thread>

#include "revocation_support.hpp"

using revocation::Checker;
using revocation::Method;
using revocation::Status;
using revocation::Why;

TEST_CASE("revocation: Checker: CRL is the fallback when the OCSP responder is down",
          "[revocation][checker]") {
  test::wait_port_free(test::kOcspPort);
  test::HttpServer crl({test::kCrlPort, test::rev_pki_file("crl/fresh"), "serve", "", 0});
  Checker checker(test::fast_options({Method::ocsp, Method::crl}));
  revocation::Answer a =
      checker.check(test::rev_cert("rev-revoked").get(), test::inter().get(), std::time(nullptr));
  INFO(a.reason);
  CHECK(a.status == Status::revoked);
  CHECK(a.source == Method::crl);
  CHECK(a.url == test::kCrlUrl);
  REQUIRE(a.attempts.size() == 2);
  CHECK(a.attempts[0].rfind(std::string("ocsp ") + test::kOcspUrl + ": connection refused", 0) == 0);
  CHECK(a.attempts[1] == std::string("crl ") + test::kCrlUrl + ": revoked (keyCompromise)");
}

TEST_CASE("revocation: Checker: the order crl,ocsp asks the CRL first", "[revocation][checker]") {
  test::OcspResponder responder;
  test::HttpServer crl({test::kCrlPort, test::rev_pki_file("crl/fresh"), "serve", "", 0});
  Checker checker(test::fast_options({Method::crl, Method::ocsp}));
  revocation::Answer a =
      checker.check(test::rev_cert("rev-good").get(), test::inter().get(), std::time(nullptr));
  INFO(a.reason);
  CHECK(a.status == Status::good);
  CHECK(a.source == Method::crl);
  CHECK(a.attempts.size() == 1);
  CHECK(crl.count() == 1);
}

TEST_CASE("revocation: Checker: both methods undetermined are reported in one line",
          "[revocation][checker]") {
  test::wait_port_free(test::kOcspPort);
  test::wait_port_free(test::kCrlPort);
  Checker checker(test::fast_options());
  revocation::Answer a =
      checker.check(test::rev_cert("rev-good").get(), test::inter().get(), std::time(nullptr));
  INFO(a.reason);
  CHECK(a.status == Status::undetermined);
  CHECK(a.why == Why::connection_refused);
  CHECK(a.source == Method::crl);  // the last method tried
  CHECK(a.reason.rfind("undetermined: ocsp http://127.0.0.1:28481/: connection refused", 0) == 0);
  CHECK(a.reason.find("; crl http://127.0.0.1:28480/inter.crl: connection refused") != std::string::npos);
  CHECK(a.reason.find('\n') == std::string::npos);
  CHECK(a.expires_at == a.checked_at + checker.options().negative_cache.count());
}

TEST_CASE("revocation: Checker: a certificate without distribution points is undetermined",
          "[revocation][checker]") {
  Checker checker(test::fast_options());
  revocation::Answer a =
      checker.check(test::rev_cert("rev-nodp").get(), test::inter().get(), std::time(nullptr));
  INFO(a.reason);
  CHECK(a.status == Status::undetermined);
  CHECK(a.why == Why::no_distribution_point);
  CHECK(a.url.empty());
  CHECK(a.attempts.size() == 2);
}

TEST_CASE("revocation: Checker: OCSP-only and CRL-only certificates use what they have",
          "[revocation][checker]") {
  test::OcspResponder responder;
  test::HttpServer crl({test::kCrlPort, test::rev_pki_file("crl/fresh"), "serve", "", 0});
  Checker checker(test::fast_options());
  revocation::Answer o =
      checker.check(test::rev_cert("rev-ocsponly").get(), test::inter().get(), std::time(nullptr));
  CHECK(o.status == Status::good);
  CHECK(o.source == Method::ocsp);
  revocation::Answer c =
      checker.check(test::rev_cert("rev-crlonly").get(), test::inter().get(), std::time(nullptr));
  INFO(c.reason);
  CHECK(c.status == Status::good);
  CHECK(c.source == Method::crl);
  CHECK(c.attempts.front() == "ocsp: no responder URL in the certificate");
}

TEST_CASE("revocation: Checker: an unknown issuer is undetermined and a null certificate is misuse",
          "[revocation][checker]") {
  Checker checker(test::fast_options());
  revocation::Answer a = checker.check(test::rev_cert("rev-good").get(), nullptr, std::time(nullptr));
  CHECK(a.status == Status::undetermined);
  CHECK(a.why == Why::no_issuer);
  CHECK_THROWS_AS(checker.check(nullptr, test::inter().get(), std::time(nullptr)), smime::Error);
}

TEST_CASE("revocation: Checker: concurrent checks behind one CRL URL make one fetch",
          "[revocation][checker]") {
  // The server waits before answering, so that all threads ask while the first fetch is under way.
  test::HttpServer crl({test::kCrlPort, test::rev_pki_file("crl/fresh"), "serve", "", 800});
  Checker checker(test::fast_options({Method::crl}));
  smime::X509Ptr issuer = test::inter();
  const std::vector<std::string> names = {"rev-good", "rev-revoked", "rev-crlonly", "rev-unknown",
                                          "rev-good", "rev-revoked", "rev-crlonly", "rev-unknown"};
  std::vector<smime::X509Ptr> certs;
  for (const std::string& n : names) certs.push_back(test::rev_cert(n));
  std::vector<revocation::Answer> answers(names.size());
  std::vector<std::thread> threads;
  const std::time_t now = std::time(nullptr);
  for (std::size_t i = 0; i < names.size(); ++i)
    threads.emplace_back([&, i] { answers[i] = checker.check(certs[i].get(), issuer.get(), now); });
  for (std::thread& t : threads) t.join();
  CHECK(crl.count() == 1);
  for (std::size_t i = 0; i < names.size(); ++i) {
    INFO(names[i] << ": " << answers[i].reason);
    CHECK(answers[i].status == (names[i] == "rev-revoked" ? Status::revoked : Status::good));
  }
}

TEST_CASE("revocation: Checker: concurrent checks of one certificate make one OCSP request",
          "[revocation][checker]") {
  // A silent responder: one connection, every thread gets its timeout.
  test::HttpServer silent({test::kOcspPort, "", "silent", "", 0});
  revocation::Options o = test::fast_options({Method::ocsp});
  o.timeout = std::chrono::milliseconds(1500);
  Checker checker(o);
  smime::X509Ptr cert = test::rev_cert("rev-good");
  smime::X509Ptr issuer = test::inter();
  std::vector<revocation::Answer> answers(6);
  std::vector<std::thread> threads;
  const std::time_t now = std::time(nullptr);
  for (std::size_t i = 0; i < answers.size(); ++i)
    threads.emplace_back([&, i] { answers[i] = checker.check(cert.get(), issuer.get(), now); });
  for (std::thread& t : threads) t.join();
  CHECK(silent.count() == 1);
  for (const revocation::Answer& a : answers) CHECK(a.why == Why::timeout);
}

TEST_CASE("revocation: find_issuer picks the issuer among candidates", "[revocation]") {
  std::vector<smime::X509Ptr> candidates;
  candidates.push_back(test::rev_cert("ocsp"));
  CHECK_FALSE(revocation::find_issuer(test::rev_cert("rev-good").get(), candidates));
  candidates.push_back(test::inter());
  smime::X509Ptr found = revocation::find_issuer(test::rev_cert("rev-good").get(), candidates);
  REQUIRE(found);
  CHECK(X509_cmp(found.get(), candidates[1].get()) == 0);
}

TEST_CASE("revocation: Names of statuses, methods and reasons", "[revocation]") {
  CHECK(revocation::to_string(Status::good) == "good");
  CHECK(revocation::to_string(Status::revoked) == "revoked");
  CHECK(revocation::to_string(Status::undetermined) == "undetermined");
  CHECK(revocation::to_string(Method::ocsp) == "ocsp");
  CHECK(revocation::to_string(Method::crl) == "crl");
  CHECK(revocation::to_string(Why::no_distribution_point) == "no-distribution-point");
  CHECK(revocation::to_string(Why::connection_refused) == "connection-refused");
  CHECK(revocation::to_string(Why::unknown_to_responder) == "unknown-to-responder");
  CHECK(revocation::to_string(Why::timeout) == "timeout");
}

TEST_CASE("revocation: Checker: proxies come from Options only, never from the environment",
          "[revocation][checker]") {
  test::OcspResponder responder;
  test::HttpServer proxy({test::kCrlPort, "", "close", "", 0});  // a "proxy" that drops every connection
  smime::X509Ptr cert = test::rev_cert("rev-good");
  smime::X509Ptr issuer = test::inter();
  ::setenv("http_proxy", "http://127.0.0.1:28480", 1);
  ::setenv("HTTP_PROXY", "http://127.0.0.1:28480", 1);
  ::setenv("ALL_PROXY", "http://127.0.0.1:28480", 1);
  {
    Checker checker(test::fast_options({Method::ocsp}));
    revocation::Answer a = checker.check(cert.get(), issuer.get(), std::time(nullptr));
    INFO(a.reason);
    CHECK(a.status == Status::good);
    CHECK(proxy.count() == 0);
  }
  {
    revocation::Options o = test::fast_options({Method::ocsp});
    o.proxy = "http://127.0.0.1:28480";
    Checker checker(o);
    revocation::Answer a = checker.check(cert.get(), issuer.get(), std::time(nullptr));
    INFO(a.reason);
    CHECK(a.status == Status::undetermined);
    CHECK(proxy.count() == 1);
  }
  ::unsetenv("http_proxy");
  ::unsetenv("HTTP_PROXY");
  ::unsetenv("ALL_PROXY");
}
