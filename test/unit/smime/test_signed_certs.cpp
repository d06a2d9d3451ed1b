// The certificates a SignedData carries, as verify reports and uses them: decoded once per process and
// shared between messages, whatever the encoding (definite-length DER, indefinite-length BER from
// `openssl cms -stream`, no certificates at all), and a certificate that does not decode makes the
// signature malformed as OpenSSL's own decoding of the whole structure would.
#include <openssl/cms.h>
#include <openssl/x509.h>

#include <catch2/catch.hpp>

#include "external_support.hpp"
#include "test_support.hpp"

using namespace smime;
using test::base64;
using test::parse;
using test::TempDir;

namespace {

const std::string kContent =
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "The signed text.\r\n";

std::string multipart_signed(const std::string& der) {
  return "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; "
         "boundary=\"b1\"\r\n\r\n--b1\r\n" +
         kContent +
         "\r\n--b1\r\nContent-Type: application/pkcs7-signature\r\nContent-Transfer-Encoding: "
         "base64\r\n\r\n" +
         base64(der) + "\r\n--b1--\r\n";
}

// An opaque signature: the content is inside the structure.
std::string pkcs7_mime(const std::string& der) {
  return "Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\n"
         "Content-Transfer-Encoding: base64\r\n\r\n" +
         base64(der);
}

VerifyResult verify_text(const std::string& text, const VerifyOptions& opt = test::trust_root()) {
  auto p = parse(text);
  return verify(p.src, p.root, opt);
}

std::string der_of(X509* cert) {
  unsigned char* out = nullptr;
  const int n = i2d_X509(cert, &out);
  REQUIRE(n > 0);
  std::string der(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
  OPENSSL_free(out);
  return der;
}

// The certificates OpenSSL finds in the structure when it decodes all of it.
std::vector<std::string> carried_by_openssl(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  REQUIRE(cms);
  X509StackPtr certs(CMS_get1_certs(cms.get()));
  std::vector<std::string> out;
  for (int i = 0; certs && i < sk_X509_num(certs.get()); ++i)
    out.push_back(der_of(sk_X509_value(certs.get(), i)));
  return out;
}

std::vector<std::string> reported(const VerifyResult& r) {
  std::vector<std::string> out;
  for (const auto& c : r.certificates) out.push_back(der_of(c.get()));
  return out;
}

// `openssl cms -sign` of kContent by alice, the intermediate added with -certfile (or no certificate
// at all); `stream` gives indefinite-length BER with the content inside (opaque), else the DER of a
// detached signature.
std::string openssl_signature(const TempDir& dir, bool stream, bool certs = true) {
  dir.write("content.eml", kContent);
  std::vector<std::string> args = {"cms",
                                   "-sign",
                                   "-binary",
                                   "-md",
                                   "sha256",
                                   "-in",
                                   dir.file("content.eml"),
                                   "-signer",
                                   test::pki_file("alice.pem"),
                                   "-inkey",
                                   test::pki_file("alice.key"),
                                   "-outform",
                                   "DER",
                                   "-out",
                                   dir.file("sig.der")};
  if (certs) {
    args.push_back("-certfile");
    args.push_back(test::pki_file("inter.pem"));
  } else {
    args.push_back("-nocerts");
  }
  if (stream) args.push_back("-stream");
  test::openssl(dir, args);
  return dir.read("sig.der");
}

}  // namespace

TEST_CASE(
    "the certificates of DER and streamed BER signatures are those OpenSSL decodes, shared once decoded",
    "[verify][certificates]") {
  TempDir dir;
  const std::string der = openssl_signature(dir, false);
  const std::string ber = openssl_signature(dir, true);
  REQUIRE_FALSE(test::has_indefinite_length(der));
  REQUIRE(test::has_indefinite_length(ber));

  VerifyResult a = verify_text(multipart_signed(der));
  VerifyResult b = verify_text(pkcs7_mime(ber));
  CHECK(a.ok());
  CHECK(b.ok());
  CHECK(reported(a) == carried_by_openssl(der));
  CHECK(reported(b) == carried_by_openssl(ber));
  REQUIRE(a.certificates.size() == 2);  // alice and the intermediate
  REQUIRE(b.certificates.size() == a.certificates.size());
  for (std::size_t i = 0; i < a.certificates.size(); ++i)
    CHECK(a.certificates[i].get() == b.certificates[i].get());
}

TEST_CASE("our own signatures, detached and opaque, share the decoded certificates too",
          "[verify][certificates]") {
  auto sign_with = [](SignOptions opt) {
    auto in = parse(kContent);
    StringSink out;
    sign(in.src, in.root, test::identity("alice"), opt, out);
    return out.take();
  };
  SignOptions opaque_ber, opaque_der;
  opaque_ber.mode = opaque_der.mode = SignMode::opaque;
  opaque_der.der = true;
  VerifyResult detached = verify_text(sign_with({}));
  VerifyResult ber = verify_text(sign_with(opaque_ber));
  VerifyResult der = verify_text(sign_with(opaque_der));
  REQUIRE(detached.ok());
  REQUIRE(ber.ok());
  REQUIRE(der.ok());
  REQUIRE_FALSE(detached.certificates.empty());
  REQUIRE(ber.certificates.size() == detached.certificates.size());
  REQUIRE(der.certificates.size() == detached.certificates.size());
  for (std::size_t i = 0; i < detached.certificates.size(); ++i) {
    CHECK(ber.certificates[i].get() == detached.certificates[i].get());
    CHECK(der.certificates[i].get() == detached.certificates[i].get());
  }
}

TEST_CASE("a signature without certificates needs the signer's from elsewhere", "[verify][certificates]") {
  TempDir dir;
  const std::string der = openssl_signature(dir, false, false);
  VerifyResult alone = verify_text(multipart_signed(der));
  CHECK(alone.certificates.empty());
  CHECK(alone.status == VerifyStatus::untrusted);
  CHECK_THAT(alone.reason, Catch::Contains("not in the message"));

  VerifyOptions opt = test::trust_root();
  opt.intermediates.push_back(test::cert("alice"));
  opt.intermediates.push_back(test::cert("inter"));
  VerifyResult helped = verify_text(multipart_signed(der), opt);
  CHECK(helped.ok());
  CHECK(helped.certificates.empty());
}

TEST_CASE("a carried certificate that does not decode makes the signature malformed",
          "[verify][certificates]") {
  TempDir dir;
  for (bool stream : {false, true}) {
    INFO("stream " << stream);
    std::string sig = openssl_signature(dir, stream);
    // Alice's certificate inside it, its version field [0] { INTEGER 2 } made an OCTET STRING.
    const std::string alice = der_of(test::cert("alice").get());
    const std::size_t at = sig.find(alice);
    REQUIRE(at != std::string::npos);
    const std::size_t version = sig.find(std::string("\xA0\x03\x02\x01\x02", 5), at);
    REQUIRE(version < at + alice.size());
    sig[version + 2] = '\x04';

    VerifyResult r = verify_text(stream ? pkcs7_mime(sig) : multipart_signed(sig));
    CHECK(r.status == VerifyStatus::malformed);
    CHECK_THAT(r.reason, Catch::Contains("not a CMS structure"));
  }
}
