#include "milter/dry_run.hpp"

#include <algorithm>

#include "conf/match.hpp"
#include "smime/error.hpp"

namespace milter {

namespace {

constexpr std::size_t kChunk = 64 * 1024;
constexpr std::uint64_t kMaxHeaderBlock = 1024 * 1024;

// Where the header block ends in `src`: the offset of the body (after the empty line), and the length
// of the header block (up to and including the last header line's line end).
struct HeaderEnd {
  std::uint64_t header_length = 0;
  std::uint64_t body_offset = 0;
};

HeaderEnd find_header_end(const smime::Source& src) {
  const std::string head = src.slice(smime::Range{0, std::min<std::uint64_t>(src.size(), kMaxHeaderBlock)});
  for (std::size_t i = 0; i < head.size(); ++i) {
    if (head[i] != '\n') continue;
    if (i + 1 < head.size() && head[i + 1] == '\n') return {i + 1, i + 2};
    if (i + 2 < head.size() && head[i + 1] == '\r' && head[i + 2] == '\n') return {i + 1, i + 3};
  }
  if (src.size() > kMaxHeaderBlock)
    throw smime::Error(smime::ErrorKind::bad_input, "no end of the header block in the first 1 MiB");
  return {src.size(), src.size()};  // headers only, no body
}

// Feeds what it is given to the filter's body callback, as the MTA would in chunks.
class BodyFeeder final : public smime::Sink {
 public:
  BodyFeeder(Filter& filter, ConnectionContext& ctx, MilterApi& api)
      : filter_(filter), ctx_(ctx), api_(api) {}
  void write(std::string_view bytes) override {
    while (!bytes.empty()) {
      const std::size_t n = std::min(bytes.size(), kChunk);
      filter_.on_body(ctx_, api_, bytes.substr(0, n));
      bytes.remove_prefix(n);
    }
  }

 private:
  Filter& filter_;
  ConnectionContext& ctx_;
  MilterApi& api_;
};

// The body as the MTA hands it to milters: CRLF line ends.
void copy_body_crlf(const smime::Source& src, std::uint64_t offset, smime::Sink& out) {
  smime::CrlfSink crlf(out);
  smime::copy(src, smime::Range{offset, src.size() - offset}, crlf);
  crlf.finish();
}

bool same_name(std::string_view a, std::string_view b) { return conf::iequals(a, b); }

}  // namespace

std::optional<std::string> DryRunApi::getsymval(std::string_view name) {
  for (const auto& [n, v] : symbols_)
    if (n == name) return v;
  return std::nullopt;
}

bool DryRunApi::addheader(std::string_view name, std::string_view value) {
  headers_.items.push_back({std::string(name), std::string(value)});
  return true;
}

bool DryRunApi::chgheader(std::string_view name, int index, std::string_view value) {
  int seen = 0;
  auto it = std::find_if(headers_.items.begin(), headers_.items.end(), [&](const smime::mime::Header& h) {
    return same_name(h.name, name) && ++seen == index;
  });
  if (it == headers_.items.end()) {
    if (!value.empty()) headers_.items.push_back({std::string(name), std::string(value)});  // as libmilter
  } else if (value.empty()) {
    headers_.items.erase(it);
  } else {
    it->value = value;
  }
  return true;
}

bool DryRunApi::insheader(int index, std::string_view name, std::string_view value) {
  const auto at = std::min<std::size_t>(static_cast<std::size_t>(std::max(index, 0)), headers_.items.size());
  headers_.items.insert(headers_.items.begin() + static_cast<std::ptrdiff_t>(at),
                        {std::string(name), std::string(value)});
  return true;
}

void DryRunApi::write_headers_once() {
  if (headers_written_) return;
  headers_written_ = true;
  smime::mime::write_headers(headers_, out_);
  out_.write("\r\n");
}

bool DryRunApi::replacebody(std::string_view chunk) {
  write_headers_once();
  out_.write(chunk);
  return true;
}

bool DryRunApi::delrcpt(std::string_view address) {
  removed_.emplace_back(address);
  return true;
}

bool DryRunApi::setreply(std::string_view code, std::string_view status, std::string_view text) {
  reply_ = Reply{std::string(code), std::string(status), std::string(text)};
  return true;
}

bool DryRunApi::quarantine(std::string_view reason) {
  quarantine_ = std::string(reason);
  return true;
}

void DryRunApi::finish_message(const std::function<void(smime::Sink&)>& original_body) {
  if (!headers_written_) {
    write_headers_once();
    original_body(out_);
  }
  out_.finish();
}

DryRunResult dry_run(Filter& filter, const DryRunInput& input, smime::Sink& message_out) {
  const smime::Source src = smime::Source::from_file(input.message);
  const HeaderEnd end = find_header_end(src);
  const smime::mime::HeaderList headers =
      smime::mime::parse_headers(src.slice(smime::Range{0, end.header_length}));

  DryRunApi api(message_out);
  if (!input.auth_user.empty()) api.set_symbol("{auth_authen}", input.auth_user);
  api.set_headers(headers);

  ConnectionContext ctx;
  ctx.leading_space = true;  // header values pass with their own leading space, as parsed
  DryRunResult result;
  auto finished = [&](CallbackStatus s) {
    result.status = s;
    result.reply = api.reply();
    return result;
  };
  if (auto s = filter.on_connect(ctx, api, "localhost", input.client_address); s != CallbackStatus::continue_)
    return finished(s);
  if (auto s = filter.on_envfrom(ctx, api, {"<" + input.sender + ">"}); s != CallbackStatus::continue_)
    return finished(s);
  for (const std::string& r : input.recipients)
    if (auto s = filter.on_envrcpt(ctx, api, {"<" + r + ">"}); s != CallbackStatus::continue_)
      return finished(s);
  for (const smime::mime::Header& h : headers.items)
    if (auto s = filter.on_header(ctx, api, h.name, h.value); s != CallbackStatus::continue_)
      return finished(s);
  if (auto s = filter.on_eoh(ctx, api); s != CallbackStatus::continue_) return finished(s);
  BodyFeeder feeder(filter, ctx, api);
  copy_body_crlf(src, end.body_offset, feeder);
  result.status = filter.on_eom(ctx, api);
  result.reply = api.reply();
  if (result.status == CallbackStatus::continue_) {
    api.finish_message([&](smime::Sink& out) { copy_body_crlf(src, end.body_offset, out); });
    result.removed_recipients = api.removed_recipients();
    result.quarantine = api.quarantine_reason();
  }
  filter.on_close(ctx, api);
  return result;
}

}  // namespace milter
