// Parts of revocation/src tested alone: CRL parsing in every form a fetch can bring.
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <catch2/catch.hpp>
#include <string>

#include "crl.hpp"
#include "revocation/revocation.hpp"
#include "revocation_support.hpp"
#include "smime/cert.hpp"

namespace {

std::string base64(const std::string& der) {
  std::string out(4 * ((der.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(der.data()), static_cast<int>(der.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

}  // namespace

TEST_CASE("revocation: parse_crl reads DER, PEM and libcurl's LDAP output", "[revocation][internals]") {
  const std::string der = smime::read_file(test::rev_pki_file("crl/fresh/inter.crl"));
  const std::string pem = smime::read_file(test::rev_pki_file("crl/fresh-pem/inter.crl"));
  struct Row {
    const char* what;
    std::string input;
    bool want;
  };
  const Row rows[] = {
      {"DER", der, true},
      {"PEM", pem, true},
      {"LDAP ;binary (base64)",
       "DN: cn=inter,o=test\n\tcertificateRevocationList;binary: " + base64(der) + "\n\n", true},
      {"LDAP raw value", "DN: cn=inter,o=test\n\tcertificateRevocationList: " + der + "\n\n", true},
      {"LDAP without a CRL attribute", "DN: cn=inter,o=test\n\tcn: inter\n\n", false},
      {"truncated DER", der.substr(0, der.size() / 2), false},
      {"text", "hello", false},
      {"empty", "", false},
  };
  for (const Row& row : rows) {
    INFO(row.what);
    revocation::detail::CrlPtr crl = revocation::detail::parse_crl(row.input);
    CHECK(static_cast<bool>(crl) == row.want);
    if (crl)
      CHECK(X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(test::inter().get())) == 0);
  }
}

TEST_CASE("revocation: find_issuer wants the signature, not only the name and key id",
          "[revocation][issuer]") {
  smime::X509Ptr leaf = test::rev_cert("rev-good");
  smime::X509Ptr lookalike =
      std::move(smime::load_certificates(smime::read_file(test::rev_pki_file("lookalike.pem"))).front());
  // The lookalike has inter's name and subjectKeyIdentifier: OpenSSL's name/key-id test accepts it...
  REQUIRE(X509_check_issued(lookalike.get(), leaf.get()) == X509_V_OK);
  std::vector<smime::X509Ptr> candidates;
  candidates.push_back(smime::share(lookalike.get()));
  // ... but it did not sign the leaf, so it is not its issuer, and the real one is found after it.
  CHECK_FALSE(revocation::find_issuer(leaf.get(), candidates));
  candidates.push_back(test::inter());
  smime::X509Ptr found = revocation::find_issuer(leaf.get(), candidates);
  REQUIRE(found);
  CHECK(X509_cmp(found.get(), test::inter().get()) == 0);
  CHECK(revocation::names_revocation_source(leaf.get()));
  CHECK_FALSE(revocation::names_revocation_source(test::rev_cert("rev-nodp").get()));
}
