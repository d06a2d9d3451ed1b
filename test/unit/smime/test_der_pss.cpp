// Opaque RSA-PSS signatures (held in memory: OpenSSL 3.0 cannot stream them) and DER output with
// definite lengths for opaque signatures, encryption, sign+encrypt and triple wrapping. Each output
// is also read back by the openssl command line.
#include <catch2/catch.hpp>
#include <functional>

#include "external_support.hpp"
#include "test_support.hpp"

using namespace smime;
using test::parse;
using test::TempDir;

namespace {

const std::string kEntity =
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 7bit\r\n"
    "\r\n"
    "Dear Bob,\r\n\r\nthe quarterly figures are attached.\r\n";

std::string signed_entity(const SignOptions& opt, const std::string& entity = kEntity) {
  auto in = parse(entity);
  StringSink out;
  sign(in.src, in.root, test::identity("alice"), opt, out);
  return out.take();
}

SignOptions opaque(bool der, RsaSignaturePadding padding = RsaSignaturePadding::pkcs1v15) {
  SignOptions o;
  o.mode = SignMode::opaque;
  o.der = der;
  o.rsa_padding = padding;
  return o;
}

// The DER is what OpenSSL encodes again from it: definite lengths, and DER's other rules too.
bool reencodes_identically(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  if (!cms) return false;
  unsigned char* out = nullptr;
  int n = i2d_CMS_ContentInfo(cms.get(), &out);
  OsslStringPtr owned(reinterpret_cast<char*>(out));
  return n > 0 && std::string(owned.get(), static_cast<std::size_t>(n)) == der;
}

std::string signature_algorithm_of(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  REQUIRE(cms);
  CMS_SignerInfo* si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms.get()), 0);
  X509_ALGOR* alg = nullptr;
  CMS_SignerInfo_get0_algs(si, nullptr, nullptr, nullptr, &alg);
  const ASN1_OBJECT* obj = nullptr;
  X509_ALGOR_get0(&obj, nullptr, nullptr, alg);
  return OBJ_nid2ln(OBJ_obj2nid(obj));
}

std::vector<Recipient> to_bob() {
  std::vector<Recipient> r;
  r.push_back(test::recipient("bob"));
  return r;
}
std::vector<DecryptionKey> bobs_key() {
  std::vector<DecryptionKey> k;
  k.push_back(test::decryption_key("bob"));
  return k;
}

}  // namespace

TEST_CASE("an opaque RSA-PSS signature is made, verifies, and openssl cms verifies it", "[sign][pss]") {
  for (bool der : {false, true}) {
    INFO("der " << der);
    const std::string s = signed_entity(opaque(der, RsaSignaturePadding::pss));
    CHECK_THAT(s, Catch::StartsWith("Content-Type: application/pkcs7-mime; smime-type=signed-data"));
    const std::string cms = test::p7m_der(s);
    CHECK(signature_algorithm_of(cms) == "rsassaPss");
    // Not streamable, so always DER.
    CHECK_FALSE(test::has_indefinite_length(cms));
    auto p = parse(s);
    StringSink content;
    VerifyResult r = verify(p.src, p.root, test::trust_root(), &content);
    INFO(r.reason);
    CHECK(r.ok());
    CHECK(r.signers.at(0).signature_algorithm == "rsassaPss");
    CHECK(content.str() == test::canonical(parse(kEntity)));

    TempDir d;
    d.write("sig.der", cms);
    test::openssl(d, {"cms", "-verify", "-inform", "DER", "-in", "sig.der", "-CAfile",
                      test::pki_file("root.pem"), "-purpose", "smimesign", "-out", "content"});
    CHECK(d.read("content") == test::canonical(parse(kEntity)));
  }
}

TEST_CASE("content held in memory is bounded: beyond max_in_memory signing is refused", "[sign][pss][der]") {
  std::string big = "Content-Type: text/plain\r\n\r\n" + std::string(64 * 1024, 'x') + "\r\n";
  for (auto padding : {RsaSignaturePadding::pss, RsaSignaturePadding::pkcs1v15}) {
    SignOptions o = opaque(padding == RsaSignaturePadding::pkcs1v15, padding);
    o.max_in_memory = 4096;
    try {
      signed_entity(o, big);
      FAIL("signed more than max_in_memory in memory");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::bad_input);
      CHECK_THAT(e.what(), Catch::Contains("held in memory"));
    }
    o.max_in_memory = 128 * 1024;
    auto p = parse(signed_entity(o, big));
    CHECK(verify(p.src, p.root, test::trust_root()).ok());
  }
  EncryptOptions e;
  e.der = true;
  e.max_in_memory = 4096;
  auto in = parse(big);
  StringSink out;
  CHECK_THROWS_AS(encrypt(in.src, in.root, to_bob(), e, out), Error);
}

TEST_CASE("DER with definite lengths on request; streamed BER by default", "[der]") {
  struct Case {
    const char* name;
    std::function<std::string(bool der)> make;  // the application/pkcs7-mime entity
    std::function<void(const TempDir&, const std::string& der_file)> read_back;  // by openssl
  };
  auto encrypt_with = [](Cipher c) {
    return [c](bool der) {
      auto in = parse(kEntity);
      EncryptOptions o;
      o.cipher = c;
      o.der = der;
      StringSink out;
      encrypt(in.src, in.root, to_bob(), o, out);
      return out.take();
    };
  };
  auto openssl_decrypts = [](const TempDir& d, const std::string& file) {
    test::openssl(d, {"cms", "-decrypt", "-inform", "DER", "-in", file, "-recip", test::pki_file("bob.pem"),
                      "-inkey", test::pki_file("bob.key"), "-out", "plain"});
    CHECK(d.read("plain") == test::canonical(parse(kEntity)));
  };
  auto openssl_verifies = [](const TempDir& d, const std::string& file) {
    test::openssl(d, {"cms", "-verify", "-inform", "DER", "-in", file, "-CAfile", test::pki_file("root.pem"),
                      "-out", "content"});
    CHECK(d.read("content") == test::canonical(parse(kEntity)));
  };
  const Case cases[] = {
      {"opaque signature", [](bool der) { return signed_entity(opaque(der)); }, openssl_verifies},
      {"AES-256-CBC EnvelopedData", encrypt_with(Cipher::aes256_cbc), openssl_decrypts},
      {"AES-256-GCM AuthEnvelopedData", encrypt_with(Cipher::aes256_gcm), openssl_decrypts},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const std::string streamed = test::p7m_der(c.make(false));
    CHECK(test::has_indefinite_length(streamed));  // the default stays streamed BER
    const std::string der = test::p7m_der(c.make(true));
    CHECK_FALSE(test::has_indefinite_length(der));
    CHECK(reencodes_identically(der));
    TempDir d;
    d.write("out.der", der);
    c.read_back(d, "out.der");
  }
}

TEST_CASE("sign+encrypt and triple wrap in DER: every CMS layer has definite lengths", "[der][compose]") {
  auto in = parse(kEntity);
  SignOptions inner = opaque(true);
  EncryptOptions enc;
  enc.der = true;
  enc.cipher = Cipher::aes256_gcm;
  for (bool triple : {false, true}) {
    INFO("triple " << triple);
    StringSink out;
    if (triple)
      triple_wrap(in.src, in.root, test::identity("alice"), inner, to_bob(), enc, opaque(true), out);
    else
      sign_encrypt(in.src, in.root, test::identity("alice"), inner, to_bob(), enc, out);
    std::string layer = out.take();
    if (triple) {  // the outer opaque signature
      const std::string der = test::p7m_der(layer);
      CHECK_FALSE(test::has_indefinite_length(der));
      auto p = parse(layer);
      StringSink content;
      REQUIRE(verify(p.src, p.root, test::trust_root(), &content).ok());
      layer = content.take();
    }
    const std::string env = test::p7m_der(layer);
    CHECK_FALSE(test::has_indefinite_length(env));
    auto p = parse(layer);
    StringSink plain;
    decrypt(p.src, p.root, bobs_key(), plain);
    const std::string sig = test::p7m_der(plain.str());
    CHECK_FALSE(test::has_indefinite_length(sig));
    auto q = parse(plain.take());
    StringSink content;
    REQUIRE(verify(q.src, q.root, test::trust_root(), &content).ok());
    CHECK(content.str() == test::canonical(parse(kEntity)));
  }
}

TEST_CASE("has_indefinite_length finds indefinite lengths at any depth, and only there", "[der]") {
  struct Case {
    std::string ber;
    bool want;
  };
  const Case cases[] = {
      {std::string("\x30\x03\x02\x01\x05", 5), false},
      {std::string("\x30\x80\x02\x01\x05\x00\x00", 7), true},
      {std::string("\x30\x07\x30\x80\x02\x01\x05\x00\x00", 9), true},
      {std::string("\x04\x02\x80\x80", 4), false},  // 0x80 inside a primitive value is content
      {std::string("\x30\x81\x03\x02\x01\x05", 6), false},
  };
  for (const auto& c : cases) CHECK(test::has_indefinite_length(c.ber) == c.want);
}
