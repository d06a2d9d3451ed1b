// Binding a signer to the sender: the one address of the one From header, and whether a signer
// certificate names it (an e-mail address, compared case-insensitively as mail clients do) or covers its
// domain (a dNSName equal to the domain, or a one-label wildcard "*.example.net" covering
// "sub.example.net" but neither "example.net" nor "a.b.example.net").
#pragma once

#include <openssl/x509.h>

#include <string>

#include "keystore/facts.hpp"
#include "smime/mime.hpp"

namespace milter {

struct FromAddress {
  std::string address;  // the addr-spec, when there is exactly one From header with exactly one address
  std::string problem;  // otherwise why not, e.g. "2 From headers", "3 addresses in From", "no From address"
  bool ok() const { return problem.empty(); }
};
FromAddress single_from_address(const smime::mime::HeaderList& headers);

struct Binding {
  bool bound = false;
  std::string identifier;  // bound: the certificate's address (e-mail match) or the From domain (domain match)
  std::string how;         // "email" or "domain"
};
Binding bind_signer(X509* cert, const std::string& from_address);

// What a certificate is for, to name it: its first e-mail address, else its first dNSName, else its subject.
std::string certificate_label(X509* cert);
// The same from the facts the keystore keeps of it (keystore::facts_of reads them the same way).
std::string certificate_label(const keystore::CertFacts& facts);

}  // namespace milter
