// Private to the mime_*.cpp files: string helpers, streaming decoders and the header parser with an
// absolute offset for its error messages. Not installed, not part of the API.
//
// The decoders are filters like the encoders of io.hpp: write() takes encoded text in chunks of any
// size, finish() flushes what is pending (and checks the end of the data) and then finishes `next`.
// Put a KeepOpenSink in front of a sink that must not be finished (the caller's).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "smime/io.hpp"
#include "smime/mime.hpp"

namespace smime::mime::detail {

inline constexpr std::size_t kChunk = 64 * 1024;

inline bool is_wsp(char c) { return c == ' ' || c == '\t'; }
inline char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view s, std::string_view prefix);
std::string to_lower(std::string_view s);
std::string_view trim_wsp(std::string_view s);

// Forwards writes; finish() does nothing.
class KeepOpenSink final : public Sink {
 public:
  explicit KeepOpenSink(Sink& next) : next_(next) {}
  void write(std::string_view bytes) override { next_.write(bytes); }
  void finish() override {}

 private:
  Sink& next_;
};

// Base64 (RFC 2045 6.8) to bytes. White space and line ends are skipped; any other character outside
// the alphabet throws Error(bad_input). Missing final padding is accepted; a lone final character is
// not. Data after a padded group starts a new group (concatenated base64).
class Base64DecodeSink final : public Sink {
 public:
  explicit Base64DecodeSink(Sink& next) : next_(next) {}
  void write(std::string_view text) override;
  void finish() override;

 private:
  Sink& next_;
  std::uint32_t bits_ = 0;  // the sextets of the current group
  int count_ = 0;           // characters of the current group, padding included
  int pad_ = 0;             // '=' in the current group
  std::uint64_t pos_ = 0;   // characters seen, for error messages
};

// Quoted-printable (RFC 2045 6.7) to bytes. Soft breaks ("=" [WSP] line end) vanish, =XX (either
// case) becomes its byte, trailing white space of a line is dropped, line ends are kept as written
// (LF or CRLF). Invalid sequences pass through literally. Never throws.
class QuotedPrintableDecodeSink final : public Sink {
 public:
  explicit QuotedPrintableDecodeSink(Sink& next) : next_(next) {}
  void write(std::string_view text) override;
  void finish() override;

 private:
  enum class State { normal, eq, eq_hex, eq_wsp, eq_cr, cr };
  void put(char c, std::string& out);
  Sink& next_;
  State state_ = State::normal;
  char hex1_ = 0;        // eq_hex: the first hex digit
  std::string pending_;  // normal/cr: white space not yet known to be trailing; eq_wsp: "=" + WSP
};

// Why name and value would not be one header field when written (an invalid name, a line end in the
// value that is not a fold), or nothing when they would.
std::optional<std::string> field_problem(std::string_view name, std::string_view value);

// parse_headers() with `base` (the block's offset in its Source) added to the offsets in messages.
HeaderList parse_headers_at(std::string_view block, const Limits& limits, std::uint64_t base);

}  // namespace smime::mime::detail
