#include "milter/signer_binding.hpp"

#include <vector>

#include "conf/config.hpp"
#include "milter/policy.hpp"
#include "smime/cert.hpp"

namespace milter {

namespace {

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// The mailboxes of an address list (RFC 5322 section 3.4), split at the commas outside quoted strings,
// comments and angle brackets; group names ("team:" ... ";") are dropped, empty entries skipped.
std::vector<std::string> split_address_list(std::string_view list) {
  std::vector<std::string> out;
  std::string current;
  bool quoted = false;
  int comment = 0;
  bool angle = false;
  auto flush = [&] {
    bool blank = true;
    for (char c : current)
      if (c != ' ' && c != '\t') blank = false;
    if (!blank) out.push_back(current);
    current.clear();
  };
  for (std::size_t i = 0; i < list.size(); ++i) {
    const char c = list[i];
    if (quoted) {
      current += c;
      if (c == '\\' && i + 1 < list.size())
        current += list[++i];
      else if (c == '"')
        quoted = false;
    } else if (comment > 0) {
      if (c == '\\' && i + 1 < list.size())
        ++i;
      else if (c == '(')
        ++comment;
      else if (c == ')')
        --comment;
    } else if (c == '"') {
      quoted = true;
      current += c;
    } else if (c == '(') {
      comment = 1;
    } else if (c == '<') {
      angle = true;
      current += c;
    } else if (c == '>') {
      angle = false;
      current += c;
    } else if (!angle && (c == ',' || c == ';')) {
      flush();
    } else if (!angle && c == ':') {
      current.clear();  // a group's display name
    } else {
      current += c;
    }
  }
  flush();
  return out;
}

bool covers(const std::string& dns_name, const std::string& domain) {
  if (dns_name == domain) return true;
  if (dns_name.size() < 3 || dns_name.compare(0, 2, "*.") != 0) return false;
  const std::string suffix = dns_name.substr(1);  // ".example.net"
  if (domain.size() <= suffix.size() ||
      domain.compare(domain.size() - suffix.size(), suffix.size(), suffix) != 0)
    return false;
  const std::string label = domain.substr(0, domain.size() - suffix.size());
  return label.find('.') == std::string::npos;
}

}  // namespace

FromAddress single_from_address(const smime::mime::HeaderList& headers) {
  FromAddress r;
  const std::size_t n = headers.count("From");
  if (n != 1) {
    r.problem = n == 0 ? "no From header" : std::to_string(n) + " From headers";
    return r;
  }
  const std::vector<std::string> mailboxes = split_address_list(headers.get("From"));
  if (mailboxes.size() != 1) {
    r.problem =
        mailboxes.empty() ? "no From address" : std::to_string(mailboxes.size()) + " addresses in From";
    return r;
  }
  std::string address = header_address(mailboxes.front());
  const auto at = address.rfind('@');
  if (address.empty() || at == std::string::npos || at == 0 || at + 1 == address.size()) {
    r.problem = "no From address";
    return r;
  }
  r.address = smime::normalize_address(address);
  return r;
}

Binding bind_signer(X509* cert, const std::string& from_address) {
  Binding b;
  if (cert == nullptr || from_address.empty()) return b;
  const std::string from = smime::normalize_address(from_address);
  for (const std::string& email : smime::email_addresses(cert)) {
    // The whole address compares case-insensitively, the local part too: mail clients and the keystore's
    // lookups treat ALICE@EXAMPLE.ORG and alice@example.org as one correspondent.
    if (lower(smime::normalize_address(email)) == lower(from)) {
      b.bound = true;
      b.identifier = smime::normalize_address(email);  // as the certificate names it
      b.how = "email";
      return b;
    }
  }
  const std::string domain = lower(from.substr(from.rfind('@') + 1));
  for (const std::string& name : smime::dns_names(cert)) {
    if (covers(lower(name), domain)) {
      b.bound = true;
      b.identifier = domain;
      b.how = "domain";
      return b;
    }
  }
  return b;
}

std::string certificate_label(X509* cert) {
  if (cert == nullptr) return {};
  auto emails = smime::email_addresses(cert);
  if (!emails.empty()) return emails.front();
  auto names = smime::dns_names(cert);
  if (!names.empty()) return names.front();
  return smime::subject_name(cert);
}

std::string certificate_label(const keystore::CertFacts& facts) {
  if (!facts.emails.empty()) return facts.emails.front();
  if (!facts.domains.empty()) return facts.domains.front();
  return facts.subject;
}

}  // namespace milter
