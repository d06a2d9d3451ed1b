// Verification of SignedData with several signers (each SignerInfo on its own), trust anchors that are
// not self-signed, and the algorithm and key-strength policy. The signatures are made by the openssl
// command line, not by our signing code; Ed25519 signatures (which OpenSSL 3.0's CMS cannot make) are
// assembled from an openssl SignedData with the Ed25519 signature computed here.
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

std::string multipart_signed(const std::string& der, const std::string& micalg) {
  return "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=\"" + micalg +
         "\"; boundary=\"b1\"\r\n\r\n--b1\r\n" + kEntity +
         "\r\n--b1\r\nContent-Type: application/pkcs7-signature\r\nContent-Transfer-Encoding: "
         "base64\r\n\r\n" +
         base64(der) + "\r\n--b1--\r\n";
}

std::string opaque(const std::string& der) {
  return "Content-Type: application/pkcs7-mime; smime-type=signed-data\r\nContent-Transfer-Encoding: "
         "base64\r\n\r\n" +
         base64(der);
}

// A SignedData (DER) by `who` over kEntity, made by openssl cms: detached unless `embed`.
std::string openssl_signature(const TempDir& d, const std::string& who, const std::string& md = "sha256",
                              bool embed = false, const std::vector<std::string>& extra = {}) {
  d.write("content", kEntity);
  std::vector<std::string> args = {"cms",
                                   "-sign",
                                   "-binary",
                                   "-in",
                                   "content",
                                   "-signer",
                                   test::pki_file(who + ".pem"),
                                   "-inkey",
                                   test::pki_file(who + ".key"),
                                   "-certfile",
                                   test::pki_file("inter.pem"),
                                   "-md",
                                   md,
                                   "-outform",
                                   "DER",
                                   "-out",
                                   "sig.der"};
  if (embed) args.push_back("-nodetach");
  args.insert(args.end(), extra.begin(), extra.end());
  test::openssl(d, args);
  return d.read("sig.der");
}

// ContentInfo -> [0] -> SignedData
Tlv& signed_data(Tlv& content_info) { return content_info.child(0xA0).children.at(0); }
Tlv& signer_infos(Tlv& content_info) { return signed_data(content_info).child(0x31, 1); }

// One SignedData with the digest algorithms, certificates and SignerInfos of both (a's signers first):
// what a sender signing with two keys at once produces.
std::string merge(const std::string& a, const std::string& b) {
  Tlv x = test::parse_der(a), y = test::parse_der(b);
  auto append = [](Tlv& to, const Tlv& from) {
    to.children.insert(to.children.end(), from.children.begin(), from.children.end());
  };
  append(signed_data(x).child(0x31, 0), signed_data(y).child(0x31, 0));
  append(signed_data(x).child(0xA0), signed_data(y).child(0xA0));
  append(signer_infos(x), signer_infos(y));
  return x.encode();
}

// Flips a bit of the signature value of SignerInfo `index`.
std::string break_signature(const std::string& der, std::size_t index) {
  Tlv t = test::parse_der(der);
  Tlv& si = signer_infos(t).children.at(index);
  std::string& sig = si.children.at(si.children.size() - 1).content;  // signature OCTET STRING
  REQUIRE(si.children.back().tag() == 0x04);
  sig[sig.size() / 2] = static_cast<char>(sig[sig.size() / 2] ^ 0x01);
  return t.encode();
}

std::string der_of(X509* cert) { return smime::to_der(cert); }

// An Ed25519 signer over kEntity (RFC 8419: SHA-512 message digest, id-Ed25519 signature over the
// signed attributes): an openssl SignedData by carol with SHA-512, its signer identifier, certificates
// and signature replaced by those of the ed25519 test certificate and key.
std::string ed25519_signature(const TempDir& d) {
  Tlv t = test::parse_der(openssl_signature(d, "carol", "sha512"));
  X509Ptr ed = test::cert("ed25519");
  Tlv& certs = signed_data(t).child(0xA0);
  certs.children = {test::parse_der(der_of(ed.get())), test::parse_der(der_of(test::cert("inter").get()))};
  Tlv& si = signer_infos(t).children.at(0);
  // sid: IssuerAndSerialNumber of the Ed25519 certificate
  unsigned char* name = nullptr;
  int name_len = i2d_X509_NAME(X509_get_issuer_name(ed.get()), &name);
  OsslStringPtr name_owned(reinterpret_cast<char*>(name));
  unsigned char* serial = nullptr;
  int serial_len = i2d_ASN1_INTEGER(X509_get0_serialNumber(ed.get()), &serial);
  OsslStringPtr serial_owned(reinterpret_cast<char*>(serial));
  Tlv sid;
  sid.ident = "\x30";
  sid.children = {test::parse_der(std::string(name_owned.get(), static_cast<std::size_t>(name_len))),
                  test::parse_der(std::string(serial_owned.get(), static_cast<std::size_t>(serial_len)))};
  si.children.at(1) = sid;
  Tlv alg;
  alg.ident = "\x30";
  alg.children = {test::der_oid("1.3.101.112")};
  si.children.at(4) = alg;
  // The signature is over the DER of the signed attributes as a SET (tag 0x31, RFC 5652 5.4).
  Tlv attrs = si.child(0xA0);
  attrs.ident = "\x31";
  const std::string tbs = attrs.encode();
  PkeyPtr key = test::key("ed25519");
  MdCtxPtr ctx(EVP_MD_CTX_new());
  REQUIRE(EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) == 1);
  std::size_t len = 64;
  std::string sig(len, '\0');
  REQUIRE(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                         reinterpret_cast<const unsigned char*>(tbs.data()), tbs.size()) == 1);
  sig.resize(len);
  si.children.at(5).content = sig;
  return t.encode();
}

VerifyResult check_text(const std::string& text, const VerifyOptions& opt = test::trust_root(),
                        Sink* content = nullptr) {
  auto p = parse(text);
  return verify(p.src, p.root, opt, content);
}

std::vector<std::string> emails_of(const VerifyResult& r) {
  std::vector<std::string> out;
  for (const auto& s : r.signers) out.push_back(s.emails.empty() ? "-" : s.emails.front());
  return out;
}

}  // namespace

// ---- several signers ----

TEST_CASE("two signers made by openssl cms (RSA and EC): each verified, both valid", "[verify][signers]") {
  TempDir d;
  d.write("content", kEntity);
  test::openssl(
      d, {"cms", "-sign", "-binary", "-in", "content", "-signer", test::pki_file("alice.pem"), "-inkey",
          test::pki_file("alice.key"), "-signer", test::pki_file("carol.pem"), "-inkey",
          test::pki_file("carol.key"), "-certfile", test::pki_file("inter.pem"), "-out", "two.eml"});
  StringSink content;
  VerifyResult r = check_text(d.read("two.eml"), test::trust_root(), &content);
  INFO(r.reason);
  CHECK(r.status == VerifyStatus::valid);
  CHECK(r.reason == "all 2 signatures valid");
  REQUIRE(r.signers.size() == 2);
  std::vector<std::string> emails = emails_of(r);
  std::sort(emails.begin(), emails.end());
  CHECK(emails == std::vector<std::string>{"alice@example.org", "carol@example.org"});
  for (const auto& s : r.signers) {
    CHECK(s.status == VerifyStatus::valid);
    CHECK(s.reason.empty());
    CHECK(s.chain_ok);
  }
  CHECK(content.str() == kEntity);
}

TEST_CASE("signers with different digests: micalg lists them all", "[verify][signers]") {
  TempDir d;
  const std::string two =
      merge(openssl_signature(d, "alice", "sha256"), openssl_signature(d, "dave", "sha384"));
  struct Case {
    const char* micalg;
    VerifyStatus want;
    const char* reason;
  };
  const Case cases[] = {
      {"sha-256,sha-384", VerifyStatus::valid, "all 2 signatures valid"},
      {"sha-384,sha-256", VerifyStatus::valid, "all 2 signatures valid"},
      {"SHA-256, sha-384", VerifyStatus::valid, "all 2 signatures valid"},
      {"sha-256", VerifyStatus::malformed, "does not name the signer's digest sha384"},
      {"sha-384", VerifyStatus::malformed, "does not name the signer's digest sha256"},
  };
  for (const auto& c : cases) {
    VerifyResult r = check_text(multipart_signed(two, c.micalg));
    INFO("micalg " << c.micalg << ": want " << to_string(c.want) << ", got " << to_string(r.status) << " ("
                   << r.reason << ")");
    CHECK(r.status == c.want);
    CHECK_THAT(r.reason, Catch::Contains(c.reason));
  }
  VerifyResult r = check_text(multipart_signed(two, "sha-256,sha-384"));
  REQUIRE(r.signers.size() == 2);
  CHECK(r.signers[0].digest == "sha256");
  CHECK(r.signers[1].digest == "sha384");
  CHECK(r.signers[1].emails == std::vector<std::string>{"dave@example.org"});
  CHECK(r.signers[1].signature_algorithm == "ecdsa-with-SHA384");
}

TEST_CASE("the worst signer decides, and the reason names it by index and address", "[verify][signers]") {
  TempDir d;
  const std::string alice = openssl_signature(d, "alice");
  const std::string carol = openssl_signature(d, "carol");
  const std::string selfsigned = openssl_signature(d, "selfsigned");
  const std::string weak = openssl_signature(d, "weak512");
  const std::string ed = ed25519_signature(d);
  struct Case {
    const char* name;
    std::string der;
    VerifyStatus want;
    std::vector<VerifyStatus> per_signer;
    const char* reason;
  };
  const Case cases[] = {
      {"second signature broken",
       break_signature(merge(alice, carol), 1),
       VerifyStatus::bad_signature,
       {VerifyStatus::valid, VerifyStatus::bad_signature},
       "signer 2 of 2 (carol@example.org): signature does not match the content"},
      {"first signature broken",
       break_signature(merge(alice, carol), 0),
       VerifyStatus::bad_signature,
       {VerifyStatus::bad_signature, VerifyStatus::valid},
       "signer 1 of 2 (alice@example.org): signature does not match the content"},
      {"second signer self-signed",
       merge(alice, selfsigned),
       VerifyStatus::untrusted,
       {VerifyStatus::valid, VerifyStatus::untrusted},
       "signer 2 of 2 (self@example.org): self-signed certificate"},
      {"second signer weak",
       merge(alice, weak),
       VerifyStatus::weak,
       {VerifyStatus::valid, VerifyStatus::weak},
       "signer 2 of 2 (weak@example.org): weak key: RSA 512 bits (minimum 112-bit security)"},
      {"weak is worse than untrusted",
       merge(selfsigned, weak),
       VerifyStatus::weak,
       {VerifyStatus::untrusted, VerifyStatus::weak},
       "signer 2 of 2 (weak@example.org): weak key"},
      {"second signer Ed25519",
       merge(alice, ed),
       VerifyStatus::unsupported,
       {VerifyStatus::valid, VerifyStatus::unsupported},
       "signer 2 of 2 (ed@example.org): unsupported algorithm ED25519"},
      {"a broken signature is worse than unsupported",
       break_signature(merge(ed, alice), 1),
       VerifyStatus::bad_signature,
       {VerifyStatus::unsupported, VerifyStatus::bad_signature},
       "signer 2 of 2 (alice@example.org): signature does not match"},
      {"three signers, the third broken",
       break_signature(merge(merge(alice, carol), alice), 2),
       VerifyStatus::bad_signature,
       {VerifyStatus::valid, VerifyStatus::valid, VerifyStatus::bad_signature},
       "signer 3 of 3 (alice@example.org)"},
  };
  for (const auto& c : cases) {
    VerifyResult r = check_text(multipart_signed(c.der, "sha-256,sha-512"));
    INFO(c.name << ": want " << to_string(c.want) << ", got " << to_string(r.status) << " (" << r.reason
                << ")");
    CHECK(r.status == c.want);
    CHECK_THAT(r.reason, Catch::StartsWith(c.reason));
    REQUIRE(r.signers.size() == c.per_signer.size());
    for (std::size_t i = 0; i < c.per_signer.size(); ++i) {
      INFO("signer " << i + 1 << ": want " << to_string(c.per_signer[i]) << ", got "
                     << to_string(r.signers[i].status) << " (" << r.signers[i].reason << ")");
      CHECK(r.signers[i].status == c.per_signer[i]);
      CHECK(r.signers[i].reason.empty() == (c.per_signer[i] == VerifyStatus::valid));
    }
  }
}

TEST_CASE("an opaque signature with two signers gives the content once, whatever the verdict",
          "[verify][signers]") {
  TempDir d;
  const std::string two =
      merge(openssl_signature(d, "carol", "sha256", true), openssl_signature(d, "alice", "sha256", true));
  // merge() keeps the first eContent; both signed the same bytes.
  StringSink content;
  VerifyResult r = check_text(opaque(two), test::trust_root(), &content);
  INFO(r.reason);
  CHECK(r.ok());
  CHECK(r.signers.size() == 2);
  CHECK(content.str() == kEntity);
  StringSink content2;
  VerifyResult bad = check_text(opaque(break_signature(two, 0)), test::trust_root(), &content2);
  CHECK(bad.status == VerifyStatus::bad_signature);
  CHECK(content2.str() == kEntity);
}

// ---- trust anchors that are not self-signed ----

TEST_CASE("anchor_kind tells roots, intermediates and end entities apart", "[cert][anchor]") {
  struct Case {
    const char* cert;
    AnchorKind want;
  };
  const Case cases[] = {
      {"root", AnchorKind::self_signed_root}, {"inter", AnchorKind::intermediate_ca},
      {"alice", AnchorKind::end_entity},      {"selfsigned", AnchorKind::end_entity},
      {"ed25519", AnchorKind::end_entity},
  };
  for (const auto& c : cases) {
    AnchorKind got = anchor_kind(test::cert(c.cert).get());
    INFO(c.cert << ": want " << to_string(c.want) << ", got " << to_string(got));
    CHECK(got == c.want);
  }
  CHECK(to_string(AnchorKind::self_signed_root) == "self-signed root CA");
  CHECK(to_string(AnchorKind::intermediate_ca) == "intermediate CA");
  CHECK(to_string(AnchorKind::end_entity) == "end-entity certificate");
}

TEST_CASE("an intermediate CA or a pinned end-entity certificate is a trust anchor (partial chain)",
          "[verify][anchor]") {
  TempDir d;
  struct Case {
    const char* anchor;
    const char* signer;
    VerifyStatus want;
    const char* reason;
  };
  const Case cases[] = {
      {"inter", "alice", VerifyStatus::valid, "signature valid"},
      {"alice", "alice", VerifyStatus::valid, "signature valid"},
      {"selfsigned", "selfsigned", VerifyStatus::valid, "signature valid"},
      {"root", "alice", VerifyStatus::valid, "signature valid"},
      {"bob", "alice", VerifyStatus::untrusted, "unable to get"},
      {"inter", "selfsigned", VerifyStatus::untrusted, "self-signed certificate"},
      {"root", "selfsigned", VerifyStatus::untrusted, "self-signed certificate"},
      {"inter", "expired", VerifyStatus::untrusted, "certificate has expired"},
      {"expired", "expired", VerifyStatus::untrusted, "certificate has expired"},
  };
  for (const auto& c : cases) {
    VerifyOptions opt;
    opt.anchors.push_back(test::cert(c.anchor));
    VerifyResult r = check_text(multipart_signed(openssl_signature(d, c.signer), "sha-256"), opt);
    INFO("anchor " << c.anchor << ", signer " << c.signer << ": want " << to_string(c.want) << ", got "
                   << to_string(r.status) << " (" << r.reason << ")");
    CHECK(r.status == c.want);
    CHECK_THAT(r.reason, Catch::Contains(c.reason));
  }
}

// ---- algorithm and key-strength policy ----

TEST_CASE("the algorithm policy: weak keys and digests are weak, with the reason", "[verify][policy]") {
  TempDir d;
  struct Case {
    const char* signer;
    const char* md;
    Sha1Policy sha1;
    int min_bits;
    VerifyStatus want;
    const char* reason;
  };
  const Case cases[] = {
      {"alice", "sha256", Sha1Policy::refuse, 112, VerifyStatus::valid, "signature valid"},
      {"carol", "sha256", Sha1Policy::refuse, 112, VerifyStatus::valid, "signature valid"},
      {"dave", "sha384", Sha1Policy::refuse, 112, VerifyStatus::valid, "signature valid"},
      {"weak512", "sha256", Sha1Policy::refuse, 112, VerifyStatus::weak,
       "signer weak@example.org: weak key: RSA 512 bits (minimum 112-bit security)"},
      {"weak512", "sha256", Sha1Policy::accept, 112, VerifyStatus::weak, "weak key: RSA 512 bits"},
      {"md5cert", "sha256", Sha1Policy::refuse, 112, VerifyStatus::weak,
       "signer md5@example.org: weak digest: md5 in the signature of certificate"},
      {"md5cert", "sha256", Sha1Policy::accept, 112, VerifyStatus::weak, "weak digest: md5"},
      {"sha1cert", "sha256", Sha1Policy::refuse, 112, VerifyStatus::weak,
       "signer sha1@example.org: weak digest: sha1 in the signature of certificate"},
      {"sha1cert", "sha256", Sha1Policy::accept, 112, VerifyStatus::valid, "signature valid"},
      {"alice", "sha1", Sha1Policy::refuse, 112, VerifyStatus::weak,
       "signer alice@example.org: weak digest: sha1"},
      {"alice", "sha1", Sha1Policy::accept, 112, VerifyStatus::valid, "signature valid"},
      {"alice", "md5", Sha1Policy::accept, 112, VerifyStatus::weak,
       "signer alice@example.org: weak digest: md5"},
      {"alice", "sha256", Sha1Policy::refuse, 128, VerifyStatus::weak,
       "weak key: RSA 2048 bits (minimum 128-bit security)"},
      // The signer's P-384 key passes 192 bits; the RSA-2048 intermediate of its chain does not.
      {"dave", "sha384", Sha1Policy::refuse, 192, VerifyStatus::weak,
       "weak key: RSA 2048 bits (minimum 192-bit security) in certificate CN=smime-milter Test Intermediate "
       "CA"},
      {"carol", "sha256", Sha1Policy::refuse, 192, VerifyStatus::weak,
       "weak key: EC 256 bits (minimum 192-bit security)"},
  };
  for (const auto& c : cases) {
    VerifyOptions opt = test::trust_root();
    opt.algorithms.sha1 = c.sha1;
    opt.algorithms.min_security_bits = c.min_bits;
    const std::string micalg =
        std::string(c.md) == "sha1" || std::string(c.md) == "md5" ? c.md : std::string("sha-") + (c.md + 3);
    VerifyResult r = check_text(multipart_signed(openssl_signature(d, c.signer, c.md), micalg), opt);
    INFO(c.signer << " " << c.md << " sha1 " << to_string(c.sha1) << " min " << c.min_bits << ": want "
                  << to_string(c.want) << ", got " << to_string(r.status) << " (" << r.reason << ")");
    CHECK(r.status == c.want);
    CHECK_THAT(r.reason, Catch::Contains(c.reason));
    REQUIRE(r.signers.size() == 1);
    CHECK(r.signers[0].status == c.want);
  }
}

TEST_CASE("the policy covers every key of the chain, but not the anchor's own signature",
          "[verify][policy]") {
  // A root self-signed with SHA-1 and a 1024-bit intermediate under it, made with the openssl CLI.
  TempDir d;
  d.write("ca.cnf",
          "[ca]\nbasicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n"
          "subjectKeyIdentifier=hash\n"
          "[user]\nbasicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\n"
          "extendedKeyUsage=emailProtection\nsubjectAltName=email:x@example.org\n");
  test::openssl(d, {"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "r.key"});
  test::openssl(d, {"req", "-x509", "-new", "-key", "r.key", "-subj", "/CN=SHA-1 Root", "-sha1", "-days", "2",
                    "-addext", "basicConstraints=critical,CA:true", "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign", "-out", "r.pem"});
  test::openssl(d, {"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", "w.key"});
  test::openssl(d, {"req", "-new", "-key", "w.key", "-subj", "/CN=Weak CA", "-out", "w.csr"});
  test::openssl(d, {"x509", "-req", "-in", "w.csr", "-CA", "r.pem", "-CAkey", "r.key", "-sha256", "-days",
                    "2", "-extfile", "ca.cnf", "-extensions", "ca", "-out", "w.pem"});
  auto leaf = [&](const std::string& name, const std::string& ca) {
    test::openssl(
        d, {"req", "-new", "-key", test::pki_file("bob.key"), "-subj", "/CN=" + name, "-out", "u.csr"});
    test::openssl(d, {"x509", "-req", "-in", "u.csr", "-CA", ca + ".pem", "-CAkey", ca + ".key", "-sha256",
                      "-days", "2", "-extfile", "ca.cnf", "-extensions", "user", "-out", name + ".pem"});
    d.write("content", kEntity);
    test::openssl(
        d, {"cms", "-sign", "-binary", "-in", "content", "-signer", name + ".pem", "-inkey",
            test::pki_file("bob.key"), "-certfile", "w.pem", "-outform", "DER", "-out", name + ".der"});
    return multipart_signed(d.read(name + ".der"), "sha-256");
  };
  VerifyOptions opt;
  opt.anchors.push_back(load_certificate(d.read("r.pem")));
  VerifyResult under_root = check_text(leaf("direct", "r"), opt);
  INFO(under_root.reason);
  CHECK(under_root.status == VerifyStatus::valid);  // the root's own SHA-1 signature is not relied on
  VerifyResult under_weak = check_text(leaf("viaweak", "w"), opt);
  CHECK(under_weak.status == VerifyStatus::weak);
  CHECK_THAT(under_weak.reason,
             Catch::Contains("weak key: RSA 1024 bits (minimum 112-bit security) in certificate CN=Weak CA"));
  CHECK(under_weak.signers.at(0).chain_ok);
}

TEST_CASE("algorithms OpenSSL 3.0's CMS cannot verify are unsupported, not a bad signature",
          "[verify][policy]") {
  TempDir d;
  SECTION("an Ed25519 signature") {
    VerifyResult r = check_text(multipart_signed(ed25519_signature(d), "sha-512"));
    CHECK(r.status == VerifyStatus::unsupported);
    CHECK(r.reason == "signer ed@example.org: unsupported algorithm ED25519");
    REQUIRE(r.signers.size() == 1);
    CHECK(r.signers[0].signature_algorithm == "ED25519");
    CHECK_THAT(r.reason, !Catch::Contains("does not match"));
  }
  SECTION("a digest algorithm OpenSSL does not know") {
    Tlv t = test::parse_der(openssl_signature(d, "alice", "sha256", true));
    Tlv& digest = signer_infos(t).children.at(0).children.at(2);
    digest.children.at(0) = test::der_oid("1.3.6.1.4.1.99999.1");
    VerifyResult r = check_text(opaque(t.encode()));
    CHECK(r.status == VerifyStatus::unsupported);
    CHECK(r.reason == "signer alice@example.org: unsupported algorithm 1.3.6.1.4.1.99999.1");
  }
}

TEST_CASE("a signer without signed attributes is verified over the content digest", "[verify][signers]") {
  TempDir d;
  const std::string der = openssl_signature(d, "alice", "sha256", false, {"-noattr"});
  VerifyResult r = check_text(multipart_signed(der, "sha-256"));
  INFO(r.reason);
  CHECK(r.ok());
  VerifyResult bad = check_text(multipart_signed(break_signature(der, 0), "sha-256"));
  CHECK(bad.status == VerifyStatus::bad_signature);
  CHECK_THAT(bad.reason, Catch::Contains("signature over the content digest"));
  StringSink content;
  VerifyResult tampered =
      check_text(test::replace_all(multipart_signed(der, "sha-256"), "100 EUR", "900 EUR"),
                 test::trust_root(), &content);
  CHECK(tampered.status == VerifyStatus::bad_signature);
  CHECK_THAT(content.str(), Catch::Contains("900 EUR"));  // the content is handed on whatever the verdict
}

TEST_CASE("RSA-PSS parameters OpenSSL cannot use are unsupported, not a bad signature", "[verify][policy]") {
  TempDir d;
  Tlv t =
      test::parse_der(openssl_signature(d, "alice", "sha256", false, {"-keyopt", "rsa_padding_mode:pss"}));
  Tlv& si = signer_infos(t).children.at(0);
  Tlv& params = si.children.at(4).children.at(1);  // RSASSA-PSS-params
  REQUIRE(params.tag() == 0x30);
  params.child(0xA0).children.at(0).children.at(0) = test::der_oid("1.3.6.1.4.1.99999.2");  // an unknown hash
  REQUIRE(check_text(multipart_signed(
                         openssl_signature(d, "alice", "sha256", false, {"-keyopt", "rsa_padding_mode:pss"}),
                         "sha-256"))
              .ok());
  VerifyResult r = check_text(multipart_signed(t.encode(), "sha-256"));
  CHECK(r.status == VerifyStatus::unsupported);
  CHECK(r.reason == "signer alice@example.org: unsupported algorithm rsassaPss (with these parameters)");
}
