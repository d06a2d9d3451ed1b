#include "smime/error.hpp"

#include <openssl/err.h>

namespace smime {

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::bad_input:
      return "bad input";
    case ErrorKind::wrong_key:
      return "wrong key";
    case ErrorKind::crypto:
      return "crypto";
    case ErrorKind::io:
      return "i/o";
    case ErrorKind::usage:
      return "usage";
  }
  return "unknown";
}

std::string drain_openssl_errors() {
  std::string text;
  const char* file = nullptr;
  const char* func = nullptr;
  const char* data = nullptr;
  int line = 0;
  int flags = 0;
  unsigned long code = 0;
  while ((code = ERR_get_error_all(&file, &line, &func, &data, &flags)) != 0) {
    if (!text.empty()) text += "; ";
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    text += buf;
    if (data != nullptr && (flags & ERR_TXT_STRING) != 0 && *data != '\0') {
      text += " (";
      text += data;
      text += ")";
    }
  }
  return text.empty() ? std::string("no OpenSSL error queued") : text;
}

void throw_openssl(ErrorKind kind, std::string_view what) {
  throw Error(kind, std::string(what) + ": " + drain_openssl_errors());
}

}  // namespace smime
