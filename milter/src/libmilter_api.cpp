// See libmilter_api.hpp. libmilter takes char* (not const) everywhere: every string is copied into a
// std::string first, whose buffer is writable.
#include "libmilter_api.hpp"

#include <libmilter/mfapi.h>

namespace milter {
namespace {

// A reply text for smfi_setreply: one line (CR/LF would break the SMTP reply) and '%' doubled
// (libmilter treats the text as a format).
std::string reply_text(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\r' || c == '\n') {
      out.push_back(' ');
    } else if (c == '%') {
      out += "%%";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> LibmilterApi::getsymval(std::string_view name) {
  std::string n(name);
  const char* v = smfi_getsymval(ctx_, n.data());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

bool LibmilterApi::addheader(std::string_view name, std::string_view value) {
  std::string n(name), v(value);
  return smfi_addheader(ctx_, n.data(), v.data()) == MI_SUCCESS;
}

bool LibmilterApi::chgheader(std::string_view name, int index, std::string_view value) {
  std::string n(name), v(value);
  // An empty value deletes the header: libmilter wants NULL for that.
  return smfi_chgheader(ctx_, n.data(), index, v.empty() ? nullptr : v.data()) == MI_SUCCESS;
}

bool LibmilterApi::insheader(int index, std::string_view name, std::string_view value) {
  std::string n(name), v(value);
  return smfi_insheader(ctx_, index, n.data(), v.data()) == MI_SUCCESS;
}

bool LibmilterApi::replacebody(std::string_view chunk) {
  std::string c(chunk);
  return smfi_replacebody(ctx_, reinterpret_cast<unsigned char*>(c.data()), static_cast<int>(c.size())) ==
         MI_SUCCESS;
}

bool LibmilterApi::delrcpt(std::string_view address) {
  std::string a(address);
  return smfi_delrcpt(ctx_, a.data()) == MI_SUCCESS;
}

bool LibmilterApi::progress() { return smfi_progress(ctx_) == MI_SUCCESS; }

bool LibmilterApi::setreply(std::string_view code, std::string_view status, std::string_view text) {
  std::string c(code), s(status), t = reply_text(text);
  return smfi_setreply(ctx_, c.data(), s.empty() ? nullptr : s.data(), t.data()) == MI_SUCCESS;
}

bool LibmilterApi::quarantine(std::string_view reason) {
  std::string r = reply_text(reason);
  return smfi_quarantine(ctx_, r.data()) == MI_SUCCESS;
}

}  // namespace milter
