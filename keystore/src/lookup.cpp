#include "keystore/lookup.hpp"

#include <algorithm>

namespace keystore {

namespace {

// The wildcard name that covers a domain: "sub.example.net" -> "*.example.net" (one label).
std::string wildcard_for(const std::string& domain) {
  auto dot = domain.find('.');
  if (dot == std::string::npos || dot + 1 >= domain.size()) return {};
  return "*" + domain.substr(dot);
}

void add_stage(std::vector<Candidate>& out, std::vector<CertRecord> records, Match match) {
  std::stable_sort(records.begin(), records.end(), [](const CertRecord& a, const CertRecord& b) {
    return a.facts.not_before > b.facts.not_before;
  });
  for (auto& r : records) {
    auto same = [&](const Candidate& c) { return c.record.facts.fingerprint == r.facts.fingerprint; };
    if (std::none_of(out.begin(), out.end(), same)) out.push_back(Candidate{std::move(r), match, {}});
  }
}

std::vector<Candidate> stages(Store& store, const std::string& address_or_domain) {
  std::vector<Candidate> out;
  const bool is_address = address_or_domain.find('@') != std::string::npos;
  const std::string domain = is_address ? domain_of(address_or_domain) : lower(address_or_domain);
  if (is_address) add_stage(out, store.by_email(address_or_domain), Match::email);
  if (!domain.empty()) add_stage(out, store.by_dns_name(domain), Match::domain);
  if (std::string w = wildcard_for(domain); !w.empty()) add_stage(out, store.by_dns_name(w), Match::wildcard);
  return out;
}

LookupResult choose(std::vector<Candidate> candidates, Purpose purpose, bool need_key, Time now,
                    const std::string& what) {
  LookupResult result;
  for (auto& c : candidates) {
    c.check = check_validity(c.record.facts, now);
    if (c.check.ok()) c.check = check_purpose(c.record.facts, purpose);
    if (c.check.ok() && need_key && !c.record.has_private_key)
      c.check = Check{Problem::no_private_key, "not one of the gateway's identities (no private key)"};
  }
  for (auto& c : candidates) {
    if (c.check.ok()) {
      result.chosen = c.record.clone();
      result.match = c.match;
      result.explanation = "chosen " + c.record.facts.fingerprint + " (matched by " + to_string(c.match) +
                           ", newest valid " + what + " certificate)";
      break;
    }
  }
  if (!result.chosen) {
    if (candidates.empty()) {
      result.reason = Problem::none;
      result.explanation = "no certificate for this address or its domain";
    } else {
      const Candidate& first = candidates.front();  // newest of the most specific stage
      result.reason = first.check.problem;
      result.explanation = "no usable " + what + " certificate: " + first.record.facts.fingerprint + " (" +
                           to_string(first.match) + ") " + first.check.reason;
    }
  }
  result.candidates = std::move(candidates);
  return result;
}

}  // namespace

std::string to_string(Match m) {
  switch (m) {
    case Match::email:
      return "email";
    case Match::domain:
      return "domain";
    case Match::wildcard:
      return "wildcard";
  }
  return "email";
}

std::vector<Candidate> candidates_for(Store& store, const std::string& address) {
  return stages(store, address);
}

LookupResult encryption_certificate(Store& store, const std::string& address, Time now) {
  return choose(stages(store, address), Purpose::encrypt, false, now, "encryption");
}

LookupResult signing_certificate(Store& store, const std::string& address_or_domain, Time now) {
  std::vector<Candidate> own = stages(store, address_or_domain);
  // Certificates without a key cannot sign for the gateway; they stay listed, marked as such.
  return choose(std::move(own), Purpose::sign, true, now, "signing");
}

std::vector<CertRecord> verification_certificates(Store& store, const std::string& address) {
  std::vector<CertRecord> out = store.by_email(address);
  std::stable_sort(out.begin(), out.end(), [](const CertRecord& a, const CertRecord& b) {
    return a.facts.not_before > b.facts.not_before;
  });
  return out;
}

std::vector<smime::X509Ptr> trust_anchors(Store& store) {
  std::vector<smime::X509Ptr> out;
  for (auto& a : store.anchors()) out.push_back(std::move(a.cert));
  return out;
}

}  // namespace keystore
