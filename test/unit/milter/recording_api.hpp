// RecordingApi: the test double of the libmilter seam (milter/milter_api.hpp): records every call.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "milter/milter_api.hpp"

namespace milter {

// Records every call, for tests. Symbols come from `symbols`; `fail_on` makes the call with that
// name (e.g. "replacebody") fail from its `fail_after`-th occurrence on (0 = the first).
class RecordingApi final : public MilterApi {
 public:
  struct Call {
    std::string what;  // "addheader", "chgheader", "insheader", "replacebody", "delrcpt", ...
    std::string name;  // header name / address / reply code
    int index = 0;
    std::string value;  // header value / body chunk / reply text
  };

  std::vector<std::pair<std::string, std::string>> symbols;
  std::vector<Call> calls;
  std::string fail_on;
  std::size_t fail_after = 0;

  std::optional<std::string> getsymval(std::string_view name) override;
  bool addheader(std::string_view name, std::string_view value) override;
  bool chgheader(std::string_view name, int index, std::string_view value) override;
  bool insheader(int index, std::string_view name, std::string_view value) override;
  bool replacebody(std::string_view chunk) override;
  bool delrcpt(std::string_view address) override;
  bool progress() override;
  bool setreply(std::string_view code, std::string_view status, std::string_view text) override;
  bool quarantine(std::string_view reason) override;

  // Helpers for assertions.
  std::vector<Call> of(std::string_view what) const;
  std::string body() const;  // all replacebody chunks joined
  bool modified() const;     // any call that changes the message
  void set_symbol(std::string name, std::string value);

 private:
  bool record(Call call);
};

}  // namespace milter
