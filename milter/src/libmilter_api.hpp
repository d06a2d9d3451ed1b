// LibmilterApi: the MilterApi seam over a real SMFICTX. Only libmilter_api.cpp and callbacks.cpp
// include libmilter/mfapi.h; this header only forward-declares libmilter's context type.
#pragma once

#include "milter/milter_api.hpp"

struct smfi_str;  // libmilter's SMFICTX

namespace milter {

class LibmilterApi final : public MilterApi {
 public:
  explicit LibmilterApi(smfi_str* ctx) : ctx_(ctx) {}
  std::optional<std::string> getsymval(std::string_view name) override;
  bool addheader(std::string_view name, std::string_view value) override;
  bool chgheader(std::string_view name, int index, std::string_view value) override;
  bool insheader(int index, std::string_view name, std::string_view value) override;
  bool replacebody(std::string_view chunk) override;
  bool delrcpt(std::string_view address) override;
  bool progress() override;
  bool setreply(std::string_view code, std::string_view status, std::string_view text) override;
  bool quarantine(std::string_view reason) override;

 private:
  smfi_str* ctx_;
};

}  // namespace milter
