// Verification verdicts: tampering, untrusted signers, structural abuse, and an 8-bit body that
// survives transport after signing.
#include <openssl/pkcs7.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>

#include "test_support.hpp"

using namespace smime;
using test::base64;
using test::parse;
using test::replace_all;

namespace {

const std::string kEntity =
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "Transfer 100 EUR to account 12345.\r\n";

std::string sign_as(const std::string& who, const std::string& entity = kEntity, SignOptions opt = {}) {
  auto in = parse(entity);
  StringSink out;
  sign(in.src, in.root, test::identity(who), opt, out);
  return out.take();
}

VerifyResult check(const std::string& text, const VerifyOptions& opt = test::trust_root()) {
  auto p = parse(text);
  return verify(p.src, p.root, opt);
}

std::string boundary_of(const std::string& signed_text) {
  auto p = parse(signed_text);
  return p.root.boundary;
}

// The base64 of a detached signature part (between its blank line and the close delimiter).
std::string signature_base64(const std::string& signed_text) {
  std::string b = boundary_of(signed_text);
  std::size_t sig = signed_text.find("smime.p7s");
  std::size_t start = signed_text.find("\r\n\r\n", sig) + 4;
  std::size_t end = signed_text.find("\r\n--" + b + "--", start);
  return signed_text.substr(start, end - start);
}

std::string multipart_signed(const std::string& content, const std::string& sig_b64,
                             const std::string& micalg = "sha-256", const std::string& extra_part = "") {
  return "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=" + micalg +
         "; boundary=\"b1\"\r\n\r\n--b1\r\n" + content + "\r\n--b1\r\n" + extra_part +
         "Content-Type: application/pkcs7-signature\r\nContent-Transfer-Encoding: base64\r\n\r\n" + sig_b64 +
         "\r\n--b1--\r\n";
}

}  // namespace

TEST_CASE("a changed byte in the signed content is a bad signature", "[verify]") {
  std::string s = sign_as("alice");
  REQUIRE(check(s).ok());
  VerifyResult r = check(replace_all(s, "100 EUR", "900 EUR"));
  CHECK(r.status == VerifyStatus::bad_signature);
  CHECK_THAT(r.reason, Catch::Contains("does not match the content"));
}

TEST_CASE("a changed signature is a bad signature or refused as malformed, never valid", "[verify]") {
  std::string s = sign_as("alice");
  std::string sig = signature_base64(s);
  // Flip a character late in the signature (inside the RSA signature value).
  std::string bad = sig;
  std::size_t pos = bad.size() - 30;
  bad[pos] = bad[pos] == 'A' ? 'B' : 'A';
  VerifyResult r = check(replace_all(s, sig, bad));
  CHECK(r.status == VerifyStatus::bad_signature);
}

TEST_CASE("a changed opaque signed message is a bad signature", "[verify]") {
  SignOptions opt;
  opt.mode = SignMode::opaque;
  std::string s = sign_as("alice", kEntity, opt);
  auto p = parse(s);
  std::string der = pkcs7_mime_der(p.src, p.root);
  std::string tampered_der = replace_all(der, "100 EUR", "900 EUR");
  REQUIRE(tampered_der != der);
  std::string head = s.substr(0, s.find("\r\n\r\n") + 4);
  VerifyResult r = check(head + base64(tampered_der));
  CHECK(r.status == VerifyStatus::bad_signature);
}

TEST_CASE("signers whose chain fails are untrusted, with the reason", "[verify]") {
  struct Case {
    const char* signer;
    const char* reason;
  };
  const Case cases[] = {
      {"expired", "certificate has expired"},
      {"selfsigned", "self-signed certificate"},
  };
  for (const auto& c : cases) {
    INFO(c.signer);
    SigningIdentity id = test::identity(c.signer);
    auto in = parse(kEntity);
    StringSink out;
    sign(in.src, in.root, id, {}, out);
    VerifyResult r = check(out.str());
    CHECK(r.status == VerifyStatus::untrusted);
    CHECK_THAT(r.reason, Catch::Contains(c.reason));
    REQUIRE(r.signers.size() == 1);
    CHECK_FALSE(r.signers[0].chain_ok);
  }
}

TEST_CASE("a signature is untrusted under other anchors", "[verify]") {
  VerifyOptions other;
  other.anchors.push_back(test::cert("selfsigned"));
  VerifyResult r = check(sign_as("alice"), other);
  CHECK(r.status == VerifyStatus::untrusted);
  CHECK_THAT(r.reason, Catch::Contains("unable to get"));
}

TEST_CASE("validation time in the past: a signature made now does not verify before the certificate existed",
          "[verify]") {
  VerifyOptions past = test::trust_root();
  past.at_time = std::time(nullptr) - 10L * 365 * 24 * 3600;
  VerifyResult r = check(sign_as("alice"), past);
  CHECK(r.status == VerifyStatus::untrusted);
  CHECK_THAT(r.reason, Catch::Contains("not yet valid"));
}

TEST_CASE("structural abuse of multipart/signed is refused with a reason", "[verify]") {
  std::string s = sign_as("alice");
  std::string sig = signature_base64(s);
  const std::string& content = kEntity;  // the line end before the delimiter is the delimiter's
  REQUIRE(check(multipart_signed(content, sig)).ok());  // the hand-built form is right

  SECTION("wrong micalg") {
    VerifyResult r = check(multipart_signed(content, sig, "sha-1"));
    CHECK(r.status == VerifyStatus::malformed);
    CHECK_THAT(r.reason, Catch::Contains("micalg"));
  }
  SECTION("micalg in another spelling is accepted") {
    CHECK(check(multipart_signed(content, sig, "SHA256")).ok());
  }
  SECTION("a third part") {
    VerifyResult r = check(
        multipart_signed(content, sig, "sha-256", "Content-Type: text/plain\r\n\r\nhidden\r\n--b1\r\n"));
    CHECK(r.status == VerifyStatus::malformed);
    CHECK_THAT(r.reason, Catch::Contains("exactly two parts"));
  }
  SECTION("content hidden inside the signature part") {
    SignOptions opaque;
    opaque.mode = SignMode::opaque;
    std::string o = sign_as("alice", "Content-Type: text/plain\r\n\r\nTransfer 9999 EUR.\r\n", opaque);
    auto p = parse(o);
    std::string der = pkcs7_mime_der(p.src, p.root);
    VerifyResult r = check(multipart_signed(content, base64(der)));
    CHECK(r.status == VerifyStatus::malformed);
    CHECK_THAT(r.reason, Catch::Contains("carries content"));
  }
  SECTION("a signature part that is not CMS") {
    VerifyResult r = check(multipart_signed(content, base64("not a signature")));
    CHECK(r.status == VerifyStatus::malformed);
    CHECK_THAT(r.reason, Catch::Contains("not a CMS structure"));
  }
  SECTION("another protocol") {
    VerifyResult r = check(replace_all(multipart_signed(content, sig), "application/pkcs7-signature\"",
                                       "application/pgp-signature\""));
    CHECK(r.status == VerifyStatus::malformed);
    CHECK_THAT(r.reason, Catch::Contains("not S/MIME"));
  }
}

TEST_CASE("a SignedData without signers is reported as such", "[verify]") {
  // A "certs-only" SignedData (as `openssl crl2pkcs7 -nocrl` makes): certificates, detached, no SignerInfo.
  using Pkcs7Ptr = std::unique_ptr<PKCS7, OsslDeleter<PKCS7_free>>;
  Pkcs7Ptr p7 = take<Pkcs7Ptr>(PKCS7_new(), "PKCS7_new");
  REQUIRE(PKCS7_set_type(p7.get(), NID_pkcs7_signed) == 1);
  REQUIRE(PKCS7_content_new(p7.get(), NID_pkcs7_data) == 1);
  REQUIRE(PKCS7_add_certificate(p7.get(), test::cert("alice").get()) == 1);
  REQUIRE(PKCS7_set_detached(p7.get(), 1) == 1);
  unsigned char* der = nullptr;
  int n = i2d_PKCS7(p7.get(), &der);
  REQUIRE(n > 0);
  OsslStringPtr owned(reinterpret_cast<char*>(der));
  std::string sig(owned.get(), static_cast<std::size_t>(n));
  VerifyResult r = check(multipart_signed("Content-Type: text/plain\r\n\r\nx", base64(sig)));
  CHECK(r.status == VerifyStatus::no_signer);
}

TEST_CASE("not a signed entity at all", "[verify]") {
  VerifyResult r = check(kEntity);
  CHECK(r.status == VerifyStatus::malformed);
  CHECK_THAT(r.reason, Catch::Contains("not a signed entity"));
}

TEST_CASE("an 8-bit body is made 7-bit before signing, so transport changes do not break it",
          "[verify][canonical]") {
  const std::string eight_bit =
      "Content-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: 8bit\r\n"
      "\r\n"
      "Gr\xC3\xBC\xC3\x9F"
      "e aus K\xC3\xB6ln \xE2\x82\xAC 100\r\n";
  std::string s = sign_as("alice", eight_bit);
  for (unsigned char ch : s) REQUIRE(ch < 0x80);  // nothing left for a 7-bit hop to re-encode
  CHECK_THAT(s, Catch::Contains("Content-Transfer-Encoding: quoted-printable"));
  CHECK(check(s).ok());
  // Local delivery stores LF line ends; verification canonicalises them back.
  CHECK(check(replace_all(s, "\r\n", "\n")).ok());
  // A relay downgrading 8bit to 7bit (here: our own canonical form, applied to the whole signed
  // message) finds nothing to change, so the signature survives it.
  auto whole = parse(s);
  std::string relayed = test::canonical(whole);
  CHECK(relayed == s);
  CHECK(check(relayed).ok());
  // The decoded content is the original text.
  auto p = parse(s);
  StringSink content;
  REQUIRE(verify(p.src, p.root, test::trust_root(), &content).ok());
  auto inner = parse(content.take());
  StringSink text;
  mime::write_decoded_body(inner.src, inner.root, text);
  CHECK(text.str() ==
        "Gr\xC3\xBC\xC3\x9F"
        "e aus K\xC3\xB6ln \xE2\x82\xAC 100\r\n");
}

TEST_CASE("a signed message read from a file verifies like one in memory", "[verify][stream]") {
  std::string s = sign_as("alice");
  std::string path = "/tmp/smime-verify-" + std::to_string(::getpid());
  {
    FileSink f(path);
    f.write(s);
    f.finish();
  }
  Source src = Source::from_file(path);
  mime::Entity e = mime::parse(src, src.all());
  CHECK(verify(src, e, test::trust_root()).ok());
  std::remove(path.c_str());
}
