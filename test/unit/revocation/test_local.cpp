// Local revocation data (Options::local_source): certificates revoked by hand and imported CRLs are
// consulted before the network, judged as fetched CRLs are, and the network is asked when they do not
// decide. The source here holds CRLs of the revocation test PKI in memory, as the keystore adapter does.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <ctime>
#include <map>
#include <mutex>
#include <stdexcept>

#include "revocation/decision.hpp"
#include "revocation_support.hpp"
#include "smime/cert.hpp"

using revocation::Checker;
using revocation::LocalRevocation;
using revocation::Method;
using revocation::Status;
using revocation::Why;

namespace {

std::shared_ptr<X509_CRL> pki_crl(const std::string& variant) {
  std::shared_ptr<X509_CRL> crl =
      revocation::read_crl(smime::read_file(test::rev_pki_file("crl/" + variant + "/inter.crl")));
  REQUIRE(crl);
  return crl;
}

// Revocations by fingerprint and a list of CRLs, handed over as they are (the Checker judges them).
class MemorySource final : public revocation::LocalSource {
 public:
  revocation::LocalData lookup(X509* cert, X509* issuer) override {
    std::lock_guard lock(mutex);
    ++calls;
    if (fail) throw std::runtime_error("the keystore is down");
    revocation::LocalData d;
    if (auto it = revoked.find(smime::fingerprint_sha256(cert)); it != revoked.end()) d.revoked = it->second;
    if (issuer != nullptr) d.crls = crls;
    return d;
  }

  std::mutex mutex;
  std::map<std::string, LocalRevocation> revoked;
  std::vector<std::shared_ptr<X509_CRL>> crls;
  bool fail = false;
  int calls = 0;
};

struct Fixture {
  std::shared_ptr<MemorySource> source = std::make_shared<MemorySource>();
  revocation::Options options(std::vector<Method> order = {Method::ocsp, Method::crl}) {
    revocation::Options o = test::fast_options(std::move(order));
    o.local_source = source;
    return o;
  }
  revocation::Answer check(const std::string& name, revocation::Options o) {
    Checker checker(std::move(o));
    return checker.check(test::rev_cert(name).get(), test::inter().get(), std::time(nullptr));
  }
};

}  // namespace

TEST_CASE("revocation: local: a certificate revoked by hand is revoked, without the network",
          "[revocation][local]") {
  Fixture f;
  auto good = test::rev_cert("rev-good");  // good by OCSP and CRL, both named in it
  f.source->revoked[smime::fingerprint_sha256(good.get())] = {"keyCompromise", 1700000000, "laptop stolen"};
  test::OcspResponder responder;
  test::HttpServer crl({test::kCrlPort, test::rev_pki_file("crl/fresh"), "serve", "", 0});
  Checker checker(f.options());
  revocation::Answer a = checker.check(good.get(), test::inter().get(), std::time(nullptr));
  INFO(a.reason);
  CHECK(a.status == Status::revoked);
  CHECK(a.source == Method::local);
  CHECK(a.url.empty());
  CHECK(a.revocation_reason == "keyCompromise");
  CHECK(a.revoked_at == 1700000000);
  CHECK(a.reason == "revoked locally (keyCompromise) at 2023-11-14T22:13:20Z");
  REQUIRE(a.attempts.size() == 1);
  CHECK(a.attempts[0] ==
        "local: revoked by the administrator (keyCompromise) at 2023-11-14T22:13:20Z: laptop stolen");
  CHECK(crl.count() == 0);
  CHECK(revocation::to_string(*a.source) == "local");

  SECTION("also without a known issuer, and through decide()") {
    revocation::Answer no_issuer = checker.check(good.get(), nullptr, std::time(nullptr));
    CHECK(no_issuer.status == Status::revoked);
    revocation::Decision d =
        revocation::decide({}, revocation::Operation::verify, checker, good.get(), {}, std::time(nullptr));
    INFO(d.reason);
    CHECK(d.use == revocation::Use::refuse_revoked);
    CHECK(d.answer.source == Method::local);
  }
  SECTION("Checker::local and Checker::cached answer it too") {
    std::optional<revocation::Answer> local = checker.local(good.get(), nullptr, std::time(nullptr));
    REQUIRE(local);
    CHECK(local->status == Status::revoked);
    std::optional<revocation::Answer> cached =
        checker.cached(good.get(), test::inter().get(), std::time(nullptr));
    REQUIRE(cached);
    CHECK(cached->source == Method::local);
    CHECK_FALSE(checker.local(test::rev_cert("rev-crlonly").get(), test::inter().get(), std::time(nullptr)));
  }
}

TEST_CASE("revocation: local: the issuer's local CRL says good or revoked, without the network",
          "[revocation][local]") {
  test::wait_port_free(test::kOcspPort);
  test::wait_port_free(test::kCrlPort);
  Fixture f;
  f.source->crls.push_back(pki_crl("fresh"));
  struct Row {
    std::string cert;
    Status want;
    std::string want_reason;
  };
  const std::vector<Row> rows = {
      {"rev-revoked", Status::revoked, "revoked (keyCompromise) at "},
      {"rev-good", Status::good, "good by the local CRL of "},
      {"rev-nodp", Status::good, "good by the local CRL of "},  // names no distribution point
      {"rev-ocsponly", Status::good, "good by the local CRL of "},
  };
  for (const auto& row : rows) {
    INFO(row.cert);
    revocation::Answer a = f.check(row.cert, f.options());
    INFO(a.reason);
    CHECK(a.status == row.want);
    CHECK(a.source == Method::local);
    CHECK(a.why == Why::none);
    CHECK(a.reason.rfind(row.want_reason, 0) == 0);
    CHECK(a.reason.find("CN=smime-milter Test Intermediate CA") != std::string::npos);
    CHECK(a.next_update.has_value());
    CHECK_FALSE(a.stale);
    CHECK(a.attempts.size() == 1);  // nothing else was tried
  }
  // A PEM CRL reads the same.
  f.source->crls = {revocation::read_crl(smime::read_file(test::rev_pki_file("crl/fresh-pem/inter.crl")))};
  CHECK(f.check("rev-revoked", f.options()).status == Status::revoked);
}

TEST_CASE("revocation: local: a stale local CRL is used within the grace, then the network is asked",
          "[revocation][local]") {
  Fixture f;
  f.source->crls.push_back(pki_crl("stale"));  // nextUpdate 2 hours ago
  SECTION("within the grace period") {
    revocation::Options o = f.options();
    o.crl_grace = std::chrono::hours(24);
    test::wait_port_free(test::kCrlPort);
    revocation::Answer a = f.check("rev-revoked", o);
    INFO(a.reason);
    CHECK(a.status == Status::revoked);
    CHECK(a.source == Method::local);
    CHECK(a.stale);
    CHECK(a.reason.find("stale CRL") != std::string::npos);
  }
  SECTION("beyond it: the network answers") {
    revocation::Options o = f.options({Method::crl});
    o.crl_grace = std::chrono::hours(1);
    o.clock_skew = std::chrono::seconds(60);
    test::HttpServer crl({test::kCrlPort, test::rev_pki_file("crl/fresh"), "serve", "", 0});
    revocation::Answer a = f.check("rev-crlonly", o);
    INFO(a.reason);
    CHECK(a.status == Status::good);
    CHECK(a.source == Method::crl);
    CHECK(a.url == test::kCrlUrl);
    REQUIRE(a.attempts.size() == 2);
    CHECK(a.attempts[0].rfind("local crl CN=smime-milter Test Intermediate CA", 0) == 0);
    CHECK(a.attempts[0].find("CRL expired at") != std::string::npos);
    CHECK(crl.count() == 1);
  }
  SECTION("beyond it, for a certificate without distribution point: stale, not no-distribution-point") {
    revocation::Options o = f.options();
    o.crl_grace = std::chrono::hours(1);
    o.clock_skew = std::chrono::seconds(60);
    revocation::Answer a = f.check("rev-nodp", o);
    INFO(a.reason);
    CHECK(a.status == Status::undetermined);
    CHECK(a.why == Why::stale);
    CHECK(a.source == Method::local);
    CHECK(a.reason.rfind("undetermined: local crl ", 0) == 0);
    // ...so revocation.no_distribution_point does not take it for good.
    Checker checker(o);
    revocation::Policy policy;
    policy.no_distribution_point_is_good = true;
    std::vector<smime::X509Ptr> issuers;
    issuers.push_back(test::inter());
    revocation::Decision d =
        revocation::decide(policy, revocation::Operation::verify, checker, test::rev_cert("rev-nodp").get(),
                           issuers, std::time(nullptr));
    CHECK(d.use == revocation::Use::refuse_undetermined);
  }
  SECTION("the newest of several CRLs is asked first") {
    f.source->crls.push_back(pki_crl("fresh"));
    revocation::Options o = f.options();
    o.crl_grace = std::chrono::hours(1);
    o.clock_skew = std::chrono::seconds(60);
    revocation::Answer a = f.check("rev-revoked", o);
    INFO(a.reason);
    CHECK(a.status == Status::revoked);
    CHECK_FALSE(a.stale);
    CHECK(a.attempts.size() == 1);
  }
}

TEST_CASE("revocation: local: a CRL that is not the issuer's, or covers part only, does not decide",
          "[revocation][local]") {
  test::wait_port_free(test::kOcspPort);
  test::wait_port_free(test::kCrlPort);
  struct Row {
    std::string variant;
    Why want_why;
    std::string want_text;
  };
  const std::vector<Row> rows = {
      {"other-ca", Why::bad_signature, "CRL issued by someone else"},
      {"impostor", Why::bad_signature, "signature does not verify"},
      {"partial", Why::unsupported, "some revocation reasons only"},
  };
  for (const auto& row : rows) {
    INFO(row.variant);
    Fixture f;
    f.source->crls.push_back(pki_crl(row.variant));
    revocation::Answer nodp = f.check("rev-nodp", f.options());
    INFO(nodp.reason);
    CHECK(nodp.status == Status::undetermined);
    CHECK(nodp.why == row.want_why);
    CHECK(nodp.source == Method::local);
    CHECK(nodp.reason.find(row.want_text) != std::string::npos);
    // With distribution points the network is asked (here: down), and its failure is the answer's why.
    revocation::Answer revoked = f.check("rev-revoked", f.options());
    INFO(revoked.reason);
    CHECK(revoked.status == Status::undetermined);
    CHECK(revoked.why == Why::connection_refused);
    REQUIRE(revoked.attempts.size() == 3);
    CHECK(revoked.attempts[0].rfind("local crl ", 0) == 0);
  }
}

TEST_CASE("revocation: local: a failing source is undetermined, never good", "[revocation][local]") {
  Fixture f;
  f.source->fail = true;
  test::OcspResponder responder;  // would say good
  revocation::Answer a = f.check("rev-good", f.options());
  INFO(a.reason);
  CHECK(a.status == Status::undetermined);
  CHECK(a.why == Why::local_unavailable);
  CHECK(a.source == Method::local);
  CHECK(a.reason == "undetermined: local: local revocation data could not be read: the keystore is down");
  CHECK(revocation::to_string(Why::local_unavailable) == "local-unavailable");
}

TEST_CASE("revocation: local: without local data the answers are those of the network",
          "[revocation][local]") {
  test::wait_port_free(test::kOcspPort);
  test::HttpServer crl({test::kCrlPort, test::rev_pki_file("crl/fresh"), "serve", "", 0});
  Fixture f;  // a source with nothing in it
  revocation::Answer with = f.check("rev-revoked", f.options());
  revocation::Answer without = f.check("rev-revoked", test::fast_options());
  CHECK(with.status == Status::revoked);
  CHECK(with.source == Method::crl);
  CHECK(with.reason == without.reason);
  CHECK(with.attempts == without.attempts);
  revocation::Answer nodp = f.check("rev-nodp", f.options());
  CHECK(nodp.why == Why::no_distribution_point);
  CHECK(f.source->calls == 2);  // asked for each check that has it
  // Method::local in the order changes nothing (local data is asked first anyway).
  revocation::Answer listed = f.check("rev-revoked", f.options({Method::local, Method::ocsp, Method::crl}));
  CHECK(listed.reason == without.reason);
}

TEST_CASE("revocation: local: the checks a CRL gets at import", "[revocation][local]") {
  auto fresh = pki_crl("fresh");
  auto inter = test::inter();
  const char* pki = std::getenv("SMIME_TEST_PKI");
  REQUIRE(pki != nullptr);
  auto root = smime::load_certificate(smime::read_file(std::string(pki) + "/root.pem"));
  CHECK_FALSE(revocation::crl_problem(fresh.get(), inter.get()));
  CHECK_THAT(revocation::crl_problem(pki_crl("impostor").get(), inter.get()).value_or(""),
             Catch::Contains("signature does not verify"));
  CHECK_THAT(revocation::crl_problem(pki_crl("partial").get(), inter.get()).value_or(""),
             Catch::Contains("some revocation reasons only"));
  CHECK_THAT(revocation::crl_problem(fresh.get(), root.get()).value_or(""), Catch::Contains("someone else"));
  revocation::CrlSummary s = revocation::summarize_crl(fresh.get());
  CHECK(s.issuer == "CN=smime-milter Test Intermediate CA,O=smime-milter Test");
  CHECK(s.entries == 1);
  REQUIRE(s.this_update);
  REQUIRE(s.next_update);
  CHECK(*s.next_update - *s.this_update == 30 * 86400);
  CHECK(revocation::summarize_crl(pki_crl("big").get()).entries == 3001);
  // DER out is DER in.
  const std::string der = revocation::crl_der(fresh.get());
  CHECK(der == smime::read_file(test::rev_pki_file("crl/fresh/inter.crl")));
  CHECK_FALSE(revocation::read_crl("not a CRL"));
  CHECK(revocation::is_crl_reason("keyCompromise"));
  CHECK(revocation::is_crl_reason("aACompromise"));
  CHECK_FALSE(revocation::is_crl_reason("removeFromCRL"));
  CHECK_FALSE(revocation::is_crl_reason("stolen"));
  CHECK(revocation::crl_reason_names().size() == 9);
}
