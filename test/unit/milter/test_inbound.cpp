// Inbound processing: process_inbound() on real messages, keys and a real SQLite keystore.
// Messages are made with the S/MIME core and the test PKI; every verdict is applied the way the MTA
// would (header edits, new body) and the rebuilt message is inspected.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "../smime/test_support.hpp"
#include "apply_verdict.hpp"
#include "conf/config.hpp"
#include "keystore/identity.hpp"
#include "keystore/lookup.hpp"
#include "keystore/sqlite_store.hpp"
#include "milter/auth_results.hpp"
#include "milter/inbound.hpp"
#include "milter/message.hpp"
#include "milter/signer_binding.hpp"
#include "revocation/revocation.hpp"
#include "temp_dir.hpp"

namespace {

using Result = milter::auth_results::Result;

using milter::HeaderEdit;
using milter::Message;
using milter::Verdict;

std::time_t now() { return std::time(nullptr); }

const std::string kAuthservId = "mx.example.com";
const std::string kContent =
    "Content-Type: text/plain; charset=utf-8\r\n\r\nHello from the test\r\nline two\r\n";

// A keystore with the gateway identities gw-old and gw-new (gateway@example.com, DNS example.com) and
// the test root as trust anchor; nobody else's certificate (harvesting adds them).
struct Fixture {
  test::TempDir dir;
  std::unique_ptr<keystore::Store> store = keystore::open_sqlite_store(dir.path("keystore.db"));
  std::string spool = dir.path("spool");

  Fixture() {
    std::filesystem::create_directory(spool);
    for (const char* gw : {"gw-old", "gw-new"}) {
      std::vector<smime::X509Ptr> chain;
      chain.push_back(test::cert("inter"));
      keystore::put_identity(*store, test::cert(gw).get(), test::key(gw).get(), chain, "", now());
    }
    store->add_anchor(test::cert("root").get(), now());
  }

  conf::Config config(const std::string& memory_limit = "4M") const {
    conf::Config c = conf::parse(
        R"({"spool": {"directory": ")" + spool + R"(", "memory_limit": ")" + memory_limit + R"("}})", "test");
    c.inbound.authserv_id = kAuthservId;
    c.revocation.enabled = false;
    return c;
  }
};

// The content to protect, parsed.
test::Parsed content() { return test::parse(kContent); }

std::string signed_entity(const std::string& who, smime::SignMode mode = smime::SignMode::detached) {
  test::Parsed p = content();
  smime::SignOptions o;
  o.mode = mode;
  smime::StringSink out;
  smime::sign(p.src, p.root, test::identity(who), o, out);
  return out.take();
}

std::string encrypted_entity(const std::string& to, smime::Cipher cipher) {
  test::Parsed p = content();
  std::vector<smime::Recipient> r;
  r.push_back(test::recipient(to));
  smime::EncryptOptions o;
  o.cipher = cipher;
  smime::StringSink out;
  smime::encrypt(p.src, p.root, r, o, out);
  return out.take();
}

std::string sign_encrypt_entity(const std::string& who, const std::string& to, smime::Cipher cipher,
                                bool triple) {
  test::Parsed p = content();
  std::vector<smime::Recipient> r;
  r.push_back(test::recipient(to));
  smime::EncryptOptions o;
  o.cipher = cipher;
  smime::SignOptions s;
  smime::StringSink out;
  if (triple)
    smime::triple_wrap(p.src, p.root, test::identity(who), s, r, o, s, out);
  else
    smime::sign_encrypt(p.src, p.root, test::identity(who), s, r, o, out);
  return out.take();
}

std::string routing(const std::string& from = "Alice <alice@example.org>", const std::string& extra = "") {
  return "Received: from mx.example.org by mx.example.com\r\nFrom: " + from +
         "\r\nTo: gateway@example.com\r\nSubject: test\r\nMessage-ID: <1@example.org>\r\n" + extra +
         "MIME-Version: 1.0\r\n";
}

// A message from routing headers and an entity (its header block joins them).
Message make_message(const std::string& outer, const std::string& entity) {
  const std::string whole = outer + entity;
  const auto end = whole.find("\r\n\r\n");
  REQUIRE(end != std::string::npos);
  Message m;
  m.envelope.queue_id = "TESTQ";
  m.envelope.sender = "alice@example.org";
  m.envelope.recipients = {"gateway@example.com"};
  m.headers = smime::mime::parse_headers(whole.substr(0, end + 2));
  m.body = smime::Source::from_string(whole.substr(end + 4));
  return m;
}

using test::rebuild;  // apply_verdict.hpp

std::string dump_log(const Verdict& v) {
  std::string s;
  for (const auto& l : v.log) s += "  " + l.text + "\n";
  return s;
}

bool log_has(const Verdict& v, const std::string& fragment) {
  for (const auto& l : v.log)
    if (l.text.find(fragment) != std::string::npos) return true;
  return false;
}

struct Rebuilt {
  std::string text;
  test::Parsed parsed;
  std::string header(const std::string& name) const { return parsed.root.headers.get(name); }
  std::size_t count(const std::string& name) const { return parsed.root.headers.count(name); }
  std::string body() const { return parsed.src.slice(parsed.root.body); }
};

Rebuilt apply(const Message& m, const Verdict& v) {
  std::string text = rebuild(m, v);
  test::Parsed p = test::parse(text);
  return Rebuilt{text, std::move(p)};
}

Verdict run(Fixture& f, const conf::Config& c, const Message& m) {
  return milter::process_inbound(c, *f.store, nullptr, m, now());
}

std::string decoded(const Rebuilt& r) {
  smime::StringSink out;
  smime::mime::write_decoded_body(r.parsed.src, r.parsed.root, out);
  return out.take();
}

void check_simple_headers(const Rebuilt& r, const std::string& smime, const std::string& decrypted,
                          const std::string& verified) {
  CHECK(r.count("X-SMIME-Gateway") == 1);
  CHECK(r.header("X-SMIME-Gateway") == smime);
  CHECK(r.header("X-SMIME-Gateway-Decrypted") == decrypted);
  CHECK(r.header("X-SMIME-Gateway-Verified") == verified);
}

}  // namespace

TEST_CASE("inbound: a message without S/MIME gets none and no other change", "[milter][inbound]") {
  Fixture f;
  const conf::Config c = f.config();
  const Message m = make_message(routing(), kContent);
  const Verdict v = run(f, c, m);
  INFO(dump_log(v));
  REQUIRE(v.action == conf::Action::accept);
  CHECK_FALSE(v.new_body.has_value());
  CHECK_FALSE(v.quarantine.has_value());
  const Rebuilt r = apply(m, v);
  CHECK(r.parsed.root.headers.items.front().name == "Authentication-Results");
  CHECK(r.header("Authentication-Results") == "mx.example.com; none");
  check_simple_headers(r, "no", "no", "no");
  CHECK(r.header("Content-Type") == "text/plain; charset=utf-8");
  CHECK(r.body() == "Hello from the test\r\nline two\r\n");
}

TEST_CASE("inbound: malformed MIME without S/MIME is just none", "[milter][inbound]") {
  Fixture f;
  conf::Config c = f.config();
  c.limits.mime_depth = 1;
  const std::string nested =
      "Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/mixed; "
      "boundary=b\r\n\r\n"
      "--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\n\r\nx\r\n--c--\r\n--b--\r\n--a--\r\n";
  const Message m = make_message(routing(), nested);
  const Verdict v = run(f, c, m);
  INFO(dump_log(v));
  REQUIRE(v.action == conf::Action::accept);
  CHECK(log_has(v, "mime=malformed"));
  CHECK(apply(m, v).header("Authentication-Results") == "mx.example.com; none");
}

TEST_CASE("inbound: encrypted to gw-new or gw-old (rollover) is decrypted and replaces the content",
          "[milter][inbound]") {
  Fixture f;
  const conf::Config c = f.config();
  const std::string to = GENERATE(std::string("gw-new"), std::string("gw-old"));
  const Message m = make_message(routing(), encrypted_entity(to, smime::Cipher::aes256_gcm));
  const Verdict v = run(f, c, m);
  INFO(to << "\n" << dump_log(v));
  REQUIRE(v.action == conf::Action::accept);
  REQUIRE(v.new_body.has_value());
  const Rebuilt r = apply(m, v);
  CHECK(r.parsed.root.content_type.is("text", "plain"));
  CHECK(r.count("Content-Type") == 1);
  CHECK(r.count("MIME-Version") == 1);
  CHECK(r.header("Subject") == "test");
  CHECK(decoded(r) == "Hello from the test\r\nline two\r\n");
  check_simple_headers(r, "yes", "yes", "no");
  CHECK(r.header("Authentication-Results") == "mx.example.com; smime=none (decrypted aes256-gcm)");
  CHECK(log_has(v, "decrypt=ok cipher=aes256-gcm authenticated=yes"));
  CHECK_FALSE(log_has(v, "unauthenticated"));
}

TEST_CASE("inbound: a spooled decryption (over the memory limit) gives the same content",
          "[milter][inbound]") {
  Fixture f;
  const conf::Config c = f.config("1");
  const Message m = make_message(routing(), encrypted_entity("gw-new", smime::Cipher::aes128_gcm));
  const Verdict v = run(f, c, m);
  INFO(dump_log(v));
  REQUIRE(v.new_body.has_value());
  CHECK(log_has(v, "spooled=yes"));
  CHECK(decoded(apply(m, v)) == "Hello from the test\r\nline two\r\n");
}

TEST_CASE("inbound: encrypted to someone else, truncated or corrupt: no content change, decrypted=failed",
          "[milter][inbound]") {
  Fixture f;
  conf::Config c = f.config();
  std::string entity;
  std::string why;
  SECTION("not addressed to us") {
    entity = encrypted_entity("bob", smime::Cipher::aes256_gcm);
    why = "why=wrong-key";
  }
  SECTION("truncated") {
    entity = encrypted_entity("gw-new", smime::Cipher::aes256_cbc);
    entity.resize(entity.size() / 2);
    entity += "\r\n";
    why = "why=corrupt";
  }
  SECTION("corrupt base64") {
    entity = encrypted_entity("gw-new", smime::Cipher::aes256_cbc);
    entity.insert(entity.find("\r\n\r\n") + 4, "!!!!");
    why = "why=corrupt";
  }
  const Message m = make_message(routing(), entity);
  const Verdict v = run(f, c, m);
  INFO(dump_log(v));
  REQUIRE(v.action == conf::Action::accept);
  CHECK_FALSE(v.new_body.has_value());
  CHECK(log_has(v, why));
  const Rebuilt r = apply(m, v);
  check_simple_headers(r, "yes", "failed", "no");
  CHECK(r.header("Authentication-Results").rfind("mx.example.com; smime=none (not decrypted: ", 0) == 0);
  CHECK(r.parsed.root.content_type.is("application", "pkcs7-mime"));

  // The undecryptable action.
  c.inbound.actions.undecryptable = conf::InboundAction::reject;
  const Verdict rejected = run(f, c, m);
  CHECK(rejected.action == conf::Action::reject);
  CHECK(rejected.reply.code == "550");
  CHECK(rejected.reply.status == "5.7.5");
  CHECK(rejected.reply.text.rfind("message could not be decrypted: ", 0) == 0);
  CHECK(rejected.reply.text.find('\n') == std::string::npos);
  c.inbound.actions.undecryptable = conf::InboundAction::tempfail;
  const Verdict later = run(f, c, m);
  CHECK(later.action == conf::Action::tempfail);
  CHECK(later.reply.code == "451");
  CHECK(later.reply.status == "4.7.5");
}

TEST_CASE("inbound: CBC content without an inner signature is unauthenticated, GCM is not",
          "[milter][inbound]") {
  Fixture f;
  conf::Config c = f.config();
  const Message cbc = make_message(routing(), encrypted_entity("gw-new", smime::Cipher::aes256_cbc));
  const Verdict v = run(f, c, cbc);
  INFO(dump_log(v));
  REQUIRE(v.action == conf::Action::accept);
  REQUIRE(v.new_body.has_value());
  const Rebuilt r = apply(cbc, v);
  CHECK(r.header("Authentication-Results") ==
        "mx.example.com; smime=none (decrypted aes256-cbc; unauthenticated: CBC encryption without a valid "
        "inner signature)");
  check_simple_headers(r, "yes", "yes", "no");
  CHECK(log_has(v, "unauthenticated=yes"));

  const Message gcm = make_message(routing(), encrypted_entity("gw-new", smime::Cipher::aes128_gcm));
  CHECK_FALSE(log_has(run(f, c, gcm), "unauthenticated"));

  // Signed inside: authenticated by the signature.
  const Message signed_cbc =
      make_message(routing(), sign_encrypt_entity("alice", "gw-new", smime::Cipher::aes256_cbc, false));
  const Verdict sv = run(f, c, signed_cbc);
  INFO(dump_log(sv));
  CHECK_FALSE(log_has(sv, "unauthenticated"));
  CHECK(apply(signed_cbc, sv).header("X-SMIME-Gateway-Verified") == "yes");

  c.inbound.actions.unauthenticated = conf::InboundAction::reject;
  const Verdict rejected = run(f, c, cbc);
  CHECK(rejected.action == conf::Action::reject);
  CHECK(rejected.reply.code == "550");
  CHECK(rejected.reply.status == "5.7.7");
  CHECK(run(f, c, gcm).action == conf::Action::accept);
  c.inbound.actions.unauthenticated = conf::InboundAction::quarantine;
  const Verdict held = run(f, c, cbc);
  CHECK(held.action == conf::Action::accept);
  REQUIRE(held.quarantine.has_value());
  CHECK(held.quarantine->find("unauthenticated") != std::string::npos);
}

TEST_CASE("inbound: detached and opaque signatures by alice with From alice pass", "[milter][inbound]") {
  Fixture f;
  const conf::Config c = f.config();
  const auto mode = GENERATE(smime::SignMode::detached, smime::SignMode::opaque);
  const Message m = make_message(routing(), signed_entity("alice", mode));
  const Verdict v = run(f, c, m);
  INFO(dump_log(v));
  REQUIRE(v.action == conf::Action::accept);
  CHECK_FALSE(v.new_body.has_value());  // the signature is kept by default
  CHECK_FALSE(v.quarantine.has_value());
  const Rebuilt r = apply(m, v);
  CHECK(r.parsed.root.headers.items.front().name == "Authentication-Results");
  CHECK(r.header("Authentication-Results") ==
        "mx.example.com; smime=pass body.smime-identifier=alice@example.org (verified)");
  check_simple_headers(r, "yes", "no", "yes");
  // Still verifies for the recipient.
  CHECK(smime::verify(r.parsed.src, r.parsed.root, test::trust_root()).ok());
}

TEST_CASE("inbound: remove_signature puts the signed content in place of the signature",
          "[milter][inbound]") {
  Fixture f;
  conf::Config c = f.config();
  c.inbound.remove_signature = true;
  const auto mode = GENERATE(smime::SignMode::detached, smime::SignMode::opaque);
  const Message m = make_message(routing(), signed_entity("alice", mode));
  const Verdict v = run(f, c, m);
  INFO(dump_log(v));
  REQUIRE(v.new_body.has_value());
  const Rebuilt r = apply(m, v);
  CHECK(r.parsed.root.content_type.is("text", "plain"));
  CHECK(r.count("Content-Type") == 1);
  CHECK(r.body() == "Hello from the test\r\nline two\r\n");
  CHECK(r.header("Authentication-Results") ==
        "mx.example.com; smime=pass body.smime-identifier=alice@example.org (verified)");
  CHECK(log_has(v, "signature=removed"));
}

TEST_CASE("inbound: a signer that does not match From fails, and the fail action applies",
          "[milter][inbound]") {
  Fixture f;
  conf::Config c = f.config();
  const Message m = make_message(routing("Bob <bob@example.org>"), signed_entity("alice"));
  const Verdict v = run(f, c, m);
  INFO(dump_log(v));
  REQUIRE(v.action == conf::Action::accept);
  const Rebuilt r = apply(m, v);
  CHECK(r.header("Authentication-Results") ==
        "mx.example.com; smime=fail body.smime-identifier=alice@example.org (signer does not match From)");
  check_simple_headers(r, "yes", "no", "failed");

  c.inbound.actions.fail = conf::InboundAction::reject;
  const Verdict rejected = run(f, c, m);
  CHECK(rejected.action == conf::Action::reject);
  CHECK(rejected.reply.code == "550");
  CHECK(rejected.reply.status == "5.7.7");
  CHECK(rejected.reply.text.find("signer does not match From") != std::string::npos);
  CHECK(rejected.header_edits.empty());

  c.inbound.actions.fail = conf::InboundAction::quarantine;
  const Verdict held = run(f, c, m);
  CHECK(held.action == conf::Action::accept);
  REQUIRE(held.quarantine.has_value());
  CHECK(held.quarantine->find("signer does not match From") != std::string::npos);
  CHECK(apply(m, held).header("X-SMIME-Gateway-Verified") == "failed");

  c.inbound.actions.fail = conf::InboundAction::tempfail;
  const Verdict later = run(f, c, m);
  CHECK(later.action == conf::Action::tempfail);
  CHECK(later.reply.code == "451");
  CHECK(later.reply.status == "4.7.0");

  // Two From addresses: no single sender to bind to.
  const Message two = make_message(routing("alice@example.org, bob@example.org"), signed_entity("alice"));
  c.inbound.actions.fail = conf::InboundAction::deliver;
  CHECK(apply(two, run(f, c, two))
            .header("Authentication-Results")
            .find("signer does not match From (2 addresses") != std::string::npos);
}

TEST_CASE("inbound: a domain certificate covering the From domain passes", "[milter][inbound]") {
  Fixture f;
  const conf::Config c = f.config();
  const std::string from = GENERATE(std::string("user@example.net"), std::string("user@Sub.Example.NET"));
  const Message m = make_message(routing(from), signed_entity("domain"));
  const Verdict v = run(f, c, m);
  INFO(dump_log(v));
  const Rebuilt r = apply(m, v);
  const std::string domain = from.substr(from.find('@') + 1);
  CHECK(r.header("Authentication-Results") ==
        "mx.example.com; smime=pass body.smime-identifier=" +
            std::string(domain == "example.net" ? "example.net" : "sub.example.net") +
            " (verified, domain certificate)");
  // One label only.
  const Message deep = make_message(routing("user@a.b.example.net"), signed_entity("domain"));
  CHECK(apply(deep, run(f, c, deep)).header("Authentication-Results").find("smime=fail") !=
        std::string::npos);
}

TEST_CASE("inbound: tampered content, expired and self-signed signers fail", "[milter][inbound]") {
  Fixture f;
  const conf::Config c = f.config();
  std::string entity;
  std::string from = "alice@example.org";
  std::string reason;
  SECTION("tampered") {
    entity = test::replace_all(signed_entity("alice"), "Hello from the test", "Hello from the fake");
    reason = "signature does not match the content";
  }
  SECTION("expired") {
    entity = signed_entity("expired");
    from = "expired@example.org";
    reason = "expired";
  }
  SECTION("self-signed") {
    test::Parsed p = content();
    smime::SigningIdentity id;
    id.cert = test::cert("selfsigned");
    id.key = test::key("selfsigned");
    smime::StringSink out;
    smime::sign(p.src, p.root, id, {}, out);
    entity = out.take();
    from = "self@example.org";
    reason = "self-signed";
  }
  const Message m = make_message(routing(from), entity);
  const Verdict v = run(f, c, m);
  INFO(dump_log(v));
  REQUIRE(v.action == conf::Action::accept);
  const Rebuilt r = apply(m, v);
  const std::string ar = r.header("Authentication-Results");
  INFO(ar);
  CHECK(ar.rfind("mx.example.com; smime=fail ", 0) == 0);
  CHECK(ar.find(reason) != std::string::npos);
  CHECK(ar.find("error:") == std::string::npos);  // OpenSSL's error queue goes to the log only
  check_simple_headers(r, "yes", "no", "failed");
  // Neither is harvested.
  CHECK_FALSE(keystore::encryption_certificate(*f.store, from, now()).found());
}

TEST_CASE("inbound: triple wrap verifies the outer and the inner layer", "[milter][inbound]") {
  Fixture f;
  conf::Config c = f.config();
  const Message m =
      make_message(routing(), sign_encrypt_entity("alice", "gw-new", smime::Cipher::aes256_cbc, true));
  const Verdict v = run(f, c, m);
  INFO(dump_log(v));
  REQUIRE(v.action == conf::Action::accept);
  REQUIRE(v.new_body.has_value());
  const Rebuilt r = apply(m, v);
  CHECK(
      r.header("Authentication-Results") ==
      "mx.example.com; smime=pass body.smime-identifier=alice@example.org (outer: verified; inner: verified; "
      "decrypted aes256-cbc)");
  check_simple_headers(r, "yes", "yes", "yes");
  CHECK(log_has(v, "verify layer=outer result=pass"));
  CHECK(log_has(v, "verify layer=inner result=pass"));
  CHECK(log_has(v, "harvest=stored"));
  CHECK_FALSE(log_has(v, "harvest=already-known"));  // one signer, harvested once
  // The signature kept is the inner one.
  CHECK(r.parsed.root.content_type.is("multipart", "signed"));
  CHECK(smime::verify(r.parsed.src, r.parsed.root, test::trust_root()).ok());

  c.inbound.remove_signature = true;
  const Verdict removed = run(f, c, m);
  const Rebuilt plain = apply(m, removed);
  CHECK(plain.parsed.root.content_type.is("text", "plain"));
  CHECK(plain.body() == "Hello from the test\r\nline two\r\n");
}

TEST_CASE("inbound: a signed part inside an unsigned multipart is neutral", "[milter][inbound]") {
  Fixture f;
  const conf::Config c = f.config();
  const std::string wrapper = "Content-Type: multipart/mixed; boundary=\"outer-b\"\r\n\r\n--outer-b\r\n" +
                              kContent + "\r\n--outer-b\r\n" + signed_entity("alice") + "\r\n--outer-b--\r\n";
  const Message m = make_message(routing(), wrapper);
  const Verdict v = run(f, c, m);
  INFO(dump_log(v));
  REQUIRE(v.action == conf::Action::accept);
  CHECK_FALSE(v.new_body.has_value());
  const Rebuilt r = apply(m, v);
  CHECK(r.header("Authentication-Results") == "mx.example.com; smime=neutral (signature covers only part 2)");
  check_simple_headers(r, "no", "no", "no");
}

TEST_CASE("inbound: forged results are removed, other authserv-ids kept", "[milter][inbound]") {
  Fixture f;
  const conf::Config c = f.config();
  const std::string forged =
      "Authentication-Results: (comment) MX.Example.COM 1; smime=pass "
      "body.smime-identifier=ceo@example.com\r\n"
      "Authentication-Results: other.example.org; spf=pass smtp.mailfrom=example.org\r\n"
      "Authentication-Results: mx.example.com;\r\n smime=pass\r\n"
      "Authentication-Results: mx.example.com.evil; smime=pass\r\n"
      "X-SMIME-Gateway-Verified: yes\r\nx-smime-gateway-verified: yes\r\nX-SMIME-Gateway: yes\r\n"
      "X-SMIME-Milter: forged trace\r\n";
  const Message m = make_message(routing("Bob <bob@example.org>", forged), signed_entity("alice"));
  const Verdict v = run(f, c, m);
  INFO(dump_log(v));
  const Rebuilt r = apply(m, v);
  std::vector<std::string> ars;
  for (const auto& h : r.parsed.root.headers.items)
    if (h.name == "Authentication-Results") ars.push_back(h.unfolded());
  REQUIRE(ars.size() == 3);
  CHECK(ars[0].rfind("mx.example.com; smime=fail ", 0) == 0);
  CHECK(ars[1] == "other.example.org; spf=pass smtp.mailfrom=example.org");
  CHECK(ars[2] == "mx.example.com.evil; smime=pass");
  CHECK(r.count("X-SMIME-Gateway-Verified") == 1);
  CHECK(r.header("X-SMIME-Gateway-Verified") == "failed");
  CHECK(r.count("X-SMIME-Milter") == 0);
  CHECK(log_has(v, "removed-forged header=Authentication-Results count=2"));
  CHECK(log_has(v, "removed-forged header=X-SMIME-Gateway-Verified count=2"));

  // A header name configured empty is not written, but forged copies of the others still go.
  conf::Config off = c;
  off.inbound.headers.smime.clear();
  const Rebuilt r2 = apply(m, run(f, off, m));
  CHECK(r2.count("X-SMIME-Gateway") == 1);  // the sender's own, kept: we no longer own that name
  CHECK(r2.count("X-SMIME-Gateway-Verified") == 1);
}

TEST_CASE("inbound: malformed S/MIME is permerror with its action", "[milter][inbound]") {
  Fixture f;
  conf::Config c = f.config();
  const std::string broken =
      "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; "
      "boundary=x\r\n\r\n"
      "--x\r\nContent-Type: text/plain\r\n\r\nhello\r\n--x--\r\n";
  const Message m = make_message(routing(), broken);
  const Verdict v = run(f, c, m);
  INFO(dump_log(v));
  const Rebuilt r = apply(m, v);
  CHECK(r.header("Authentication-Results").rfind("mx.example.com; smime=permerror (", 0) == 0);
  check_simple_headers(r, "yes", "no", "failed");
  c.inbound.actions.permerror = conf::InboundAction::reject;
  const Verdict rejected = run(f, c, m);
  CHECK(rejected.action == conf::Action::reject);
  CHECK(rejected.reply.status == "5.7.1");
  c.inbound.actions.permerror = conf::InboundAction::tempfail;
  CHECK(run(f, c, m).reply.status == "4.7.0");
}

TEST_CASE("inbound: harvesting stores alice's certificate, then it is found for encryption",
          "[milter][inbound]") {
  Fixture f;
  conf::Config c = f.config();
  REQUIRE_FALSE(keystore::encryption_certificate(*f.store, "alice@example.org", now()).found());
  const Message m = make_message(routing(), signed_entity("alice"));
  SECTION("enabled") {
    const Verdict v = run(f, c, m);
    INFO(dump_log(v));
    CHECK(log_has(v, "harvest=stored queue=TESTQ"));
    CHECK(keystore::encryption_certificate(*f.store, "alice@example.org", now()).found());
    // The second time it is known already.
    CHECK(log_has(run(f, c, m), "harvest=already-known"));
  }
  SECTION("disabled") {
    c.inbound.harvest.enabled = false;
    const Verdict v = run(f, c, m);
    CHECK_FALSE(log_has(v, "harvest="));
    CHECK_FALSE(keystore::encryption_certificate(*f.store, "alice@example.org", now()).found());
  }
  SECTION("a mismatching From is refused by the keystore") {
    const Message bob = make_message(routing("bob@example.org"), signed_entity("alice"));
    const Verdict v = run(f, c, bob);
    INFO(dump_log(v));
    CHECK(log_has(v, "harvest=refused"));
    CHECK_FALSE(keystore::encryption_certificate(*f.store, "alice@example.org", now()).found());
  }
}

TEST_CASE("inbound: the n-th message is processed like the first", "[milter][inbound]") {
  Fixture f;
  conf::Config c = f.config();
  c.inbound.harvest.enabled = false;
  const Message m =
      make_message(routing(), sign_encrypt_entity("alice", "gw-old", smime::Cipher::aes256_gcm, false));
  const Verdict first = run(f, c, m);
  const Verdict second = run(f, c, m);
  CHECK(apply(m, first).text == apply(m, second).text);
  CHECK(first.log == second.log);
  CHECK(apply(m, first).header("X-SMIME-Gateway-Verified") == "yes");
}

TEST_CASE("inbound: verification and decryption can be turned off", "[milter][inbound]") {
  Fixture f;
  conf::Config c = f.config();
  c.inbound.decrypt = false;
  const Message enc = make_message(routing(), encrypted_entity("gw-new", smime::Cipher::aes256_gcm));
  const Verdict v = run(f, c, enc);
  CHECK_FALSE(v.new_body.has_value());
  CHECK(apply(enc, v).header("Authentication-Results") ==
        "mx.example.com; smime=none (encrypted, decryption disabled)");
  c.inbound.verify = false;
  const Message sig = make_message(routing(), signed_entity("alice"));
  CHECK(apply(sig, run(f, c, sig)).header("X-SMIME-Gateway-Verified") == "no");
}

TEST_CASE("inbound: Authentication-Results values and authserv-id recognition", "[milter][inbound]") {
  using milter::auth_results::authserv_id_of;
  using milter::auth_results::property_value;
  CHECK(property_value("alice@example.org") == "alice@example.org");
  CHECK(property_value("john doe@example.org") == "\"john doe\"@example.org");
  CHECK(property_value("a\"b@example.org") == "\"a\\\"b\"@example.org");
  CHECK(property_value("example.net") == "example.net");
  CHECK(property_value("CN=x, O=y") == "\"CN=x, O=y\"");
  CHECK(milter::auth_results::comment("a (b) \\ c\r\n") == "(a (b) \\\\ c  )");
  CHECK(milter::auth_results::comment("a) (b") == "(a\\) \\(b)");
  CHECK(authserv_id_of("mx.example.com; none") == "mx.example.com");
  CHECK(authserv_id_of("  (x (nested)) mx.example.com 1 ; spf=pass") == "mx.example.com");
  CHECK(authserv_id_of("\"mx.example.com\"; none") == "mx.example.com");
  CHECK(authserv_id_of("mx.example.com(c); none") == "mx.example.com");
  CHECK_FALSE(authserv_id_of("  ; none").has_value());
  CHECK(milter::auth_results::is_ours("MX.EXAMPLE.COM; none", "mx.example.com"));
  CHECK_FALSE(milter::auth_results::is_ours("mx.example.com.evil; none", "mx.example.com"));
}

TEST_CASE("inbound: the From address for binding", "[milter][inbound]") {
  auto from = [](const std::string& headers) {
    return milter::single_from_address(smime::mime::parse_headers(headers));
  };
  CHECK(from("From: Alice <Alice@Example.ORG>\r\n").address == "Alice@example.org");
  CHECK(from("From: \"Doe, John\" <john@example.org> (comment, with comma)\r\n").address ==
        "john@example.org");
  CHECK(from("From: a@example.org, b@example.org\r\n").problem == "2 addresses in From");
  CHECK(from("From: a@example.org\r\nFrom: b@example.org\r\n").problem == "2 From headers");
  CHECK(from("Subject: x\r\n").problem == "no From header");
  CHECK(from("From: undisclosed:;\r\n").problem == "no From address");
}

TEST_CASE("inbound: an undetermined revocation status follows revocation.verify", "[milter][inbound]") {
  // The test PKI's user certificates name neither an OCSP responder nor a CRL distribution point, so
  // the checker answers undetermined without touching the network.
  Fixture f;
  conf::Config c = f.config();
  c.revocation.enabled = true;
  revocation::Checker checker(revocation::Options{});
  const Message m = make_message(routing(), signed_entity("alice"));
  auto check = [&] { return milter::process_inbound(c, *f.store, &checker, m, now()); };
  SECTION("fail-closed: temperror, not harvested") {
    c.revocation.verify = conf::Undetermined::fail_closed;
    const Verdict v = check();
    INFO(dump_log(v));
    CHECK(log_has(v, "revocation op=verify"));
    CHECK(log_has(v, "status=undetermined"));
    CHECK(apply(m, v).header("Authentication-Results").rfind("mx.example.com; smime=temperror ", 0) == 0);
    CHECK(apply(m, v).header("X-SMIME-Gateway-Verified") == "failed");
    CHECK(log_has(v, "harvest=skipped"));
    CHECK_FALSE(keystore::encryption_certificate(*f.store, "alice@example.org", now()).found());
    c.inbound.actions.temperror = conf::InboundAction::reject;
    CHECK(check().reply.status == "5.7.1");
  }
  SECTION("fail-open: pass, said in the comment") {
    c.revocation.verify = conf::Undetermined::fail_open;
    const Verdict v = check();
    INFO(dump_log(v));
    CHECK(apply(m, v).header("Authentication-Results") ==
          "mx.example.com; smime=pass body.smime-identifier=alice@example.org (verified; revocation "
          "undetermined, accepted (fail-open))");
  }
  SECTION("tempfail: the message is tempfailed") {
    c.revocation.verify = conf::Undetermined::tempfail;
    const Verdict v = check();
    INFO(dump_log(v));
    CHECK(v.action == conf::Action::tempfail);
    CHECK(v.reply.code == "451");
    CHECK(v.reply.status == "4.7.0");
    CHECK_FALSE(log_has(v, "harvest=stored"));
  }
  SECTION("disabled: not asked") {
    c.revocation.enabled = false;
    const Verdict v = check();
    CHECK_FALSE(log_has(v, "revocation op="));
    CHECK(apply(m, v).header("X-SMIME-Gateway-Verified") == "yes");
  }
}

TEST_CASE("inbound: a signer certificate the message does not carry is taken from the keystore",
          "[milter][inbound]") {
  Fixture f;
  const conf::Config c = f.config();
  test::Parsed p = content();
  smime::SignOptions o;
  o.include_chain = false;
  o.include_signer_certificate = false;
  smime::StringSink out;
  smime::sign(p.src, p.root, test::identity("alice"), o, out);
  const Message m = make_message(routing(), out.take());

  // Unknown signer: the signature cannot be checked.
  const Verdict unknown = run(f, c, m);
  INFO(dump_log(unknown));
  const std::string ar_unknown = apply(m, unknown).header("Authentication-Results");
  CHECK(ar_unknown.rfind("mx.example.com; smime=fail", 0) == 0);
  CHECK(ar_unknown.find("not in the message") != std::string::npos);

  // Once the keystore knows alice's certificate (and her CA), the same message verifies.
  f.store->add_anchor(test::cert("inter").get(), now());
  smime::X509Ptr alice = test::cert("alice");
  f.store->add(keystore::NewCertificate{alice.get(), keystore::Origin::imported, now(), {}, {}});
  const Verdict known = run(f, c, m);
  INFO(dump_log(known));
  CHECK(apply(m, known).header("Authentication-Results") ==
        "mx.example.com; smime=pass body.smime-identifier=alice@example.org (verified)");
}

TEST_CASE("inbound: weak keys and digests fail by the configured algorithm policy", "[milter][inbound]") {
  Fixture f;
  // weak512: RSA-512; md5cert: a certificate signed with MD5; sha1cert: signed with SHA-1 (test PKI).
  struct Row {
    std::string who;
    std::string algorithms;  // inbound.algorithms
    Result want;
    std::string reason;  // in the comment
  };
  const std::vector<Row> rows = {
      {"weak512", "", Result::fail, "weak key"},
      {"weak512", R"({"min_security_bits": 0})", Result::pass, "verified"},
      {"md5cert", R"({"min_security_bits": 0, "sha1": "accept"})", Result::fail, "md5"},
      {"sha1cert", "", Result::fail, "weak digest: sha1"},
      {"sha1cert", R"({"sha1": "accept"})", Result::pass, "verified"},
  };
  for (const Row& row : rows) {
    INFO(row.who << " " << row.algorithms);
    conf::Config c = conf::parse(R"({"spool": {"directory": ")" + f.spool +
                                     R"("}, "revocation": {"enabled": false}, "inbound": {"authserv_id": ")" +
                                     kAuthservId + R"(")" +
                                     (row.algorithms.empty() ? "" : R"(, "algorithms": )" + row.algorithms) + "}}",
                                 "test");
    const std::string address = row.who == "weak512" ? "weak@example.org"
                                : row.who == "md5cert" ? "md5@example.org"
                                                       : "sha1@example.org";
    const Message m = make_message(routing(address), signed_entity(row.who));
    const Verdict v = run(f, c, m);
    INFO(dump_log(v));
    const Rebuilt r = apply(m, v);
    const std::string ar = r.header("Authentication-Results");
    INFO(ar);
    CHECK(ar.find(std::string("smime=") + std::string(milter::auth_results::to_string(row.want))) !=
          std::string::npos);
    CHECK(ar.find(row.reason) != std::string::npos);
    CHECK(ar.find("does not match the content") == std::string::npos);  // weak is not "bad signature"
  }
}

TEST_CASE("inbound: an intermediate CA or a partner's own certificate as the only trust anchor",
          "[milter][inbound]") {
  for (const std::string anchor : {"inter", "alice"}) {
    INFO("anchor " << anchor);
    test::TempDir dir;
    std::filesystem::create_directory(dir.path("spool"));
    auto store = keystore::open_sqlite_store(dir.path("keystore.db"));
    store->add_anchor(test::cert(anchor).get(), now());
    conf::Config c = conf::parse(R"({"spool": {"directory": ")" + dir.path("spool") +
                                     R"("}, "revocation": {"enabled": false}})",
                                 "test");
    c.inbound.authserv_id = kAuthservId;
    const Message m = make_message(routing(), signed_entity("alice"));
    const Verdict v = milter::process_inbound(c, *store, nullptr, m, now());
    INFO(dump_log(v));
    CHECK(apply(m, v).header("Authentication-Results") ==
          "mx.example.com; smime=pass body.smime-identifier=alice@example.org (verified)");
  }
}

TEST_CASE("inbound: remove_signature keeps the signature when the result is not a pass", "[milter][inbound]") {
  Fixture f;
  conf::Config c = f.config();
  c.inbound.remove_signature = true;
  const Message m = make_message(routing("Bob <bob@example.org>"), signed_entity("alice"));  // mismatch
  const Verdict v = run(f, c, m);
  INFO(dump_log(v));
  CHECK_FALSE(v.new_body.has_value());
  CHECK(log_has(v, "signature=kept"));
  const Rebuilt r = apply(m, v);
  CHECK(r.parsed.root.content_type.is("multipart", "signed"));
  CHECK(r.header("Authentication-Results").find("smime=fail") != std::string::npos);
}

TEST_CASE("inbound: layers beyond inbound.max_layers are reported, not passed over", "[milter][inbound]") {
  Fixture f;
  conf::Config c = f.config();
  c.inbound.max_layers = 2;
  // Three layers: signed, encrypted, signed.
  const Message m = make_message(routing(), sign_encrypt_entity("alice", "gw-new", smime::Cipher::aes256_gcm, true));
  const Verdict v = run(f, c, m);
  INFO(dump_log(v));
  const Rebuilt r = apply(m, v);
  const std::string ar = r.header("Authentication-Results");
  INFO(ar);
  CHECK(ar.find("smime=permerror") != std::string::npos);
  CHECK(ar.find("more than 2 S/MIME layers") != std::string::npos);
  CHECK(log_has(v, "smime=too-deep"));
  // With the default (8) the same message passes.
  const Verdict ok = run(f, f.config(), m);
  CHECK(apply(m, ok).header("Authentication-Results").find("smime=pass") != std::string::npos);
}

TEST_CASE("inbound: forged results with white space before the colon are removed too", "[milter][inbound]") {
  Fixture f;
  const conf::Config c = f.config();
  const Message m = make_message(routing("Alice <alice@example.org>",
                                         "Authentication-Results : mx.example.com; smime=pass\r\n"
                                         "X-SMIME-Gateway-Verified  : yes\r\n"),
                                 signed_entity("bob"));
  const Verdict v = run(f, c, m);
  INFO(dump_log(v));
  const Rebuilt r = apply(m, v);
  std::size_t ars = 0;
  for (const auto& h : r.parsed.root.headers.items)
    if (h.name.rfind("Authentication-Results", 0) == 0) ++ars;
  CHECK(ars == 1);  // ours only
  CHECK(r.header("Authentication-Results").find("smime=fail") != std::string::npos);
  CHECK(r.header("X-SMIME-Gateway-Verified") == "failed");
}
