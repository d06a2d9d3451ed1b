// OCSP against a real `openssl ocsp` responder and against misbehaving servers on the OCSP port.
#include <catch2/catch.hpp>
#include <ctime>

#include "revocation_support.hpp"

using revocation::Checker;
using revocation::Method;
using revocation::Status;
using revocation::Why;

namespace {

revocation::Answer check_ocsp(const std::string& name,
                              revocation::Options options = test::fast_options({Method::ocsp})) {
  Checker checker(std::move(options));
  return checker.check(test::rev_cert(name).get(), test::inter().get(), std::time(nullptr));
}

}  // namespace

TEST_CASE("revocation: OCSP: a good certificate is good", "[revocation][ocsp]") {
  test::OcspResponder responder;
  revocation::Answer a = check_ocsp("rev-good");
  INFO(a.reason);
  CHECK(a.status == Status::good);
  CHECK(a.why == Why::none);
  CHECK(a.source == Method::ocsp);
  CHECK(a.url == test::kOcspUrl);
  CHECK(a.this_update.has_value());
  CHECK(a.next_update.has_value());  // the responder runs with -ndays 1
  CHECK_FALSE(a.from_cache);
  CHECK(a.reason == std::string("good by OCSP ") + test::kOcspUrl);
  CHECK(a.expires_at == *a.next_update);
}

TEST_CASE("revocation: OCSP: a revoked certificate is revoked with its reason and time",
          "[revocation][ocsp]") {
  test::OcspResponder responder;
  revocation::Answer a = check_ocsp("rev-revoked");
  INFO(a.reason);
  CHECK(a.status == Status::revoked);
  CHECK(a.revocation_reason == "keyCompromise");
  REQUIRE(a.revoked_at.has_value());
  CHECK(*a.revoked_at <= std::time(nullptr));
  CHECK(*a.revoked_at > std::time(nullptr) - 24 * 3600);
  CHECK(a.reason.rfind("revoked (keyCompromise) at 20", 0) == 0);
  CHECK(a.reason.find(std::string("Z by OCSP ") + test::kOcspUrl) != std::string::npos);
}

TEST_CASE("revocation: OCSP: a certificate unknown to the responder is undetermined", "[revocation][ocsp]") {
  test::OcspResponder responder;
  revocation::Answer a = check_ocsp("rev-unknown");
  INFO(a.reason);
  CHECK(a.status == Status::undetermined);
  CHECK(a.why == Why::unknown_to_responder);
  CHECK(a.url == test::kOcspUrl);
}

TEST_CASE("revocation: OCSP: a responder that is down is connection refused", "[revocation][ocsp]") {
  test::wait_port_free(test::kOcspPort);
  revocation::Answer a = check_ocsp("rev-good");
  INFO(a.reason);
  CHECK(a.status == Status::undetermined);
  CHECK(a.why == Why::connection_refused);
  CHECK(a.source == Method::ocsp);
  CHECK(a.reason.rfind(std::string("undetermined: ocsp ") + test::kOcspUrl + ": connection refused", 0) == 0);
  REQUIRE(a.attempts.size() == 1);
}

TEST_CASE("revocation: OCSP: a responder that never answers times out", "[revocation][ocsp]") {
  test::HttpServer silent({test::kOcspPort, "", "silent", "", 0});
  revocation::Options o = test::fast_options({Method::ocsp});
  o.timeout = std::chrono::milliseconds(1500);
  revocation::Answer a = check_ocsp("rev-good", o);
  INFO(a.reason);
  CHECK(a.status == Status::undetermined);
  CHECK(a.why == Why::timeout);
  CHECK(a.reason.find("timeout after 1500 ms") != std::string::npos);
  CHECK(silent.count() == 1);
}

TEST_CASE("revocation: OCSP: a trickling responder is cut by the total timeout", "[revocation][ocsp]") {
  // One byte per second of a valid response: each read makes progress, only the total timeout ends it.
  test::HttpServer trickle({test::kOcspPort, "", "trickle", test::rev_pki_file("replayed-good.ocsp"), 0});
  revocation::Options o = test::fast_options({Method::ocsp});
  o.timeout = std::chrono::milliseconds(2500);
  revocation::Answer a = check_ocsp("rev-good", o);
  INFO(a.reason);
  CHECK(a.status == Status::undetermined);
  CHECK(a.why == Why::timeout);
}

TEST_CASE("revocation: OCSP: a replayed response with another nonce is refused", "[revocation][ocsp]") {
  test::HttpServer replay({test::kOcspPort, "", "serve", test::rev_pki_file("replayed-good.ocsp"), 0});
  revocation::Answer a = check_ocsp("rev-good");
  INFO(a.reason);
  CHECK(a.status == Status::undetermined);
  CHECK(a.why == Why::replayed);
  CHECK(replay.count() == 1);
}

TEST_CASE("revocation: OCSP: a response for another certificate is not taken for ours",
          "[revocation][ocsp]") {
  // The recorded response answers for rev-good; asked about rev-revoked it must not say good.
  test::HttpServer replay({test::kOcspPort, "", "serve", test::rev_pki_file("replayed-good.ocsp"), 0});
  revocation::Answer a = check_ocsp("rev-revoked");
  INFO(a.reason);
  CHECK(a.status == Status::undetermined);
  CHECK((a.why == Why::replayed || a.why == Why::malformed));
}

TEST_CASE("revocation: OCSP: an HTTP error status is undetermined", "[revocation][ocsp]") {
  // Serving an empty directory: every path is 404.
  test::HttpServer empty({test::kOcspPort, test::rev_pki_file("crl/does-not-exist"), "serve", "", 0});
  revocation::Answer a = check_ocsp("rev-good");
  INFO(a.reason);
  CHECK(a.why == Why::http_status);
  CHECK(a.reason.find("HTTP 404") != std::string::npos);
}

TEST_CASE("revocation: OCSP: a response that is not OCSP is malformed", "[revocation][ocsp]") {
  test::HttpServer junk({test::kOcspPort, "", "serve", test::rev_pki_file("README"), 0});
  revocation::Answer a = check_ocsp("rev-good");
  INFO(a.reason);
  CHECK(a.why == Why::malformed);
}

TEST_CASE("revocation: OCSP: a response larger than max_ocsp_size is too large", "[revocation][ocsp]") {
  test::HttpServer big({test::kOcspPort, "", "serve", test::rev_pki_file("crl/big/inter.crl"), 0});
  revocation::Answer a = check_ocsp("rev-good");
  INFO(a.reason);
  CHECK(a.why == Why::too_large);
}

TEST_CASE("revocation: OCSP: a response outside ocsp_max_age is stale", "[revocation][ocsp]") {
  test::OcspResponder responder;
  revocation::Options o = test::fast_options({Method::ocsp});
  o.clock_skew = std::chrono::seconds(0);
  Checker checker(o);
  // Checked as if two weeks had passed: nextUpdate (1 day) is long gone.
  revocation::Answer a = checker.check(test::rev_cert("rev-good").get(), test::inter().get(),
                                       std::time(nullptr) + 14 * 24 * 3600);
  INFO(a.reason);
  CHECK(a.status == Status::undetermined);
  CHECK(a.why == Why::stale);
}

TEST_CASE("revocation: OCSP: who may sign a response", "[revocation][ocsp]") {
  // Pre-signed responses without a nonce (accepted as such), each signed by someone else.
  struct Row {
    const char* file;
    Status want_status;
    Why want_why;
  };
  const Row rows[] = {
      {"direct-good.ocsp", Status::good, Why::none},                    // the issuer itself
      {"notauth-good.ocsp", Status::undetermined, Why::bad_signature},  // issued by it, no OCSPSigning
      {"rogue-good.ocsp", Status::undetermined, Why::bad_signature},    // not issued by it
  };
  for (const Row& row : rows) {
    test::HttpServer server({test::kOcspPort, "", "serve", test::rev_pki_file(row.file), 0});
    revocation::Answer a = check_ocsp("rev-good");
    INFO(row.file << ": " << a.reason);
    CHECK(a.status == row.want_status);
    CHECK(a.why == row.want_why);
  }
}
