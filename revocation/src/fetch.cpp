#include "fetch.hpp"

#include <cstring>
#include <mutex>

#include "internal.hpp"

namespace revocation::detail {
namespace {

std::once_flag g_curl_init;

// "http,https", plus "ldap,ldaps" when the libcurl at run time has them.
const std::string& allowed_protocols() {
  static const std::string protocols = [] {
    std::string p = "http,https";
    const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
    bool ldap = false, ldaps = false;
    for (const char* const* proto = info->protocols; proto != nullptr && *proto != nullptr; ++proto) {
      if (std::strcmp(*proto, "ldap") == 0) ldap = true;
      if (std::strcmp(*proto, "ldaps") == 0) ldaps = true;
    }
    if (ldap) p += ",ldap";
    if (ldaps) p += ",ldaps";
    return p;
  }();
  return protocols;
}

struct Sink {
  std::string body;
  std::uint64_t max = 0;
  bool too_large = false;
};

extern "C" size_t write_cb(char* data, size_t size, size_t nmemb, void* user) {
  auto* sink = static_cast<Sink*>(user);
  std::size_t n = size * nmemb;
  if (sink->body.size() + n > sink->max) {
    sink->too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  sink->body.append(data, n);
  return n;
}

void must(CURLcode rc, const char* what) {
  if (rc != CURLE_OK)
    throw smime::Error(smime::ErrorKind::usage,
                       std::string("curl_easy_setopt ") + what + ": " + curl_easy_strerror(rc));
}

}  // namespace

FetchResult fetch(const FetchRequest& request, const Options& options) {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  FetchResult result;
  CurlPtr curl(curl_easy_init());
  if (!curl) throw std::bad_alloc();
  CURL* h = curl.get();
  Sink sink;
  sink.max = request.max_size;
  char errbuf[CURL_ERROR_SIZE] = {};
  CurlListPtr headers;

  must(curl_easy_setopt(h, CURLOPT_URL, request.url.c_str()), "URL");
  must(curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L), "NOSIGNAL");
  must(curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count())),
       "CONNECTTIMEOUT_MS");
  must(curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count())), "TIMEOUT_MS");
  must(curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, allowed_protocols().c_str()), "PROTOCOLS_STR");
  must(curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, allowed_protocols().c_str()), "REDIR_PROTOCOLS_STR");
  must(curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L), "FOLLOWLOCATION");
  must(curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L), "MAXREDIRS");
  must(curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(request.max_size)),
       "MAXFILESIZE");
  must(curl_easy_setopt(h, CURLOPT_PROXY, options.proxy.c_str()), "PROXY");  // "" disables env proxies
  must(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb), "WRITEFUNCTION");
  must(curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink), "WRITEDATA");
  must(curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf), "ERRORBUFFER");
  must(curl_easy_setopt(h, CURLOPT_USERAGENT, "smime-milter-revocation"), "USERAGENT");
  if (!request.post_body.empty()) {
    std::string ct = "Content-Type: " + request.content_type;
    curl_slist* list = curl_slist_append(nullptr, ct.c_str());
    if (list == nullptr) throw std::bad_alloc();
    headers.reset(list);
    must(curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get()), "HTTPHEADER");
    must(curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.post_body.size())),
         "POSTFIELDSIZE");
    must(curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.post_body.data()), "POSTFIELDS");
  }

  CURLcode rc = curl_easy_perform(h);
  std::string text = errbuf[0] != '\0' ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
  switch (rc) {
    case CURLE_OK:
      break;
    case CURLE_OPERATION_TIMEDOUT: {
      curl_off_t connect_us = 0;
      curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connect_us);
      result.why = Why::timeout;
      result.detail = connect_us == 0
                          ? "connect timeout after " + std::to_string(options.connect_timeout.count()) + " ms"
                          : "timeout after " + std::to_string(options.timeout.count()) + " ms";
      return result;
    }
    case CURLE_COULDNT_CONNECT:
      result.why = Why::connection_refused;
      result.detail = "connection refused (" + text + ")";
      return result;
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
      if (rc == CURLE_FILESIZE_EXCEEDED || sink.too_large) {
        result.why = Why::too_large;
        result.detail = "larger than " + std::to_string(request.max_size) + " bytes";
        return result;
      }
      [[fallthrough]];
    default:
      result.why = rc == CURLE_UNSUPPORTED_PROTOCOL ? Why::unsupported : Why::network;
      result.detail = text;
      return result;
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  // LDAP has no HTTP status (0); anything else must be 200.
  if (status != 200 && status != 0) {
    result.why = Why::http_status;
    result.detail = "HTTP " + std::to_string(status);
    return result;
  }
  result.body = std::move(sink.body);
  return result;
}

}  // namespace revocation::detail
