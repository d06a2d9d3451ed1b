// The lookups the milter makes, and that `smime-keystore lookup` explains. Pure policy over a Store:
// they read, never write (the caller marks a certificate used with Store::mark_used when it uses it).
//
// Encryption certificate for a recipient address, in stages: the exact e-mail address, then a domain
// certificate naming the address's domain exactly, then one whose wildcard covers it ("*.example.net"
// covers "sub.example.net", one label only). The first stage with a qualifying certificate wins;
// within a stage the newest (latest notBefore) qualifying certificate wins. Qualifying: valid now and
// usable for encryption (check_purpose). When none qualifies the reason is that of the newest
// candidate of the most specific stage that had any (none / expired / not yet valid / wrong usage...).
#pragma once

#include <string>
#include <vector>

#include "keystore/record.hpp"
#include "keystore/requirements.hpp"
#include "keystore/store.hpp"

namespace keystore {

enum class Match { email, domain, wildcard };
std::string to_string(Match m);

struct Candidate {
  CertRecord record;
  Match match = Match::email;
  Check check;  // why it does not qualify (ok() for the chosen one)
};

struct LookupResult {
  std::optional<CertRecord> chosen;
  Match match = Match::email;         // how the chosen one matched
  Problem reason = Problem::none;     // when nothing was chosen; none + empty candidates = "none"
  std::string explanation;            // one line: what was chosen, or why nothing was
  std::vector<Candidate> candidates;  // everything considered, in stage order, newest first
  bool found() const { return chosen.has_value(); }
};

LookupResult encryption_certificate(Store& store, const std::string& address, Time now);
// Signing: the gateway's own identities (with private key) for the address (or a domain name given
// alone), by the same stages; digitalSignature or nonRepudiation required.
LookupResult signing_certificate(Store& store, const std::string& address_or_domain, Time now);
// Every certificate the store knows for the address (any origin, any validity), newest first: the
// candidates for verifying a signer whose message did not carry its certificate.
std::vector<CertRecord> verification_certificates(Store& store, const std::string& address);
// Trust anchors for chain building.
std::vector<smime::X509Ptr> trust_anchors(Store& store);

// The candidates for an address in the order of the stages (email, domain, wildcard); exposed for the
// harvesting rules.
std::vector<Candidate> candidates_for(Store& store, const std::string& address);

}  // namespace keystore
