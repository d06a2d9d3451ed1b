// revocation/: is a certificate revoked? Answers `good`, `revoked` (reason, time) or `undetermined`
// (why), from OCSP and CRLs fetched over HTTP(S) with libcurl, with a cache that survives restarts.
//
// Contract:
//  - check() never throws for anything the network, a responder or a CRL can do: every such failure is an
//    `undetermined` Answer with a Why and a one-line reason naming the URL. It throws only on misuse
//    (null certificate) or out of memory.
//  - "Revoked" and "could not be determined" are never confused: `revoked` only comes from a response or
//    CRL whose signature, issuer and freshness were all checked.
//  - No policy here: fail-open / fail-closed is applied by the caller (milter) where the decision is made.
//  - Thread-safe: one Checker serves every connection of the milter. Only one fetch per URL runs at a
//    time; concurrent callers needing the same URL wait for it and share its result. (Precisely: per CRL
//    URL and issuer; per OCSP URL and certificate id, since each OCSP request carries its own nonce and
//    responses for different certificates are different fetches.)
//  - Cache: CRLs by issuer (kept until nextUpdate + crl_grace), OCSP answers by certificate id (good and
//    revoked kept until nextUpdate, or thisUpdate + ocsp_max_age without one), undetermined answers for
//    negative_cache. Persisted as files under Options::cache_directory (written to a temporary name and
//    renamed; corrupt or foreign files are ignored and replaced), so a restart does not refetch, and a
//    dead responder costs one timeout per negative_cache period, not one per message. CRLs and OCSP
//    responses read back from disk are verified again before use (an OCSP response read back has no
//    nonce of ours to compare; its signature, certificate id and dates are checked again).
//    Negative entries: a failed fetch (timeout, refused, HTTP status, too large...) is kept per URL, so it
//    spares every certificate behind that responder or CRL; a response that fetched but did not do
//    (replayed, bad signature, unknown...) is kept per OCSP URL and certificate id. A CRL past nextUpdate
//    is fetched again (at most once per negative_cache); while that fails it is used within its grace.
//    The cache directory is created 0700 (an existing one writable by its group or others is refused);
//    files are 0600. Expired entries are removed when looked up.
//    Shared cache: Options::cache_store replaces the files by another CacheStore (cache_store.hpp), e.g.
//    the keystore's database shared by several gateways. Then an answer fetched by one gateway is used by
//    all until it expires, negative entries spare every gateway the dead responder, and single flight
//    holds across gateways: a fetch is claimed in the store for at most timeout + 5 s; a Checker that
//    finds it claimed waits for the claimant's entry (polling the store) and fetches itself only if
//    none came within that bound. Trouble with the store is a cache miss, never a failed check.
//
// OCSP (RFC 6960): the request carries a nonce; a response is used only when its signature verifies
// (the issuer itself or a responder certificate issued by it with id-kp-OCSPSigning), it answers for the
// certificate id asked, a nonce in it equals ours (a response without nonce is accepted: many responders
// pre-sign), and thisUpdate/nextUpdate pass the checks of OCSP_check_validity with clock_skew and
// ocsp_max_age, made at the `now` given to check() (the signer's chain is verified at `now` as well).
// Certificates carried in a response are candidates for the signer only, never trusted by themselves.
// The responder certificate's own revocation status (id-pkix-ocsp-nocheck) is not checked.
// "unknown" from the responder is undetermined (unknown_to_responder).
// CRL (RFC 5280): fetched from the certificate's HTTP(S) distribution points (LDAP when libcurl speaks
// it), DER or PEM; used only when signed by the certificate's issuer (same issuer name and a valid
// signature by its key); past nextUpdate + crl_grace it is stale (undetermined), within the grace it
// is used and the Answer says stale = true. Delta CRLs are not used. A CRL whose Issuing
// Distribution Point limits it to some reasons, to CA or attribute certificates, or makes it indirect,
// or that has an unknown critical extension, is undetermined (unsupported): it cannot say "good".
// Local data (Options::local_source, local_source.hpp): the administrator's revocations and imported
// CRLs, consulted before the cache and the network, also for certificates without distribution point
// and (revocations by hand only) without a known issuer. Local answers are not cached by the Checker.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "revocation/cache_store.hpp"
#include "revocation/local_source.hpp"
#include "smime/ossl.hpp"

namespace revocation {

enum class Status { good, revoked, undetermined };
// local: the administrator's data (Options::local_source), consulted before the others; not an entry of
// Options::order (ignored there).
enum class Method { ocsp, crl, local };
// Why a status is undetermined (none for good and revoked).
enum class Why {
  none,
  no_distribution_point,  // neither an OCSP URL nor a usable CRL distribution point
  no_issuer,              // the issuer certificate is not known
  timeout,                // connect or total timeout
  connection_refused,
  network,               // DNS, TLS, reset... (reason has libcurl's text)
  http_status,           // a status other than 200
  too_large,             // over max_crl_size / max_ocsp_size
  unsupported,           // a URL scheme we do not fetch
  malformed,             // not a CRL / OCSP response
  bad_signature,         // signature does not verify, or signed by someone else
  stale,                 // CRL past nextUpdate + grace; OCSP response outside its validity
  replayed,              // OCSP nonce differs from ours
  responder_error,       // OCSP responseStatus other than successful
  unknown_to_responder,  // OCSP certStatus unknown
  local_unavailable,     // the local source failed (the certificate might be revoked locally)
};

std::string_view to_string(Status s);  // "good", "revoked", "undetermined"
std::string_view to_string(Method m);  // "ocsp", "crl", "local"
std::string_view to_string(Why w);     // "no-distribution-point", "timeout", "connection-refused", ...

struct Answer {
  Status status = Status::undetermined;
  Why why = Why::no_distribution_point;
  std::optional<Method> source;  // what gave the answer (for undetermined: the last method that tried a
                                 // URL, and why/url are its; why is no_distribution_point when none did)
  std::string url;               // the URL consulted (empty when none)
  std::string reason;            // one line for logs, headers and the CLI, e.g.
                                 // "revoked (keyCompromise) at 2026-11-20T10:00:00Z by OCSP http://..."
  // revoked only
  std::optional<std::time_t> revoked_at;
  std::string revocation_reason;  // RFC 5280 CRLReason name, e.g. "keyCompromise"; "unspecified" if absent
  // freshness of the data used (good / revoked)
  std::optional<std::time_t> this_update;
  std::optional<std::time_t> next_update;
  bool stale = false;       // a CRL used within its grace period
  bool from_cache = false;  // answered from the cache without fetching
  std::time_t checked_at = 0;
  std::time_t expires_at = 0;  // when the cache entry for this answer ends
  std::vector<std::string>
      attempts;  // every source tried in order, "ocsp http://...: timeout after 5000 ms",
                 // "crl http://...: good (cached)", "ocsp: no responder URL in the certificate"
};

struct Options {
  std::vector<Method> order = {Method::ocsp,
                               Method::crl};  // a later method is tried when an earlier one is undetermined
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{15000};  // a whole fetch, redirects included
  std::uint64_t max_crl_size = 20ull << 20;
  std::uint64_t max_ocsp_size = 64ull << 10;
  std::string proxy;  // libcurl CURLOPT_PROXY; empty: none, and no proxy from the environment either
  std::chrono::seconds clock_skew{300};
  std::chrono::seconds ocsp_max_age{7 * 24 * 3600};
  std::chrono::seconds crl_grace{24 * 3600};
  std::chrono::seconds negative_cache{300};
  std::filesystem::path cache_directory;      // empty: memory only (created 0700 when missing)
  std::shared_ptr<CacheStore> cache_store;    // when set, used instead of cache_directory (shared caches)
  std::shared_ptr<LocalSource> local_source;  // when set, consulted first (local_source.hpp)
};

// A cache entry as the CLI shows it.
struct CacheEntry {
  std::string kind;  // "ocsp" or "crl" or "undetermined"
  std::string
      key;  // what it is keyed by: ocsp "sha1:NAMEHASH:KEYHASH:SERIAL"; crl "name-sha256:...:key-sha1:...
            // URL"; undetermined "ocsp URL", "ocsp URL CERTID" or "crl URL"
  std::string url;
  std::filesystem::path file;  // empty for memory-only entries and entries not in files
  std::time_t stored_at = 0;
  std::time_t expires_at = 0;
  std::optional<std::time_t> this_update, next_update;
};

class Checker {
 public:
  explicit Checker(Options options);
  ~Checker();
  Checker(const Checker&) = delete;
  Checker& operator=(const Checker&) = delete;

  const Options& options() const;

  // The status of `cert` issued by `issuer` at `now`, from the cache or the network.
  Answer check(X509* cert, X509* issuer, std::time_t now);
  // From the cache only (no network); nullopt when nothing usable is cached. An undetermined Answer
  // (from_cache) when only negative entries are.
  std::optional<Answer> cached(X509* cert, X509* issuer, std::time_t now);
  // From the local source only (no cache, no network): the answer when the administrator revoked `cert`
  // or a local CRL of `issuer` (may be null) says good or revoked; nullopt otherwise.
  std::optional<Answer> local(X509* cert, X509* issuer, std::time_t now);
  // The cache entries that concern `cert` (its OCSP answer, its issuer's CRL, negative entries).
  std::vector<CacheEntry> cache_entries(X509* cert, X509* issuer);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// True when `cert` names an OCSP responder or a CRL distribution point we could consult; a certificate
// without either is undetermined (no_distribution_point) whatever its issuer.
bool names_revocation_source(X509* cert);

// The issuer of `cert` among `candidates` (X509_check_issued, name and key id), shared; null when none.
smime::X509Ptr find_issuer(X509* cert, const std::vector<smime::X509Ptr>& candidates);

}  // namespace revocation
