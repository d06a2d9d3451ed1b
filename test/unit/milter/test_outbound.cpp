// Outbound processing (outbound.hpp) and the pipeline (pipeline.hpp) on a temporary SQLite keystore
// filled from the test PKI. Every verdict is applied the way the MTA would (header edits, new body),
// and the rebuilt message is verified and decrypted for real with the recipients' keys.
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "../smime/test_support.hpp"
#include "apply_verdict.hpp"
#include "conf/config.hpp"
#include "keystore/error.hpp"
#include "keystore/identity.hpp"
#include "keystore/sqlite_store.hpp"
#include "milter/message.hpp"
#include "milter/outbound.hpp"
#include "milter/pipeline.hpp"
#include "temp_dir.hpp"

namespace {

using milter::HeaderEdit;
using milter::Message;
using milter::Verdict;

using TempDir = test::TempDir;

std::time_t now() { return std::time(nullptr); }

// A keystore with the gateway identities gw-old and gw-new (gateway@example.com, DNS example.com)
// and the public certificates of alice, bob, carol (EC) and domain (example.net, *.example.net).
struct Fixture {
  TempDir dir;
  std::unique_ptr<keystore::Store> store = keystore::open_sqlite_store(dir.path("keystore.db"));
  std::string spool = dir.path("spool");

  Fixture() {
    std::filesystem::create_directory(spool);
    for (const char* gw : {"gw-old", "gw-new"}) {
      std::vector<smime::X509Ptr> chain;
      chain.push_back(test::cert("inter"));
      keystore::put_identity(*store, test::cert(gw).get(), test::key(gw).get(), chain, "", now());
    }
    for (const char* name : {"alice", "bob", "carol", "domain"}) {
      smime::X509Ptr c = test::cert(name);
      store->add(keystore::NewCertificate{c.get(), keystore::Origin::imported, now(), {}, {}});
    }
  }
  std::string fp(const std::string& name) { return smime::fingerprint_sha256(test::cert(name).get()); }
  void announce_gcm(const std::string& name) {
    store->set_capabilities(
        fp(name), smime::Capabilities::of({smime::Cipher::aes256_gcm, smime::Cipher::aes256_cbc}), now());
  }

  // The configuration: one profile "p" (JSON object text) as the default, the spool in the temp dir.
  conf::Config config(const std::string& profile, const std::string& extra = "",
                      const std::string& memory_limit = "4M") const {
    // `extra` may give its own "outbound" section (which must name "p" as the default).
    const bool own_outbound = extra.find("\"outbound\"") != std::string::npos;
    const std::string json = R"({"spool": {"directory": ")" + spool + R"(", "memory_limit": ")" +
                             memory_limit + R"("}, "profiles": {"p": )" + profile + "}" +
                             (own_outbound ? "" : R"(, "outbound": {"default_profile": "p"})") +
                             R"(, "reinjection": {"port": 10026})" + extra + "}";
    return conf::parse(json, "test");
  }
};

const std::string kBodyText = "H\xc3\xa4llo from the test\r\nsecond line\r\n";

Message make_message(std::vector<std::string> rcpts, std::string sender = "user@example.com",
                     std::string headers = "", std::string body = kBodyText) {
  if (headers.empty())
    headers =
        "Received: from client by mx\r\nFrom: Gateway User <user@example.com>\r\nTo: someone\r\nSubject: "
        "test\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain;\r\n\tcharset=utf-8\r\nContent-Transfer-Encoding: "
        "8bit\r\n";
  Message m;
  m.envelope.queue_id = "TESTQ";
  m.envelope.sender = std::move(sender);
  m.envelope.recipients = std::move(rcpts);
  m.envelope.client_address = "127.0.0.1";
  m.headers = smime::mime::parse_headers(headers);
  m.body = smime::Source::from_string(std::move(body));
  return m;
}

using test::rebuild;  // apply_verdict.hpp

std::string source_text(const smime::Source& s) { return s.slice(s.all()); }

// The decoded body of a (single-part) entity given as text.
std::string decoded_body(const std::string& entity) {
  test::Parsed p = test::parse(entity);
  smime::StringSink out;
  smime::mime::write_decoded_body(p.src, p.root, out);
  return out.take();
}

// Checks that `entity` is the original content: text/plain utf-8 with the original body.
void check_original_content(const std::string& entity) {
  test::Parsed p = test::parse(entity);
  CHECK(p.root.content_type.is("text", "plain"));
  CHECK(p.root.content_type.param("charset") == "utf-8");
  CHECK(decoded_body(entity) == kBodyText);
}

// Verifies the message's signature (trusting root.pem); returns the signed content.
std::string verify_signed(const std::string& message, smime::VerifyResult* result = nullptr) {
  test::Parsed p = test::parse(message);
  smime::StringSink content;
  smime::VerifyResult r = smime::verify(p.src, p.root, test::trust_root(), &content);
  INFO("verify: " << r.reason);
  CHECK(r.ok());
  if (result) *result = std::move(r);
  return content.take();
}

std::string decrypt_for(const std::string& message, const std::string& who, std::string* cipher = nullptr) {
  test::Parsed p = test::parse(message);
  smime::StringSink out;
  std::vector<smime::DecryptionKey> keys;
  keys.push_back(test::decryption_key(who));
  smime::DecryptResult r = smime::decrypt(p.src, p.root, keys, out);
  if (cipher) *cipher = r.cipher;
  return out.take();
}

std::string header_of(const std::string& message, const std::string& name) {
  test::Parsed p = test::parse(message);
  return p.root.headers.get(name);
}

bool log_has(const Verdict& v, const std::string& fragment) {
  for (const auto& l : v.log)
    if (l.text.find(fragment) != std::string::npos) return true;
  return false;
}

std::string dump_log(const Verdict& v) {
  std::string s;
  for (const auto& l : v.log) s += "  " + l.text + "\n";
  return s;
}

const conf::Profile& profile_of(const conf::Config& c) { return *c.find_profile("p"); }

}  // namespace

TEST_CASE("sign detached: routing headers stay, Content-* move inside, the signature verifies",
          "[milter][outbound]") {
  Fixture f;
  const conf::Config config = f.config(R"({"mode": "sign"})");
  const Message m = make_message({"alice@example.org"});
  const Verdict v = milter::process_outbound(config, *f.store, nullptr, m, profile_of(config), now());
  INFO(dump_log(v));
  REQUIRE(v.action == conf::Action::accept);
  REQUIRE(v.new_body.has_value());
  CHECK(v.remove_recipients.empty());
  CHECK_FALSE(v.split.has_value());

  const std::string rebuilt = rebuild(m, v);
  test::Parsed p = test::parse(rebuilt);
  CHECK(p.root.content_type.is("multipart", "signed"));
  CHECK(p.root.headers.count("Content-Type") == 1);
  CHECK(p.root.headers.count("Content-Transfer-Encoding") <= 1);
  CHECK(p.root.headers.get("Content-Transfer-Encoding") != "8bit");
  CHECK(p.root.headers.count("MIME-Version") == 1);
  CHECK(p.root.headers.get("MIME-Version") == "1.0");
  CHECK(p.root.headers.get("Subject") == "test");
  CHECK(p.root.headers.get("Received") == "from client by mx");
  CHECK(header_of(rebuilt, "X-SMIME-Milter").rfind("signed detached sha256 by gateway@example.com", 0) == 0);

  smime::VerifyResult r;
  check_original_content(verify_signed(rebuilt, &r));
  REQUIRE(r.signers.size() == 1);
  const std::string signer_fp = smime::fingerprint_sha256(r.signers[0].cert.get());
  CHECK((signer_fp == f.fp("gw-new") || signer_fp == f.fp("gw-old")));
  // The certificate used is marked as such.
  auto rec = f.store->find(signer_fp);
  REQUIRE(rec);
  CHECK(rec->last_used.has_value());
  CHECK(log_has(v, "action=rewrite signed=detached"));
}

TEST_CASE("header edits delete every original Content-* field, highest index first, and set MIME-Version",
          "[milter][outbound]") {
  Fixture f;
  const conf::Config config = f.config(R"({"mode": "sign"})");
  const Message m = make_message({"alice@example.org"}, "user@example.com",
                                 "From: user@example.com\r\nContent-Type: text/plain; charset=utf-8\r\n"
                                 "Content-Description: one\r\ncontent-description: two\r\n"
                                 "X-SMIME-Milter: forged by the sender\r\n");
  const Verdict v = milter::process_outbound(config, *f.store, nullptr, m, profile_of(config), now());
  INFO(dump_log(v));
  REQUIRE(v.action == conf::Action::accept);
  std::vector<std::string> deletions;
  for (const auto& e : v.header_edits)
    if (e.kind == HeaderEdit::Kind::change && e.value.empty())
      deletions.push_back(e.name + "#" + std::to_string(e.index));
  CHECK(deletions == std::vector<std::string>{"X-SMIME-Milter#1", "Content-Type#1", "Content-Description#2",
                                              "Content-Description#1"});
  // No MIME-Version in the original: it is added.
  bool added = false;
  for (const auto& e : v.header_edits)
    if (e.kind == HeaderEdit::Kind::add && e.name == "MIME-Version" && e.value == "1.0") added = true;
  CHECK(added);
  const std::string rebuilt = rebuild(m, v);
  test::Parsed p = test::parse(rebuilt);
  CHECK(p.root.headers.count("Content-Description") == 0);
  CHECK(p.root.headers.count("X-SMIME-Milter") == 1);
  CHECK(p.root.headers.get("X-SMIME-Milter").find("forged") == std::string::npos);
  // Inside, the content keeps both descriptions.
  const std::string inner = verify_signed(rebuilt);
  CHECK(test::parse(inner).root.headers.count("Content-Description") == 2);
}

TEST_CASE(
    "messages without Content-* fields, or folded with bare LF as the MTA may hand them over, are signed",
    "[milter][outbound]") {
  Fixture f;
  const conf::Config config = f.config(R"({"mode": "sign"})");
  SECTION("no Content-* field: text/plain us-ascii by default") {
    const Message m = make_message({"alice@example.org"}, "user@example.com",
                                   "From: user@example.com\r\nSubject: s\r\n", "plain text\r\n");
    const Verdict v = milter::process_outbound(config, *f.store, nullptr, m, profile_of(config), now());
    INFO(dump_log(v));
    REQUIRE(v.action == conf::Action::accept);
    const std::string inner = verify_signed(rebuild(m, v));
    CHECK(test::parse(inner).root.content_type.is("text", "plain"));
    CHECK(decoded_body(inner) == "plain text\r\n");
  }
  SECTION("folding as LF + TAB") {
    const Message m = make_message({"alice@example.org"}, "user@example.com",
                                   "From: user@example.com\nContent-Type: text/plain;\n\tcharset=utf-8\n"
                                   "Content-Transfer-Encoding: 8bit\n");
    const Verdict v = milter::process_outbound(config, *f.store, nullptr, m, profile_of(config), now());
    INFO(dump_log(v));
    REQUIRE(v.action == conf::Action::accept);
    for (const auto& e : v.header_edits) {
      INFO(e.name << ": " << e.value);
      CHECK(e.value.find_first_of("\r\n\t") == std::string::npos);
    }
    check_original_content(verify_signed(rebuild(m, v)));
  }
}

TEST_CASE("sign opaque through the spool file when the body is over the memory limit", "[milter][outbound]") {
  Fixture f;
  const conf::Config config =
      f.config(R"({"mode": "sign", "sign_mode": "opaque", "digest": "sha384"})", "", "16");
  const Message m = make_message({"alice@example.org"});
  const Verdict v = milter::process_outbound(config, *f.store, nullptr, m, profile_of(config), now());
  INFO(dump_log(v));
  REQUIRE(v.action == conf::Action::accept);
  CHECK(log_has(v, "spooled=yes"));
  const std::string rebuilt = rebuild(m, v);
  CHECK(test::parse(rebuilt).root.content_type.is("application", "pkcs7-mime"));
  CHECK(header_of(rebuilt, "X-SMIME-Milter").find("signed opaque sha384") == 0);
  smime::VerifyResult r;
  check_original_content(verify_signed(rebuilt, &r));
  REQUIRE(r.signers.size() == 1);
  CHECK(r.signers[0].digest == "sha384");
}

TEST_CASE("sign-encrypt to several recipients (RSA and EC) opens for each and verifies inside",
          "[milter][outbound]") {
  Fixture f;
  const conf::Config config = f.config(R"({"mode": "sign-encrypt"})");
  const Message m = make_message({"alice@example.org", "carol@example.org", "x@sub.example.net"});
  const Verdict v = milter::process_outbound(config, *f.store, nullptr, m, profile_of(config), now());
  INFO(dump_log(v));
  REQUIRE(v.action == conf::Action::accept);
  const std::string rebuilt = rebuild(m, v);
  CHECK(test::parse(rebuilt).root.content_type.is("application", "pkcs7-mime"));
  CHECK(header_of(rebuilt, "X-SMIME-Milter").find("encrypted aes256-cbc to 3 recipients") !=
        std::string::npos);
  for (const char* who : {"alice", "carol", "domain"}) {
    INFO(who);
    std::string cipher;
    const std::string inner = decrypt_for(rebuilt, who, &cipher);
    CHECK(cipher == "aes256-cbc");
    check_original_content(verify_signed(inner));
  }
  CHECK_THROWS_AS(decrypt_for(rebuilt, "bob"), smime::Error);
  // Recipients' certificates are marked used.
  CHECK(f.store->find(f.fp("carol"))->last_used.has_value());
  CHECK_FALSE(f.store->find(f.fp("bob"))->last_used.has_value());
}

TEST_CASE("two recipients covered by one domain certificate: one RecipientInfo, both counted",
          "[milter][outbound]") {
  Fixture f;
  const conf::Config config = f.config(R"({"mode": "encrypt"})");
  const Message m = make_message({"a@example.net", "b@sub.example.net", "alice@example.org"});
  const Verdict v = milter::process_outbound(config, *f.store, nullptr, m, profile_of(config), now());
  INFO(dump_log(v));
  REQUIRE(v.action == conf::Action::accept);
  const std::string rebuilt = rebuild(m, v);
  CHECK(header_of(rebuilt, "X-SMIME-Milter") == "encrypted aes256-cbc to 3 recipients");
  test::Parsed p = test::parse(rebuilt);
  const std::string der = smime::pkcs7_mime_der(p.src, p.root);
  const unsigned char* in = reinterpret_cast<const unsigned char*>(der.data());
  smime::CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &in, static_cast<long>(der.size())));
  REQUIRE(cms);
  CHECK(sk_CMS_RecipientInfo_num(CMS_get0_RecipientInfos(cms.get())) == 2);
  check_original_content(decrypt_for(rebuilt, "domain"));
  check_original_content(decrypt_for(rebuilt, "alice"));
}

TEST_CASE(
    "cipher auto: GCM only when every recipient's stored capabilities announce it, a fixed cipher as set",
    "[milter][outbound]") {
  struct Row {
    std::string what;
    std::vector<std::string> gcm_announced;
    std::string cipher_setting;
    std::string want;
  };
  const std::vector<Row> rows = {
      {"nothing stored", {}, "auto", "aes256-cbc"},
      {"one of two announced", {"alice"}, "auto", "aes256-cbc"},
      {"both announced", {"alice", "bob"}, "auto", "aes256-gcm"},
      {"fixed aes128-gcm without capabilities", {}, "aes128-gcm", "aes128-gcm"},
      {"fixed cbc although GCM announced", {"alice", "bob"}, "aes256-cbc", "aes256-cbc"},
  };
  for (const Row& row : rows) {
    INFO(row.what);
    Fixture f;
    for (const auto& who : row.gcm_announced) f.announce_gcm(who);
    const conf::Config config = f.config(R"({"mode": "encrypt", "cipher": ")" + row.cipher_setting + R"("})");
    const Message m = make_message({"alice@example.org", "bob@example.org"});
    const Verdict v = milter::process_outbound(config, *f.store, nullptr, m, profile_of(config), now());
    INFO(dump_log(v));
    REQUIRE(v.action == conf::Action::accept);
    const std::string rebuilt = rebuild(m, v);
    std::string cipher;
    const std::string inner = decrypt_for(rebuilt, "bob", &cipher);
    CHECK(cipher == row.want);
    check_original_content(inner);  // encrypt only: the content itself, unsigned
    CHECK(header_of(rebuilt, "X-SMIME-Milter") == "encrypted " + row.want + " to 2 recipients");
  }
}

TEST_CASE("triple wrap: a signature around the encryption around a signature, OAEP and PSS as configured",
          "[milter][outbound]") {
  Fixture f;
  const conf::Config config = f.config(
      R"({"mode": "triple", "rsa_key_transport": "oaep", "rsa_signature_padding": "pss", "digest": "sha512"})");
  const Message m = make_message({"bob@example.org"});
  const Verdict v = milter::process_outbound(config, *f.store, nullptr, m, profile_of(config), now());
  INFO(dump_log(v));
  REQUIRE(v.action == conf::Action::accept);
  const std::string rebuilt = rebuild(m, v);
  CHECK(header_of(rebuilt, "X-SMIME-Milter").find("triple wrap") != std::string::npos);
  const std::string encrypted = verify_signed(rebuilt);
  CHECK(test::parse(encrypted).root.content_type.is("application", "pkcs7-mime"));
  const std::string inner = decrypt_for(encrypted, "bob");
  smime::VerifyResult r;
  check_original_content(verify_signed(inner, &r));
  REQUIRE(r.signers.size() == 1);
  CHECK(r.signers[0].digest == "sha512");
}

TEST_CASE("missing certificate: bounce rejects naming the recipients, drop discards, nothing is rewritten",
          "[milter][outbound]") {
  Fixture f;
  SECTION("bounce") {
    const conf::Config config = f.config(R"({"mode": "sign-encrypt", "missing_certificate": "bounce"})");
    const Message m = make_message({"alice@example.org", "nobody@example.org", "other@unknown.test"});
    const Verdict v = milter::process_outbound(config, *f.store, nullptr, m, profile_of(config), now());
    INFO(dump_log(v));
    CHECK(v.action == conf::Action::reject);
    CHECK(v.reply.code == "550");
    CHECK(v.reply.status == "5.7.1");
    CHECK(v.reply.text.find("nobody@example.org, other@unknown.test") != std::string::npos);
    CHECK(v.reply.text.find("alice@example.org") == std::string::npos);
    CHECK(v.header_edits.empty());
    CHECK_FALSE(v.new_body.has_value());
    CHECK(log_has(v, "failure=no-certificate action=reject"));
  }
  SECTION("bounce follows the configured no_certificate action") {
    const conf::Config config = f.config(R"({"mode": "encrypt", "missing_certificate": "bounce"})",
                                         R"(, "failure_actions": {"no_certificate": "tempfail"})");
    const Verdict v = milter::process_outbound(
        config, *f.store, nullptr, make_message({"nobody@example.org"}), profile_of(config), now());
    CHECK(v.action == conf::Action::tempfail);
    CHECK(v.reply.code == "451");
    CHECK(v.reply.status == "4.7.0");
  }
  SECTION("drop") {
    const conf::Config config = f.config(R"({"mode": "encrypt", "missing_certificate": "drop"})");
    const Message m = make_message({"alice@example.org", "nobody@example.org"});
    const Verdict v = milter::process_outbound(config, *f.store, nullptr, m, profile_of(config), now());
    INFO(dump_log(v));
    CHECK(v.action == conf::Action::discard);
    CHECK(v.header_edits.empty());
    CHECK_FALSE(v.new_body.has_value());
    CHECK(log_has(v, "action=discard reason=missing-certificate"));
  }
}

TEST_CASE(
    "a message without envelope recipients is a no-certificate failure under every policy, not internal",
    "[milter][outbound]") {
  Fixture f;
  for (const char* policy : {"bounce", "drop", "split", "plain"}) {
    const conf::Config config =
        f.config(std::string(R"({"mode": "sign-encrypt", "missing_certificate": ")") + policy + "\"}");
    const Verdict v =
        milter::process_outbound(config, *f.store, nullptr, make_message({}), profile_of(config), now());
    INFO(policy << ": " << dump_log(v));
    CHECK(v.action == conf::Action::reject);
    CHECK(v.reply.code == "550");
    CHECK_FALSE(v.new_body.has_value());
    CHECK(log_has(v, "failure=no-certificate action=reject"));
  }
}

TEST_CASE(
    "missing certificate, split: encrypted for those with a certificate, a signed plain copy for the others",
    "[milter][outbound]") {
  Fixture f;
  const conf::Config config = f.config(R"({"mode": "sign-encrypt", "missing_certificate": "split"})");
  const Message m =
      make_message({"alice@example.org", "nobody@example.org", "bob@example.org", "x@unknown.test"});
  const Verdict v = milter::process_outbound(config, *f.store, nullptr, m, profile_of(config), now());
  INFO(dump_log(v));
  REQUIRE(v.action == conf::Action::accept);
  CHECK(v.remove_recipients == std::vector<std::string>{"nobody@example.org", "x@unknown.test"});
  REQUIRE(v.split.has_value());
  CHECK(v.split->sender == "user@example.com");
  CHECK(v.split->recipients == v.remove_recipients);

  // This transaction: encrypted for alice and bob.
  const std::string rebuilt = rebuild(m, v);
  CHECK(header_of(rebuilt, "X-SMIME-Milter").find("to 2 recipients") != std::string::npos);
  check_original_content(verify_signed(decrypt_for(rebuilt, "alice")));
  check_original_content(verify_signed(decrypt_for(rebuilt, "bob")));

  // The copy: a whole message, signed, not encrypted, routing headers kept.
  const std::string copy = source_text(v.split->message);
  test::Parsed cp = test::parse(copy);
  CHECK(cp.root.content_type.is("multipart", "signed"));
  CHECK(cp.root.headers.get("Subject") == "test");
  CHECK(cp.root.headers.get("MIME-Version") == "1.0");
  CHECK(cp.root.headers.count("MIME-Version") == 1);
  CHECK(cp.root.headers.get("X-SMIME-Milter").find("split copy") != std::string::npos);
  check_original_content(verify_signed(copy));
}

TEST_CASE("missing certificate, split with an encrypt-only profile: the copy is the original message",
          "[milter][outbound]") {
  Fixture f;
  const conf::Config config = f.config(R"({"mode": "encrypt", "missing_certificate": "split"})");
  const Message m = make_message({"alice@example.org", "nobody@example.org"});
  const Verdict v = milter::process_outbound(config, *f.store, nullptr, m, profile_of(config), now());
  INFO(dump_log(v));
  REQUIRE(v.split.has_value());
  const std::string copy = source_text(v.split->message);
  test::Parsed cp = test::parse(copy);
  CHECK(cp.root.content_type.is("text", "plain"));
  CHECK(cp.root.headers.get("Content-Transfer-Encoding") == "8bit");
  CHECK(source_text(cp.src).substr(cp.root.body.offset) == kBodyText);
  check_original_content(decrypt_for(rebuild(m, v), "alice"));
}

TEST_CASE("missing certificate, split with nobody holding a certificate: plain (signed) to all, no copy",
          "[milter][outbound]") {
  Fixture f;
  const conf::Config config = f.config(R"({"mode": "sign-encrypt", "missing_certificate": "split"})");
  const Message m = make_message({"nobody@example.org", "x@unknown.test"});
  const Verdict v = milter::process_outbound(config, *f.store, nullptr, m, profile_of(config), now());
  INFO(dump_log(v));
  REQUIRE(v.action == conf::Action::accept);
  CHECK(v.remove_recipients.empty());
  CHECK_FALSE(v.split.has_value());
  CHECK(log_has(v, "outcome=plain-to-all"));
  const std::string rebuilt = rebuild(m, v);
  CHECK(test::parse(rebuilt).root.content_type.is("multipart", "signed"));
  check_original_content(verify_signed(rebuilt));
}

TEST_CASE("missing certificate, plain: unencrypted to all, still signed when the profile signs",
          "[milter][outbound]") {
  Fixture f;
  SECTION("sign-encrypt") {
    const conf::Config config = f.config(R"({"mode": "sign-encrypt", "missing_certificate": "plain"})");
    const Message m = make_message({"alice@example.org", "nobody@example.org"});
    const Verdict v = milter::process_outbound(config, *f.store, nullptr, m, profile_of(config), now());
    INFO(dump_log(v));
    REQUIRE(v.action == conf::Action::accept);
    CHECK(v.remove_recipients.empty());
    const std::string rebuilt = rebuild(m, v);
    CHECK(test::parse(rebuilt).root.content_type.is("multipart", "signed"));
    CHECK(header_of(rebuilt, "X-SMIME-Milter").find("not encrypted: no certificate for 1 recipient") !=
          std::string::npos);
    check_original_content(verify_signed(rebuilt));
  }
  SECTION("encrypt only: left unchanged") {
    const conf::Config config = f.config(R"({"mode": "encrypt", "missing_certificate": "plain"})");
    const Message m = make_message({"alice@example.org", "nobody@example.org"});
    const Verdict v = milter::process_outbound(config, *f.store, nullptr, m, profile_of(config), now());
    INFO(dump_log(v));
    CHECK(v.action == conf::Action::accept);
    CHECK(v.header_edits.empty());
    CHECK_FALSE(v.new_body.has_value());
    CHECK(log_has(v, "missing-certificate=plain"));
    CHECK_FALSE(f.store->find(f.fp("alice"))->last_used.has_value());
  }
}

// A message as a client would send it after our own gateway (or its author) protected it: the verdict
// applied, then split into header and body again.
Message resend(const Message& original, const Verdict& v) {
  const std::string text = rebuild(original, v);
  const std::size_t end = text.find("\r\n\r\n");
  Message m = original;
  m.headers = smime::mime::parse_headers(text.substr(0, end + 2));
  m.body = smime::Source::from_string(text.substr(end + 4));
  return m;
}

TEST_CASE("already signed or encrypted: only a body that really is CMS counts", "[milter][outbound]") {
  Fixture f;
  const conf::Config sign = f.config(R"({"mode": "sign"})");
  const conf::Config encrypt = f.config(R"({"mode": "sign-encrypt", "missing_certificate": "bounce"})");
  SECTION("a header claiming protection over a plain body is signed like any message") {
    for (const std::string ct : {"multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=b",
                                 "application/pkcs7-mime; smime-type=enveloped-data",
                                 "Application/X-PKCS7-MIME; smime-type=signed-data"}) {
      INFO(ct);
      const Message m = make_message({"alice@example.org"}, "user@example.com",
                                     "From: user@example.com\r\nContent-Type: " + ct + "\r\n", "--b--\r\n");
      const Verdict v = milter::process_outbound(sign, *f.store, nullptr, m, profile_of(sign), now());
      INFO(dump_log(v));
      CHECK(v.action == conf::Action::accept);
      CHECK(v.new_body.has_value());
      CHECK(log_has(v, "already-protected=no"));
      verify_signed(rebuild(m, v));
    }
    // Under an encrypting profile the fake "already encrypted" message is encrypted for real.
    const Message m = make_message({"alice@example.org"}, "user@example.com",
                                   "From: user@example.com\r\nContent-Type: application/pkcs7-mime; "
                                   "smime-type=enveloped-data\r\n",
                                   "this is not CMS\r\n");
    const Verdict v = milter::process_outbound(encrypt, *f.store, nullptr, m, profile_of(encrypt), now());
    INFO(dump_log(v));
    REQUIRE(v.new_body.has_value());
    CHECK(decrypt_for(rebuild(m, v), "alice").find("this is not CMS") != std::string::npos);
  }
  SECTION("a really signed message is not signed again; a really encrypted one is left alone") {
    const Message plain = make_message({"alice@example.org"});
    const Message signed_msg =
        resend(plain, milter::process_outbound(sign, *f.store, nullptr, plain, profile_of(sign), now()));
    Verdict v = milter::process_outbound(sign, *f.store, nullptr, signed_msg, profile_of(sign), now());
    INFO(dump_log(v));
    CHECK(v.action == conf::Action::accept);
    CHECK_FALSE(v.new_body.has_value());
    CHECK(log_has(v, "already-protected=signed"));
    CHECK(log_has(v, "reason=already-protected"));

    const Message encrypted = resend(
        plain, milter::process_outbound(encrypt, *f.store, nullptr, plain, profile_of(encrypt), now()));
    v = milter::process_outbound(encrypt, *f.store, nullptr, encrypted, profile_of(encrypt), now());
    INFO(dump_log(v));
    CHECK_FALSE(v.new_body.has_value());
    CHECK(log_has(v, "already-protected=encrypted"));
  }
  SECTION("a message only signed is still encrypted when the profile encrypts, its signature inside") {
    const Message plain = make_message({"alice@example.org"});
    const Message signed_msg =
        resend(plain, milter::process_outbound(sign, *f.store, nullptr, plain, profile_of(sign), now()));
    const Verdict v =
        milter::process_outbound(encrypt, *f.store, nullptr, signed_msg, profile_of(encrypt), now());
    INFO(dump_log(v));
    REQUIRE(v.action == conf::Action::accept);
    REQUIRE(v.new_body.has_value());
    const std::string inner = decrypt_for(rebuild(signed_msg, v), "alice");
    test::Parsed p = test::parse(inner);
    CHECK(p.root.content_type.is("multipart", "signed"));  // the author's signature, not a second one
    check_original_content(verify_signed(inner));
    CHECK(log_has(v, "encrypted="));
    CHECK_FALSE(log_has(v, "signed=detached"));
  }
  SECTION("skip_already_protected false: processed as any message") {
    const conf::Config config = f.config(R"({"mode": "sign"})", R"(, "outbound": {"default_profile": "p",
        "skip_already_protected": false})");
    const Message m = make_message({"alice@example.org"}, "user@example.com",
                                   "From: user@example.com\r\nContent-Type: application/x-pkcs7-mime; "
                                   "smime-type=enveloped-data\r\nContent-Transfer-Encoding: base64\r\n",
                                   "AAAA\r\n");
    const Verdict v = milter::process_outbound(config, *f.store, nullptr, m, profile_of(config), now());
    INFO(dump_log(v));
    CHECK(v.action == conf::Action::accept);
    CHECK(v.new_body.has_value());
  }
}

TEST_CASE("signing identity by sender domain, sender address or fingerprint, and a signing failure rejects",
          "[milter][outbound]") {
  Fixture f;
  struct Row {
    std::string what;
    std::string identity;
    std::string missing;  // missing_identity: "pass" (the default) or "reject"
    std::string sender;
    std::string extra;
    conf::Action want;
    std::string want_signer;  // "" for either gateway certificate; "-" not signed
  };
  const std::vector<Row> rows = {
      {"domain of the sender", "sender-domain", "pass", "anyone@example.com", "", conf::Action::accept, ""},
      {"no identity for the sender's domain: passed unsigned by default", "sender-domain", "pass",
       "alice@example.org", "", conf::Action::accept, "-"},
      {"no identity for the sender's domain, missing_identity reject", "sender-domain", "reject",
       "alice@example.org", "", conf::Action::reject, ""},
      {"the configured action for signing failures", "sender-domain", "reject", "alice@example.org",
       R"(, "failure_actions": {"signing": "tempfail"})", conf::Action::tempfail, ""},
      {"sender address named by the certificate", "sender-address", "pass", "gateway@example.com", "",
       conf::Action::accept, ""},
      {"sender address: a domain certificate is not enough", "sender-address", "pass", "anyone@example.com",
       "", conf::Action::reject, ""},
      {"null sender without From: no identity, passed", "sender-domain", "pass", "", "", conf::Action::accept,
       "-"},
      {"null sender without From, missing_identity reject", "sender-domain", "reject", "", "",
       conf::Action::reject, ""},
      {"fingerprint of the old gateway key", "FP:gw-old", "pass", "alice@example.org", "",
       conf::Action::accept, "gw-old"},
      {"fingerprint without a private key", "FP:alice", "pass", "alice@example.org", "", conf::Action::reject,
       ""},
  };
  for (const Row& row : rows) {
    INFO(row.what);
    std::string identity = row.identity;
    if (identity.rfind("FP:", 0) == 0) identity = f.fp(identity.substr(3));
    const conf::Config config = f.config(R"({"mode": "sign", "signing_identity": ")" + identity +
                                             R"(", "missing_identity": ")" + row.missing + R"("})",
                                         row.extra);
    const Message m = make_message({"alice@example.org"}, row.sender,
                                   "Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n");
    const Verdict v = milter::process_outbound(config, *f.store, nullptr, m, profile_of(config), now());
    INFO(dump_log(v));
    CHECK(v.action == row.want);
    if (row.want == conf::Action::reject) {
      CHECK(v.reply.code == "550");
      CHECK(v.reply.status == "5.7.1");
      CHECK(v.reply.text.rfind("cannot sign", 0) == 0);
    }
    if (row.want != conf::Action::accept) {
      CHECK(v.header_edits.empty());
      CHECK_FALSE(v.new_body.has_value());
      CHECK(log_has(v, "failure=signing"));
    } else if (row.want_signer == "-") {
      CHECK_FALSE(v.new_body.has_value());
      CHECK(log_has(v, "signing=skipped"));
    } else {
      smime::VerifyResult r;
      const std::string rebuilt = rebuild(m, v);
      verify_signed(rebuilt, &r);
      REQUIRE(r.signers.size() == 1);
      if (!row.want_signer.empty())
        CHECK(smime::fingerprint_sha256(r.signers[0].cert.get()) == f.fp(row.want_signer));
    }
  }
}

TEST_CASE("an expired gateway certificate is not used for signing", "[milter][outbound]") {
  Fixture f;
  // expired.pem names expired@example.org; imported with its key as a gateway identity.
  keystore::put_identity(*f.store, test::cert("expired").get(), test::key("expired").get(), {}, "", now());
  const conf::Config config = f.config(R"({"mode": "sign", "signing_identity": "sender-address"})");
  const Verdict v =
      milter::process_outbound(config, *f.store, nullptr, make_message({"a@b.test"}, "expired@example.org"),
                               profile_of(config), now());
  INFO(dump_log(v));
  CHECK(v.action == conf::Action::reject);
  // The reason is for the log; the reply stays generic and names the queue id.
  CHECK(log_has(v, "expired on"));
  CHECK(v.reply.text.find("expired") == std::string::npos);
  CHECK(v.reply.text.find(":") == std::string::npos);  // no fingerprint
  CHECK_THAT(v.reply.text, Catch::EndsWith("queue id TESTQ"));
}

namespace {

// A store whose every operation fails as an unavailable database would.
class BrokenStore final : public keystore::Store {
 public:
  [[noreturn]] static void fail() { throw keystore::Error(keystore::ErrorKind::store, "database is locked"); }
  std::int64_t generation() override { fail(); }
  void in_transaction(const std::function<void()>&) override { fail(); }
  std::optional<keystore::CertRecord> find(std::string_view) override { fail(); }
  std::vector<keystore::CertRecord> find_prefix(std::string_view) override { fail(); }
  std::vector<keystore::CertRecord> by_email(std::string_view) override { fail(); }
  std::vector<keystore::CertRecord> by_dns_name(std::string_view) override { fail(); }
  std::vector<keystore::CertRecord> list(const keystore::ListFilter&) override { fail(); }
  std::int64_t add(const keystore::NewCertificate&) override { fail(); }
  void set_origin(std::string_view, keystore::Origin) override { fail(); }
  bool remove(std::string_view) override { fail(); }
  void mark_used(std::string_view, keystore::Time) override { fail(); }
  bool set_capabilities(std::string_view, const smime::Capabilities&, keystore::Time) override { fail(); }
  std::int64_t harvested_bytes() override { fail(); }
  std::vector<std::string> evict_harvested(std::int64_t, std::string_view) override { fail(); }
  void put_key(std::string_view, const keystore::StoredKey&) override { fail(); }
  std::optional<keystore::StoredKey> key(std::string_view) override { fail(); }
  bool add_anchor(X509*, keystore::Time) override { fail(); }
  bool remove_anchor(std::string_view) override { fail(); }
  std::vector<keystore::AnchorRecord> anchors() override { fail(); }
  void log_harvest(const keystore::HarvestEvent&) override { fail(); }
  std::vector<keystore::HarvestEvent> harvests_since(keystore::Time) override { fail(); }
  int count_updates(std::string_view, keystore::Time) override { fail(); }
  void add_warning(const keystore::WarningRecord&) override { fail(); }
  std::vector<keystore::WarningRecord> warnings_since(keystore::Time) override { fail(); }
};

}  // namespace

TEST_CASE("failure classes map to the configured actions and nothing is half-rewritten",
          "[milter][outbound]") {
  Fixture f;
  SECTION("keystore unavailable: default tempfail") {
    const conf::Config config = f.config(R"({"mode": "sign"})");
    BrokenStore broken;
    const Verdict v = milter::process_outbound(config, broken, nullptr, make_message({"alice@example.org"}),
                                               profile_of(config), now());
    INFO(dump_log(v));
    CHECK(v.action == conf::Action::tempfail);
    CHECK(v.reply.code == "451");
    CHECK(v.reply.status == "4.7.0");
    CHECK(log_has(v, "failure=keystore"));
    CHECK(log_has(v, "database is locked"));  // the detail is logged, never replied
    CHECK(v.reply.text == "certificate store unavailable, queue id TESTQ");
    CHECK(v.header_edits.empty());
  }
  SECTION("keystore unavailable: configured reject") {
    const conf::Config config =
        f.config(R"({"mode": "encrypt"})", R"(, "failure_actions": {"keystore": "reject"})");
    BrokenStore broken;
    const Verdict v = milter::process_outbound(config, broken, nullptr, make_message({"alice@example.org"}),
                                               profile_of(config), now());
    CHECK(v.action == conf::Action::reject);
    CHECK(v.reply.code == "550");
  }
  // A multipart with a base64 transfer encoding is malformed MIME (RFC 2045 6.4).
  const std::string bad_headers =
      "From: user@example.com\r\nContent-Type: multipart/mixed; boundary=x\r\nContent-Transfer-Encoding: "
      "base64\r\n";
  const std::string bad_body = "--x\r\n\r\npart\r\n--x--\r\n";
  SECTION("bad input: by default refused, never sent unprotected, the reason logged") {
    const conf::Config config = f.config(R"({"mode": "sign"})");
    const Verdict v = milter::process_outbound(
        config, *f.store, nullptr,
        make_message({"alice@example.org"}, "user@example.com", bad_headers, bad_body), profile_of(config),
        now());
    INFO(dump_log(v));
    CHECK(v.action == conf::Action::reject);
    CHECK(v.reply.code == "550");
    CHECK(log_has(v, "base64"));
    CHECK(v.reply.text == "message cannot be processed for S/MIME, queue id TESTQ");
    CHECK(v.header_edits.empty());
    CHECK_FALSE(v.new_body.has_value());
    CHECK(log_has(v, "failure=bad-input action=reject"));
  }
  SECTION("bad input: configured accept leaves the message as it was") {
    const conf::Config config =
        f.config(R"({"mode": "sign"})", R"(, "failure_actions": {"bad_input": "accept"})");
    const Verdict v = milter::process_outbound(
        config, *f.store, nullptr,
        make_message({"alice@example.org"}, "user@example.com", bad_headers, bad_body), profile_of(config),
        now());
    CHECK(v.action == conf::Action::accept);
    CHECK(v.header_edits.empty());
    CHECK_FALSE(v.new_body.has_value());
    CHECK(log_has(v, "failure=bad-input action=accept"));
  }
  SECTION("internal: the spool directory is gone, default tempfail with the reason") {
    conf::Config config = f.config(R"({"mode": "sign"})", "", "1");
    config.spool.directory = f.spool + "/does-not-exist";
    const Verdict v = milter::process_outbound(config, *f.store, nullptr, make_message({"alice@example.org"}),
                                               profile_of(config), now());
    INFO(dump_log(v));
    CHECK(v.action == conf::Action::tempfail);
    CHECK(v.reply.code == "451");
    CHECK(v.reply.status == "4.7.0");
    CHECK_FALSE(v.reply.text.empty());
    CHECK(log_has(v, "failure=internal"));
    CHECK_FALSE(v.new_body.has_value());
  }
}

TEST_CASE("pipeline: direction, then the rule's profile, inbound mail unchanged, failures never throw",
          "[milter][pipeline]") {
  Fixture f;
  const std::string json = R"({"spool": {"directory": ")" + f.spool + R"("},
    "direction": {"internal_networks": ["10.0.0.0/8"]},
    "profiles": {"sign": {"mode": "sign"}, "enc": {"mode": "encrypt", "missing_certificate": "bounce"}},
    "outbound": {"rules": [{"name": "tagged", "match": {"header": [{"name": "Subject", "contains": "[encrypt]"}]},
                            "profile": "enc"}],
                 "default_profile": "sign"}})";
  const conf::Config config = conf::parse(json, "test");

  SECTION("inbound") {
    Message m = make_message({"alice@example.org"});
    m.envelope.client_address = "203.0.113.9";
    const Verdict v = milter::process_message(config, *f.store, nullptr, m, now());
    INFO(dump_log(v));
    CHECK(v.action == conf::Action::accept);
    CHECK_FALSE(v.new_body.has_value());  // no S/MIME: only the result headers are added
    for (const auto& e : v.header_edits) CHECK(e.kind != HeaderEdit::Kind::change);
    CHECK(log_has(v, "direction=inbound"));
    CHECK(log_has(v, "inbound result=none"));
  }
  SECTION("outbound, default profile") {
    Message m = make_message({"alice@example.org"});
    m.envelope.client_address = "10.0.0.5";
    const Verdict v = milter::process_message(config, *f.store, nullptr, m, now());
    INFO(dump_log(v));
    CHECK(v.action == conf::Action::accept);
    CHECK(log_has(v, "direction=outbound reason=internal-network"));
    CHECK(log_has(v, "rule=default profile=sign"));
    check_original_content(verify_signed(rebuild(m, v)));
  }
  SECTION("outbound, a rule's profile") {
    Message m = make_message({"nobody@example.org"}, "user@example.com",
                             "Subject: [encrypt] x\r\nContent-Type: text/plain; charset=utf-8\r\n");
    m.envelope.client_address = "10.0.0.5";
    const Verdict v = milter::process_message(config, *f.store, nullptr, m, now());
    INFO(dump_log(v));
    CHECK(log_has(v, "rule=tagged profile=enc"));
    CHECK(v.action == conf::Action::reject);
    CHECK(v.reply.text.find("nobody@example.org") != std::string::npos);
  }
  SECTION("a broken store becomes the keystore action, not an exception") {
    Message m = make_message({"alice@example.org"});
    m.envelope.client_address = "10.0.0.5";
    BrokenStore broken;
    Verdict v;
    REQUIRE_NOTHROW(v = milter::process_message(config, broken, nullptr, m, now()));
    CHECK(v.action == conf::Action::tempfail);
  }
}

TEST_CASE("8-bit text and binary attachments survive sign-encrypt byte for byte", "[milter][outbound]") {
  Fixture f;
  const conf::Config config = f.config(R"({"mode": "sign-encrypt"})");
  std::string binary;
  for (int i = 0; i < 4096; ++i) binary += static_cast<char>((i * 37) & 0xff);  // NUL, CR, LF, 8-bit
  const std::string body =
      "--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
      "Gr\xc3\xbc\xc3\x9f"
      "e\r\n--b\r\nContent-Type: application/octet-stream\r\n"
      "Content-Transfer-Encoding: binary\r\n\r\n" +
      binary + "\r\n--b--\r\n";
  const Message m =
      make_message({"alice@example.org"}, "user@example.com",
                   "From: user@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n", body);
  const Verdict v = milter::process_outbound(config, *f.store, nullptr, m, profile_of(config), now());
  INFO(dump_log(v));
  REQUIRE(v.action == conf::Action::accept);
  const std::string inner = verify_signed(decrypt_for(rebuild(m, v), "alice"));
  test::Parsed p = test::parse(inner);
  REQUIRE(p.root.children.size() == 2);
  smime::StringSink text, attachment;
  smime::mime::write_decoded_body(p.src, p.root.children[0], text);
  smime::mime::write_decoded_body(p.src, p.root.children[1], attachment);
  CHECK(text.str() ==
        "Gr\xc3\xbc\xc3\x9f"
        "e");
  CHECK(attachment.str() == binary);
  CHECK_FALSE(p.root.children[1].has_8bit);  // re-encoded for the signature
}

TEST_CASE("a body over the memory limit streams through spool files and decrypts intact",
          "[milter][outbound]") {
  Fixture f;
  const conf::Config config =
      f.config(R"({"mode": "sign-encrypt", "missing_certificate": "split"})", "", "64K");
  std::string body;
  for (int i = 0; body.size() < 2 * 1024 * 1024; ++i)
    body += "line " + std::to_string(i) + " of a long message\r\n";
  const Message m = make_message({"bob@example.org", "nobody@example.org"}, "user@example.com",
                                 "From: user@example.com\r\nContent-Type: text/plain\r\n", body);
  const Verdict v = milter::process_outbound(config, *f.store, nullptr, m, profile_of(config), now());
  INFO(dump_log(v));
  REQUIRE(v.action == conf::Action::accept);
  CHECK(log_has(v, "spooled=yes"));
  CHECK(decoded_body(verify_signed(decrypt_for(rebuild(m, v), "bob"))) == body);
  REQUIRE(v.split.has_value());
  CHECK(v.split->message.size() > body.size());
  CHECK(decoded_body(verify_signed(source_text(v.split->message))) == body);
}
