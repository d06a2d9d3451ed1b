// Local revocation data, which the revocation checker consults before the network:
//   crl import FILE [--issuer FILE] | crl list [--json] | crl remove ISSUER-FINGERPRINT...
//   revoke FINGERPRINT|FILE --reason REASON [--comment TEXT] | unrevoke FINGERPRINT|FILE... | revoked
//   [--json]
// A CRL is stored only when its signature verifies with the key of a trust anchor of the store (or of a
// certificate given with --issuer) under the CRL's issuer name, and when the checker could use it
// (complete, not a delta, no limited scope); one CRL per issuer certificate, a newer one replacing it.
// Each change runs in one transaction; what is printed is printed after the commit.
#include <cctype>
#include <filesystem>
#include <functional>
#include <iostream>

#include "context.hpp"
#include "format.hpp"
#include "keystore/error.hpp"
#include "keystore/lookup.hpp"
#include "revocation/local_source.hpp"
#include "smime/cert.hpp"

namespace cli {

namespace {

constexpr std::size_t kMaxComment = 1000;

// Runs a change whose "no such entry" is exit 1 with a hint of its own (the one main() gives for
// not_found points to 'list', the certificates).
int with_hint(const std::function<void()>& change, const std::string& hint) {
  try {
    change();
  } catch (const keystore::Error& e) {
    if (e.kind() != keystore::ErrorKind::not_found) throw;
    std::cerr << "smime-keystore: " << e.what() << "; " << hint << "\n";
    return kNotFound;
  }
  return kOk;
}

std::string opt_time(const std::optional<keystore::Time>& t) {
  return t ? iso_time(*t) : std::string("none");
}

std::string hex_digits(const std::string& selector) {
  std::string hex;
  for (char ch : selector) {
    if (ch == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(ch))) return {};
    hex.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
  }
  return hex;
}

// "AB:CD:..." from 64 hex digits (colons optional); empty when the selector is not a whole fingerprint.
std::string whole_fingerprint(const std::string& selector) {
  const std::string hex = hex_digits(selector);
  if (hex.size() != 64) return {};
  std::string fp;
  for (std::size_t i = 0; i < hex.size(); i += 2) fp += (i ? ":" : "") + hex.substr(i, 2);
  return fp;
}

// The one of `fingerprints` that starts with the selector (at least 4 hex digits, colons optional).
// UsageError when ambiguous or too short; empty when none matches.
std::string match_prefix(const std::string& selector, const std::vector<std::string>& fingerprints,
                         const std::string& what) {
  const std::string hex = hex_digits(selector);
  if (hex.size() < 4)
    throw UsageError("give at least 4 hex digits of the fingerprint, not '" + selector + "'");
  std::string match;
  int n = 0;
  for (const auto& fp : fingerprints) {
    std::string fhex;
    for (char ch : fp)
      if (ch != ':') fhex.push_back(ch);
    if (fhex.rfind(hex, 0) == 0) {
      match = fp;
      ++n;
    }
  }
  if (n > 1) throw UsageError("several " + what + " start with " + selector + "; give more digits");
  return match;
}

// A file (or "-"), not a fingerprint: an existing file, or anything that is not hex digits and colons
// (reading it then says what is wrong with the path).
bool names_file(const std::string& selector) {
  std::error_code ec;
  return selector == "-" || std::filesystem::is_regular_file(selector, ec) || hex_digits(selector).empty();
}

// The first certificate of a file (PEM or DER).
smime::X509Ptr first_certificate(const std::string& path) {
  auto certs = smime::load_certificates(read_input(path));
  if (certs.empty()) throw smime::Error(smime::ErrorKind::bad_input, "no certificate in " + path);
  return std::move(certs.front());
}

// --- crl ----------------------------------------------------------------------------------------------

// The certificate among `candidates` whose key verifies `crl` under its issuer name, and why none does.
struct IssuerChoice {
  smime::X509Ptr issuer;
  std::vector<std::string> problems;  // one per candidate named like the CRL's issuer
};

IssuerChoice crl_issuer(X509_CRL* crl, const std::vector<smime::X509Ptr>& candidates) {
  IssuerChoice out;
  for (const auto& cand : candidates) {
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(cand.get())) != 0) continue;
    if (std::optional<std::string> problem = revocation::crl_problem(crl, cand.get())) {
      out.problems.push_back(smime::fingerprint_sha256(cand.get()).substr(0, 23) + ": " + *problem);
      continue;
    }
    out.issuer = smime::share(cand.get());
    return out;
  }
  return out;
}

int crl_import(Context& c, const std::vector<std::string>& files) {
  if (files.size() != 1) throw UsageError("crl import takes one FILE");
  const std::string& path = files[0];
  std::shared_ptr<X509_CRL> crl = revocation::read_crl(read_input(path));
  if (!crl) throw smime::Error(smime::ErrorKind::bad_input, path + " is not a CRL (DER or PEM)");
  const revocation::CrlSummary s = revocation::summarize_crl(crl.get());
  if (!s.this_update) throw smime::Error(smime::ErrorKind::bad_input, path + ": unreadable thisUpdate");

  std::vector<smime::X509Ptr> candidates;
  const std::optional<std::string> issuer_file = c.args.one("issuer");
  if (issuer_file)
    candidates = smime::load_certificates(read_input(*issuer_file));
  else
    candidates = keystore::trust_anchors(c.open());
  IssuerChoice choice = crl_issuer(crl.get(), candidates);
  if (!choice.issuer) {
    const std::string where = issuer_file ? "in " + *issuer_file : std::string("among the trust anchors");
    if (choice.problems.empty())
      throw keystore::Error(keystore::ErrorKind::refused,
                            "refused the CRL of " + s.issuer + ": no certificate of that name " + where +
                                (issuer_file ? "" : "; give the issuer's certificate with --issuer FILE"));
    throw keystore::Error(keystore::ErrorKind::refused,
                          "refused the CRL of " + s.issuer + ": " + join(choice.problems, "; "));
  }

  keystore::CrlRecord record{smime::fingerprint_sha256(choice.issuer.get()),
                             s.issuer,
                             revocation::crl_der(crl.get()),
                             *s.this_update,
                             s.next_update,
                             now()};
  keystore::Store& store = c.open();
  std::optional<keystore::CrlRecord> before;
  keystore::CrlPut put = keystore::CrlPut::stored;
  store.in_transaction([&] {
    before = store.crl(record.issuer_fingerprint);
    put = store.put_crl(record);
  });
  const std::string what = "CRL of " + s.issuer + " (issuer certificate " + record.issuer_fingerprint +
                           "): thisUpdate " + iso_time(record.this_update) + ", nextUpdate " +
                           opt_time(record.next_update) + ", " + std::to_string(s.entries) +
                           (s.entries == 1 ? " entry" : " entries");
  switch (put) {
    case keystore::CrlPut::stored:
      std::cout << "imported " << what << "\n";
      break;
    case keystore::CrlPut::replaced:
      std::cout << "replaced " << what << " (was thisUpdate " << iso_time(before->this_update) << ")\n";
      break;
    case keystore::CrlPut::unchanged:
      std::cout << "known " << what << "\n";
      break;
    case keystore::CrlPut::not_newer:
      throw keystore::Error(keystore::ErrorKind::refused,
                            "refused the CRL of " + s.issuer + " (thisUpdate " +
                                iso_time(record.this_update) +
                                "): the stored one is as new or newer (thisUpdate " +
                                iso_time(before ? before->this_update : 0) +
                                "); remove it first with 'smime-keystore crl remove' to go back");
  }
  if (record.next_update && *record.next_update < now())
    std::cerr << "smime-keystore: warning: the CRL is past its nextUpdate " << iso_time(*record.next_update)
              << "; the checker uses it only within revocation.crl_grace, then asks the network\n";
  return kOk;
}

int crl_list(Context& c) {
  const keystore::Time t = now();
  nlohmann::json j = nlohmann::json::array();
  for (const keystore::CrlRecord& r : c.open().crls()) {
    std::shared_ptr<X509_CRL> crl = revocation::read_crl(r.der);
    const std::size_t entries = crl ? revocation::summarize_crl(crl.get()).entries : 0;
    const bool expired = r.next_update && *r.next_update < t;
    if (c.json()) {
      j.push_back(
          {{"issuer_fingerprint", r.issuer_fingerprint},
           {"issuer", r.issuer},
           {"this_update", iso_time(r.this_update)},
           {"next_update", r.next_update ? nlohmann::json(iso_time(*r.next_update)) : nlohmann::json()},
           {"imported", iso_time(r.imported)},
           {"entries", entries},
           {"readable", crl != nullptr},
           {"past_next_update", expired}});
      continue;
    }
    std::cout << r.issuer_fingerprint << "  " << iso_time(r.this_update) << "  " << opt_time(r.next_update)
              << (expired ? " (past)" : "") << "  " << (crl ? std::to_string(entries) : "unreadable")
              << (entries == 1 ? " entry  " : " entries  ") << r.issuer << "\n";
  }
  if (c.json()) std::cout << j.dump(2) << "\n";
  return kOk;
}

int crl_remove(Context& c, const std::vector<std::string>& selectors) {
  if (selectors.empty()) throw UsageError("crl remove: give the issuer fingerprint (see 'crl list')");
  keystore::Store& store = c.open();
  std::vector<std::string> report;
  const int code = with_hint(
      [&] {
        store.in_transaction([&] {
          report.clear();
          std::vector<std::string> fps;
          for (const auto& r : store.crls()) fps.push_back(r.issuer_fingerprint);
          for (const auto& sel : selectors) {
            const std::string fp = match_prefix(sel, fps, "local CRLs' issuers");
            if (fp.empty() || !store.remove_crl(fp))
              throw keystore::Error(keystore::ErrorKind::not_found, "no local CRL of issuer " + sel);
            report.push_back("removed the CRL of issuer " + fp);
          }
        });
      },
      "see 'smime-keystore crl list'");
  if (code != kOk) report.clear();  // rolled back
  for (const auto& line : report) std::cout << line << "\n";
  return code;
}

// --- revoke -------------------------------------------------------------------------------------------

// The fingerprint a selector names: a certificate file's first certificate, a whole fingerprint (the
// certificate need not be stored), or a prefix of a stored certificate's.
std::string revoke_target(Context& c, const std::string& selector) {
  if (names_file(selector)) return smime::fingerprint_sha256(first_certificate(selector).get());
  if (std::string fp = whole_fingerprint(selector); !fp.empty()) return fp;
  return c.select(selector).facts.fingerprint;
}

std::string subject_of(keystore::Store& store, const std::string& fp) {
  std::optional<keystore::CertRecord> r = store.find(fp);
  return r ? r->facts.subject : std::string();
}

std::string checked_comment(const std::optional<std::string>& comment) {
  if (!comment) return {};
  if (comment->size() > kMaxComment)
    throw UsageError("--comment is longer than " + std::to_string(kMaxComment) + " bytes");
  for (char ch : *comment)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f)
      throw UsageError("--comment must be one line without control characters");
  return *comment;
}

}  // namespace

int cmd_crl(Context& c) {
  if (c.args.positional.empty()) throw UsageError("crl: import FILE, list, or remove ISSUER-FINGERPRINT...");
  const std::string sub = c.args.positional[0];
  std::vector<std::string> rest(c.args.positional.begin() + 1, c.args.positional.end());
  if (sub != "import" && c.args.flag("issuer")) throw UsageError("--issuer is for crl import only");
  if (sub == "import") return crl_import(c, rest);
  if (sub == "list") {
    if (!rest.empty()) throw UsageError("crl list takes no arguments");
    return crl_list(c);
  }
  if (sub == "remove") return crl_remove(c, rest);
  throw UsageError("crl: unknown action '" + sub + "' (import, list, remove)");
}

int cmd_revoke(Context& c) {
  c.args.positional_count(1, 1);
  const std::optional<std::string> reason = c.args.one("reason");
  if (!reason || !revocation::is_crl_reason(*reason))
    throw UsageError("give --reason, one of " + join(revocation::crl_reason_names(), ", "));
  const std::string comment = checked_comment(c.args.one("comment"));
  const std::string fp = revoke_target(c, c.args.positional[0]);
  keystore::Store& store = c.open();
  bool added = false;
  std::string subject;
  store.in_transaction([&] {
    added = store.revoke(keystore::RevokedRecord{fp, *reason, now(), now(), comment});
    subject = subject_of(store, fp);
  });
  std::cout << (added ? "revoked " : "updated ") << fp << (subject.empty() ? "" : " " + subject) << " ("
            << *reason << ")\n";
  return kOk;
}

int cmd_unrevoke(Context& c) {
  c.args.positional_count(1, 1000);
  keystore::Store& store = c.open();
  std::vector<std::string> report;
  const int code = with_hint(
      [&] {
        store.in_transaction([&] {
          report.clear();
          std::vector<std::string> fps;
          for (const auto& r : store.revoked()) fps.push_back(r.fingerprint);
          for (const auto& sel : c.args.positional) {
            std::string fp = names_file(sel) ? smime::fingerprint_sha256(first_certificate(sel).get())
                                             : match_prefix(sel, fps, "certificates revoked by hand");
            if (fp.empty() || !store.unrevoke(fp))
              throw keystore::Error(keystore::ErrorKind::not_found, "not revoked by hand: " + sel);
            report.push_back("unrevoked " + fp);
          }
        });
      },
      "see 'smime-keystore revoked'");
  if (code != kOk) report.clear();  // rolled back
  for (const auto& line : report) std::cout << line << "\n";
  return code;
}

int cmd_revoked(Context& c) {
  c.args.positional_count(0, 0);
  keystore::Store& store = c.open();
  nlohmann::json j = nlohmann::json::array();
  for (const keystore::RevokedRecord& r : store.revoked()) {
    const std::string subject = subject_of(store, r.fingerprint);
    if (c.json()) {
      j.push_back({{"fingerprint", r.fingerprint},
                   {"reason", r.reason},
                   {"revoked_at", iso_time(r.revoked_at)},
                   {"added", iso_time(r.added)},
                   {"comment", r.comment},
                   {"subject", subject}});
      continue;
    }
    std::cout << r.fingerprint << "  " << r.reason << "  " << iso_time(r.revoked_at) << "  "
              << (subject.empty() ? "(not in the store)" : subject)
              << (r.comment.empty() ? "" : "  # " + r.comment) << "\n";
  }
  if (c.json()) std::cout << j.dump(2) << "\n";
  return kOk;
}

}  // namespace cli
