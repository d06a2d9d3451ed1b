// The dry run (`smime-milter --process`): one message from a file through the same Filter code path as
// the daemon, with DryRunApi playing the MTA. The message is streamed from its file to the callbacks
// (never read whole into memory), and the result streamed to an output sink.
//
// DryRunApi applies header changes as the MTA would (smfi_addheader / chgheader / insheader semantics,
// values as given, with their leading space) and writes the message out once the body is replaced, or
// at the end (finish_message) with the original body when it was not. It records the reply, removed
// recipients and the quarantine reason for the caller to print.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "milter/filter.hpp"
#include "milter/milter_api.hpp"
#include "smime/io.hpp"
#include "smime/mime.hpp"

namespace milter {

class DryRunApi final : public MilterApi {
 public:
  explicit DryRunApi(smime::Sink& out) : out_(out) {}

  void set_symbol(std::string name, std::string value) {
    symbols_.emplace_back(std::move(name), std::move(value));
  }
  void set_headers(smime::mime::HeaderList headers) { headers_ = std::move(headers); }

  std::optional<std::string> getsymval(std::string_view name) override;
  bool addheader(std::string_view name, std::string_view value) override;
  bool chgheader(std::string_view name, int index, std::string_view value) override;
  bool insheader(int index, std::string_view name, std::string_view value) override;
  bool replacebody(std::string_view chunk) override;
  bool delrcpt(std::string_view address) override;
  bool progress() override { return true; }
  bool setreply(std::string_view code, std::string_view status, std::string_view text) override;
  bool quarantine(std::string_view reason) override;

  // After an accepted end-of-message: writes the headers and `original_body` when the body was not
  // replaced, and finishes the output.
  void finish_message(const std::function<void(smime::Sink&)>& original_body);

  const std::optional<Reply>& reply() const { return reply_; }
  const std::vector<std::string>& removed_recipients() const { return removed_; }
  const std::optional<std::string>& quarantine_reason() const { return quarantine_; }

 private:
  void write_headers_once();

  smime::Sink& out_;
  std::vector<std::pair<std::string, std::string>> symbols_;
  smime::mime::HeaderList headers_;
  bool headers_written_ = false;
  std::optional<Reply> reply_;
  std::vector<std::string> removed_;
  std::optional<std::string> quarantine_;
};

struct DryRunInput {
  std::filesystem::path message;  // an RFC 5322 message, LF or CRLF line ends
  std::string sender;
  std::vector<std::string> recipients;
  std::string client_address;  // "" = unknown
  std::string auth_user;       // "" = not authenticated
};

// What the MTA would have done.
struct DryRunResult {
  CallbackStatus status = CallbackStatus::continue_;
  std::optional<Reply> reply;
  std::vector<std::string> removed_recipients;
  std::optional<std::string> quarantine;
};

// Throws smime::Error(io) when the file cannot be read, smime::Error(bad_input) for a header block that
// cannot be parsed.
DryRunResult dry_run(Filter& filter, const DryRunInput& input, smime::Sink& message_out);

}  // namespace milter
