#include "local.hpp"

#include <algorithm>

#include "crl.hpp"

namespace revocation::detail {

namespace {

// The administrator's comment on one line (it may hold anything the CLI accepted).
std::string one_line(std::string_view text) {
  std::string out;
  for (char c : text) out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c);
  return out;
}

std::time_t this_update_of(const std::shared_ptr<X509_CRL>& crl) {
  return to_time(X509_CRL_get0_lastUpdate(crl.get())).value_or(0);
}

LocalVerdict revoked_by_administrator(const LocalRevocation& r, std::time_t now) {
  LocalVerdict out;
  out.by_administrator = true;
  out.verdict.status = Status::revoked;
  out.verdict.revoked_at = r.revoked_at;
  out.verdict.revocation_reason = r.reason.empty() ? "unspecified" : r.reason;
  out.verdict.expires_at = now;
  out.attempts.push_back("local: revoked by the administrator (" + out.verdict.revocation_reason + ") at " +
                         iso_time(r.revoked_at) + (r.comment.empty() ? "" : ": " + one_line(r.comment)));
  return out;
}

}  // namespace

LocalVerdict check_local(LocalSource& source, X509* cert, X509* issuer, std::time_t now,
                         const Options& options) {
  LocalVerdict out;
  LocalData data;
  try {
    data = source.lookup(cert, issuer);
  } catch (const std::exception& e) {
    out.verdict = undetermined(Why::local_unavailable,
                               std::string("local revocation data could not be read: ") + e.what());
    out.attempts.push_back("local: " + out.verdict.detail);
    return out;
  }
  if (data.revoked) return revoked_by_administrator(*data.revoked, now);
  if (issuer == nullptr) return out;
  std::vector<std::shared_ptr<X509_CRL>> crls;
  for (auto& crl : data.crls)
    if (crl) crls.push_back(std::move(crl));
  std::stable_sort(crls.begin(), crls.end(),
                   [](const auto& a, const auto& b) { return this_update_of(a) > this_update_of(b); });
  for (const auto& crl : crls) {
    const std::string name = name_text(X509_CRL_get_issuer(crl.get()));
    const std::string label = "local crl " + name + ": ";
    if (std::optional<Verdict> bad = verify_crl(crl.get(), cert, issuer)) {
      out.verdict = *bad;
      out.attempts.push_back(label + bad->detail);
      continue;
    }
    Verdict v = crl_status(crl.get(), cert, now, options);
    out.attempts.push_back(label + describe(v));
    out.verdict = v;
    if (v.status != Status::undetermined) {
      out.crl_issuer = name;
      return out;
    }
  }
  return out;
}

Answer local_answer(Answer a, const LocalVerdict& local) {
  const Verdict& v = local.verdict;
  a.status = v.status;
  a.why = Why::none;
  a.source = Method::local;
  a.url.clear();
  a.revoked_at = v.revoked_at;
  a.revocation_reason = v.revocation_reason;
  a.this_update = v.this_update;
  a.next_update = v.next_update;
  a.stale = v.stale;
  a.from_cache = false;
  a.expires_at = v.expires_at;
  a.attempts = local.attempts;
  const std::string at = v.revoked_at ? " at " + iso_time(*v.revoked_at) : std::string();
  if (local.by_administrator)
    a.reason = "revoked locally (" + v.revocation_reason + ")" + at;
  else if (v.status == Status::revoked)
    a.reason = "revoked (" + v.revocation_reason + ")" + at + " by the local CRL of " + local.crl_issuer;
  else
    a.reason = "good by the local CRL of " + local.crl_issuer;
  if (v.stale && v.next_update)
    a.reason += " (stale CRL: nextUpdate " + iso_time(*v.next_update) + ", within grace)";
  return a;
}

}  // namespace revocation::detail
