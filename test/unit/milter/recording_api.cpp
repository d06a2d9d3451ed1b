// See recording_api.hpp.
#include "recording_api.hpp"

#include <algorithm>

namespace milter {

std::optional<std::string> RecordingApi::getsymval(std::string_view name) {
  for (const auto& [n, v] : symbols) {
    if (n == name) return v;
  }
  return std::nullopt;
}

void RecordingApi::set_symbol(std::string name, std::string value) {
  for (auto& [n, v] : symbols) {
    if (n == name) {
      v = std::move(value);
      return;
    }
  }
  symbols.emplace_back(std::move(name), std::move(value));
}

bool RecordingApi::record(Call call) {
  bool fail = false;
  if (!fail_on.empty() && call.what == fail_on) {
    auto seen = static_cast<std::size_t>(
        std::count_if(calls.begin(), calls.end(), [&](const Call& c) { return c.what == fail_on; }));
    fail = seen >= fail_after;
  }
  calls.push_back(std::move(call));
  return !fail;
}

bool RecordingApi::addheader(std::string_view name, std::string_view value) {
  return record({"addheader", std::string(name), 0, std::string(value)});
}
bool RecordingApi::chgheader(std::string_view name, int index, std::string_view value) {
  return record({"chgheader", std::string(name), index, std::string(value)});
}
bool RecordingApi::insheader(int index, std::string_view name, std::string_view value) {
  return record({"insheader", std::string(name), index, std::string(value)});
}
bool RecordingApi::replacebody(std::string_view chunk) {
  return record({"replacebody", {}, 0, std::string(chunk)});
}
bool RecordingApi::delrcpt(std::string_view address) {
  return record({"delrcpt", std::string(address), 0, {}});
}
bool RecordingApi::progress() { return record({"progress", {}, 0, {}}); }
bool RecordingApi::setreply(std::string_view code, std::string_view status, std::string_view text) {
  return record({"setreply", std::string(code), 0, std::string(status) + " " + std::string(text)});
}
bool RecordingApi::quarantine(std::string_view reason) {
  return record({"quarantine", {}, 0, std::string(reason)});
}

std::vector<RecordingApi::Call> RecordingApi::of(std::string_view what) const {
  std::vector<Call> out;
  for (const Call& c : calls) {
    if (c.what == what) out.push_back(c);
  }
  return out;
}

std::string RecordingApi::body() const {
  std::string out;
  for (const Call& c : calls) {
    if (c.what == "replacebody") out += c.value;
  }
  return out;
}

bool RecordingApi::modified() const {
  return std::any_of(calls.begin(), calls.end(), [](const Call& c) {
    return c.what == "addheader" || c.what == "chgheader" || c.what == "insheader" ||
           c.what == "replacebody" || c.what == "delrcpt" || c.what == "quarantine";
  });
}

}  // namespace milter
