// New MIME entities written to memory or to an anonymous spool file, split into their header block and
// body as the milter hands them to the MTA (header edits + a new body), for outbound and inbound
// processing alike.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "conf/config.hpp"
#include "milter/message.hpp"
#include "milter/spool_file.hpp"
#include "smime/io.hpp"
#include "smime/mime.hpp"

namespace milter {

// Where new bytes go: memory for bodies under the spool's memory limit, else an anonymous spool file.
class Output {
 public:
  Output(const conf::Config& config, std::uint64_t size_hint);
  smime::Sink& sink() { return spool_ ? spool_->sink() : static_cast<smime::Sink&>(memory_); }
  smime::Source finish();
  bool spooled() const { return spool_ != nullptr; }

 private:
  smime::StringSink memory_;
  std::unique_ptr<SpoolFile> spool_;
};

// What HeaderSplitSink throws when the bytes are not a MIME entity (no header/body separator, or a header
// block over 64 KiB): a property of the content, unlike the I/O errors of the sink behind it.
class NotAnEntity : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Forwards what comes after an entity's header block to `body` and keeps the header block (at most
// 64 KiB). An entity that starts with an empty line has an empty header block.
class HeaderSplitSink final : public smime::Sink {
 public:
  explicit HeaderSplitSink(smime::Sink& body) : body_(body) {}
  void write(std::string_view bytes) override;
  void finish() override;  // throws NotAnEntity when no header/body separator came
  bool complete() const { return in_body_; }
  const std::string& header() const { return header_; }

 private:
  smime::Sink& body_;
  std::string header_;
  bool in_body_ = false;
};

// A new entity: its own header fields, and the rest as a body.
struct NewEntity {
  smime::mime::HeaderList headers;
  smime::Source body = smime::Source::from_string({});
  bool spooled = false;
};

// Runs write_entity(sink) and splits what it wrote into a NewEntity. Throws what write_entity throws,
// and NotAnEntity when the output has no header/body separator.
template <typename Fn>
NewEntity produce_entity(const conf::Config& config, std::uint64_t size_hint, Fn&& write_entity) {
  Output output(config, size_hint);
  HeaderSplitSink split(output.sink());
  write_entity(static_cast<smime::Sink&>(split));
  split.finish();
  NewEntity e;
  e.headers = smime::mime::parse_headers(split.header());
  e.spooled = output.spooled();
  e.body = output.finish();
  return e;
}

// The header edits that replace the message's Content-* fields with those of `content` (its other fields
// stay inside) and set MIME-Version: 1.0. Deletions come first, highest index first per name, so that
// the indexes still to delete do not move.
std::vector<HeaderEdit> replace_content_headers(const smime::mime::HeaderList& original,
                                                const smime::mime::HeaderList& content);

}  // namespace milter
