// Transfer encodings: quoted-printable encoder (RFC 2045 6.7), base64 and quoted-printable decoders,
// and fresh multipart boundaries.
//
// Contract: the encoder and the decoders stream (any chunking of the input gives the same output)
// and hold no more than one output line. decode_base64 throws Error(bad_input) on a character outside
// the alphabet; decode_quoted_printable never throws. Neither one-shot decoder finishes `out`.
// make_boundary throws Error(crypto) if the random generator fails.
#include <openssl/rand.h>

#include <array>
#include <cstdio>

#include "mime_detail.hpp"
#include "smime/error.hpp"
#include "smime/mime.hpp"
#include "smime/ossl.hpp"

namespace smime::mime {

namespace {

constexpr std::string_view kHexDigits = "0123456789ABCDEF";
constexpr std::size_t kQpMaxLine = 75;  // encoded characters before a soft break "=" (76 with it)

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// ---- quoted-printable encoder ----
//
// `line` is the encoded text of the current output line; `held` are input bytes whose encoding
// depends on what follows: white space and a CR (trailing at a line end or not), or at the start of
// a line "F", "Fr", "Fro", "From" (an mbox "From " must become "=46rom ") or "." / ".\r" (a lone "."
// line must become "=2E"). Output accumulates in `out`.
struct QpState {
  std::string& line;
  std::string& held;
  std::string& out;
};

bool qp_needs_escape(unsigned char c) { return c == '=' || c >= 127 || (c < 32 && c != '\t'); }

// Appends one encoded token, with a soft break first if the line would grow past 75 characters.
// A literal "F" or "." opening the new line is escaped: no lookahead is kept across soft breaks.
// A "-" opening any line is always escaped: decoded text may hold a line "--boundary" of the
// multipart around it (an "=0A--b" in the source), and literal it would end the part early.
void qp_token(QpState& s, std::string_view token) {
  if (s.line.size() + token.size() > kQpMaxLine) {
    s.out.append(s.line);
    s.out.append("=\r\n");
    s.line.clear();
    if (token == "F") token = "=46";
    if (token == ".") token = "=2E";
  }
  if (s.line.empty() && token == "-") token = "=2D";
  s.line.append(token);
}

void qp_hex(QpState& s, unsigned char c) {
  const std::array<char, 3> text{'=', kHexDigits[c >> 4], kHexDigits[c & 15]};
  qp_token(s, std::string_view(text.data(), text.size()));
}

void qp_char(QpState& s, char c) {
  auto u = static_cast<unsigned char>(c);
  if (qp_needs_escape(u)) {
    qp_hex(s, u);
  } else {
    qp_token(s, std::string_view(&c, 1));
  }
}

// The held bytes turned out not to end a line: white space literal, a CR is bare (=0D).
void qp_release(QpState& s) {
  for (char c : s.held) {
    if (c == '\r') {
      qp_hex(s, '\r');
    } else {
      qp_char(s, c);
    }
  }
  s.held.clear();
}

bool qp_held_from(const QpState& s) { return s.line.empty() && !s.held.empty() && s.held.front() == 'F'; }
bool qp_held_dot(const QpState& s) { return s.line.empty() && !s.held.empty() && s.held.front() == '.'; }

// Ends the current logical line: `hard` at an input LF (a CRLF goes out), else at the end of the data.
void qp_end_line(QpState& s, bool hard) {
  if (!s.held.empty() && s.held.back() == '\r') {
    if (hard) {
      s.held.pop_back();  // the CR of a CRLF
    } else {
      qp_release(s);  // a CR at the very end is bare
    }
  }
  if (qp_held_dot(s)) {
    qp_hex(s, '.');
  } else if (qp_held_from(s)) {
    qp_release(s);
  } else if (!s.held.empty()) {  // white space at a line end: the last one is escaped
    unsigned char last = static_cast<unsigned char>(s.held.back());
    s.held.pop_back();
    qp_release(s);
    qp_hex(s, last);
  }
  s.held.clear();
  s.out.append(s.line);
  if (hard) s.out.append("\r\n");
  s.line.clear();
}

// Resolves held "From"/"." candidates against the next byte; true if c was consumed.
bool qp_continue_candidate(QpState& s, char c) {
  static constexpr std::string_view kFrom = "From ";
  if (qp_held_from(s)) {
    if (s.held.size() < kFrom.size() && c == kFrom[s.held.size()]) {
      s.held.push_back(c);
      if (s.held.size() == kFrom.size()) {
        qp_hex(s, 'F');
        qp_token(s, "rom");
        s.held.assign(1, ' ');  // still white space that may turn out to be trailing
      }
      return true;
    }
    qp_release(s);
  } else if (qp_held_dot(s)) {
    if (s.held == "." && c == '\r') {
      s.held.push_back(c);
      return true;
    }
    qp_release(s);
  }
  return false;
}

void qp_put(QpState& s, char c) {
  if (c == '\n') {
    qp_end_line(s, true);
    return;
  }
  if (!s.held.empty() && qp_continue_candidate(s, c)) return;
  // Here held is empty or white space optionally followed by one CR.
  if (c == '\r' || detail::is_wsp(c)) {
    if (!s.held.empty() && s.held.back() == '\r') qp_release(s);  // the CR before was bare
    s.held.push_back(c);
    return;
  }
  qp_release(s);
  if (s.line.empty() && (c == 'F' || c == '.')) {
    s.held.push_back(c);
    return;
  }
  qp_char(s, c);
}

}  // namespace

void QuotedPrintableSink::write(std::string_view bytes) {
  std::string out;
  QpState s{line_, held_, out};
  for (char c : bytes) {
    qp_put(s, c);
    if (out.size() >= detail::kChunk) {
      next_.write(out);
      out.clear();
    }
  }
  if (!out.empty()) next_.write(out);
}

void QuotedPrintableSink::finish() {
  std::string out;
  QpState s{line_, held_, out};
  qp_end_line(s, false);
  if (!out.empty()) next_.write(out);
  next_.finish();
}

// ---- base64 decoder ----

namespace detail {

namespace {
bool base64_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

[[noreturn]] void base64_error(const std::string& what, std::uint64_t pos) {
  throw Error(ErrorKind::bad_input,
              "base64: " + what + " (at offset " + std::to_string(pos) + " of the encoded text)");
}

// The bytes of a group of `data` sextets (2..4) held in the low bits of `bits`.
void base64_emit(std::uint32_t bits, int data, std::string& out) {
  bits <<= 6 * (4 - data);
  out.push_back(static_cast<char>((bits >> 16) & 0xFF));
  if (data >= 3) out.push_back(static_cast<char>((bits >> 8) & 0xFF));
  if (data >= 4) out.push_back(static_cast<char>(bits & 0xFF));
}
}  // namespace

// Value of each byte in the base64 alphabet, -1 for anything else.
constexpr std::array<std::int8_t, 256> kBase64Values = [] {
  std::array<std::int8_t, 256> t{};
  t.fill(-1);
  for (int i = 0; i < 26; ++i) {
    t[static_cast<std::size_t>('A' + i)] = static_cast<std::int8_t>(i);
    t[static_cast<std::size_t>('a' + i)] = static_cast<std::int8_t>(26 + i);
  }
  for (int i = 0; i < 10; ++i) t[static_cast<std::size_t>('0' + i)] = static_cast<std::int8_t>(52 + i);
  t['+'] = 62;
  t['/'] = 63;
  return t;
}();

void Base64DecodeSink::write(std::string_view text) {
  // At most 3 bytes per 4 characters, plus a group begun in an earlier write.
  std::string out(text.size() / 4 * 3 + 6, '\0');
  std::size_t n = 0;
  auto emit = [&](int data) {
    std::string group;
    base64_emit(bits_, data, group);
    out.replace(n, group.size(), group);
    n += group.size();
  };
  for (char c : text) {
    ++pos_;
    const int v = kBase64Values[static_cast<unsigned char>(c)];
    if (v >= 0 && pad_ == 0) {  // the common case, kept tight: a data character
      bits_ = (bits_ << 6) | static_cast<std::uint32_t>(v);
      if (++count_ == 4) {
        out[n++] = static_cast<char>((bits_ >> 16) & 0xFF);
        out[n++] = static_cast<char>((bits_ >> 8) & 0xFF);
        out[n++] = static_cast<char>(bits_ & 0xFF);
        bits_ = 0;
        count_ = 0;
      }
      continue;
    }
    if (base64_space(c)) continue;
    if (c == '=') {
      if (count_ - pad_ < 2) base64_error("misplaced padding '='", pos_ - 1);
      ++pad_;
    } else if (v < 0) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned>(static_cast<unsigned char>(c)));
      base64_error(std::string("invalid character ") + hex, pos_ - 1);
    } else {
      base64_error("data after padding inside a group", pos_ - 1);
    }
    if (++count_ == 4) {
      emit(4 - pad_);
      bits_ = 0;
      count_ = 0;
      pad_ = 0;
    }
  }
  out.resize(n);
  if (!out.empty()) next_.write(out);
}

void Base64DecodeSink::finish() {
  int data = count_ - pad_;
  if (count_ > 0) {
    if (data < 2) base64_error("truncated final group", pos_);
    std::string out;
    base64_emit(bits_, data, out);  // missing padding is accepted
    next_.write(out);
    bits_ = 0;
    count_ = 0;
    pad_ = 0;
  }
  next_.finish();
}

// ---- quoted-printable decoder ----

void QuotedPrintableDecodeSink::put(char c, std::string& out) {
  switch (state_) {
    case State::normal:
      if (is_wsp(c)) {
        pending_.push_back(c);
      } else if (c == '\r') {
        state_ = State::cr;
      } else if (c == '\n') {
        pending_.clear();  // trailing white space is dropped
        out.push_back('\n');
      } else {
        out.append(pending_);
        pending_.clear();
        if (c == '=') {
          state_ = State::eq;
        } else {
          out.push_back(c);
        }
      }
      return;
    case State::cr:
      state_ = State::normal;
      if (c == '\n') {
        pending_.clear();
        out.append("\r\n");
        return;
      }
      out.append(pending_);  // a bare CR: kept, and the white space before it too
      pending_.clear();
      out.push_back('\r');
      put(c, out);
      return;
    case State::eq:
      if (hex_value(c) >= 0) {
        hex1_ = c;
        state_ = State::eq_hex;
      } else if (is_wsp(c)) {
        pending_.assign(1, '=');
        pending_.push_back(c);
        state_ = State::eq_wsp;
      } else if (c == '\r') {
        state_ = State::eq_cr;
      } else if (c == '\n') {
        state_ = State::normal;  // soft break
      } else {
        out.push_back('=');  // invalid: passed through
        state_ = State::normal;
        put(c, out);
      }
      return;
    case State::eq_hex:
      state_ = State::normal;
      if (hex_value(c) >= 0) {
        out.push_back(static_cast<char>(hex_value(hex1_) * 16 + hex_value(c)));
        return;
      }
      out.push_back('=');
      out.push_back(hex1_);
      put(c, out);
      return;
    case State::eq_wsp:
      if (is_wsp(c)) {
        pending_.push_back(c);
      } else if (c == '\r' || c == '\n') {
        pending_.clear();  // "=" and transport padding before a line end: a soft break
        state_ = c == '\r' ? State::eq_cr : State::normal;
      } else {
        out.append(pending_);
        pending_.clear();
        state_ = State::normal;
        put(c, out);
      }
      return;
    case State::eq_cr:
      state_ = State::normal;
      if (c != '\n') put(c, out);  // "=" CR without LF: taken as a soft break all the same
      return;
  }
}

void QuotedPrintableDecodeSink::write(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) put(c, out);
  if (!out.empty()) next_.write(out);
}

void QuotedPrintableDecodeSink::finish() {
  std::string out;
  switch (state_) {
    case State::normal:  // trailing white space at the end of the data is dropped
    case State::eq:      // "=" at the very end: a soft break
    case State::eq_wsp:
    case State::eq_cr:
      break;
    case State::eq_hex:
      out.push_back('=');
      out.push_back(hex1_);
      break;
    case State::cr:
      out.append(pending_);
      out.push_back('\r');
      break;
  }
  pending_.clear();
  state_ = State::normal;
  if (!out.empty()) next_.write(out);
  next_.finish();
}

}  // namespace detail

void decode_base64(std::string_view text, Sink& out) {
  detail::KeepOpenSink keep(out);
  detail::Base64DecodeSink decoder(keep);
  decoder.write(text);
  decoder.finish();
}

void decode_quoted_printable(std::string_view text, Sink& out) {
  detail::KeepOpenSink keep(out);
  detail::QuotedPrintableDecodeSink decoder(keep);
  decoder.write(text);
  decoder.finish();
}

std::string make_boundary() {
  std::array<unsigned char, 16> random{};
  check(RAND_bytes(random.data(), static_cast<int>(random.size())), "RAND_bytes for a MIME boundary");
  std::string boundary = "=_smime_";
  for (unsigned char b : random) {
    boundary.push_back(kHexDigits[b >> 4]);
    boundary.push_back(kHexDigits[b & 15]);
  }
  return boundary;
}

}  // namespace smime::mime
