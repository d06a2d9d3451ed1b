// Signing, encryption and decryption round trips for every mode, cipher and key type, and the
// errors a wrong key or corrupt input gives.
#include <catch2/catch.hpp>

#include "test_support.hpp"

using namespace smime;
using test::parse;

namespace {

const std::string kEntity =
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 7bit\r\n"
    "\r\n"
    "Dear Bob,\r\n\r\nthe quarterly figures are attached.\r\n";

std::string signed_entity(const std::string& who, SignOptions opt = {}) {
  auto in = parse(kEntity);
  StringSink out;
  sign(in.src, in.root, test::identity(who), opt, out);
  return out.take();
}

std::string decrypt_text(const std::string& entity, const std::vector<DecryptionKey>& keys,
                         DecryptResult* r = nullptr) {
  auto p = parse(entity);
  StringSink out;
  DecryptResult res = decrypt(p.src, p.root, keys, out);
  if (r) *r = res;
  return out.take();
}

std::vector<DecryptionKey> keys_of(std::initializer_list<const char*> names) {
  std::vector<DecryptionKey> out;
  for (const char* n : names) out.push_back(test::decryption_key(n));
  return out;
}

std::string encrypted_to(std::vector<Recipient> to, std::optional<Cipher> c) {
  auto in = parse(kEntity);
  StringSink out;
  EncryptOptions opt;
  opt.cipher = c;
  encrypt(in.src, in.root, to, opt, out);
  return out.take();
}

std::vector<Recipient> recipients(std::initializer_list<const char*> names) {
  std::vector<Recipient> out;
  for (const char* n : names) out.push_back(test::recipient(n));
  return out;
}

}  // namespace

TEST_CASE("signatures of every mode, key type and padding verify and return the signed entity",
          "[cms][sign]") {
  struct Case {
    const char* signer;
    SignMode mode;
    RsaSignaturePadding padding;
    Digest digest;
    const char* email;
  };
  const Case cases[] = {
      {"alice", SignMode::detached, RsaSignaturePadding::pkcs1v15, Digest::sha256, "alice@example.org"},
      {"alice", SignMode::opaque, RsaSignaturePadding::pkcs1v15, Digest::sha256, "alice@example.org"},
      {"alice", SignMode::detached, RsaSignaturePadding::pss, Digest::sha256, "alice@example.org"},
      {"alice", SignMode::detached, RsaSignaturePadding::pkcs1v15, Digest::sha512, "alice@example.org"},
      {"carol", SignMode::detached, RsaSignaturePadding::pkcs1v15, Digest::sha256, "carol@example.org"},
      {"carol", SignMode::opaque, RsaSignaturePadding::pkcs1v15, Digest::sha384, "carol@example.org"},
  };
  for (const auto& c : cases) {
    INFO("signer " << c.signer << " opaque " << (c.mode == SignMode::opaque) << " digest "
                   << to_string(c.digest));
    SignOptions opt;
    opt.mode = c.mode;
    opt.rsa_padding = c.padding;
    opt.digest = c.digest;
    std::string signed_text = signed_entity(c.signer, opt);
    if (c.mode == SignMode::detached) {
      CHECK_THAT(
          signed_text,
          Catch::StartsWith("Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\""));
      CHECK_THAT(signed_text, Catch::Contains(std::string("micalg=") + std::string(micalg_name(c.digest))));
    } else {
      CHECK_THAT(signed_text,
                 Catch::StartsWith("Content-Type: application/pkcs7-mime; smime-type=signed-data"));
    }
    auto p = parse(signed_text);
    StringSink content;
    VerifyResult r = verify(p.src, p.root, test::trust_root(), &content);
    CHECK(r.status == VerifyStatus::valid);
    CHECK(r.detached == (c.mode == SignMode::detached));
    REQUIRE(r.signers.size() == 1);
    CHECK(r.signers[0].emails == std::vector<std::string>{c.email});
    CHECK(r.signers[0].digest == to_string(c.digest));
    CHECK(content.str() == test::canonical(parse(kEntity)));
  }
}

TEST_CASE("a signature carries the chain, signingTime and our SMIMECapabilities", "[cms][sign]") {
  SignOptions opt;
  opt.capabilities = {Cipher::aes256_gcm, Cipher::aes256_cbc};
  std::time_t before = std::time(nullptr);
  auto p = parse(signed_entity("alice", opt));
  VerifyResult r = verify(p.src, p.root, test::trust_root());
  REQUIRE(r.ok());
  CHECK(r.certificates.size() == 2);  // alice and the intermediate: enough to reach the root
  const SignerResult& s = r.signers.at(0);
  REQUIRE(s.signing_time);
  CHECK(*s.signing_time >= before - 1);
  CHECK(*s.signing_time <= std::time(nullptr) + 1);
  CHECK(s.capabilities.present);
  CHECK(s.capabilities.oids ==
        std::vector<std::string>{oid_of(Cipher::aes256_gcm), oid_of(Cipher::aes256_cbc)});
  CHECK(s.capabilities.best_aead() == Cipher::aes256_gcm);
}

TEST_CASE("without the chain, verification needs the intermediate from elsewhere", "[cms][sign]") {
  SignOptions opt;
  opt.include_chain = false;
  auto p = parse(signed_entity("alice", opt));
  VerifyResult bare = verify(p.src, p.root, test::trust_root());
  CHECK(bare.status == VerifyStatus::untrusted);
  CHECK_THAT(bare.reason, Catch::Contains("alice@example.org") && Catch::Contains("issuer"));
  VerifyOptions with_inter = test::trust_root();
  with_inter.intermediates.push_back(test::cert("inter"));
  CHECK(verify(p.src, p.root, with_inter).ok());
}

TEST_CASE("signing with a key that is not the certificate's is refused", "[cms][sign]") {
  SigningIdentity id = test::identity("alice");
  id.key = test::key("bob");
  auto in = parse(kEntity);
  StringSink out;
  try {
    sign(in.src, in.root, id, {}, out);
    FAIL("signed with a foreign key");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::usage);
    CHECK_THAT(e.what(), Catch::Contains("does not belong"));
  }
}

TEST_CASE("encryption with every cipher to RSA, RSA-OAEP and EC recipients decrypts to the entity",
          "[cms][encrypt]") {
  struct Case {
    Cipher cipher;
    const char* to;
    RsaKeyTransport padding;
    const char* cipher_name;
  };
  const Case cases[] = {
      {Cipher::aes256_cbc, "alice", RsaKeyTransport::pkcs1v15, "aes256-cbc"},
      {Cipher::aes128_cbc, "alice", RsaKeyTransport::pkcs1v15, "aes128-cbc"},
      {Cipher::aes128_gcm, "alice", RsaKeyTransport::pkcs1v15, "aes128-gcm"},
      {Cipher::aes256_gcm, "alice", RsaKeyTransport::pkcs1v15, "aes256-gcm"},
      {Cipher::aes256_cbc, "alice", RsaKeyTransport::oaep, "aes256-cbc"},
      {Cipher::aes256_cbc, "carol", RsaKeyTransport::pkcs1v15, "aes256-cbc"},
      {Cipher::aes256_gcm, "carol", RsaKeyTransport::pkcs1v15, "aes256-gcm"},
  };
  const std::string expected = test::canonical(parse(kEntity));
  for (const auto& c : cases) {
    INFO("cipher " << to_string(c.cipher) << " to " << c.to << " oaep "
                   << (c.padding == RsaKeyTransport::oaep));
    std::vector<Recipient> to = recipients({c.to});
    to[0].rsa_padding = c.padding;
    std::string enc = encrypted_to(std::move(to), c.cipher);
    CHECK_THAT(enc, Catch::Contains(is_aead(c.cipher) ? "smime-type=authEnveloped-data"
                                                      : "smime-type=enveloped-data"));
    CHECK(enc.find("quarterly") == std::string::npos);
    DecryptResult r;
    CHECK(decrypt_text(enc, keys_of({c.to}), &r) == expected);
    CHECK(r.cipher == c.cipher_name);
    CHECK(r.authenticated == is_aead(c.cipher));
    CHECK(r.key_index == 0);
  }
}

TEST_CASE("one message to many recipients opens for each of them", "[cms][encrypt]") {
  std::string enc = encrypted_to(recipients({"alice", "bob", "carol", "domain"}), Cipher::aes256_cbc);
  const std::string expected = test::canonical(parse(kEntity));
  for (const char* who : {"alice", "bob", "carol", "domain"}) {
    INFO(who);
    CHECK(decrypt_text(enc, keys_of({who})) == expected);
  }
}

TEST_CASE("auto picks GCM only when every recipient announced it", "[cms][encrypt]") {
  std::vector<Recipient> to = recipients({"alice", "bob"});
  CHECK(choose_cipher(to) == Cipher::aes256_cbc);  // nothing known: CBC, which every client reads
  to[0].capabilities = Capabilities::of({Cipher::aes128_gcm, Cipher::aes256_gcm});
  CHECK(choose_cipher(to) == Cipher::aes256_cbc);  // bob unknown
  to[1].capabilities = Capabilities::of({Cipher::aes128_gcm, Cipher::aes256_cbc});
  CHECK(choose_cipher(to) == Cipher::aes128_gcm);  // the GCM both share
  to[1].capabilities = Capabilities::of({Cipher::aes256_gcm});
  CHECK(choose_cipher(to) == Cipher::aes256_gcm);
  CHECK_THAT(encrypted_to(std::move(to), std::nullopt), Catch::Contains("authEnveloped-data"));
}

TEST_CASE("key rollover: a message to the old gateway key opens with the old and new keys loaded",
          "[cms][decrypt]") {
  const std::string expected = test::canonical(parse(kEntity));
  DecryptResult r;
  CHECK(decrypt_text(encrypted_to(recipients({"gw-old"}), Cipher::aes256_cbc), keys_of({"gw-new", "gw-old"}),
                     &r) == expected);
  CHECK(r.key_index == 1);
  CHECK(decrypt_text(encrypted_to(recipients({"gw-new"}), Cipher::aes256_cbc), keys_of({"gw-new", "gw-old"}),
                     &r) == expected);
  CHECK(r.key_index == 0);
}

TEST_CASE("a message for someone else is a wrong-key error, not garbage", "[cms][decrypt]") {
  std::string enc = encrypted_to(recipients({"alice"}), Cipher::aes256_cbc);
  try {
    decrypt_text(enc, keys_of({"bob", "carol"}));
    FAIL("decrypted with the wrong keys");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::wrong_key);
    CHECK_THAT(e.what(), Catch::Contains("not encrypted to any of our 2"));
  }
}

TEST_CASE("a decryption key that does not belong to its certificate is a usage error", "[cms][decrypt]") {
  std::string enc = encrypted_to(recipients({"alice"}), Cipher::aes256_cbc);
  std::vector<DecryptionKey> mismatched;
  mismatched.push_back({test::cert("alice"), test::key("bob")});
  try {
    decrypt_text(enc, mismatched);
    FAIL("decrypted with a mismatched key");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::usage);
    CHECK_THAT(e.what(), Catch::Contains("does not belong"));
  }
}

TEST_CASE("corrupt, truncated or tampered encrypted content is bad input with OpenSSL's reason",
          "[cms][decrypt]") {
  SECTION("not base64 of CMS") {
    std::string junk =
        "Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\naGVsbG8gd29ybGQ=\r\n";
    try {
      decrypt_text(junk, keys_of({"alice"}));
      FAIL("decrypted junk");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::bad_input);
      CHECK_THAT(e.what(), Catch::Contains("not a CMS structure") && Catch::Contains("asn1"));
    }
  }
  SECTION("truncated") {
    std::string enc = encrypted_to(recipients({"alice"}), Cipher::aes256_cbc);
    std::string cut = enc.substr(0, enc.size() / 2) + "\r\n";
    CHECK_THROWS_MATCHES(
        decrypt_text(cut, keys_of({"alice"})), Error,
        Catch::Predicate<Error>([](const Error& e) { return e.kind() == ErrorKind::bad_input; }));
  }
  SECTION("a GCM ciphertext with one bit flipped fails its tag") {
    // Build the DER, flip a bit inside the encrypted content (near the end, before the tag), re-wrap.
    std::string enc = encrypted_to(recipients({"alice"}), Cipher::aes256_gcm);
    auto p = parse(enc);
    std::string der = pkcs7_mime_der(p.src, p.root);
    std::size_t pos = der.find("quarterly");  // never in clear
    CHECK(pos == std::string::npos);
    der[der.size() - 40] = static_cast<char>(der[der.size() - 40] ^ 0x01);
    StringSink b64;
    Base64Sink b(b64);
    b.write(der);
    b.finish();
    std::string tampered =
        "Content-Type: application/pkcs7-mime; smime-type=authEnveloped-data\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" +
        b64.str();
    CHECK_THROWS_AS(decrypt_text(tampered, keys_of({"alice"})), Error);
  }
}

TEST_CASE("sign+encrypt opens to a signed entity that verifies", "[cms][compose]") {
  auto in = parse(kEntity);
  StringSink out;
  Cipher c = sign_encrypt(in.src, in.root, test::identity("alice"), {}, recipients({"bob"}), {}, out);
  CHECK(c == Cipher::aes256_cbc);
  std::string inner = decrypt_text(out.str(), keys_of({"bob"}));
  CHECK_THAT(inner, Catch::StartsWith("Content-Type: multipart/signed"));
  auto p = parse(inner);
  StringSink content;
  VerifyResult r = verify(p.src, p.root, test::trust_root(), &content);
  CHECK(r.ok());
  CHECK(content.str() == test::canonical(in));
}

TEST_CASE("triple wrap: outer signature, then encryption, then the inner signature", "[cms][compose]") {
  auto in = parse(kEntity);
  StringSink out;
  SignOptions outer;
  outer.mode = SignMode::opaque;
  triple_wrap(in.src, in.root, test::identity("alice"), {}, recipients({"bob"}), {}, outer, out);
  auto outer_p = parse(out.take());
  StringSink encrypted;
  VerifyResult o = verify(outer_p.src, outer_p.root, test::trust_root(), &encrypted);
  REQUIRE(o.ok());
  CHECK_THAT(encrypted.str(),
             Catch::StartsWith("Content-Type: application/pkcs7-mime; smime-type=enveloped-data"));
  auto inner_p = parse(decrypt_text(encrypted.str(), keys_of({"bob"})));
  StringSink content;
  CHECK(verify(inner_p.src, inner_p.root, test::trust_root(), &content).ok());
  CHECK(content.str() == test::canonical(in));
}

TEST_CASE("a large body streams through sign+encrypt and decrypts intact", "[cms][stream]") {
  std::string body;
  for (int i = 0; body.size() < 3 * 1024 * 1024; ++i)
    body += "line " + std::to_string(i) + " of a large message\r\n";
  auto in = parse("Content-Type: text/plain\r\n\r\n" + body);
  StringSink out;
  sign_encrypt(in.src, in.root, test::identity("alice"), {}, recipients({"bob"}), {}, out);
  auto p = parse(decrypt_text(out.str(), keys_of({"bob"})));
  StringSink content;
  CHECK(verify(p.src, p.root, test::trust_root(), &content).ok());
  CHECK(content.str() == "Content-Type: text/plain\r\n\r\n" + body);
}
