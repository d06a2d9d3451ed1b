// The lookup rules: stages (email, domain, wildcard), validity, usage, newest wins, reasons.
#include <catch2/catch.hpp>

#include "keystore/error.hpp"
#include "keystore/identity.hpp"
#include "keystore/lookup.hpp"
#include "keystore_support.hpp"

using namespace keystore;

namespace {
std::string fp(X509* c) { return smime::fingerprint_sha256(c); }
void add(Store& s, X509* c) { s.add(NewCertificate{c, Origin::imported, kt::now(), {}, {}}); }
constexpr const char* kSignOnly = "critical,digitalSignature,nonRepudiation";
}  // namespace

TEST_CASE("encryption lookup: table of rules", "[lookup]") {
  kt::TempStore ts;
  auto alice = kt::pki_cert("alice");
  auto carol = kt::pki_cert("carol");  // EC with keyAgreement
  auto domain = kt::pki_cert("domain");
  auto expired = kt::pki_cert("expired");
  kt::Spec sign_only;
  sign_only.emails = {"signer@example.org"};
  sign_only.key_usage = kSignOnly;
  auto signer = kt::issue(sign_only);
  kt::Spec ec_no_agreement;
  ec_no_agreement.ec = true;
  ec_no_agreement.emails = {"ecsign@example.org"};
  ec_no_agreement.key_usage = "critical,digitalSignature,keyEncipherment";
  auto ecsign = kt::issue(ec_no_agreement);
  kt::Spec future;
  future.emails = {"future@example.org"};
  future.not_before_offset = 86400;
  auto fut = kt::issue(future);
  kt::Spec server_auth;
  server_auth.emails = {"tls@example.org"};
  server_auth.ext_key_usage = "serverAuth";
  auto tls = kt::issue(server_auth);
  for (X509* c : {alice.get(), carol.get(), domain.get(), expired.get(), signer.cert.get(), ecsign.cert.get(),
                  fut.cert.get(), tls.cert.get()})
    add(*ts, c);

  struct Row {
    std::string address;
    std::string want_fp;  // empty: nothing chosen
    Match want_match;
    Problem want_reason;
  };
  const std::vector<Row> rows = {
      {"alice@example.org", fp(alice.get()), Match::email, Problem::none},
      {"Alice@EXAMPLE.ORG", fp(alice.get()), Match::email, Problem::none},
      {"carol@example.org", fp(carol.get()), Match::email, Problem::none},
      {"anyone@example.net", fp(domain.get()), Match::domain, Problem::none},
      {"anyone@mail.example.net", fp(domain.get()), Match::wildcard, Problem::none},
      {"anyone@a.b.example.net", "", Match::email, Problem::none},  // wildcard covers one label only
      {"nobody@example.org", "", Match::email, Problem::none},
      {"expired@example.org", "", Match::email, Problem::expired},
      {"future@example.org", "", Match::email, Problem::not_yet_valid},
      {"signer@example.org", "", Match::email, Problem::wrong_key_usage},
      {"ecsign@example.org", "", Match::email, Problem::wrong_key_usage},
      {"tls@example.org", "", Match::email, Problem::wrong_extended_usage},
  };
  for (const auto& row : rows) {
    INFO("address: " << row.address);
    LookupResult r = encryption_certificate(*ts, row.address, kt::now());
    if (row.want_fp.empty()) {
      CHECK_FALSE(r.found());
      CHECK(r.reason == row.want_reason);
      CHECK_FALSE(r.explanation.empty());
    } else {
      REQUIRE(r.found());
      CHECK(r.chosen->facts.fingerprint == row.want_fp);
      CHECK(r.match == row.want_match);
    }
  }
}

TEST_CASE("encryption lookup: the newest valid certificate wins", "[lookup]") {
  kt::TempStore ts;
  kt::Spec older, newer, newest_expired;
  older.emails = newer.emails = newest_expired.emails = {"dave@example.org"};
  older.not_before_offset = -7200;
  newer.not_before_offset = -600;
  newest_expired.not_before_offset = -60;
  newest_expired.not_after_offset = -30;
  auto o = kt::issue(older), n = kt::issue(newer), x = kt::issue(newest_expired);
  add(*ts, n.cert.get());  // insertion order must not matter
  add(*ts, x.cert.get());
  add(*ts, o.cert.get());
  LookupResult r = encryption_certificate(*ts, "dave@example.org", kt::now());
  REQUIRE(r.found());
  CHECK(r.chosen->facts.fingerprint == fp(n.cert.get()));
  CHECK(r.candidates.size() == 3);
  CHECK(r.candidates.front().check.problem == Problem::expired);  // considered, newest first, and why
}

TEST_CASE("encryption lookup: an exact address beats the domain; an unusable one falls through to it",
          "[lookup]") {
  kt::TempStore ts;
  kt::Spec person, person_expired, dom;
  person.emails = {"erin@example.com"};
  person_expired.emails = {"frank@example.com"};
  person_expired.not_before_offset = -7200;
  person_expired.not_after_offset = -3600;
  dom.domains = {"example.com"};
  auto p = kt::issue(person), px = kt::issue(person_expired), d = kt::issue(dom);
  add(*ts, p.cert.get());
  add(*ts, px.cert.get());
  add(*ts, d.cert.get());
  auto erin = encryption_certificate(*ts, "erin@example.com", kt::now());
  REQUIRE(erin.found());
  CHECK(erin.match == Match::email);
  auto frank = encryption_certificate(*ts, "frank@example.com", kt::now());
  REQUIRE(frank.found());
  CHECK(frank.match == Match::domain);
  CHECK(frank.chosen->facts.fingerprint == fp(d.cert.get()));
}

TEST_CASE("signing lookup needs one of the gateway's identities with a signing usage", "[lookup]") {
  kt::TempStore ts;
  auto old_gw = kt::pki_cert("gw-old");
  auto new_gw = kt::pki_cert("gw-new");
  auto alice = kt::pki_cert("alice");
  add(*ts, alice.get());  // public only: cannot sign for the gateway
  auto none = signing_certificate(*ts, "alice@example.org", kt::now());
  CHECK_FALSE(none.found());
  CHECK(none.reason == Problem::no_private_key);
  put_identity(*ts, old_gw.get(), kt::pki_key("gw-old").get(), {}, "", kt::now());
  put_identity(*ts, new_gw.get(), kt::pki_key("gw-new").get(), {}, "", kt::now());
  for (const char* who : {"gateway@example.com", "example.com", "someone@example.com"}) {
    INFO(who);
    auto r = signing_certificate(*ts, who, kt::now());
    REQUIRE(r.found());
    CHECK(r.chosen->has_private_key);
  }
  kt::Spec enc_only;
  enc_only.emails = {"encgw@example.org"};
  enc_only.key_usage = "critical,keyEncipherment";
  auto e = kt::issue(enc_only);
  put_identity(*ts, e.cert.get(), e.key.get(), {}, "", kt::now());
  auto r = signing_certificate(*ts, "encgw@example.org", kt::now());
  CHECK_FALSE(r.found());
  CHECK(r.reason == Problem::wrong_key_usage);
}

TEST_CASE("identities: keys stored encrypted under a passphrase, refused without it", "[lookup][identity]") {
  kt::TempStore ts;
  auto gw = kt::pki_cert("gw-new");
  std::vector<smime::X509Ptr> chain;
  chain.push_back(kt::pki_cert("inter"));
  put_identity(*ts, gw.get(), kt::pki_key("gw-new").get(), chain, "kek-secret", kt::now());
  auto stored = ts->key(fp(gw.get()));
  REQUIRE(stored);
  CHECK(stored->encrypted);
  CHECK_THAT(stored->pkcs8_pem, Catch::Contains("BEGIN ENCRYPTED PRIVATE KEY"));
  CHECK_THROWS_AS(load_identity(*ts, fp(gw.get()), ""), keystore::Error);
  CHECK_THROWS_AS(load_identity(*ts, fp(gw.get()), "wrong"), keystore::Error);
  Identity id = load_identity(*ts, fp(gw.get()), "kek-secret");
  CHECK(X509_check_private_key(id.cert.get(), id.key.get()) == 1);
  CHECK(id.chain.size() == 1);
  auto all = decryption_identities(*ts, "kek-secret");
  CHECK(all.size() == 1);
  // A second identity stored without a passphrase: with none given, the locked one is skipped and
  // named, the other still loads.
  auto old_gw = kt::pki_cert("gw-old");
  put_identity(*ts, old_gw.get(), kt::pki_key("gw-old").get(), chain, "", kt::now());
  std::vector<std::string> skipped;
  auto usable = decryption_identities(*ts, "", &skipped);
  REQUIRE(usable.size() == 1);
  CHECK(usable.front().fingerprint == fp(old_gw.get()));
  REQUIRE(skipped.size() == 1);
  CHECK(skipped.front().rfind(fp(gw.get()) + ": ", 0) == 0);
}

TEST_CASE("identities: a key that does not match the certificate is refused", "[identity]") {
  kt::TempStore ts;
  CHECK_THROWS_AS(
      put_identity(*ts, kt::pki_cert("gw-new").get(), kt::pki_key("gw-old").get(), {}, "", kt::now()),
      smime::Error);
  CHECK(ts->list({}).empty());
}

TEST_CASE("verification certificates: everything known for the address, newest first", "[lookup]") {
  kt::TempStore ts;
  add(*ts, kt::pki_cert("alice").get());
  kt::Spec newer;
  newer.emails = {"alice@example.org"};
  newer.not_before_offset = -60;
  auto n = kt::issue(newer);
  add(*ts, n.cert.get());
  auto v = verification_certificates(*ts, "alice@example.org");
  REQUIRE(v.size() == 2);
  CHECK(v.front().facts.fingerprint == fp(n.cert.get()));
  ts->add_anchor(kt::pki_cert("root").get(), kt::now());
  CHECK(trust_anchors(*ts).size() == 1);
}
