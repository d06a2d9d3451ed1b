// Import requirements and certificate facts.
#include <catch2/catch.hpp>

#include "keystore/requirements.hpp"
#include "keystore_support.hpp"

using namespace keystore;

TEST_CASE("facts: key usage, key type, addresses, CA and self-signed flags", "[facts]") {
  auto carol = facts_of(kt::pki_cert("carol").get());
  CHECK(carol.key_type == KeyType::ec);
  CHECK(carol.can_encrypt());
  CHECK(carol.can_sign());
  CHECK(carol.emails == std::vector<std::string>{"carol@example.org"});
  auto root = facts_of(kt::pki_cert("root").get());
  CHECK(root.is_ca);
  CHECK(root.self_signed);
  auto domain = facts_of(kt::pki_cert("domain").get());
  CHECK(domain.domains == std::vector<std::string>{"example.net", "*.example.net"});
  CHECK(domain.not_after > domain.not_before);
  CHECK(domain_of("Bob@Example.ORG") == "example.org");
}

TEST_CASE("import requirements: table of purposes and problems", "[requirements]") {
  kt::Spec sign_only, enc_only, no_ku, no_san, tls;
  sign_only.emails = enc_only.emails = no_ku.emails = tls.emails = {"x@example.org"};
  sign_only.key_usage = "critical,digitalSignature";
  enc_only.key_usage = "critical,keyEncipherment";
  no_ku.key_usage = "";
  tls.ext_key_usage = "serverAuth";
  auto s = kt::issue(sign_only), e = kt::issue(enc_only), n = kt::issue(no_ku), a = kt::issue(no_san),
       t = kt::issue(tls);
  auto alice = kt::pki_cert("alice"), expired = kt::pki_cert("expired"), inter = kt::pki_cert("inter");
  struct Row {
    const char* name;
    X509* cert;
    Purpose purpose;
    Problem want;
  };
  const std::vector<Row> rows = {
      {"alice for encryption", alice.get(), Purpose::encrypt, Problem::none},
      {"alice for both", alice.get(), Purpose::both, Problem::none},
      {"signing-only for encryption", s.cert.get(), Purpose::encrypt, Problem::wrong_key_usage},
      {"signing-only for signing", s.cert.get(), Purpose::sign, Problem::none},
      {"encryption-only for signing", e.cert.get(), Purpose::sign, Problem::wrong_key_usage},
      {"encryption-only for any", e.cert.get(), Purpose::any, Problem::none},
      {"no keyUsage for both", n.cert.get(), Purpose::both, Problem::none},
      {"no SAN", a.cert.get(), Purpose::any, Problem::no_address},
      {"serverAuth only", t.cert.get(), Purpose::encrypt, Problem::wrong_extended_usage},
      {"expired", expired.get(), Purpose::encrypt, Problem::expired},
      {"CA", inter.get(), Purpose::any, Problem::ca_certificate},
  };
  for (const auto& row : rows) {
    INFO(row.name);
    Check c = check_import(facts_of(row.cert), row.purpose, kt::now());
    CHECK(c.problem == row.want);
    CHECK(c.reason.empty() == c.ok());
  }
}
