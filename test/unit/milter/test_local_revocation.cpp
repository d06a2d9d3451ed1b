// The keystore's local revocation data as the checker sees it (milter::KeystoreLocalSource): CRLs and
// revocations by hand written through another connection (as smime-keystore does) are seen by the next
// check, the tables are read again only when the change counter moved, and a store that fails keeps the
// data read last.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <ctime>
#include <string>

#include "../revocation/revocation_support.hpp"
#include "keystore/open_store.hpp"
#include "keystore/store_pool.hpp"
#include "milter/local_revocation.hpp"
#include "revocation/revocation.hpp"
#include "smime/cert.hpp"
#include "temp_dir.hpp"

using revocation::Method;
using revocation::Status;
using revocation::Why;

namespace {

std::time_t now() { return std::time(nullptr); }

keystore::CrlRecord crl_record(const std::string& variant) {
  const std::string bytes = smime::read_file(test::rev_pki_file("crl/" + variant + "/inter.crl"));
  std::shared_ptr<X509_CRL> crl = revocation::read_crl(bytes);
  REQUIRE(crl);
  revocation::CrlSummary s = revocation::summarize_crl(crl.get());
  return keystore::CrlRecord{smime::fingerprint_sha256(test::inter().get()),
                             s.issuer,
                             revocation::crl_der(crl.get()),
                             *s.this_update,
                             s.next_update,
                             now()};
}

struct Fixture {
  test::TempDir dir;
  keystore::StoreLocation where;
  std::unique_ptr<keystore::Store> admin;  // smime-keystore's connection
  std::shared_ptr<milter::KeystoreLocalSource> source;
  std::unique_ptr<revocation::Checker> checker;

  Fixture() {
    where.path = dir.path("keystore.db");
    admin = keystore::open_store(where);
    source = std::make_shared<milter::KeystoreLocalSource>(std::make_shared<keystore::StorePool>(where, 2));
    revocation::Options o = test::fast_options({Method::crl});
    o.local_source = source;
    checker = std::make_unique<revocation::Checker>(std::move(o));
  }
  revocation::Answer check(const std::string& name) {
    return checker->check(test::rev_cert(name).get(), test::inter().get(), now());
  }
};

}  // namespace

TEST_CASE("local revocation: the keystore's CRLs and revocations by hand, seen by the next check",
          "[milter][revocation][local]") {
  test::wait_port_free(test::kCrlPort);  // the network would say connection refused
  Fixture f;
  CHECK(f.check("rev-revoked").why == Why::connection_refused);  // nothing local yet

  REQUIRE(f.admin->put_crl(crl_record("fresh")) == keystore::CrlPut::stored);
  revocation::Answer revoked = f.check("rev-revoked");
  INFO(revoked.reason);
  CHECK(revoked.status == Status::revoked);
  CHECK(revoked.source == Method::local);
  CHECK(revoked.revocation_reason == "keyCompromise");
  revocation::Answer good = f.check("rev-nodp");
  CHECK(good.status == Status::good);
  CHECK(good.source == Method::local);
  const std::uint64_t loads = f.source->loads();
  CHECK(f.check("rev-good").status == Status::good);
  CHECK(f.source->loads() == loads);  // counter unchanged: nothing read again

  const std::string nodp = smime::fingerprint_sha256(test::rev_cert("rev-nodp").get());
  REQUIRE(f.admin->revoke(keystore::RevokedRecord{nodp, "affiliationChanged", 1700000000, now(), "left"}));
  revocation::Answer by_hand = f.check("rev-nodp");
  INFO(by_hand.reason);
  CHECK(by_hand.status == Status::revoked);
  CHECK(by_hand.reason == "revoked locally (affiliationChanged) at 2023-11-14T22:13:20Z");
  CHECK(by_hand.attempts.at(0).find(": left") != std::string::npos);
  CHECK(f.source->loads() == loads + 1);
  // Without a known issuer, the revocation by hand still counts.
  std::optional<revocation::Answer> no_issuer =
      f.checker->local(test::rev_cert("rev-nodp").get(), nullptr, now());
  REQUIRE(no_issuer);
  CHECK(no_issuer->status == Status::revoked);

  REQUIRE(f.admin->unrevoke(nodp));
  CHECK(f.check("rev-nodp").status == Status::good);
  REQUIRE(f.admin->remove_crl(smime::fingerprint_sha256(test::inter().get())));
  CHECK(f.check("rev-revoked").why == Why::connection_refused);
  CHECK(f.check("rev-nodp").why == Why::no_distribution_point);
}

TEST_CASE("local revocation: only CRLs under the issuer's name are handed over",
          "[milter][revocation][local]") {
  Fixture f;
  f.admin->put_crl(crl_record("fresh"));
  keystore::CrlRecord other = crl_record("other-ca");  // issued by root
  other.issuer_fingerprint = "00:01";
  f.admin->put_crl(other);
  revocation::LocalData d = f.source->lookup(test::rev_cert("rev-good").get(), test::inter().get());
  REQUIRE(d.crls.size() == 1);
  CHECK(X509_NAME_cmp(X509_CRL_get_issuer(d.crls[0].get()), X509_get_subject_name(test::inter().get())) == 0);
  CHECK(f.source->lookup(test::rev_cert("rev-good").get(), nullptr).crls.empty());
}

TEST_CASE("local revocation: a failing store keeps the data read last, and without any is undetermined",
          "[milter][revocation][local]") {
  SECTION("read once, then the store fails") {
    Fixture f;
    const std::string good = smime::fingerprint_sha256(test::rev_cert("rev-good").get());
    f.admin->revoke(keystore::RevokedRecord{good, "keyCompromise", 1, now(), ""});
    CHECK(f.check("rev-good").status == Status::revoked);
    // The counter's table gone (as in a broken database): every read of the counter fails.
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(f.where.path.c_str(), &db) == SQLITE_OK);
    const int rc = sqlite3_exec(db, "DROP TABLE store_generation", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    REQUIRE(rc == SQLITE_OK);
    CHECK_THROWS(f.admin->generation());
    revocation::Answer a = f.check("rev-good");
    INFO(a.reason);
    CHECK(a.status == Status::revoked);  // the data read last
  }
  SECTION("never read: the store cannot be opened") {
    test::TempDir dir;
    keystore::StoreLocation nowhere;
    nowhere.path = dir.path("missing-dir/keystore.db");
    revocation::Options o = test::fast_options({Method::crl});
    o.local_source =
        std::make_shared<milter::KeystoreLocalSource>(std::make_shared<keystore::StorePool>(nowhere, 1));
    revocation::Checker checker(std::move(o));
    revocation::Answer a = checker.check(test::rev_cert("rev-good").get(), test::inter().get(), now());
    INFO(a.reason);
    CHECK(a.status == Status::undetermined);
    CHECK(a.why == Why::local_unavailable);
  }
}
