// What both backends add to the Store contract, on the backend of the executable: migration from
// versions 1 and 2, the change counter, reads without a write lock, the revocation cache tables and fetch
// claims, local CRLs and revocations by hand, the pool, copying between backends, and two processes
// harvesting the same sender at once.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "keystore/copy.hpp"
#include "keystore/error.hpp"
#include "keystore/harvest.hpp"
#include "keystore/identity.hpp"
#include "keystore/store_pool.hpp"
#include "keystore_support.hpp"

using namespace keystore;

namespace {

std::string fp(X509* c) { return smime::fingerprint_sha256(c); }
void add(Store& s, X509* c, Origin o = Origin::imported, Time t = kt::now()) {
  s.add(NewCertificate{c, o, t, o == Origin::harvested ? "<m@x>" : "", o == Origin::harvested ? "x@y" : ""});
}

// The store's location with short lock waits: a call that would wait for another writer fails fast.
StoreLocation impatient(const kt::TempStore& ts) {
  StoreLocation w = ts.where;
  w.sqlite.busy_timeout = std::chrono::milliseconds(300);
  w.pg.lock_timeout = std::chrono::milliseconds(300);
  return w;
}

}  // namespace

TEST_CASE("a version 1 store is migrated to the current schema, its rows kept", "[store]") {
  kt::TempStore ts;
  auto alice = kt::pki_cert("alice");
  add(*ts, alice.get());
  ts.store.reset();
  // Back to version 1 as an older program left it: without the version 2 and 3 tables and triggers.
  if (kt::backend() == kt::Backend::sqlite)
    ts.raw_sql(
        "DROP TABLE local_crls; DROP TABLE revoked_certificates;"
        "DROP TABLE store_generation; DROP TABLE revocation_cache; DROP TABLE revocation_fetches;"
        "DROP TRIGGER certificates_generation_insert; DROP TRIGGER certificates_generation_delete;"
        "DROP TRIGGER certificates_generation_update; DROP TRIGGER private_keys_generation_insert;"
        "DROP TRIGGER private_keys_generation_update; DROP TRIGGER private_keys_generation_delete;"
        "DROP TRIGGER trust_anchors_generation_insert; DROP TRIGGER trust_anchors_generation_update;"
        "DROP TRIGGER trust_anchors_generation_delete; UPDATE schema_version SET version = 1");
  else
    ts.raw_sql(
        "DROP TABLE local_crls, revoked_certificates, store_generation, revocation_cache, "
        "revocation_fetches;"
        "DROP FUNCTION bump_store_generation() CASCADE; UPDATE schema_version SET version = 1");
  auto again = ts.reopen();
  CHECK(again->find(fp(alice.get())).has_value());
  const std::int64_t g = again->generation();
  again->add_anchor(kt::pki_cert("root").get(), kt::now());
  CHECK(again->generation() > g);
}

TEST_CASE("a version 2 store is migrated to version 3, its rows and counter kept", "[store][local]") {
  kt::TempStore ts;
  auto alice = kt::pki_cert("alice");
  add(*ts, alice.get());
  ts.store.reset();
  // Back to version 2: without the local revocation tables (their triggers go with them).
  ts.raw_sql("DROP TABLE local_crls; DROP TABLE revoked_certificates; UPDATE schema_version SET version = 2");
  auto again = ts.reopen();
  CHECK(again->find(fp(alice.get())).has_value());
  CHECK(again->crls().empty());
  const std::int64_t g = again->generation();
  CHECK(g > 0);  // alice's insert, kept
  CHECK(again->revoke(RevokedRecord{fp(alice.get()), "keyCompromise", 10, 20, ""}));
  CHECK(again->generation() > g);
}

TEST_CASE("the change counter moves with certificates, keys and anchors, from any process",
          "[store][generation]") {
  kt::TempStore ts;
  auto alice = kt::pki_cert("alice");
  auto gw = kt::pki_cert("gw-new");
  auto root = kt::pki_cert("root");
  auto other = ts.reopen();  // another connection, as another process (the CLI) would have
  struct Step {
    std::string name;
    std::function<void()> change;
    bool counts;
  };
  const std::vector<Step> steps = {
      {"add", [&] { add(*other, alice.get()); }, true},
      {"mark_used (last use does not count)", [&] { other->mark_used(fp(alice.get()), 12345); }, false},
      {"set_capabilities",
       [&] {
         other->set_capabilities(fp(alice.get()), smime::Capabilities::of({smime::Cipher::aes256_gcm}), 10);
       },
       true},
      {"set_origin", [&] { other->set_origin(fp(alice.get()), Origin::harvested); }, true},
      {"put_key",
       [&] {
         add(*other, gw.get());
         other->put_key(fp(gw.get()), StoredKey{"pem", false, ""});
       },
       true},
      {"add_anchor", [&] { other->add_anchor(root.get(), 1); }, true},
      {"log_harvest (does not count)",
       [&] {
         other->log_harvest(HarvestEvent{1, "stored", "x", "a@b", "b", "<m>", "d"});
       },
       false},
      {"add_warning (does not count)",
       [&] {
         other->add_warning(WarningRecord{1, "b", "w"});
       },
       false},
      {"revocation cache (does not count)",
       [&] {
         other->put_revocation_entry(RevocationEntry{"ocsp", "k", "u", 1, 2, {}, {}, "p"});
       },
       false},
      {"a rolled-back transaction (does not count)",
       [&] {
         try {
           other->in_transaction([&] {
             other->remove(fp(alice.get()));
             throw std::runtime_error("abort");
           });
         } catch (const std::runtime_error&) {
         }
       },
       false},
      {"put_crl",
       [&] {
         other->put_crl(CrlRecord{"AA:01", "CN=CA", "crl-1", 100, 200, 150});
       },
       true},
      {"put_crl of an older CRL (refused: does not count)",
       [&] {
         other->put_crl(CrlRecord{"AA:01", "CN=CA", "crl-0", 50, 200, 160});
       },
       false},
      {"put_crl replacing it",
       [&] {
         other->put_crl(CrlRecord{"AA:01", "CN=CA", "crl-2", 110, 210, 170});
       },
       true},
      {"remove_crl", [&] { other->remove_crl("AA:01"); }, true},
      {"revoke",
       [&] {
         other->revoke(RevokedRecord{fp(alice.get()), "keyCompromise", 1, 2, ""});
       },
       true},
      {"revoke again (new reason)",
       [&] {
         other->revoke(RevokedRecord{fp(alice.get()), "superseded", 1, 3, "c"});
       },
       true},
      {"unrevoke", [&] { other->unrevoke(fp(alice.get())); }, true},
      {"remove_anchor", [&] { other->remove_anchor(fp(root.get())); }, true},
      {"remove", [&] { other->remove(fp(alice.get())); }, true},
  };
  for (const auto& step : steps) {
    INFO(step.name);
    const std::int64_t before = ts->generation();
    step.change();
    const std::int64_t after = ts->generation();  // read through the first connection
    if (step.counts)
      CHECK(after > before);
    else
      CHECK(after == before);
  }
}

TEST_CASE("reads and a harvest with nothing to refresh take no write lock", "[store][harvest]") {
  kt::TempStore ts;
  ts->add_anchor(kt::pki_cert("root").get(), kt::now());
  auto alice = kt::pki_cert("alice");
  HarvestInput in;
  in.signer = alice.get();
  in.carried.push_back(kt::pki_cert("inter"));
  in.signature_verified = true;
  in.from_address = "alice@example.org";
  REQUIRE(harvest(*ts, in, {}, kt::now()).outcome == HarvestOutcome::stored);

  auto reader = open_store(impatient(ts));
  auto writer = ts.reopen();
  std::atomic<bool> held{false}, done{false};
  std::thread hold([&] {
    writer->in_transaction([&] {
      writer->mark_used(fp(alice.get()), kt::now());  // this connection holds the write lock now
      held = true;
      for (int i = 0; i < 200 && !done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    });
  });
  while (!held) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // Each of these would wait for the lock, then fail after 300 ms, if it took a write transaction.
  std::string failure;
  try {
    CHECK(reader->find(fp(alice.get())).has_value());
    CHECK(reader->by_email("alice@example.org").size() == 1);
    CHECK(reader->anchors().size() == 1);
    reader->generation();
    CHECK(harvest(*reader, in, {}, kt::now()).outcome == HarvestOutcome::already_known);
  } catch (const Error& e) {
    failure = e.what();
  }
  done = true;
  hold.join();
  CHECK(failure.empty());
  // ...and a write does wait for the lock.
  std::atomic<bool> held2{false}, done2{false};
  std::thread hold2([&] {
    writer->in_transaction([&] {
      writer->add_warning(WarningRecord{1, "x", "y"});
      held2 = true;
      for (int i = 0; i < 200 && !done2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    });
  });
  while (!held2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK_THROWS_AS(reader->add_anchor(kt::pki_cert("inter").get(), 1), Error);
  done2 = true;
  hold2.join();
}

TEST_CASE("a stored certificate read again is the same decoded object, its facts unchanged", "[store]") {
  kt::TempStore ts;
  auto alice = kt::pki_cert("alice");
  auto bob = kt::pki_cert("bob");
  add(*ts, alice.get());
  add(*ts, bob.get());
  ts->add_anchor(kt::pki_cert("root").get(), kt::now());
  const std::optional<CertRecord> a1 = ts->find(fp(alice.get()));
  const std::optional<CertRecord> a2 = ts->find(fp(alice.get()));
  const std::optional<CertRecord> b = ts->find(fp(bob.get()));
  REQUIRE(a1);
  REQUIRE(a2);
  REQUIRE(b);
  CHECK(a1->cert.get() == a2->cert.get());  // decoded once: a shared reference
  CHECK(a1->cert.get() != b->cert.get());
  CHECK(X509_cmp(a1->cert.get(), alice.get()) == 0);
  CHECK(X509_cmp(b->cert.get(), bob.get()) == 0);
  CHECK(a2->facts.fingerprint == fp(alice.get()));
  CHECK(a2->facts.emails == a1->facts.emails);
  CHECK(b->facts.fingerprint == fp(bob.get()));
  // Another path to the same bytes (the sender's certificates) gives the same object too.
  const std::vector<CertRecord> by_mail = ts->by_email("alice@example.org");
  REQUIRE(by_mail.size() == 1);
  CHECK(by_mail.front().cert.get() == a1->cert.get());
  const std::vector<AnchorRecord> anchors1 = ts->anchors();
  const std::vector<AnchorRecord> anchors2 = ts->anchors();
  REQUIRE(anchors1.size() == 1);
  CHECK(anchors1.front().cert.get() == anchors2.front().cert.get());
}

TEST_CASE("revocation cache entries: replaced, removed only when expired, purged", "[store][revocation]") {
  kt::TempStore ts;
  CHECK_FALSE(ts->revocation_entry("ocsp", "id1").has_value());
  RevocationEntry e{"ocsp", "id1", "http://ocsp/", 100, 200, 90, 300, std::string("\x00\x01\xff", 3)};
  ts->put_revocation_entry(e);
  auto got = ts->revocation_entry("ocsp", "id1");
  REQUIRE(got);
  CHECK(got->payload == e.payload);  // binary intact
  CHECK(got->url == "http://ocsp/");
  CHECK(got->this_update == 90);
  CHECK(got->next_update == 300);
  e.expires_at = 500;
  e.this_update.reset();
  e.payload = "renewed";
  ts->put_revocation_entry(e);  // replaces
  got = ts->revocation_entry("ocsp", "id1");
  REQUIRE(got);
  CHECK(got->payload == "renewed");
  CHECK_FALSE(got->this_update.has_value());
  CHECK_FALSE(ts->revocation_entry("crl", "id1").has_value());  // kind is part of the key

  ts->remove_revocation_entry("ocsp", "id1", 400);  // renewed meanwhile (expires 500): stays
  CHECK(ts->revocation_entry("ocsp", "id1").has_value());
  ts->remove_revocation_entry("ocsp", "id1", 500);
  CHECK_FALSE(ts->revocation_entry("ocsp", "id1").has_value());

  ts->put_revocation_entry(
      RevocationEntry{"undetermined", "ocsp http://x/", "http://x/", 1, 10, {}, {}, "timeout\nt"});
  ts->put_revocation_entry(RevocationEntry{"crl", "k", "http://c/", 1, 1000, {}, {}, "crl"});
  CHECK(ts->purge_revocation_entries(10) == 1);
  CHECK_FALSE(ts->revocation_entry("undetermined", "ocsp http://x/").has_value());
  CHECK(ts->revocation_entry("crl", "k").has_value());
  ts->remove_revocation_entry("crl", "k");
  CHECK_FALSE(ts->revocation_entry("crl", "k").has_value());
}

TEST_CASE("local CRLs: one per issuer, a newer one replaces, an older one is refused", "[store][local]") {
  kt::TempStore ts;
  CHECK(ts->crls().empty());
  CHECK_FALSE(ts->crl("AA:01").has_value());
  const std::string der1("\x30\x82\x00\xff first", 10), der2 = "second", der0 = "older";
  struct Row {
    std::string name;
    CrlRecord crl;
    CrlPut want;
    std::string want_der;  // stored afterwards
  };
  const std::vector<Row> rows = {
      {"the first", {"AA:01", "CN=Private CA", der1, 1000, 2000, 1100}, CrlPut::stored, der1},
      {"the same again", {"AA:01", "CN=Private CA", der1, 1000, 2000, 1200}, CrlPut::unchanged, der1},
      {"an older one", {"AA:01", "CN=Private CA", der0, 900, 1900, 1300}, CrlPut::not_newer, der1},
      {"another with the same thisUpdate",
       {"AA:01", "CN=Private CA", der0, 1000, 2000, 1300},
       CrlPut::not_newer,
       der1},
      {"a newer one", {"AA:01", "CN=Private CA", der2, 1500, std::nullopt, 1600}, CrlPut::replaced, der2},
  };
  for (const auto& row : rows) {
    INFO(row.name);
    CHECK(ts->put_crl(row.crl) == row.want);
    std::optional<CrlRecord> got = ts->crl("AA:01");
    REQUIRE(got);
    CHECK(got->der == row.want_der);  // binary intact
  }
  std::optional<CrlRecord> got = ts->crl("AA:01");
  REQUIRE(got);
  CHECK(got->issuer == "CN=Private CA");
  CHECK(got->this_update == 1500);
  CHECK_FALSE(got->next_update.has_value());
  CHECK(got->imported == 1600);

  CHECK(ts->put_crl(CrlRecord{"BB:02", "CN=Another CA", "other", 10, 20, 30}) == CrlPut::stored);
  std::vector<CrlRecord> all = ts->crls();
  REQUIRE(all.size() == 2);
  CHECK(all[0].issuer == "CN=Another CA");  // by issuer name
  CHECK(all[1].issuer_fingerprint == "AA:01");
  auto other = ts.reopen();  // seen by another connection
  CHECK(other->crls().size() == 2);
  CHECK(other->remove_crl("AA:01"));
  CHECK_FALSE(other->remove_crl("AA:01"));
  CHECK_FALSE(ts->crl("AA:01").has_value());
  CHECK(ts->crls().size() == 1);
}

TEST_CASE("certificates revoked by hand: revoke, revoke again, unrevoke, list", "[store][local]") {
  kt::TempStore ts;
  auto alice = kt::pki_cert("alice");
  const std::string stranger = "01:02:03:04";  // need not be stored
  CHECK(ts->revoked().empty());
  CHECK(ts->revoke(RevokedRecord{fp(alice.get()), "keyCompromise", 100, 200, "laptop stolen"}));
  CHECK(ts->revoke(RevokedRecord{stranger, "unspecified", 50, 210, ""}));
  std::optional<RevokedRecord> got = ts->find_revoked(fp(alice.get()));
  REQUIRE(got);
  CHECK(got->reason == "keyCompromise");
  CHECK(got->revoked_at == 100);
  CHECK(got->added == 200);
  CHECK(got->comment == "laptop stolen");
  // Again: replaced, not a second entry.
  CHECK_FALSE(ts->revoke(RevokedRecord{fp(alice.get()), "superseded", 150, 300, "new key issued"}));
  got = ts->find_revoked(fp(alice.get()));
  REQUIRE(got);
  CHECK(got->reason == "superseded");
  CHECK(got->comment == "new key issued");
  std::vector<RevokedRecord> all = ts->revoked();
  REQUIRE(all.size() == 2);
  CHECK(all[0].fingerprint == stranger);  // by fingerprint
  // Only RFC 5280 reason names are stored.
  CHECK_THROWS_AS(ts->revoke(RevokedRecord{"05:06", "stolen", 1, 1, ""}), Error);
  CHECK_FALSE(ts->find_revoked("05:06").has_value());
  CHECK(ts->unrevoke(fp(alice.get())));
  CHECK_FALSE(ts->unrevoke(fp(alice.get())));
  CHECK_FALSE(ts->find_revoked(fp(alice.get())).has_value());
  CHECK(ts->revoked().size() == 1);
}

TEST_CASE("revocation fetch claims: one holder at a time, released by token, expiring",
          "[store][revocation]") {
  kt::TempStore ts;
  auto other = ts.reopen();  // another gateway
  std::optional<std::string> mine = ts->claim_revocation_fetch("ocsp http://x/ id", std::chrono::seconds(60));
  REQUIRE(mine);
  CHECK_FALSE(other->claim_revocation_fetch("ocsp http://x/ id", std::chrono::seconds(60)));
  CHECK(other->claim_revocation_fetch("ocsp http://y/ id", std::chrono::seconds(60)));  // another fetch
  other->release_revocation_fetch("ocsp http://x/ id", "not-the-token");
  CHECK_FALSE(other->claim_revocation_fetch("ocsp http://x/ id", std::chrono::seconds(60)));
  ts->release_revocation_fetch("ocsp http://x/ id", *mine);
  std::optional<std::string> theirs =
      other->claim_revocation_fetch("ocsp http://x/ id", std::chrono::seconds(1));
  REQUIRE(theirs);
  CHECK(*theirs != *mine);
  // A holder that never releases (a dead gateway) holds nothing once its bound has passed.
  CHECK_FALSE(ts->claim_revocation_fetch("ocsp http://x/ id", std::chrono::seconds(60)));
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  CHECK(ts->claim_revocation_fetch("ocsp http://x/ id", std::chrono::seconds(60)));
}

TEST_CASE("a pool serves several threads with a bounded number of stores", "[store][pool]") {
  kt::TempStore ts;
  auto alice = kt::pki_cert("alice");
  add(*ts, alice.get());
  StorePool pool(ts.where, 2);
  std::atomic<int> found{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        try {
          StorePool::Lease s = pool.lease();
          if (s->find(fp(alice.get()))) ++found;
          s->generation();
        } catch (const std::exception&) {
          ++errors;
        }
      }
    });
  for (auto& t : threads) t.join();
  CHECK(found == 100);
  CHECK(errors == 0);
  CHECK(pool.open_count() <= 2);
  CHECK(pool.open_count() >= 1);

  StorePool one(ts.where, 1, std::chrono::milliseconds(100));
  StorePool::Lease held = one.lease();
  std::string error;
  std::thread waiter([&] {
    try {
      one.lease();
    } catch (const Error& e) {
      error = e.what();
    }
  });
  waiter.join();
  CHECK_THAT(error, Catch::Contains("busy"));
}

TEST_CASE("copy: everything moves to another backend and back, verified", "[store][copy]") {
  kt::TempStore a;
  auto alice = kt::pki_cert("alice");
  auto bob = kt::pki_cert("bob");
  auto gw = kt::pki_cert("gw-new");
  add(*a, alice.get(), Origin::imported, 100);
  add(*a, bob.get(), Origin::harvested, 200);
  a->mark_used(fp(bob.get()), 300);
  a->set_capabilities(fp(bob.get()), smime::Capabilities::of({smime::Cipher::aes256_gcm}), 250);
  std::vector<smime::X509Ptr> chain;
  chain.push_back(kt::pki_cert("inter"));
  put_identity(*a, gw.get(), kt::pki_key("gw-new").get(), chain, "kek", 400);
  a->add_anchor(kt::pki_cert("root").get(), 50);
  a->log_harvest(
      HarvestEvent{200, "stored", fp(bob.get()), "bob@example.org", "example.org", "<m>", "stored"});
  a->add_warning(WarningRecord{210, "example.org", "2 updated certificates"});
  a->put_crl(CrlRecord{"AA:01", "CN=Private CA", std::string("\x30\x00crl", 5), 100, 200, 150});
  a->revoke(RevokedRecord{fp(bob.get()), "keyCompromise", 220, 230, "lost"});

  kt::TempStore b(kt::Backend::sqlite);
  CopyReport there = copy_store(*a, *b);
  INFO(there.mismatches.size());
  CHECK(there.verified());
  CHECK(there.destination == StoreCounts{3, 1, 1, 1, 1, 1, 1});
  REQUIRE(b->crl("AA:01"));
  CHECK(b->crl("AA:01")->der == std::string("\x30\x00crl", 5));
  REQUIRE(b->find_revoked(fp(bob.get())));
  CHECK(b->find_revoked(fp(bob.get()))->comment == "lost");
  auto rec = b->find(fp(bob.get()));
  REQUIRE(rec);
  CHECK(rec->origin == Origin::harvested);
  CHECK(rec->last_used == 300);
  CHECK(rec->capabilities_time == 250);
  CHECK(rec->harvested_sender == "x@y");
  auto key = b->key(fp(gw.get()));
  REQUIRE(key);
  CHECK(key->encrypted);  // as stored: still under the key passphrase
  CHECK(load_identity(*b, fp(gw.get()), "kek").key);

  kt::TempStore c;  // and back to the backend of this executable
  CHECK(copy_store(*b, *c).verified());
  CHECK(compare_stores(*a, *c).verified());

  // Never into a store that holds something: nothing is written then.
  CHECK_THROWS_AS(copy_store(*a, *c), Error);
  CHECK(c->list({}).size() == 3);
  // A difference is found and named.
  c->put_key(fp(gw.get()), StoredKey{"other", false, ""});
  CopyReport diff = compare_stores(*a, *c);
  CHECK_FALSE(diff.verified());
  REQUIRE(diff.mismatches.size() == 1);
  CHECK_THAT(diff.mismatches[0], Catch::Contains("key of") && Catch::Contains("differs"));
  c->revoke(RevokedRecord{fp(bob.get()), "superseded", 220, 230, "lost"});
  diff = compare_stores(*a, *c);
  REQUIRE(diff.mismatches.size() == 2);
  CHECK_THAT(diff.mismatches[1], Catch::Contains("revoked certificate") && Catch::Contains("differs"));
}

namespace {

// Runs `fn` in `n` child processes released at the same moment; returns each child's exit status.
std::vector<int> in_processes(int n, const std::function<int(int)>& fn) {
  int go[2];
  REQUIRE(::pipe(go) == 0);
  std::vector<pid_t> pids;
  for (int i = 0; i < n; ++i) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(go[1]);
      char c;
      int status = 1;
      if (::read(go[0], &c, 1) == 0) {  // EOF: the parent closed its end, releasing everyone at once
        try {
          status = fn(i);
        } catch (...) {
          status = 99;
        }
      }
      ::_exit(status);
    }
    pids.push_back(pid);
  }
  ::close(go[0]);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // every child is waiting on the pipe
  ::close(go[1]);                                               // ...and all of them wake up now
  std::vector<int> out;
  for (pid_t pid : pids) {
    int st = 0;
    ::waitpid(pid, &st, 0);
    out.push_back(WIFEXITED(st) ? WEXITSTATUS(st) : 100);
  }
  return out;
}

}  // namespace

TEST_CASE("two processes harvesting the same sender at once keep the harvesting rules", "[store][harvest]") {
  kt::TempStore ts;
  ts->add_anchor(kt::pki_cert("root").get(), kt::now());
  const Time now = kt::now();
  kt::Spec spec;
  spec.emails = {"dana@example.org"};
  spec.not_before_offset = -600;
  std::vector<kt::Issued> certs;
  for (int i = 0; i < 2; ++i) certs.push_back(kt::issue(spec));
  auto run = [&](int child, bool updates, X509* cert) {
    auto store = ts.reopen();  // each process its own connection
    HarvestInput in;
    in.signer = cert;
    in.carried.push_back(kt::pki_cert("inter"));
    in.signature_verified = true;
    in.from_address = "dana@example.org";
    in.message_id = "<m" + std::to_string(child) + "@example.org>";
    HarvestPolicy policy;
    policy.harvest_updates = updates;
    HarvestDecision d = harvest(*store, in, policy, now);
    return static_cast<int>(d.outcome) + (d.warning ? 10 : 0);
  };
  auto outcomes = [](const std::vector<int>& st, int want) { return std::count(st.begin(), st.end(), want); };
  const int stored = static_cast<int>(HarvestOutcome::stored),
            updated = static_cast<int>(HarvestOutcome::updated),
            known = static_cast<int>(HarvestOutcome::already_known),
            refused = static_cast<int>(HarvestOutcome::refused);

  SECTION("the same certificate: stored once, the other already known") {
    auto st = in_processes(2, [&](int i) { return run(i, false, certs[0].cert.get()); });
    CHECK(outcomes(st, stored) == 1);
    CHECK(outcomes(st, known) == 1);
    CHECK(ts->by_email("dana@example.org").size() == 1);
    CHECK(ts->harvests_since(0).size() == 1);
  }
  SECTION("two certificates, updates off: one stored, the other refused") {
    auto st =
        in_processes(2, [&](int i) { return run(i, false, certs[static_cast<std::size_t>(i)].cert.get()); });
    CHECK(outcomes(st, stored) == 1);
    CHECK(outcomes(st, refused) == 1);
    CHECK(ts->by_email("dana@example.org").size() == 1);
  }
  SECTION("two updates at once from one domain: both stored as updates, the second warns") {
    kt::Spec old_spec = spec;
    old_spec.not_before_offset = -7200;
    auto old = kt::issue(old_spec);
    add(*ts, old.cert.get(), Origin::harvested, now - 86400);
    auto st =
        in_processes(2, [&](int i) { return run(i, true, certs[static_cast<std::size_t>(i)].cert.get()); });
    CHECK(outcomes(st, updated) == 1);       // the first, no warning yet
    CHECK(outcomes(st, updated + 10) == 1);  // the second sees the first's update: warning
    CHECK(ts->count_updates("example.org", now - 3600) == 2);
    CHECK(ts->warnings_since(0).size() == 1);
  }
  SECTION("the size cap holds when both store at once") {
    kt::Spec other = spec;
    other.emails = {"erin@example.org"};
    auto erin = kt::issue(other);
    const auto size = static_cast<std::int64_t>(smime::to_der(certs[0].cert.get()).size());
    auto st = in_processes(2, [&](int i) {
      auto store = ts.reopen();
      HarvestInput in;
      in.signer = i == 0 ? certs[0].cert.get() : erin.cert.get();
      in.carried.push_back(kt::pki_cert("inter"));
      in.signature_verified = true;
      in.from_address = i == 0 ? "dana@example.org" : "erin@example.org";
      HarvestPolicy policy;
      policy.size_limit_bytes = size + 10;  // room for one of them
      HarvestDecision d = harvest(*store, in, policy, now);
      return static_cast<int>(d.outcome) + (d.evicted.empty() ? 0 : 10);
    });
    CHECK(outcomes(st, stored) == 1);
    CHECK(outcomes(st, stored + 10) == 1);  // the later one evicted the earlier
    CHECK(ts->harvested_bytes() <= size + 10);
    CHECK(ts->list({}).size() == 1);
  }
}
