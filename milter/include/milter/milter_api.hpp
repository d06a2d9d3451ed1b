// The seam between the callback logic and libmilter: every smfi_* call the filter makes goes through
// MilterApi, so the logic in filter.cpp can be driven without an MTA. LibmilterApi (libmilter_api.cpp)
// is the real one over an SMFICTX (the only code besides callbacks.cpp that includes libmilter/mfapi.h);
// DryRunApi (dry_run.hpp) plays the MTA for `smime-milter --process`; the unit tests' RecordingApi
// (test/unit/milter/recording_api.hpp) records every call.
//
// Contract: the modifying calls return false when the MTA refused (MI_FAILURE); the filter then
// stops applying its verdict and tempfails. Header values are passed exactly as the MTA must store
// them (the caller adds the leading space when SMFIP_HDR_LEADSPC is in effect).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace milter {

class MilterApi {
 public:
  virtual ~MilterApi() = default;
  // A macro's value ("i", "{auth_authen}", ...), nullopt when the MTA did not send it.
  virtual std::optional<std::string> getsymval(std::string_view name) = 0;
  virtual bool addheader(std::string_view name, std::string_view value) = 0;
  // index: 1-based among headers of that name; an empty value deletes the header.
  virtual bool chgheader(std::string_view name, int index, std::string_view value) = 0;
  virtual bool insheader(int index, std::string_view name, std::string_view value) = 0;
  virtual bool replacebody(std::string_view chunk) = 0;
  virtual bool delrcpt(std::string_view address) = 0;
  virtual bool progress() = 0;
  virtual bool setreply(std::string_view code, std::string_view status, std::string_view text) = 0;
  virtual bool quarantine(std::string_view reason) = 0;
};

}  // namespace milter
