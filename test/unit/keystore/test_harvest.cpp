// The harvesting rules: each default refusal, the options, already-known, updates, the 48-hour
// warning and the size limit.
#include <catch2/catch.hpp>

#include "keystore/harvest.hpp"
#include "keystore/lookup.hpp"
#include "keystore_support.hpp"
#include "smime/verify.hpp"

using namespace keystore;

namespace {

std::string fp(X509* c) { return smime::fingerprint_sha256(c); }

struct Fixture {
  kt::TempStore ts;
  Fixture() { ts->add_anchor(kt::pki_cert("root").get(), kt::now()); }
  HarvestDecision run(X509* signer, const std::string& from, bool verified = true, HarvestPolicy policy = {},
                      Time at = kt::now()) {
    HarvestInput in;
    in.signer = signer;
    in.carried.push_back(kt::pki_cert("inter"));
    in.signature_verified = verified;
    in.from_address = from;
    in.message_id = "<m1@example.org>";
    return harvest(*ts, in, policy, at);
  }
};

kt::Issued person(const std::string& email, Time not_before_offset = -600) {
  kt::Spec s;
  s.emails = {email};
  s.not_before_offset = not_before_offset;
  return kt::issue(s);
}

}  // namespace

TEST_CASE("harvest: a verified, chained, valid certificate naming the sender is stored", "[harvest]") {
  Fixture f;
  auto alice = kt::pki_cert("alice");
  auto d = f.run(alice.get(), "Alice@Example.org");
  CHECK(d.outcome == HarvestOutcome::stored);
  auto rec = f.ts->find(fp(alice.get()));
  REQUIRE(rec);
  CHECK(rec->origin == Origin::harvested);
  CHECK(rec->harvested_sender == "Alice@Example.org");
  CHECK(rec->harvested_message_id == "<m1@example.org>");
  CHECK(rec->last_used.has_value());
  CHECK(f.ts->harvests_since(0).size() == 1);
}

TEST_CASE("harvest: the default refusals, each with its reason", "[harvest]") {
  Fixture f;
  auto alice = kt::pki_cert("alice");
  auto expired = kt::pki_cert("expired");
  auto self = kt::pki_cert("selfsigned");
  kt::Spec foreign_spec;
  foreign_spec.emails = {"eve@example.org"};
  foreign_spec.self_signed = false;
  struct Row {
    std::string name;
    X509* cert;
    std::string from;
    bool verified;
    std::string want_reason;
  };
  const std::vector<Row> rows = {
      {"signature failed", alice.get(), "alice@example.org", false, "did not verify"},
      {"expired", expired.get(), "expired@example.org", true, "expired"},
      {"self-signed", self.get(), "self@example.org", true, "self-signed"},
      {"other address", alice.get(), "mallory@example.org", true, "does not name the From address"},
  };
  for (const auto& row : rows) {
    INFO(row.name);
    auto d = f.run(row.cert, row.from, row.verified);
    CHECK(d.outcome == HarvestOutcome::refused);
    CHECK_THAT(d.reason, Catch::Contains(row.want_reason));
  }
  CHECK(f.ts->list({}).empty());
}

TEST_CASE("harvest: a chain that does not reach a trust anchor is refused", "[harvest]") {
  kt::TempStore ts;  // no anchors at all
  HarvestInput in;
  auto alice = kt::pki_cert("alice");
  in.signer = alice.get();
  in.signature_verified = true;
  in.from_address = "alice@example.org";
  auto d = harvest(*ts, in, {}, kt::now());
  CHECK(d.outcome == HarvestOutcome::refused);
  CHECK_THAT(d.reason, Catch::Contains("trust anchor"));
  ts->add_anchor(kt::pki_cert("root").get(), kt::now());  // anchor, but no intermediate carried
  d = harvest(*ts, in, {}, kt::now());
  CHECK(d.outcome == HarvestOutcome::refused);
  in.carried.push_back(kt::pki_cert("inter"));
  CHECK(harvest(*ts, in, {}, kt::now()).outcome == HarvestOutcome::stored);
}

TEST_CASE("harvest: an intermediate or a pinned end-entity anchor ends the chain", "[harvest]") {
  auto alice = kt::pki_cert("alice");
  auto inter = kt::pki_cert("inter");
  HarvestInput in;
  in.signer = alice.get();
  in.signature_verified = true;
  in.from_address = "alice@example.org";
  struct Row {
    std::string name;
    X509* anchor;
    bool carry_inter;
  };
  const std::vector<Row> rows = {
      {"the intermediate CA as the only anchor", inter.get(), false},
      {"the intermediate CA as anchor, carried too", inter.get(), true},
      {"alice's own certificate pinned", alice.get(), false},
  };
  for (const auto& row : rows) {
    INFO(row.name);
    kt::TempStore ts;  // the root is not trusted
    ts->add_anchor(row.anchor, kt::now());
    in.carried.clear();
    if (row.carry_inter) in.carried.push_back(kt::pki_cert("inter"));
    HarvestDecision d = harvest(*ts, in, {}, kt::now());
    INFO(d.reason);
    CHECK(d.outcome == HarvestOutcome::stored);
  }
  // Another branch's intermediate is no anchor for alice.
  kt::TempStore ts;
  kt::Spec other_ca;
  other_ca.cn = "Other CA";
  other_ca.ca = true;
  other_ca.self_signed = true;
  other_ca.key_usage = "critical,keyCertSign,cRLSign";
  other_ca.ext_key_usage = "";
  ts->add_anchor(kt::issue(other_ca).cert.get(), kt::now());
  in.carried.clear();
  in.carried.push_back(kt::pki_cert("inter"));
  HarvestDecision d = harvest(*ts, in, {}, kt::now());
  CHECK(d.outcome == HarvestOutcome::refused);
  CHECK_THAT(d.reason, Catch::Contains("trust anchor"));
}

TEST_CASE("harvest: against the caller's prepared trust store it decides as with the anchors it reads",
          "[harvest]") {
  auto alice = kt::pki_cert("alice");
  struct Row {
    std::string name;
    std::vector<std::string> anchors;
    bool carry_inter;
    HarvestOutcome want;
  };
  const std::vector<Row> rows = {
      {"no anchor", {}, true, HarvestOutcome::refused},
      {"the root, the intermediate carried", {"root"}, true, HarvestOutcome::stored},
      {"the root, nothing carried", {"root"}, false, HarvestOutcome::refused},
      {"the intermediate only", {"inter"}, false, HarvestOutcome::stored},
      {"alice pinned", {"alice"}, false, HarvestOutcome::stored},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    std::vector<HarvestDecision> decisions;
    for (bool prepared : {false, true}) {
      kt::TempStore ts;
      std::vector<smime::X509Ptr> anchors;
      for (const std::string& a : row.anchors) {
        anchors.push_back(kt::pki_cert(a));
        ts->add_anchor(anchors.back().get(), kt::now());
      }
      HarvestInput in;
      in.signer = alice.get();
      in.signature_verified = true;
      in.from_address = "alice@example.org";
      if (row.carry_inter) in.carried.push_back(kt::pki_cert("inter"));
      if (prepared) in.trust_store = smime::make_trust_store(anchors);
      decisions.push_back(harvest(*ts, in, {}, kt::now()));
    }
    INFO(decisions[0].reason << " / " << decisions[1].reason);
    CHECK(decisions[0].outcome == row.want);
    CHECK(decisions[1].outcome == row.want);
    CHECK(decisions[0].reason == decisions[1].reason);
  }
}

TEST_CASE("harvest: harvest_unverified stores despite a failed verification, other rules stay", "[harvest]") {
  Fixture f;
  HarvestPolicy p;
  p.harvest_unverified = true;
  CHECK(f.run(kt::pki_cert("alice").get(), "alice@example.org", false, p).outcome == HarvestOutcome::stored);
  CHECK(f.run(kt::pki_cert("selfsigned").get(), "self@example.org", false, p).outcome ==
        HarvestOutcome::refused);
}

TEST_CASE("harvest: a domain certificate is harvested for a sender of its domain", "[harvest]") {
  Fixture f;
  CHECK(f.run(kt::pki_cert("domain").get(), "someone@example.net").outcome == HarvestOutcome::stored);
  CHECK(f.run(kt::pki_cert("gw-old").get(), "other@example.com").outcome == HarvestOutcome::stored);
}

TEST_CASE("harvest: a known certificate is already known and its capabilities refreshed", "[harvest]") {
  Fixture f;
  auto alice = kt::pki_cert("alice");
  REQUIRE(f.run(alice.get(), "alice@example.org").outcome == HarvestOutcome::stored);
  HarvestInput in;
  in.signer = alice.get();
  in.carried.push_back(kt::pki_cert("inter"));
  in.signature_verified = true;
  in.from_address = "alice@example.org";
  in.signing_time = kt::now();
  in.capabilities = smime::Capabilities::of({smime::Cipher::aes128_gcm});
  auto d = harvest(*f.ts, in, {}, kt::now());
  CHECK(d.outcome == HarvestOutcome::already_known);
  CHECK(f.ts->find(fp(alice.get()))->capabilities.best_aead() == smime::Cipher::aes128_gcm);
  CHECK(f.ts->list({}).size() == 1);
}

TEST_CASE("harvest: an updated certificate is refused by default, stored as update when allowed",
          "[harvest]") {
  Fixture f;
  auto alice = kt::pki_cert("alice");
  auto alice2 = person("alice@example.org");
  REQUIRE(f.run(alice.get(), "alice@example.org").outcome == HarvestOutcome::stored);
  auto refused = f.run(alice2.cert.get(), "alice@example.org");
  CHECK(refused.outcome == HarvestOutcome::refused);
  CHECK_THAT(refused.reason, Catch::Contains("already has certificate"));
  CHECK_FALSE(f.ts->find(fp(alice2.cert.get())));
  HarvestPolicy p;
  p.harvest_updates = true;
  auto updated = f.run(alice2.cert.get(), "alice@example.org", true, p);
  CHECK(updated.outcome == HarvestOutcome::updated);
  CHECK_FALSE(updated.warning.has_value());  // the first update of the domain
  // the newer one (later notBefore) is what encryption uses now
  auto r = encryption_certificate(*f.ts, "alice@example.org", kt::now());
  REQUIRE(r.found());
  CHECK(r.chosen->facts.fingerprint == fp(alice2.cert.get()));
}

TEST_CASE("harvest: an expired existing certificate does not block a new one", "[harvest]") {
  Fixture f;
  kt::Spec old_spec;
  old_spec.emails = {"gina@example.org"};
  old_spec.not_before_offset = -7200;
  old_spec.not_after_offset = -3600;
  auto old_cert = kt::issue(old_spec);
  f.ts->add(NewCertificate{old_cert.cert.get(), Origin::imported, kt::now(), {}, {}});
  auto fresh = person("gina@example.org");
  CHECK(f.run(fresh.cert.get(), "gina@example.org").outcome == HarvestOutcome::stored);
}

TEST_CASE("harvest: a second update from one domain within 48 hours raises a warning", "[harvest]") {
  Fixture f;
  HarvestPolicy p;
  p.harvest_updates = true;
  const Time t0 = kt::now();
  REQUIRE(f.run(kt::pki_cert("alice").get(), "alice@example.org", true, p, t0).outcome ==
          HarvestOutcome::stored);
  REQUIRE(f.run(kt::pki_cert("bob").get(), "bob@example.org", true, p, t0).outcome == HarvestOutcome::stored);
  auto a2 = person("alice@example.org"), b2 = person("bob@example.org"), b3 = person("bob@example.org", -300);
  auto first = f.run(a2.cert.get(), "alice@example.org", true, p, t0 + 60);
  REQUIRE(first.outcome == HarvestOutcome::updated);
  CHECK_FALSE(first.warning);
  auto second = f.run(b2.cert.get(), "bob@example.org", true, p, t0 + 3600);
  REQUIRE(second.outcome == HarvestOutcome::updated);
  REQUIRE(second.warning);
  CHECK_THAT(*second.warning, Catch::Contains("example.org"));
  CHECK(f.ts->warnings_since(0).size() == 1);
  // 49 hours after the first two updates, one more update is alone in its window
  auto third = f.run(b3.cert.get(), "bob@example.org", true, p, t0 + 3600 + 49 * 3600);
  REQUIRE(third.outcome == HarvestOutcome::updated);
  CHECK_FALSE(third.warning);
}

TEST_CASE("harvest: the size limit evicts least recently used harvested certificates only", "[harvest]") {
  Fixture f;
  auto imported = kt::pki_cert("carol");
  f.ts->add(NewCertificate{imported.get(), Origin::imported, kt::now(), {}, {}});
  auto alice = kt::pki_cert("alice"), bob = kt::pki_cert("bob"), dom = kt::pki_cert("domain");
  const Time t0 = kt::now();
  HarvestPolicy p;
  p.size_limit_bytes =
      static_cast<std::int64_t>(smime::to_der(alice.get()).size() + smime::to_der(bob.get()).size() +
                                smime::to_der(dom.get()).size() - 1);  // room for two
  REQUIRE(f.run(alice.get(), "alice@example.org", true, p, t0).changed());
  REQUIRE(f.run(bob.get(), "bob@example.org", true, p, t0 + 10).changed());
  f.ts->mark_used(fp(alice.get()), t0 + 20);  // alice used after bob: bob is the least recently used
  auto d = f.run(dom.get(), "x@example.net", true, p, t0 + 30);
  REQUIRE(d.outcome == HarvestOutcome::stored);
  CHECK(d.evicted == std::vector<std::string>{fp(bob.get())});
  CHECK(f.ts->find(fp(alice.get())));
  CHECK(f.ts->find(fp(dom.get())));
  CHECK(f.ts->find(fp(imported.get())));
  CHECK(f.ts->harvested_bytes() <= p.size_limit_bytes);
}
