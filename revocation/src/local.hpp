// The Checker's first step: what the local source (local_source.hpp) says about a certificate.
#pragma once

#include <ctime>
#include <string>
#include <vector>

#include "internal.hpp"

namespace revocation::detail {

struct LocalVerdict {
  Verdict verdict;  // good / revoked when local data decides; undetermined otherwise (why none: nothing
                    // local concerns the certificate)
  bool by_administrator = false;  // revoked by hand (not by a CRL)
  std::string crl_issuer;         // the local CRL that decided, by its issuer name
  std::vector<std::string> attempts;
};

// Asks the source (its failure is an undetermined local_unavailable verdict) and judges what it hands
// over: the administrator's revocation first, then the issuer's CRLs, newest first, each verified and
// checked for freshness as a fetched one.
LocalVerdict check_local(LocalSource& source, X509* cert, X509* issuer, std::time_t now,
                         const Options& options);

// The Answer for a deciding local verdict; `a` brings checked_at (its attempts are replaced).
Answer local_answer(Answer a, const LocalVerdict& local);

}  // namespace revocation::detail
