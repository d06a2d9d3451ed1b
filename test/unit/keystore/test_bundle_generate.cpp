// Reading import files (PEM, DER, PKCS#7, PKCS#12) and generating certificates and CSRs.
#include <openssl/pem.h>

#include <catch2/catch.hpp>

#include "keystore/bundle.hpp"
#include "keystore/generate.hpp"
#include "keystore/requirements.hpp"
#include "keystore_support.hpp"

using namespace keystore;

namespace {
void free_ext_stack(STACK_OF(X509_EXTENSION) * s) { sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free); }
using ExtStackPtr = std::unique_ptr<STACK_OF(X509_EXTENSION), smime::OsslDeleter<free_ext_stack>>;
}  // namespace

TEST_CASE("bundle: PEM chain, DER, PKCS#12 with passphrase, PEM with key", "[bundle]") {
  auto chain = read_bundle(smime::read_file(kt::pki_file("alice.chain.pem")), "");
  CHECK(chain.certs.size() == 2);
  CHECK_FALSE(chain.key);
  auto split = split_leaves(std::move(chain.certs));
  CHECK(split.leaves.size() == 1);
  CHECK(split.cas.size() == 1);

  auto der = read_bundle(smime::to_der(kt::pki_cert("bob").get()), "");
  CHECK(der.certs.size() == 1);

  const std::string p12 = smime::read_file(kt::pki_file("carol.p12"));
  CHECK(looks_like_pkcs12(p12));
  auto opened = read_bundle(p12, "secret");
  CHECK(opened.pkcs12);
  REQUIRE(opened.key);
  CHECK(X509_check_private_key(opened.certs.front().get(), opened.key.get()) == 1);
  CHECK_THROWS_AS(read_bundle(p12, "wrong"), smime::Error);

  auto with_key = read_bundle(
      smime::read_file(kt::pki_file("gw-new.pem")) + smime::read_file(kt::pki_file("gw-new.key")), "");
  CHECK(with_key.key);
  CHECK_THROWS_AS(read_bundle("not a certificate", ""), smime::Error);
}

TEST_CASE("bundle: a PKCS#7 certs-only bundle", "[bundle]") {
  kt::TempDir dir;
  const std::string out = dir.path("bundle.p7b");
  const std::string cmd = "openssl crl2pkcs7 -nocrl -certfile " + kt::pki_file("alice.pem") + " -certfile " +
                          kt::pki_file("bob.pem") + " -outform DER -out " + out;
  REQUIRE(std::system(cmd.c_str()) == 0);
  auto b = read_bundle(smime::read_file(out), "");
  CHECK(b.certs.size() == 2);
}

TEST_CASE("generate: key usage per RFC 8550/8551 for each key type and purpose", "[generate]") {
  struct Row {
    std::string key_type;
    Purpose usage;
    bool want_encrypt, want_sign;
  };
  for (const auto& row : std::vector<Row>{{"rsa", Purpose::both, true, true},
                                          {"rsa", Purpose::sign, false, true},
                                          {"rsa", Purpose::encrypt, true, false},
                                          {"ec", Purpose::encrypt, true, false},
                                          {"ec", Purpose::both, true, true}}) {
    INFO(row.key_type << " " << to_string(row.usage));
    GenerateRequest r;
    r.common_name = "Gateway";
    r.organization = "Example";
    r.country = "DE";
    r.emails = {"gw@example.org"};
    r.domains = {"example.org"};
    r.key_type = row.key_type;
    r.key_bits = 2048;
    r.usage = row.usage;
    r.days = 30;
    Generated g = generate(r);
    REQUIRE(g.cert);
    CertFacts f = facts_of(g.cert.get());
    CHECK(f.can_encrypt() == row.want_encrypt);
    CHECK(f.can_sign() == row.want_sign);
    CHECK(f.email_protection);
    CHECK(f.self_signed);
    CHECK_FALSE(f.is_ca);
    CHECK(f.emails == std::vector<std::string>{"gw@example.org"});
    CHECK(f.domains == std::vector<std::string>{"example.org"});
    CHECK(f.not_after - f.not_before == 30 * 86400);
    CHECK_THAT(f.subject, Catch::Contains("CN=Gateway") && Catch::Contains("C=DE"));
    CHECK(X509_check_private_key(g.cert.get(), g.key.get()) == 1);
  }
}

TEST_CASE("generate: a CSR carries the subject and the requested extensions", "[generate]") {
  GenerateRequest r;
  r.common_name = "Req";
  r.emails = {"req@example.org"};
  r.key_type = "ec";
  r.csr = true;
  Generated g = generate(r);
  CHECK_FALSE(g.cert);
  REQUIRE_THAT(g.csr_pem, Catch::StartsWith("-----BEGIN CERTIFICATE REQUEST-----"));
  smime::BioPtr bio(BIO_new_mem_buf(g.csr_pem.data(), static_cast<int>(g.csr_pem.size())));
  std::unique_ptr<X509_REQ, smime::OsslDeleter<X509_REQ_free>> req(
      PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  REQUIRE(req);
  CHECK(X509_REQ_verify(req.get(), g.key.get()) == 1);
  ExtStackPtr exts(X509_REQ_get_extensions(req.get()));
  REQUIRE(exts);
  CHECK(X509v3_get_ext_by_NID(exts.get(), NID_key_usage, -1) >= 0);
  CHECK(X509v3_get_ext_by_NID(exts.get(), NID_subject_alt_name, -1) >= 0);
}

TEST_CASE("generate: impossible requests are usage errors", "[generate]") {
  GenerateRequest nothing;
  CHECK_THROWS_AS(generate(nothing), smime::Error);
  GenerateRequest bad_country;
  bad_country.common_name = "x";
  bad_country.country = "Germany";
  CHECK_THROWS_AS(generate(bad_country), smime::Error);
  GenerateRequest small;
  small.common_name = "x";
  small.key_bits = 1024;
  CHECK_THROWS_AS(generate(small), smime::Error);
}
