// Recognising S/MIME as RFC 8551 section 3.2.2 asks (labels and the CMS content type inside), whether
// a body really is protection, whether content begins with a header block, and the exact bytes of
// opaque-signed and encrypted content with bare LF line ends. The CMS is made by the openssl command
// line.
#include <catch2/catch.hpp>

#include "external_support.hpp"
#include "test_support.hpp"

using namespace smime;
using test::base64;
using test::parse;
using test::TempDir;
using test::Tlv;

namespace {

const std::string kEntity =
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "Transfer 100 EUR to account 12345.\r\n";

// CMS structures of every kind, made once by openssl.
struct Made {
  TempDir dir;
  std::string enveloped, auth_enveloped, opaque_signed, certs_only, detached_message, signed_around_encrypted;

  Made() {
    dir.write("content", kEntity);
    auto run = [&](std::vector<std::string> args) { test::openssl(dir, args); };
    const std::string bob = test::pki_file("bob.pem");
    run({"cms", "-encrypt", "-binary", "-aes-256-cbc", "-in", "content", "-outform", "DER", "-out", "env.der",
         bob});
    run({"cms", "-encrypt", "-binary", "-aes-256-gcm", "-in", "content", "-outform", "DER", "-out",
         "auth.der", bob});
    const std::vector<std::string> signer = {"-signer",   test::pki_file("alice.pem"),
                                             "-inkey",    test::pki_file("alice.key"),
                                             "-certfile", test::pki_file("inter.pem")};
    auto sign = [&](std::vector<std::string> args) {
      args.insert(args.begin() + 2, signer.begin(), signer.end());
      run(args);
    };
    sign({"cms", "-sign", "-binary", "-nodetach", "-in", "content", "-outform", "DER", "-out", "opaque.der"});
    sign({"cms", "-sign", "-binary", "-in", "content", "-out", "detached.eml"});
    run({"crl2pkcs7", "-nocrl", "-certfile", test::pki_file("alice.pem"), "-outform", "DER", "-out",
         "certs.der"});
    run({"cms", "-encrypt", "-aes-256-cbc", "-in", "content", "-out", "env.eml", bob});
    sign({"cms", "-sign", "-binary", "-nodetach", "-in", "env.eml", "-outform", "DER", "-out", "around.der"});
    enveloped = dir.read("env.der");
    auth_enveloped = dir.read("auth.der");
    opaque_signed = dir.read("opaque.der");
    certs_only = dir.read("certs.der");
    detached_message = dir.read("detached.eml");
    signed_around_encrypted = dir.read("around.der");
  }
};
const Made& made() {
  static const Made m;
  return m;
}

// CompressedData (RFC 3274) by hand: only its outline matters here.
std::string compressed_data() {
  Tlv data;
  data.ident = "\x04";
  data.content = "not really zlib";
  Tlv econtent;
  econtent.ident = "\xA0";
  econtent.children = {data};
  Tlv encap;
  encap.ident = "\x30";
  encap.children = {test::der_oid("1.2.840.113549.1.7.1"), econtent};
  Tlv alg;
  alg.ident = "\x30";
  alg.children = {test::der_oid("1.2.840.113549.1.9.16.3.8")};
  Tlv version;
  version.ident = "\x02";
  version.content = std::string(1, '\0');
  Tlv cd;
  cd.ident = "\x30";
  cd.children = {version, alg, encap};
  Tlv explicit0;
  explicit0.ident = "\xA0";
  explicit0.children = {cd};
  Tlv ci;
  ci.ident = "\x30";
  ci.children = {test::der_oid("1.2.840.113549.1.9.16.1.9"), explicit0};
  return ci.encode();
}

std::string entity(const std::string& content_type, const std::string& body, const std::string& extra = "",
                   const std::string& encoding = "base64") {
  return "Content-Type: " + content_type + "\r\nContent-Transfer-Encoding: " + encoding + "\r\n" + extra +
         "\r\n" + body;
}
std::string p7m(const std::string& params, const std::string& der) {
  return entity("application/pkcs7-mime" + params, base64(der));
}

Classification classify_text(const std::string& text) {
  auto p = parse(text);
  return classify(p.src, p.root);
}
Protection protection_text(const std::string& text) {
  auto p = parse(text);
  return protection_of(p.src, p.root);
}

// A multipart/signed with the given parts after the content part.
std::string bogus_signed(const std::string& parts,
                         const std::string& protocol = "application/pkcs7-signature") {
  return "Content-Type: multipart/signed; protocol=\"" + protocol +
         "\"; micalg=sha-256; boundary=\"b1\"\r\n\r\n--b1\r\n" + kEntity + parts + "\r\n--b1--\r\n";
}
std::string signature_part(const std::string& der) {
  return "\r\n--b1\r\nContent-Type: application/pkcs7-signature\r\nContent-Transfer-Encoding: "
         "base64\r\n\r\n" +
         base64(der);
}

std::string ours_encrypted() {
  auto in = parse(kEntity);
  StringSink out;
  std::vector<Recipient> to;
  to.push_back(test::recipient("bob"));
  encrypt(in.src, in.root, to, {}, out);
  return out.take();
}
std::string ours_triple() {
  auto in = parse(kEntity);
  StringSink out;
  std::vector<Recipient> to;
  to.push_back(test::recipient("bob"));
  triple_wrap(in.src, in.root, test::identity("alice"), {}, to, {}, {}, out);
  return out.take();
}
std::string ours_signed() {
  auto in = parse(kEntity);
  StringSink out;
  sign(in.src, in.root, test::identity("alice"), {}, out);
  return out.take();
}

}  // namespace

TEST_CASE("classify: labels and the CMS content type inside (RFC 8551 section 3.2.2)", "[classify]") {
  const Made& m = made();
  struct Case {
    const char* name;
    std::string text;
    SmimeType want;
    const char* reason;
  };
  const std::string p7m_name = "Content-Disposition: attachment; filename=\"smime.p7m\"\r\n";
  const Case cases[] = {
      {"multipart/signed", m.detached_message, SmimeType::multipart_signed, "multipart/signed"},
      {"multipart/signed x-pkcs7-signature",
       test::replace_all(m.detached_message, "application/pkcs7-signature", "application/x-pkcs7-signature"),
       SmimeType::multipart_signed, "x-pkcs7-signature"},
      {"multipart/signed PGP", bogus_signed("", "application/pgp-signature"), SmimeType::none, "not S/MIME"},
      {"text/plain", kEntity, SmimeType::none, "text/plain is not S/MIME"},
      {"enveloped-data", p7m("; smime-type=enveloped-data", m.enveloped), SmimeType::enveloped_data,
       "smime-type enveloped-data"},
      {"x-pkcs7-mime enveloped-data",
       entity("application/x-pkcs7-mime; smime-type=enveloped-data", base64(m.enveloped)),
       SmimeType::enveloped_data, ""},
      {"no smime-type, EnvelopedData", p7m("", m.enveloped), SmimeType::enveloped_data,
       "by its CMS content type"},
      {"no smime-type, AuthEnvelopedData", p7m("; name=smime.p7m", m.auth_enveloped),
       SmimeType::auth_enveloped_data, "by its CMS content type"},
      {"authEnveloped-data in any case", p7m("; smime-type=AuthEnveloped-Data", m.auth_enveloped),
       SmimeType::auth_enveloped_data, ""},
      {"signed-data", p7m("; smime-type=signed-data", m.opaque_signed), SmimeType::signed_data, ""},
      {"no smime-type, SignedData with content", p7m("", m.opaque_signed), SmimeType::signed_data, ""},
      {"certs-only", p7m("; smime-type=certs-only", m.certs_only), SmimeType::certs_only, ""},
      {"no smime-type, SignedData without content", p7m("", m.certs_only), SmimeType::certs_only, ""},
      {"compressed-data", p7m("; smime-type=compressed-data", compressed_data()), SmimeType::compressed_data,
       ""},
      {"an unknown smime-type: the CMS decides", p7m("; smime-type=frobnicated", m.enveloped),
       SmimeType::enveloped_data, ""},
      {"binary transfer encoding", entity("application/pkcs7-mime", m.enveloped, "", "binary"),
       SmimeType::enveloped_data, ""},
      {"octet-stream, Content-Disposition filename .p7m",
       entity("application/octet-stream", base64(m.enveloped), p7m_name), SmimeType::enveloped_data,
       "application/octet-stream named like CMS"},
      {"octet-stream, Content-Type name .P7M",
       entity("application/octet-stream; name=\"MSG.P7M\"", base64(m.opaque_signed)), SmimeType::signed_data,
       ""},
      {"octet-stream, RFC 2231 file name",
       entity("application/octet-stream", base64(m.enveloped),
              "Content-Disposition: attachment; filename*=UTF-8''smime.p7m\r\n"),
       SmimeType::enveloped_data, ""},
      {"octet-stream .p7m that is not CMS",
       entity("application/octet-stream", base64("just some bytes"), p7m_name), SmimeType::none, "not CMS"},
      {"octet-stream with another name",
       entity("application/octet-stream; name=report.pdf", base64(m.enveloped)), SmimeType::none,
       "not S/MIME"},
      {"label contradicts: enveloped-data holding SignedData",
       p7m("; smime-type=enveloped-data", m.opaque_signed), SmimeType::malformed,
       "labelled smime-type enveloped-data holds signed-data"},
      {"label contradicts: signed-data holding EnvelopedData", p7m("; smime-type=signed-data", m.enveloped),
       SmimeType::malformed, "holds enveloped-data"},
      {"label contradicts: certs-only with content", p7m("; smime-type=certs-only", m.opaque_signed),
       SmimeType::malformed, "holds signed-data"},
      {"label contradicts: signed-data without content", p7m("; smime-type=signed-data", m.certs_only),
       SmimeType::malformed, "holds certs-only"},
      {"label contradicts: authEnveloped-data holding EnvelopedData",
       p7m("; smime-type=authEnveloped-data", m.enveloped), SmimeType::malformed, ""},
      {"plain text labelled pkcs7-mime",
       entity("application/pkcs7-mime; smime-type=enveloped-data",
              "Hello Bob, this is not encrypted at all.\r\n", "", "7bit"),
       SmimeType::malformed, "not CMS"},
      {"base64 of no CMS", p7m("; smime-type=enveloped-data", "Hello Bob"), SmimeType::malformed, "not CMS"},
      {"not base64", entity("application/pkcs7-mime", "Hello, Bob!\r\n"), SmimeType::malformed, "not base64"},
      {"CMS of another type (data)",
       p7m("", Tlv{"\x30", "", {test::der_oid("1.2.840.113549.1.7.1")}}.encode()), SmimeType::malformed,
       "not S/MIME content"},
  };
  for (const auto& c : cases) {
    Classification got = classify_text(c.text);
    INFO(c.name << ": want " << to_string(c.want) << ", got " << to_string(got.type) << " (" << got.reason
                << ")");
    CHECK(got.type == c.want);
    CHECK_THAT(got.reason, Catch::Contains(c.reason));
  }
}

TEST_CASE("classify reads only the start of a large body", "[classify]") {
  // The outline comes from the first few KiB; what lies beyond (here: not base64) is never decoded.
  std::string filler;
  for (int i = 0; i < 256; ++i) filler += std::string(76, 'A') + "\r\n";
  const std::string text = p7m("", made().enveloped) + filler + std::string(1 << 20, '%');
  CHECK(classify_text(text).type == SmimeType::enveloped_data);
}

TEST_CASE("protection_of: only real CMS counts as already protected", "[classify][protection]") {
  const Made& m = made();
  std::string truncated = m.enveloped.substr(0, m.enveloped.size() / 2);
  struct Case {
    const char* name;
    std::string text;
    ProtectionLevel want;
    const char* reason;
  };
  const Case cases[] = {
      {"EnvelopedData by openssl", p7m("; smime-type=enveloped-data", m.enveloped),
       ProtectionLevel::encrypted, "enveloped-data, 1 recipient"},
      {"AuthEnvelopedData by openssl", p7m("", m.auth_enveloped), ProtectionLevel::encrypted,
       "authEnveloped-data"},
      {"our encryption", ours_encrypted(), ProtectionLevel::encrypted, ""},
      {"opaque signature by openssl", p7m("; smime-type=signed-data", m.opaque_signed),
       ProtectionLevel::signed_only, "signed-data, 1 signer"},
      {"multipart/signed by openssl", m.detached_message, ProtectionLevel::signed_only,
       "multipart/signed, 1 signer"},
      {"our multipart/signed", ours_signed(), ProtectionLevel::signed_only, ""},
      {"our triple wrap: encrypted inside the signature", ours_triple(), ProtectionLevel::encrypted,
       "multipart/signed, 1 signer, around "},
      {"opaque signature around EnvelopedData (openssl)", p7m("", m.signed_around_encrypted),
       ProtectionLevel::encrypted, "around enveloped-data"},
      {"plain text labelled enveloped-data",
       entity("application/pkcs7-mime; smime-type=enveloped-data", "Hello Bob, in clear.\r\n", "", "7bit"),
       ProtectionLevel::none, "not CMS"},
      {"base64 of plain text labelled enveloped-data",
       p7m("; smime-type=enveloped-data", "Hello Bob, in clear."), ProtectionLevel::none, ""},
      {"EnvelopedData cut in half", p7m("; smime-type=enveloped-data", truncated), ProtectionLevel::none,
       "not CMS"},
      {"certs-only", p7m("; smime-type=certs-only", m.certs_only), ProtectionLevel::none, ""},
      {"text/plain", kEntity, ProtectionLevel::none, "not S/MIME"},
      {"multipart/signed with one part", bogus_signed(""), ProtectionLevel::none, "1 part"},
      {"multipart/signed whose second part is text",
       bogus_signed("\r\n--b1\r\nContent-Type: text/plain\r\n\r\nsigned, honestly"), ProtectionLevel::none,
       "second part is text/plain"},
      {"multipart/signed with a signature part that is not CMS", bogus_signed(signature_part("garbage")),
       ProtectionLevel::none, "not CMS SignedData"},
      {"multipart/signed whose signature part carries content", bogus_signed(signature_part(m.opaque_signed)),
       ProtectionLevel::none, "carries content"},
      {"multipart/signed whose signature part has no signer", bogus_signed(signature_part(m.certs_only)),
       ProtectionLevel::none, "without signers"},
      {"multipart/signed whose signature part is EnvelopedData", bogus_signed(signature_part(m.enveloped)),
       ProtectionLevel::none, "not CMS SignedData"},
      {"multipart/signed of PGP", bogus_signed(signature_part(m.enveloped), "application/pgp-signature"),
       ProtectionLevel::none, "not S/MIME"},
  };
  for (const auto& c : cases) {
    Protection got = protection_text(c.text);
    INFO(c.name << ": want " << to_string(c.want) << ", got " << to_string(got.level) << " (" << got.reason
                << ")");
    CHECK(got.level == c.want);
    CHECK_THAT(got.reason, Catch::Contains(c.reason));
  }
}

TEST_CASE("starts_with_header_block: a MIME entity or raw text", "[mime][header-block]") {
  struct Case {
    const char* name;
    std::string content;
    bool want;
  };
  const Case cases[] = {
      {"CRLF entity", "Content-Type: text/plain\r\n\r\nbody\r\n", true},
      {"LF entity", "Content-Type: text/plain\nContent-Transfer-Encoding: 7bit\n\nbody\n", true},
      {"mixed line ends", "Content-Type: text/plain\r\nX-A: b\n\r\nbody", true},
      {"folded field", "Content-Type: multipart/mixed;\r\n\tboundary=x\r\n\r\n", true},
      {"white space before the colon", "Subject : hello\n\n", true},
      {"8-bit value",
       "Subject: Gr\xC3\xBC\xC3\x9F"
       "e\n\nbody",
       true},
      {"empty header block", "\r\nbody without header fields\r\n", true},
      {"empty header block, LF", "\nbody", true},
      {"raw text", "Hello Bob,\n\nhere is the text.\n", false},
      {"raw text with a colon later", "Dear Bob, note: this is text\n\n", false},
      {"mbox From line", "From alice@example.org Mon Mar  2 10:00:00 2026\nSubject: x\n\n", false},
      {"empty field name", ": value\n\n", false},
      {"continuation first", " folded\nSubject: x\n\n", false},
      {"no empty line after the fields", "Subject: x\nX-B: y", false},
      {"fields up to the end, no empty line", "Subject: x\n", false},
      {"bare CR in a field", std::string("Subject: a\rb\n\n"), false},
      {"NUL in a field", std::string("Subject: a\0b\n\n", 14), false},
      {"empty content", "", false},
      {"binary", std::string("\x30\x82\x01\x00\x06\x09", 6), false},
  };
  for (const auto& c : cases) {
    INFO(c.name << ": want " << c.want);
    CHECK(mime::starts_with_header_block(c.content) == c.want);
  }
  mime::Limits small;
  small.max_header_bytes = 16;
  CHECK_FALSE(mime::starts_with_header_block("Subject: a rather long value\n\n", small));
  // On a Source: only the given range counts.
  Source src = Source::from_string("raw text first\nContent-Type: text/plain\n\nbody");
  CHECK_FALSE(mime::starts_with_header_block(src, src.all()));
  CHECK(mime::starts_with_header_block(src, Range{15, src.size() - 15}));
}

TEST_CASE("opaque-signed content with bare LF or mixed line ends is given as signed, byte for byte",
          "[verify][lf]") {
  TempDir d;
  const std::string contents[] = {
      "Content-Type: text/plain\n\nline one\nline two\n",
      "Content-Type: text/plain\r\nX-Mixed: yes\n\nline one\r\nline two\n",
      "raw text without any header block\nsecond line\n",
  };
  for (const auto& content : contents) {
    d.write("content", content);
    test::openssl(d, {"cms", "-sign", "-binary", "-nodetach", "-in", "content", "-signer",
                      test::pki_file("alice.pem"), "-inkey", test::pki_file("alice.key"), "-certfile",
                      test::pki_file("inter.pem"), "-outform", "DER", "-out", "sig.der"});
    auto p = parse(p7m("; smime-type=signed-data", d.read("sig.der")));
    StringSink out;
    VerifyResult r = verify(p.src, p.root, test::trust_root(), &out);
    INFO(r.reason);
    CHECK(r.ok());
    CHECK(out.str() == content);
    CHECK(mime::starts_with_header_block(out.str()) == (content.rfind("Content-Type", 0) == 0));
  }
}

TEST_CASE("decrypted content with bare LF or no header block is given exactly as encrypted",
          "[decrypt][lf]") {
  TempDir d;
  const std::string contents[] = {
      "Content-Type: text/plain\n\nline one\nline two\n",
      "just raw text, no header block\nline two\n",
  };
  for (const auto& content : contents) {
    d.write("content", content);
    test::openssl(d, {"cms", "-encrypt", "-binary", "-aes-256-cbc", "-in", "content", "-outform", "DER",
                      "-out", "env.der", test::pki_file("bob.pem")});
    auto p = parse(p7m("; smime-type=enveloped-data", d.read("env.der")));
    StringSink out;
    std::vector<DecryptionKey> keys;
    keys.push_back(test::decryption_key("bob"));
    decrypt(p.src, p.root, keys, out);
    CHECK(out.str() == content);
  }
}

TEST_CASE("a content encryption this OpenSSL cannot decrypt is named as unsupported",
          "[decrypt][unsupported]") {
  // openssl's AES-GCM AuthEnvelopedData with the algorithm changed to ChaCha20-Poly1305 (RFC 8103).
  Tlv t = test::parse_der(made().auth_enveloped);
  Tlv& aed = t.child(0xA0).children.at(0);
  Tlv& encrypted_content_info = aed.child(0x30);
  encrypted_content_info.children.at(1).children.at(0) = test::der_oid("1.2.840.113549.1.9.16.3.18");
  auto p = parse(p7m("; smime-type=authEnveloped-data", t.encode()));
  StringSink out;
  std::vector<DecryptionKey> keys;
  keys.push_back(test::decryption_key("bob"));
  try {
    decrypt(p.src, p.root, keys, out);
    FAIL("decrypted an unsupported algorithm");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::bad_input);
    CHECK_THAT(e.what(), Catch::StartsWith("unsupported algorithm chacha20-poly1305"));
  }
  CHECK(out.str().empty());
}

TEST_CASE("verify and decrypt accept what classify recognises: application/octet-stream named .p7m",
          "[classify][verify][decrypt]") {
  const Made& m = made();
  const std::string named = "Content-Disposition: attachment; filename=\"smime.p7m\"\r\n";
  auto signed_p = parse(entity("application/octet-stream", base64(m.opaque_signed), named));
  REQUIRE(carries_cms(signed_p.root));
  StringSink content;
  VerifyResult r = verify(signed_p.src, signed_p.root, test::trust_root(), &content);
  INFO(r.reason);
  CHECK(r.ok());
  CHECK(content.str() == kEntity);
  auto env = parse(entity("application/octet-stream; name=\"message.p7m\"", base64(m.enveloped)));
  REQUIRE(carries_cms(env.root));
  std::vector<DecryptionKey> keys;
  keys.push_back(test::decryption_key("bob"));
  StringSink plain;
  decrypt(env.src, env.root, keys, plain);
  CHECK(plain.str() == kEntity);
  auto other = parse(entity("application/octet-stream; name=report.pdf", base64(m.enveloped)));
  CHECK_FALSE(carries_cms(other.root));
  CHECK(verify(other.src, other.root, test::trust_root()).status == VerifyStatus::malformed);
  StringSink none;
  CHECK_THROWS_AS(decrypt(other.src, other.root, keys, none), Error);
}
