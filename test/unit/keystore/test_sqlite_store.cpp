// The Store contract on either backend (test_keystore: SQLite, test_keystore_pg: PostgreSQL): schema
// versioning, CRUD, filters, transactions, eviction. SQLite's file handling is in test_sqlite_only.cpp.
#include <catch2/catch.hpp>

#include "keystore/error.hpp"
#include "keystore/pg_store.hpp"
#include "keystore/sqlite_store.hpp"
#include "keystore_support.hpp"

using namespace keystore;

namespace {
std::int64_t add(Store& s, X509* c, Origin o = Origin::imported, Time t = kt::now()) {
  return s.add(
      NewCertificate{c, o, t, o == Origin::harvested ? "<m@x>" : "", o == Origin::harvested ? "x@y" : ""});
}
}  // namespace

TEST_CASE("opening records the schema version and is idempotent", "[store]") {
  kt::TempStore ts;
  add(*ts, kt::pki_cert("alice").get());
  ts.store.reset();
  auto again = ts.reopen();
  CHECK(again->find(smime::fingerprint_sha256(kt::pki_cert("alice").get())).has_value());
  CHECK(sqlite_schema_version() >= 2);
  CHECK(pg_schema_version() == sqlite_schema_version());  // one schema, two dialects
}

TEST_CASE("a store from a newer program is refused with a message saying so", "[store]") {
  kt::TempStore ts;
  ts.store.reset();
  ts.raw_sql("UPDATE schema_version SET version = 999");
  try {
    ts.reopen();
    FAIL("opened a store with schema version 999");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::store);
    CHECK_THAT(e.what(), Catch::Contains("newer"));
  }
}

TEST_CASE("certificates are found by fingerprint, prefix, e-mail (any case) and DNS name", "[store]") {
  kt::TempStore ts;
  auto alice = kt::pki_cert("alice");
  auto domain = kt::pki_cert("domain");
  add(*ts, alice.get());
  add(*ts, domain.get());
  const std::string fp = smime::fingerprint_sha256(alice.get());
  REQUIRE(ts->find(fp));
  CHECK(ts->find(fp)->facts.emails == std::vector<std::string>{"alice@example.org"});
  CHECK(ts->find_prefix(fp.substr(0, 11)).size() == 1);  // "AB:CD:EF:01" form
  std::string bare;
  for (char c : fp.substr(0, 11))
    if (c != ':') bare.push_back(static_cast<char>(std::tolower(c)));
  CHECK(ts->find_prefix(bare).size() == 1);  // "abcdef01" form
  CHECK(ts->find_prefix("zz").empty());
  CHECK(ts->by_email("ALICE@Example.ORG").size() == 1);
  CHECK(ts->by_email("bob@example.org").empty());
  CHECK(ts->by_dns_name("*.example.net").size() == 1);
  CHECK(ts->by_dns_name("example.net").size() == 1);
  CHECK(ts->by_dns_name("other.net").empty());
}

TEST_CASE("adding a certificate twice is a store error and leaves one row", "[store]") {
  kt::TempStore ts;
  auto alice = kt::pki_cert("alice");
  add(*ts, alice.get());
  CHECK_THROWS_AS(add(*ts, alice.get()), Error);
  CHECK(ts->list({}).size() == 1);
  CHECK(ts->by_email("alice@example.org").size() == 1);
}

TEST_CASE("list filters by address, domain (with wildcard cover), origin and identities", "[store]") {
  kt::TempStore ts;
  add(*ts, kt::pki_cert("alice").get());
  add(*ts, kt::pki_cert("bob").get(), Origin::harvested);
  add(*ts, kt::pki_cert("domain").get());
  add(*ts, kt::pki_cert("gw-new").get());
  ts->put_key(smime::fingerprint_sha256(kt::pki_cert("gw-new").get()), StoredKey{"k", false, ""});
  struct Row {
    ListFilter filter;
    std::size_t want;
  };
  ListFilter by_address, by_domain, by_sub, by_origin, by_key, none;
  by_address.address = "Alice@EXAMPLE.org";
  by_domain.domain = "example.org";
  by_sub.domain = "mail.example.net";
  by_origin.origin = Origin::harvested;
  by_key.identities_only = true;
  for (const auto& [filter, want] : std::vector<Row>{
           {none, 4}, {by_address, 1}, {by_domain, 2}, {by_sub, 1}, {by_origin, 1}, {by_key, 1}}) {
    INFO("address=" << filter.address << " domain=" << filter.domain);
    CHECK(ts->list(filter).size() == want);
  }
}

TEST_CASE("removing a certificate removes its addresses and its key", "[store]") {
  kt::TempStore ts;
  auto gw = kt::pki_cert("gw-new");
  const std::string fp = smime::fingerprint_sha256(gw.get());
  add(*ts, gw.get());
  ts->put_key(fp, StoredKey{"pem", false, ""});
  CHECK(ts->remove(fp));
  CHECK_FALSE(ts->remove(fp));
  CHECK_FALSE(ts->key(fp).has_value());
  CHECK(ts->by_email("gateway@example.com").empty());
  CHECK(ts->by_dns_name("example.com").empty());
}

TEST_CASE("a transaction that throws leaves the store as it was", "[store]") {
  kt::TempStore ts;
  add(*ts, kt::pki_cert("alice").get());
  CHECK_THROWS_AS(ts->in_transaction([&] {
    add(*ts, kt::pki_cert("bob").get());
    ts->in_transaction([&] { add(*ts, kt::pki_cert("carol").get()); });  // nested: joins the outer one
    throw std::runtime_error("abort");
  }),
                  std::runtime_error);
  CHECK(ts->list({}).size() == 1);
  CHECK(ts->by_email("bob@example.org").empty());
  CHECK(ts->by_email("carol@example.org").empty());
}

TEST_CASE("capabilities are replaced only by a later signingTime", "[store]") {
  kt::TempStore ts;
  auto alice = kt::pki_cert("alice");
  const std::string fp = smime::fingerprint_sha256(alice.get());
  add(*ts, alice.get());
  auto gcm = smime::Capabilities::of({smime::Cipher::aes256_gcm});
  auto cbc = smime::Capabilities::of({smime::Cipher::aes256_cbc});
  CHECK(ts->set_capabilities(fp, gcm, 1000));
  CHECK_FALSE(ts->set_capabilities(fp, cbc, 999));   // older message: kept
  CHECK_FALSE(ts->set_capabilities(fp, cbc, 1000));  // same time: kept
  auto rec = ts->find(fp);
  REQUIRE(rec);
  CHECK(rec->capabilities.best_aead() == smime::Cipher::aes256_gcm);
  CHECK(rec->capabilities_time == 1000);
  CHECK(ts->set_capabilities(fp, cbc, 2000));
  CHECK_FALSE(ts->find(fp)->capabilities.best_aead().has_value());
}

TEST_CASE("eviction removes least recently used harvested certificates, never imported ones", "[store]") {
  kt::TempStore ts;
  auto imported = kt::pki_cert("alice");
  auto old_h = kt::pki_cert("bob");
  auto mid_h = kt::pki_cert("carol");
  auto new_h = kt::pki_cert("domain");
  add(*ts, imported.get(), Origin::imported, 100);
  add(*ts, old_h.get(), Origin::harvested, 100);
  add(*ts, mid_h.get(), Origin::harvested, 100);
  add(*ts, new_h.get(), Origin::harvested, 100);
  ts->mark_used(smime::fingerprint_sha256(old_h.get()), 200);
  ts->mark_used(smime::fingerprint_sha256(mid_h.get()), 300);
  ts->mark_used(smime::fingerprint_sha256(new_h.get()), 400);
  const std::int64_t new_size = static_cast<std::int64_t>(smime::to_der(new_h.get()).size());
  auto removed = ts->evict_harvested(new_size, "");
  CHECK(removed == std::vector<std::string>{smime::fingerprint_sha256(old_h.get()),
                                            smime::fingerprint_sha256(mid_h.get())});
  CHECK(ts->harvested_bytes() == new_size);
  CHECK(ts->find(smime::fingerprint_sha256(imported.get())).has_value());
  CHECK(ts->evict_harvested(0, smime::fingerprint_sha256(new_h.get())).empty());  // `keep` is kept
  CHECK(ts->evict_harvested(0, "").size() == 1);
  CHECK(ts->find(smime::fingerprint_sha256(imported.get())).has_value());
}

TEST_CASE("trust anchors are added once, listed and removed", "[store]") {
  kt::TempStore ts;
  auto root = kt::pki_cert("root");
  CHECK(ts->add_anchor(root.get(), 1));
  CHECK_FALSE(ts->add_anchor(root.get(), 2));
  REQUIRE(ts->anchors().size() == 1);
  CHECK(ts->anchors().front().fingerprint == smime::fingerprint_sha256(root.get()));
  CHECK(ts->remove_anchor(smime::fingerprint_sha256(root.get())));
  CHECK(ts->anchors().empty());
}
