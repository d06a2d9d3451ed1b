// Fetching one URL over libcurl with the limits of Options: connect and total timeouts, a size cap,
// http/https only (and ldap/ldaps when this libcurl speaks them), redirects limited to the same schemes,
// the configured proxy or none (never one from the environment), no signals.
// fetch() never throws for network trouble: a failure is a FetchResult with why != none.
#pragma once

#include <cstdint>
#include <string>

#include "revocation/revocation.hpp"

namespace revocation::detail {

struct FetchRequest {
  std::string url;
  std::string post_body;  // empty: GET
  std::string content_type;
  std::uint64_t max_size = 0;
};

struct FetchResult {
  Why why = Why::none;  // none: body holds a 200 answer
  std::string detail;   // when why != none: one line, e.g. "timeout after 1500 ms", "HTTP 404"
  std::string body;
};

FetchResult fetch(const FetchRequest& request, const Options& options);

}  // namespace revocation::detail
