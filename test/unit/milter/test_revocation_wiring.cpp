// Revocation at the milter's decision points, with the real checker, a real `openssl ocsp`
// responder and the loopback CRL server of the revocation tests: encrypting to a recipient (outbound)
// and accepting a signer (inbound), under each meaning of "undetermined". Revoked is always refused;
// "could not be determined" is never reported as revoked.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "../revocation/revocation_support.hpp"
#include "../smime/test_support.hpp"
#include "conf/config.hpp"
#include "keystore/identity.hpp"
#include "keystore/sqlite_store.hpp"
#include "milter/message.hpp"
#include "milter/pipeline.hpp"
#include "milter/revocation_service.hpp"
#include "smime/cert.hpp"
#include "smime/sign.hpp"
#include "temp_dir.hpp"

namespace {

using milter::Message;
using milter::Verdict;

std::time_t now() { return std::time(nullptr); }

bool logged(const Verdict& v, const std::string& fragment) {
  for (const auto& l : v.log)
    if (l.text.find(fragment) != std::string::npos) return true;
  return false;
}

std::string log_text(const Verdict& v) {
  std::string s;
  for (const auto& l : v.log) s += l.text + "\n";
  return s;
}

std::string header_edit(const Verdict& v, const std::string& name) {
  for (const auto& e : v.header_edits)
    if (conf::iequals(e.name, name) && !e.value.empty()) return e.value;
  return {};
}

// A keystore trusting root and inter (revocation needs the direct issuer among the anchors), with the
// gateway identity gw-new and the revocation PKI's certificates, and a configuration whose revocation
// cache is private to the test.
struct Fixture {
  test::TempDir dir;
  std::unique_ptr<keystore::Store> store = keystore::open_sqlite_store(dir.path("keystore.db"));
  std::string spool = dir.path("spool");

  Fixture() {
    std::filesystem::create_directory(spool);
    store->add_anchor(test::cert("root").get(), now());
    store->add_anchor(test::inter().get(), now());
    std::vector<smime::X509Ptr> chain;
    chain.push_back(test::cert("inter"));
    keystore::put_identity(*store, test::cert("gw-new").get(), test::key("gw-new").get(), chain, "", now());
    for (const char* name : {"rev-good", "rev-revoked", "rev-nodp"}) {
      smime::X509Ptr c = test::rev_cert(name);
      store->add(keystore::NewCertificate{c.get(), keystore::Origin::imported, now(), {}, {}});
    }
  }

  // `cache`: the revocation cache directory's name (a fresh one forgets what earlier checks learnt).
  conf::Config config(const std::string& revocation, const std::string& cache = "rev-cache") const {
    const std::string json = R"({"spool": {"directory": ")" + spool +
                             R"("}, "profiles": {"enc": {"mode": "encrypt", "missing_certificate": "bounce"}},
            "outbound": {"default_profile": "enc"},
            "direction": {"internal_networks": ["127.0.0.0/8"]},
            "inbound": {"authserv_id": "mx.test"},
            "revocation": {"connect_timeout": "1s", "timeout": "2s", "cache_directory": ")" +
                             dir.path(cache) + R"(", )" + revocation + "}}";
    return conf::parse(json, "test");
  }
};

Message outbound_to(const std::string& rcpt) {
  Message m;
  m.envelope.queue_id = "REVQ";
  m.envelope.sender = "user@example.com";
  m.envelope.recipients = {rcpt};
  m.envelope.client_address = "127.0.0.1";
  m.headers = smime::mime::parse_headers("From: user@example.com\r\nTo: " + rcpt +
                                         "\r\nSubject: t\r\nContent-Type: text/plain\r\n");
  m.body = smime::Source::from_string("secret\r\n");
  return m;
}

// A message from outside, signed (detached) by the revocation PKI's certificate `name` for `from`.
Message inbound_signed_by(const std::string& name, const std::string& from) {
  smime::SigningIdentity id;
  id.cert = test::rev_cert(name);
  id.key = smime::load_private_key(smime::read_file(test::rev_pki_file(name + ".key")));
  id.chain.push_back(test::inter());
  const std::string content = "Content-Type: text/plain\r\n\r\nhello\r\n";
  test::Parsed p = test::parse(content);
  smime::StringSink out;
  smime::sign(p.src, p.root, id, smime::SignOptions{}, out);
  const std::string entity = out.take();
  const auto split = entity.find("\r\n\r\n");
  Message m;
  m.envelope.queue_id = "REVIN";
  m.envelope.sender = from;
  m.envelope.recipients = {"user@example.com"};
  m.envelope.client_address = "192.0.2.7";
  m.headers = smime::mime::parse_headers("From: " + from + "\r\nTo: user@example.com\r\nSubject: s\r\n" +
                                         entity.substr(0, split + 2));
  m.body = smime::Source::from_string(entity.substr(split + 4));
  return m;
}

// The servers for the revocation PKI: the OCSP responder and the CRL server, both up.
struct Servers {
  test::OcspResponder ocsp;
  test::HttpServer crl{
      test::HttpServerOptions{test::kCrlPort, test::rev_pki_file("crl/fresh"), "serve", "", 0}};
};

Verdict run(const conf::Config& config, keystore::Store& store, const Message& m) {
  milter::RevocationService service;
  auto checker = service.checker_for(config);
  REQUIRE(checker != nullptr);
  return milter::process_message(config, store, checker.get(), m, now());
}

}  // namespace

TEST_CASE("revocation wiring: encrypting to a good, a revoked and a no-source recipient",
          "[revocation][outbound]") {
  test::wait_port_free(test::kOcspPort);
  test::wait_port_free(test::kCrlPort);
  Fixture f;
  Servers servers;
  const conf::Config config = f.config(R"("encrypt": "fail-open")");

  const Verdict good = run(config, *f.store, outbound_to("good@revocation.test"));
  INFO(log_text(good));
  CHECK(good.action == conf::Action::accept);
  CHECK(good.new_body.has_value());
  CHECK(logged(good, "status=good"));
  CHECK(logged(good, "decision=use "));

  // Revoked is refused even under fail-open: the recipient has no usable certificate (bounce).
  const Verdict revoked = run(config, *f.store, outbound_to("revoked@revocation.test"));
  INFO(log_text(revoked));
  CHECK(revoked.action == conf::Action::reject);
  CHECK(revoked.reply.text.find("revoked@revocation.test (certificate revoked)") != std::string::npos);
  CHECK_FALSE(revoked.new_body.has_value());
  CHECK(logged(revoked, "status=revoked"));
  CHECK(logged(revoked, "decision=refuse-revoked"));

  // No OCSP responder and no CRL named: undetermined, so fail-open encrypts with a warning...
  const Verdict nodp = run(config, *f.store, outbound_to("nodp@revocation.test"));
  INFO(log_text(nodp));
  CHECK(nodp.action == conf::Action::accept);
  CHECK(logged(nodp, "why=no-distribution-point"));
  CHECK(logged(nodp, "warning=revocation-fail-open"));
  CHECK(header_edit(nodp, "X-SMIME-Milter").find("fail-open") != std::string::npos);
  // ... and no_distribution_point = good uses it without one.
  const Verdict nodp_good =
      run(f.config(R"("no_distribution_point": "good")"), *f.store, outbound_to("nodp@revocation.test"));
  INFO(log_text(nodp_good));
  CHECK(nodp_good.action == conf::Action::accept);
  CHECK_FALSE(logged(nodp_good, "warning=revocation-fail-open"));
}

TEST_CASE("revocation wiring: responder and CRL server down, each policy", "[revocation][outbound]") {
  test::wait_port_free(test::kOcspPort);
  test::wait_port_free(test::kCrlPort);
  Fixture f;  // nothing listens: connection refused for OCSP and CRL
  const Message m = outbound_to("good@revocation.test");

  const Verdict closed = run(f.config(R"("encrypt": "fail-closed")"), *f.store, m);
  INFO(log_text(closed));
  CHECK(closed.action == conf::Action::reject);
  CHECK(closed.reply.text.find("(revocation undetermined)") != std::string::npos);
  CHECK(closed.reply.text.find("revoked)") == std::string::npos);  // never reported as revoked
  CHECK(logged(closed, "status=undetermined"));
  CHECK(logged(closed, "decision=refuse-fail-closed"));

  const Verdict open = run(f.config(R"("encrypt": "fail-open")"), *f.store, m);
  INFO(log_text(open));
  CHECK(open.action == conf::Action::accept);
  CHECK(open.new_body.has_value());
  CHECK(logged(open, "decision=use-fail-open"));

  const Verdict temp = run(f.config(R"("encrypt": "tempfail")"), *f.store, m);
  INFO(log_text(temp));
  CHECK(temp.action == conf::Action::tempfail);
  CHECK(temp.reply.code == "451");
  CHECK(temp.reply.text.find("good@revocation.test") != std::string::npos);
}

TEST_CASE("revocation wiring: the issuer must be known", "[revocation][outbound]") {
  test::wait_port_free(test::kOcspPort);
  test::wait_port_free(test::kCrlPort);
  Fixture f;
  REQUIRE(f.store->remove_anchor(smime::fingerprint_sha256(test::inter().get())));
  Servers servers;
  const Verdict v =
      run(f.config(R"("encrypt": "fail-closed")"), *f.store, outbound_to("good@revocation.test"));
  INFO(log_text(v));
  CHECK(v.action == conf::Action::reject);
  CHECK(logged(v, "why=no-issuer"));
  // A certificate naming no source is "no distribution point" whether or not its issuer is known, so
  // no_distribution_point = good still applies to it.
  const Verdict nodp =
      run(f.config(R"("no_distribution_point": "good")"), *f.store, outbound_to("nodp@revocation.test"));
  INFO(log_text(nodp));
  CHECK(nodp.action == conf::Action::accept);
  CHECK(logged(nodp, "why=no-distribution-point"));
}

TEST_CASE("revocation wiring: a revoked signer fails, an undetermined one follows revocation.verify",
          "[revocation][inbound]") {
  test::wait_port_free(test::kOcspPort);
  test::wait_port_free(test::kCrlPort);
  Fixture f;
  {
    Servers servers;
    const Verdict good = run(f.config(R"("verify": "fail-closed")"), *f.store,
                             inbound_signed_by("rev-good", "good@revocation.test"));
    INFO(log_text(good));
    CHECK(header_edit(good, "Authentication-Results").find("smime=pass") != std::string::npos);

    const Verdict revoked = run(f.config(R"("verify": "fail-open")"), *f.store,
                                inbound_signed_by("rev-revoked", "revoked@revocation.test"));
    INFO(log_text(revoked));
    const std::string ar = header_edit(revoked, "Authentication-Results");
    CHECK(ar.find("smime=fail") != std::string::npos);
    CHECK(ar.find("revoked") != std::string::npos);
  }
  // Servers down: what the first phase cached still answers...
  const Message m = inbound_signed_by("rev-good", "good@revocation.test");
  const Verdict cached = run(f.config(R"("verify": "fail-closed")"), *f.store, m);
  INFO(log_text(cached));
  CHECK(header_edit(cached, "Authentication-Results").find("smime=pass") != std::string::npos);
  CHECK(logged(cached, "cached=yes"));
  // ... and with a fresh cache the status is undetermined.
  const Verdict closed = run(f.config(R"("verify": "fail-closed")", "down"), *f.store, m);
  INFO(log_text(closed));
  CHECK(header_edit(closed, "Authentication-Results").find("smime=temperror") != std::string::npos);
  CHECK(header_edit(closed, "Authentication-Results").find("revoked") == std::string::npos);

  const Verdict open = run(f.config(R"("verify": "fail-open")", "down"), *f.store, m);
  INFO(log_text(open));
  CHECK(header_edit(open, "Authentication-Results").find("smime=pass") != std::string::npos);
  CHECK(header_edit(open, "Authentication-Results").find("fail-open") != std::string::npos);

  const Verdict temp = run(f.config(R"("verify": "tempfail")", "down"), *f.store, m);
  INFO(log_text(temp));
  CHECK(temp.action == conf::Action::tempfail);
}
