// The input of fuzz_filter: a program of milter callbacks and what the test MTA does, one operation
// after the other. Shared by the target (which reads it) and fuzz-seed-tool (which writes seeds from
// messages). Every byte string is a valid program: a short read gives empty or shortened values.
//
//   operation  = opcode byte (taken modulo kOpCount), then its arguments
//   string     = length byte n < 255, then n bytes; or 255, a 2-byte little-endian length, the bytes
//   strings    = a count byte (modulo 4), then that many strings
//
//   connect host address | helo name | envfrom strings | envrcpt strings | header name value | eoh
//   body chunk | body_repeat byte count16 (count16 copies of byte, up to 64 KiB) | eom | abort | close
//   symbol which value      (the MTA's macro: i, {i}, {auth_authen}, {client_addr}; empty = unset)
//   fail_on which after     (the test MTA refuses that call from its after-th occurrence on)
//   leading_space flag      (SMFIP_HDR_LEADSPC negotiated for the connection)
//   verdict ...             (the next end-of-message gets this verdict from a fake pipeline instead of
//                            the real one; see fuzz_filter.cpp)
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fuzz::filter_program {

// The outbound profiles of the fuzz gateway (milter_support.cpp); a message's field
// "X-Fuzz-Profile: NAME" picks one, the seeds send a message under each.
inline constexpr const char* kOutboundProfiles[] = {"sign",         "opaque", "address", "encrypt",
                                                    "sign-encrypt", "triple", "split"};

enum Op : std::uint8_t {
  connect,
  helo,
  envfrom,
  envrcpt,
  header,
  eoh,
  body,
  body_repeat,
  eom,
  abort,
  close,
  symbol,
  fail_on,
  leading_space,
  verdict,
  kOpCount
};

class Reader {
 public:
  Reader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool done() const { return pos_ >= size_; }
  std::uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  std::uint16_t u16() {
    const std::uint16_t lo = byte();
    return static_cast<std::uint16_t>(lo | (byte() << 8));
  }
  std::string string() {
    std::size_t n = byte();
    if (n == 255) n = u16();
    n = std::min(n, size_ - std::min(pos_, size_));
    std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return s;
  }
  std::vector<std::string> strings() {
    std::vector<std::string> v(byte() % 4);
    for (std::string& s : v) s = string();
    return v;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

class Writer {
 public:
  Writer& op(Op o) { return byte(o); }
  Writer& byte(std::uint8_t b) {
    out_.push_back(static_cast<char>(b));
    return *this;
  }
  Writer& u16(std::uint16_t v) {
    return byte(static_cast<std::uint8_t>(v & 0xff)).byte(static_cast<std::uint8_t>(v >> 8));
  }
  Writer& string(std::string_view s) {
    if (s.size() < 255) {
      byte(static_cast<std::uint8_t>(s.size()));
    } else {
      byte(255).u16(static_cast<std::uint16_t>(std::min<std::size_t>(s.size(), 0xffff)));
      s = s.substr(0, 0xffff);
    }
    out_.append(s);
    return *this;
  }
  Writer& strings(const std::vector<std::string>& v) {
    byte(static_cast<std::uint8_t>(v.size()));
    for (const std::string& s : v) string(s);
    return *this;
  }
  const std::string& bytes() const { return out_; }

 private:
  std::string out_;
};

}  // namespace fuzz::filter_program
