#include "keystore/harvest.hpp"

#include <algorithm>

#include "keystore/chain.hpp"
#include "keystore/lookup.hpp"
#include "keystore/requirements.hpp"

namespace keystore {

namespace {

HarvestDecision refuse(std::string fingerprint, std::string reason) {
  return HarvestDecision{
      HarvestOutcome::refused, std::move(reason), std::move(fingerprint), std::nullopt, {}};
}

bool covers(const std::string& dns_name, const std::string& domain) {
  if (iequals(dns_name, domain)) return true;
  if (dns_name.rfind("*.", 0) != 0) return false;
  auto dot = domain.find('.');
  return dot != std::string::npos && iequals(dns_name.substr(1), domain.substr(dot));
}

// How the certificate names the From address: "email", "domain", or empty when it does not.
std::string names_sender(const CertFacts& f, const std::string& from) {
  for (const auto& e : f.emails)
    if (iequals(e, from)) return "email";
  const std::string domain = domain_of(from);
  if (!domain.empty())
    for (const auto& d : f.domains)
      if (covers(d, domain)) return "domain";
  return {};
}

// Another certificate, valid now, that the address (or, for a domain certificate, the domain) has.
std::optional<std::string> existing_for(Store& store, const std::string& from, const std::string& how,
                                        const std::string& fingerprint, Time now) {
  for (const auto& c : candidates_for(store, from)) {
    if (c.record.facts.fingerprint == fingerprint) continue;
    if (how == "email" && c.match != Match::email) continue;
    if (how == "domain" && c.match == Match::email) continue;
    if (check_validity(c.record.facts, now).ok()) return c.record.facts.fingerprint;
  }
  return std::nullopt;
}

// Whether a harvest of a certificate already stored changes anything (its last use, its capabilities).
bool refreshes(const CertRecord& known, const HarvestInput& in, Time now) {
  return last_use_stale(known.last_used, now) ||
         (in.capabilities.present && in.signing_time &&
          (!known.capabilities_time || *known.capabilities_time < *in.signing_time));
}

HarvestDecision already_known(const std::string& fingerprint) {
  return HarvestDecision{
      HarvestOutcome::already_known, "certificate already in the store", fingerprint, std::nullopt, {}};
}

}  // namespace

std::string to_string(HarvestOutcome o) {
  switch (o) {
    case HarvestOutcome::stored:
      return "stored";
    case HarvestOutcome::updated:
      return "updated";
    case HarvestOutcome::already_known:
      return "already-known";
    case HarvestOutcome::refused:
      return "refused";
  }
  return "refused";
}

HarvestDecision harvest(Store& store, const HarvestInput& in, const HarvestPolicy& policy, Time now) {
  if (in.signer == nullptr) return refuse({}, "no signer certificate");
  const CertFacts f = facts_of(in.signer);
  const std::string& fp = f.fingerprint;

  if (!in.signature_verified && !policy.harvest_unverified) return refuse(fp, "the signature did not verify");
  if (Check v = check_validity(f, now); !v.ok()) return refuse(fp, "certificate " + v.reason);
  if (f.self_signed) return refuse(fp, "certificate is self-signed");
  if (f.is_ca) return refuse(fp, "certificate is a CA certificate");
  const std::string how = names_sender(f, in.from_address);
  if (how.empty()) return refuse(fp, "certificate does not name the From address " + in.from_address);
  if (!policy.harvest_unverified) {
    const std::optional<std::string> err =
        in.trust_store ? chain_error(in.signer, in.trust_store.get(), in.carried, now)
                       : chain_error(in.signer, trust_anchors(store), in.carried, now);
    if (err) return refuse(fp, "chain does not validate to a trust anchor: " + *err);
  }

  // The common case, a signer seen before with nothing to refresh, is a read: no write transaction
  // (and no writer lock) for it.
  if (std::optional<CertRecord> known = store.find(fp); known && !refreshes(*known, in, now))
    return already_known(fp);

  HarvestDecision d;
  d.fingerprint = fp;
  store.in_transaction([&] {
    // Decided again under the writer lock: another process may have stored it since.
    if (std::optional<CertRecord> known = store.find(fp)) {
      // Written only when it changes something (each write is a synced transaction).
      if (last_use_stale(known->last_used, now)) store.mark_used(fp, now);
      if (in.capabilities.present && in.signing_time &&
          (!known->capabilities_time || *known->capabilities_time < *in.signing_time))
        store.set_capabilities(fp, in.capabilities, *in.signing_time);
      d = already_known(fp);
      return;
    }
    const std::string domain = domain_of(in.from_address);
    auto existing = existing_for(store, in.from_address, how, fp, now);
    if (existing && !policy.harvest_updates) {
      d.outcome = HarvestOutcome::refused;
      d.reason = (how == "email" ? in.from_address : domain) + " already has certificate " + *existing +
                 " (harvesting updated certificates is off)";
      return;
    }
    store.add(NewCertificate{in.signer, Origin::harvested, now, in.message_id, in.from_address});
    store.mark_used(fp, now);
    if (in.capabilities.present) store.set_capabilities(fp, in.capabilities, in.signing_time.value_or(now));
    d.outcome = existing ? HarvestOutcome::updated : HarvestOutcome::stored;
    d.reason = existing ? "stored, newer than " + *existing : "stored";
    store.log_harvest(
        HarvestEvent{now, to_string(d.outcome), fp, in.from_address, domain, in.message_id, d.reason});
    if (d.outcome == HarvestOutcome::updated) {
      const int updates = store.count_updates(domain, now - policy.warning_window);
      if (updates > 1) {
        d.warning = std::to_string(updates) + " updated certificates harvested from " + domain + " within " +
                    std::to_string(policy.warning_window / 3600) + " hours";
        store.add_warning(WarningRecord{now, domain, *d.warning});
      }
    }
    d.evicted = store.evict_harvested(policy.size_limit_bytes, fp);
  });
  return d;
}

}  // namespace keystore
