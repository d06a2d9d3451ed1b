// LocalSource: revocation data the administrator keeps on this host — CRLs imported by hand (a private
// CA without an online service, an offline gateway) and certificates revoked by hand. Set in
// Options::local_source, it is consulted before the cache and the network, for every certificate, also
// one that names no distribution point:
//  - a certificate the administrator revoked is revoked (source local, "revoked locally (REASON) at T");
//  - else a local CRL of its issuer that verifies (issuer name, signature by the issuer's key, cRLSign,
//    scope: as crl.cpp checks a fetched one) and is fresh (nextUpdate + crl_grace) says good or revoked;
//  - else the configured methods run as without local data. A local CRL that did not do (stale, bad
//    signature) is one more attempt in the answer; for a certificate without distribution point it is
//    the answer's why (stale data is not "no data").
// revocation/ does not depend on the keystore: the adapter over its tables lives in milter/.
//
// Contract for implementations:
//  - thread-safe: one Checker calls it from every connection's thread at once;
//  - hands over data, judges nothing: the Checker verifies every CRL against the issuer before use;
//  - failures may throw any std::exception: the Checker then answers undetermined (local-unavailable),
//    never good, since the certificate might be revoked locally.
#pragma once

#include <openssl/x509.h>

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace revocation {

// A certificate revoked by the administrator.
struct LocalRevocation {
  std::string reason;  // RFC 5280 CRLReason name, e.g. "keyCompromise"
  std::time_t revoked_at = 0;
  std::string comment;  // the administrator's note (shown in the attempts, never in the reason)
};

// What the local data holds for one certificate and its issuer.
struct LocalData {
  std::optional<LocalRevocation> revoked;
  std::vector<std::shared_ptr<X509_CRL>> crls;  // CRLs that may be the issuer's (e.g. all under its name)
};

class LocalSource {
 public:
  virtual ~LocalSource() = default;
  LocalSource() = default;
  LocalSource(const LocalSource&) = delete;
  LocalSource& operator=(const LocalSource&) = delete;

  // The administrator's revocation of `cert` and the local CRLs of `issuer` (null when the issuer is not
  // known: then only the revocation of `cert` itself is asked for).
  virtual LocalData lookup(X509* cert, X509* issuer) = 0;
};

// --- for importing a CRL by hand (smime-keystore crl import), with the checks the Checker applies

// A CRL in DER or PEM; null when the bytes are neither.
std::shared_ptr<X509_CRL> read_crl(std::string_view bytes);
std::string crl_der(X509_CRL* crl);

// Why `crl` cannot serve as `issuer`'s CRL: another issuer name, a signature that does not verify with
// the issuer's key, an issuer without cRLSign, a delta CRL, a limited scope (some reasons, CA or
// attribute certificates only, indirect) or an unknown critical extension. Nothing when it can.
std::optional<std::string> crl_problem(X509_CRL* crl, X509* issuer);

struct CrlSummary {
  std::string issuer;  // RFC 2253
  std::optional<std::time_t> this_update, next_update;
  std::size_t entries = 0;
};
CrlSummary summarize_crl(X509_CRL* crl);

// RFC 5280 CRLReason names ("unspecified", "keyCompromise", ..., "aACompromise"; not "removeFromCRL",
// which only a delta CRL uses).
const std::vector<std::string>& crl_reason_names();
bool is_crl_reason(std::string_view name);

}  // namespace revocation
