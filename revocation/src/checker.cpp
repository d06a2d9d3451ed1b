// Checker: the local data first (local.cpp), then the order of methods, fallback, the cache and single
// flight around ocsp.cpp, crl.cpp, fetch.cpp.
#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include "cache.hpp"
#include "crl.hpp"
#include "fetch.hpp"
#include "internal.hpp"
#include "local.hpp"
#include "ocsp.hpp"
#include "revocation/revocation.hpp"
#include "single_flight.hpp"

namespace revocation {

using namespace detail;

namespace {

constexpr const char* kNegative = "undetermined";
// How often a Checker waiting for another process's fetch looks for its entry in a shared store.
constexpr std::chrono::milliseconds kSharedPoll{100};

// What one method found: the verdict, the URL that gave it, and the attempts made on the way.
struct Outcome {
  Verdict verdict;
  std::string url;  // empty: no URL was tried
  bool from_cache = false;
  bool negative_hit = false;  // answered from a negative cache entry
  bool fetched = false;       // a request went out (or was shared with one that did)
  std::vector<std::string> attempts;
};

// The result of one CRL fetch, shared with the callers that waited for it.
struct CrlLoad {
  Why why = Why::none;
  std::string detail;
  std::shared_ptr<X509_CRL> crl;
};

std::shared_ptr<X509_CRL> share_crl(CrlPtr crl) {
  return std::shared_ptr<X509_CRL>(crl.release(), X509_CRL_free);
}

Why why_from_string(std::string_view s) {
  for (Why w :
       {Why::no_distribution_point, Why::no_issuer, Why::timeout, Why::connection_refused, Why::network,
        Why::http_status, Why::too_large, Why::unsupported, Why::malformed, Why::bad_signature, Why::stale,
        Why::replayed, Why::responder_error, Why::unknown_to_responder, Why::local_unavailable})
    if (to_string(w) == s) return w;
  return Why::network;
}

std::string key_of_issuer(X509* issuer) {
  unsigned char* der = nullptr;
  int len = i2d_X509_NAME(X509_get_subject_name(issuer), &der);
  if (len <= 0) smime::throw_openssl(smime::ErrorKind::crypto, "i2d_X509_NAME");
  smime::OsslStringPtr owner(reinterpret_cast<char*>(der));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  smime::check(X509_pubkey_digest(issuer, EVP_sha1(), md, &md_len), "X509_pubkey_digest");
  return "name-sha256:" + sha256_hex(std::string_view(owner.get(), static_cast<std::size_t>(len))) +
         ":key-sha1:" + hex(md, md_len);
}

std::shared_ptr<CacheStore> cache_store_of(const Options& o) {
  if (o.cache_store) return o.cache_store;
  if (o.cache_directory.empty()) return nullptr;
  return make_file_cache_store(o.cache_directory);
}

}  // namespace

struct Checker::Impl {
  explicit Impl(Options o) : options(std::move(o)), cache(cache_store_of(options)) {}

  Options options;
  Cache cache;
  SingleFlight<Verdict> ocsp_flight;  // keyed by URL and certificate id (each request has its own nonce)
  SingleFlight<CrlLoad> crl_flight;   // keyed by issuer and URL

  void remember_failure(const std::string& key, const std::string& url, const Verdict& v, std::time_t now) {
    if (options.negative_cache.count() <= 0) return;
    Entry e;
    e.kind = kNegative;
    e.key = key;
    e.url = url;
    e.stored_at = now;
    e.expires_at = now + options.negative_cache.count();
    e.payload = std::string(to_string(v.why)) + "\n" + v.detail;
    e.verified = true;
    e.verdict = v;
    cache.put(std::move(e));
  }

  // A negative entry for `key`, as a Verdict.
  std::optional<Verdict> negative(const std::string& key, std::time_t now) {
    return negative_of(cache.get(kNegative, key, now), key);
  }

  std::optional<Verdict> negative_of(const EntryPtr& e, const std::string& key) {
    if (!e) return std::nullopt;
    if (e->verdict) return e->verdict;
    std::size_t nl = e->payload.find('\n');
    if (nl == std::string::npos) {
      cache.erase(kNegative, key);
      return std::nullopt;
    }
    Verdict v =
        undetermined(why_from_string(std::string_view(e->payload).substr(0, nl)), e->payload.substr(nl + 1));
    Entry copy = *e;
    copy.verified = true;
    copy.verdict = v;
    cache.put(std::move(copy), false);
    return v;
  }

  // --- OCSP -----------------------------------------------------------------------------------------
  Outcome check_ocsp(X509* cert, X509* issuer, std::time_t now, bool network) {
    Outcome out;
    const std::vector<std::string> urls = ocsp_urls(cert);
    if (urls.empty()) {
      out.verdict = undetermined(Why::no_distribution_point, "no OCSP responder in the certificate");
      out.attempts.push_back("ocsp: no responder URL in the certificate");
      return out;
    }
    const std::string id = ocsp_id_key(cert, issuer);

    if (EntryPtr e = cache.get("ocsp", id, now)) {
      std::optional<Verdict> v = e->verdict;
      if (!e->verified) {
        Verdict checked = check_ocsp_response(e->payload, nullptr, cert, issuer, now, options);
        if (checked.status != Status::undetermined) {
          Entry copy = *e;
          copy.verified = true;
          copy.verdict = checked;
          // The file's own dates are not trusted: the response decides how long the answer lives.
          copy.expires_at = std::min(copy.expires_at, checked.expires_at);
          copy.stored_at = std::min(copy.stored_at, now);
          cache.put(std::move(copy), false);
          v = checked;
        } else {
          cache.erase("ocsp", id);
          v.reset();
        }
      }
      if (v) {
        out.verdict = *v;
        out.url = e->url;
        out.from_cache = true;
        out.attempts.push_back("ocsp " + e->url + ": " + describe(*v) + " (cached)");
        return out;
      }
    }

    for (const std::string& url : urls) {
      out.url = url;
      std::optional<Verdict> neg = negative("ocsp " + url, now);
      if (!neg) neg = negative("ocsp " + url + " " + id, now);
      if (neg) {
        out.verdict = *neg;
        out.negative_hit = true;
        out.attempts.push_back("ocsp " + url + ": " + neg->detail + " (cached)");
        continue;
      }
      if (!network) {
        out.verdict = undetermined(Why::none, "not cached");
        out.attempts.push_back("ocsp " + url + ": not cached");
        continue;
      }
      Verdict v = ocsp_flight.run(url + " " + id, [&] {
        return across_processes<Verdict>(
            "ocsp " + url + " " + id, [&] { return stored_ocsp(url, id, cert, issuer, now); },
            [&] { return fetch_ocsp(url, id, cert, issuer, now); });
      });
      out.verdict = v;
      out.negative_hit = false;
      out.fetched = true;
      out.attempts.push_back("ocsp " + url + ": " + describe(v));
      if (v.status != Status::undetermined) return out;
    }
    return out;
  }

  // What another process's fetch of (url, id) left in the shared store: the response (verified
  // again), or its negative entry.
  std::optional<Verdict> stored_ocsp(const std::string& url, const std::string& id, X509* cert, X509* issuer,
                                     std::time_t now) {
    if (EntryPtr e = cache.reload("ocsp", id, now)) {
      Verdict checked = check_ocsp_response(e->payload, nullptr, cert, issuer, now, options);
      if (checked.status != Status::undetermined) {
        Entry copy = *e;
        copy.verified = true;
        copy.verdict = checked;
        copy.expires_at = std::min(copy.expires_at, checked.expires_at);
        cache.put(std::move(copy), false);
        return checked;
      }
    }
    for (const std::string& key : {"ocsp " + url, "ocsp " + url + " " + id})
      if (std::optional<Verdict> v = negative_of(cache.reload(kNegative, key, now), key)) return v;
    return std::nullopt;
  }

  Verdict fetch_ocsp(const std::string& url, const std::string& id, X509* cert, X509* issuer,
                     std::time_t now) {
    OcspRequest request = make_ocsp_request(cert, issuer);
    FetchResult got = fetch({url, request.der, "application/ocsp-request", options.max_ocsp_size}, options);
    if (got.why != Why::none) {
      Verdict v = undetermined(got.why, got.detail);
      remember_failure("ocsp " + url, url, v, now);  // the responder is unusable for every certificate
      return v;
    }
    Verdict v = check_ocsp_response(got.body, request.request.get(), cert, issuer, now, options);
    if (v.status == Status::undetermined) {
      remember_failure("ocsp " + url + " " + id, url, v, now);
      return v;
    }
    Entry e;
    e.kind = "ocsp";
    e.key = id;
    e.url = url;
    e.stored_at = now;
    e.expires_at = v.expires_at;
    e.this_update = v.this_update;
    e.next_update = v.next_update;
    e.payload = std::move(got.body);
    e.verified = true;
    e.verdict = v;
    cache.put(std::move(e));
    return v;
  }

  // --- CRL ------------------------------------------------------------------------------------------
  Outcome check_crl(X509* cert, X509* issuer, std::time_t now, bool network) {
    Outcome out;
    const std::vector<std::string> urls = crl_urls(cert);
    if (urls.empty()) {
      out.verdict = undetermined(Why::no_distribution_point, "no CRL distribution point in the certificate");
      out.attempts.push_back("crl: no distribution point in the certificate");
      return out;
    }
    const std::string issuer_key = key_of_issuer(issuer);
    for (const std::string& url : urls) {
      out.url = url;
      const std::string key = issuer_key + " " + url;
      // A cached CRL, verified again when it was read back from its file.
      std::optional<Verdict> cached;
      std::time_t cached_at = 0;
      if (EntryPtr e = cache.get("crl", key, now)) {
        std::shared_ptr<X509_CRL> crl = e->crl;
        if (!e->verified || !crl) {
          CrlPtr parsed = parse_crl(e->payload);
          if (parsed && !verify_crl(parsed.get(), cert, issuer)) {
            crl = share_crl(std::move(parsed));
            Entry copy = *e;
            copy.verified = true;
            copy.crl = crl;
            cache.put(std::move(copy), false);
          } else {
            cache.erase("crl", key);
            crl.reset();
          }
        }
        if (crl) {
          Verdict v = crl_status(crl.get(), cert, now, options);
          if (v.status != Status::undetermined) {
            cached = v;
            cached_at = e->stored_at;
          }
        }
      }
      // Fresh, or stale but fetched again recently: use it.
      if (cached && (!cached->stale || now < cached_at + options.negative_cache.count() || !network)) {
        out.verdict = *cached;
        out.from_cache = true;
        out.attempts.push_back("crl " + url + ": " + describe(*cached) + " (cached)");
        return out;
      }
      std::optional<Verdict> neg = negative("crl " + url, now);
      if (!neg) neg = negative("crl " + url + " " + key, now);
      if (neg) {
        if (cached) {  // within its grace: better than nothing
          out.verdict = *cached;
          out.from_cache = true;
          out.attempts.push_back("crl " + url + ": " + describe(*cached) +
                                 " (cached; refetch failed: " + neg->detail + ")");
          return out;
        }
        out.verdict = *neg;
        out.negative_hit = true;
        out.attempts.push_back("crl " + url + ": " + neg->detail + " (cached)");
        continue;
      }
      if (!network) {
        out.verdict = undetermined(Why::none, "not cached");
        out.attempts.push_back("crl " + url + ": not cached");
        continue;
      }
      CrlLoad load = crl_flight.run(key, [&] {
        return across_processes<CrlLoad>(
            "crl " + key, [&] { return stored_crl(url, key, cert, issuer, now, cached_at); },
            [&] { return fetch_crl(url, key, cert, issuer, now); });
      });
      out.negative_hit = false;
      out.fetched = true;
      if (load.why != Why::none) {
        if (cached) {
          out.verdict = *cached;
          out.from_cache = true;
          out.attempts.push_back("crl " + url + ": " + describe(*cached) +
                                 " (cached; refetch failed: " + load.detail + ")");
          return out;
        }
        out.verdict = undetermined(load.why, load.detail);
        out.attempts.push_back("crl " + url + ": " + load.detail);
        continue;
      }
      Verdict v = crl_status(load.crl.get(), cert, now, options);
      out.verdict = v;
      out.attempts.push_back("crl " + url + ": " + describe(v));
      if (v.status != Status::undetermined) return out;
    }
    return out;
  }

  // What another process's fetch of the CRL left in the shared store: a CRL stored after the one we
  // had (`had_stored_at`, 0 for none), verified again, or its negative entry.
  std::optional<CrlLoad> stored_crl(const std::string& url, const std::string& key, X509* cert, X509* issuer,
                                    std::time_t now, std::time_t had_stored_at) {
    if (EntryPtr e = cache.reload("crl", key, now); e && e->stored_at > had_stored_at) {
      CrlPtr parsed = parse_crl(e->payload);
      if (parsed && !verify_crl(parsed.get(), cert, issuer)) {
        CrlLoad load;
        load.crl = share_crl(std::move(parsed));
        Entry copy = *e;
        copy.verified = true;
        copy.crl = load.crl;
        cache.put(std::move(copy), false);
        return load;
      }
    }
    for (const std::string& neg : {"crl " + url, "crl " + url + " " + key})
      if (std::optional<Verdict> v = negative_of(cache.reload(kNegative, neg, now), neg)) {
        CrlLoad load;
        load.why = v->why;
        load.detail = v->detail;
        return load;
      }
    return std::nullopt;
  }

  // One fetch across the processes sharing the cache store: claim it (for at most the fetch timeout
  // and a margin), or wait for the claimant's entry; fetch when claimed, or when the wait ran out.
  // Without a shared store, just the fetch (the per-process single flight is around this).
  template <typename T, typename FromStore, typename Fetch>
  T across_processes(const std::string& flight, FromStore&& from_store, Fetch&& fetch) {
    if (!cache.shared()) return fetch();
    const auto bound =
        std::chrono::duration_cast<std::chrono::seconds>(options.timeout) + std::chrono::seconds(5);
    const auto deadline = std::chrono::steady_clock::now() + bound;
    for (;;) {
      std::optional<std::string> token = cache.claim(flight, bound);
      if (token || std::chrono::steady_clock::now() >= deadline) {
        struct Release {
          Cache& cache;
          const std::string& flight;
          const std::optional<std::string>& token;
          ~Release() {
            if (token) cache.release(flight, *token);
          }
        } release{cache, flight, token};
        if (std::optional<T> got = from_store()) return std::move(*got);  // finished just before our claim
        return fetch();
      }
      std::this_thread::sleep_for(kSharedPoll);
      if (std::optional<T> got = from_store()) return std::move(*got);
    }
  }

  CrlLoad fetch_crl(const std::string& url, const std::string& key, X509* cert, X509* issuer,
                    std::time_t now) {
    CrlLoad load;
    auto fail = [&](Why why, std::string detail) {
      load.why = why;
      load.detail = std::move(detail);
      remember_failure("crl " + url, url, undetermined(load.why, load.detail), now);
      return load;
    };
    FetchResult got = fetch({url, {}, {}, options.max_crl_size}, options);
    if (got.why != Why::none) return fail(got.why, got.detail);
    CrlPtr crl = parse_crl(got.body);
    if (!crl) return fail(Why::malformed, "not a CRL (DER or PEM)");
    if (std::optional<Verdict> bad = verify_crl(crl.get(), cert, issuer)) {
      // Remembered for this issuer only: a message naming a wrong issuer must not make the CRL look
      // bad for every certificate behind the URL.
      load.why = bad->why;
      load.detail = bad->detail;
      remember_failure("crl " + url + " " + key, url, undetermined(load.why, load.detail), now);
      return load;
    }
    Verdict status = crl_status(crl.get(), cert, now, options);
    load.crl = share_crl(std::move(crl));
    if (status.status == Status::undetermined) {
      // Verified but unusable (stale beyond the grace): not cached as a CRL; try again after negative_cache.
      remember_failure("crl " + url, url, status, now);
      return load;
    }
    Entry e;
    e.kind = "crl";
    e.key = key;
    e.url = url;
    e.stored_at = now;
    e.expires_at = (status.next_update ? *status.next_update + options.crl_grace.count() : status.expires_at);
    e.this_update = status.this_update;
    e.next_update = status.next_update;
    e.payload = std::move(got.body);
    e.verified = true;
    e.crl = load.crl;
    cache.put(std::move(e));
    return load;
  }

  // --- both -----------------------------------------------------------------------------------------
  std::optional<Answer> run(X509* cert, X509* issuer, std::time_t now, bool network) {
    if (cert == nullptr)
      throw smime::Error(smime::ErrorKind::usage, "revocation check of a null certificate");
    Answer a;
    a.checked_at = now;
    std::optional<LocalVerdict> local;
    if (options.local_source) {
      local = check_local(*options.local_source, cert, issuer, now, options);
      if (local->verdict.status != Status::undetermined) return local_answer(std::move(a), *local);
      a.attempts = local->attempts;
      // Not knowing whether the administrator revoked it, no other source may call it good.
      if (local->verdict.why == Why::local_unavailable) {
        a.why = Why::local_unavailable;
        a.source = Method::local;
        a.reason = "undetermined: " + local->attempts.front();
        a.expires_at = now;
        return a;
      }
    }
    if (issuer == nullptr) {
      a.why = Why::no_issuer;
      a.reason = "undetermined: the issuer certificate is not known";
      a.attempts.push_back("issuer: not known");
      a.expires_at = now;
      return a;
    }
    std::optional<std::pair<Method, Outcome>> last_tried;
    bool any_negative = false;
    bool any_fetch = false;
    for (Method m : options.order) {
      if (m == Method::local) continue;  // consulted above, whatever the order
      Outcome o =
          m == Method::ocsp ? check_ocsp(cert, issuer, now, network) : check_crl(cert, issuer, now, network);
      a.attempts.insert(a.attempts.end(), o.attempts.begin(), o.attempts.end());
      if (o.verdict.status != Status::undetermined) return determined(std::move(a), m, o);
      any_negative = any_negative || o.negative_hit;
      any_fetch = any_fetch || o.fetched;
      if (!o.url.empty() && o.verdict.why != Why::none)
        last_tried.emplace(m, std::move(o));
      else if (!last_tried && !a.source)
        a.source = m;
    }
    if (!network && !any_negative) return std::nullopt;
    a.status = Status::undetermined;
    if (last_tried) {
      a.source = last_tried->first;
      a.url = last_tried->second.url;
      a.why = last_tried->second.verdict.why;
    } else if (local && local->verdict.why != Why::none) {  // local data that did not do, and nothing else
      a.source = Method::local;
      a.why = local->verdict.why;
    } else {
      a.why = Why::no_distribution_point;
      if (a.attempts.empty()) a.attempts.push_back("no revocation method configured");
    }
    a.from_cache = any_negative && !any_fetch;  // answered by negative entries alone
    a.expires_at = now + options.negative_cache.count();
    a.reason = "undetermined: ";
    for (std::size_t i = 0; i < a.attempts.size(); ++i) a.reason += (i ? "; " : "") + a.attempts[i];
    return a;
  }

  static Answer determined(Answer a, Method m, const Outcome& o) {
    const Verdict& v = o.verdict;
    a.status = v.status;
    a.why = Why::none;
    a.source = m;
    a.url = o.url;
    a.revoked_at = v.revoked_at;
    a.revocation_reason = v.revocation_reason;
    a.this_update = v.this_update;
    a.next_update = v.next_update;
    a.stale = v.stale;
    a.from_cache = o.from_cache;
    a.expires_at = v.expires_at;
    std::string by = std::string(" by ") + (m == Method::ocsp ? "OCSP " : "CRL ") + o.url;
    if (v.status == Status::revoked) {
      a.reason = "revoked (" + v.revocation_reason + ")";
      if (v.revoked_at) a.reason += " at " + iso_time(*v.revoked_at);
      a.reason += by;
    } else {
      a.reason = "good" + by;
    }
    if (v.stale && v.next_update)
      a.reason += " (stale CRL: nextUpdate " + iso_time(*v.next_update) + ", within grace)";
    if (o.from_cache) a.reason += " (cached)";
    return a;
  }
};

Checker::Checker(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Checker::~Checker() = default;

const Options& Checker::options() const { return impl_->options; }

Answer Checker::check(X509* cert, X509* issuer, std::time_t now) {
  return *impl_->run(cert, issuer, now, true);
}

std::optional<Answer> Checker::cached(X509* cert, X509* issuer, std::time_t now) {
  return impl_->run(cert, issuer, now, false);
}

std::optional<Answer> Checker::local(X509* cert, X509* issuer, std::time_t now) {
  if (cert == nullptr) throw smime::Error(smime::ErrorKind::usage, "revocation check of a null certificate");
  if (!impl_->options.local_source) return std::nullopt;
  LocalVerdict v = check_local(*impl_->options.local_source, cert, issuer, now, impl_->options);
  if (v.verdict.status == Status::undetermined) return std::nullopt;
  Answer a;
  a.checked_at = now;
  return local_answer(std::move(a), v);
}

std::vector<CacheEntry> Checker::cache_entries(X509* cert, X509* issuer) {
  if (cert == nullptr) throw smime::Error(smime::ErrorKind::usage, "cache entries of a null certificate");
  std::vector<CacheEntry> out;
  auto add = [&](const std::string& kind, const std::string& key) {
    if (std::optional<CacheEntry> e = impl_->cache.describe(kind, key)) out.push_back(std::move(*e));
  };
  const std::vector<std::string> ocsp = ocsp_urls(cert);
  const std::vector<std::string> crl = crl_urls(cert);
  if (issuer != nullptr) {
    const std::string id = ocsp_id_key(cert, issuer);
    add("ocsp", id);
    for (const std::string& url : ocsp) add(kNegative, "ocsp " + url + " " + id);
    const std::string issuer_key = key_of_issuer(issuer);
    for (const std::string& url : crl) add("crl", issuer_key + " " + url);
  }
  for (const std::string& url : ocsp) add(kNegative, "ocsp " + url);
  for (const std::string& url : crl) add(kNegative, "crl " + url);
  return out;
}

}  // namespace revocation
