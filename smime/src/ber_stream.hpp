// Internal: BER read forward from an entity's body, decoded from its transfer encoding on the fly, so
// that a 100 MB CMS structure is walked holding one block of it. Used by streaming decryption.
//
// Contract: every reader call either consumes what it says or throws Error(bad_input) (malformed or
// truncated BER, invalid base64) or Error(io) (the Source's reads). Nothing here allocates in
// proportion to the input beyond what the caller asks to copy, and copies are bounded by a budget.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "smime/io.hpp"
#include "smime/mime.hpp"

namespace smime::detail {

// The decoded bytes of a body, read forward in blocks. Bodies that are not base64 or
// quoted-printable are read as they are, and skipped over without reading.
class DecodedReader {
 public:
  DecodedReader(const Source& src, Range body, mime::Encoding encoding);
  ~DecodedReader();
  DecodedReader(const DecodedReader&) = delete;
  DecodedReader& operator=(const DecodedReader&) = delete;

  // Up to n bytes; fewer only at the end of the body (0 there).
  std::size_t read(char* buf, std::size_t n);
  // Exactly n bytes, or Error(bad_input) "truncated ... (<what>)".
  void read_exact(char* buf, std::size_t n, std::string_view what);
  // Moves n bytes forward; false when the body ends first (the position is then the end).
  bool skip(std::uint64_t n);
  // Consumes the rest of the body, so that its whole transfer encoding is checked.
  void skip_to_end();
  // Decoded bytes consumed so far.
  std::uint64_t position() const { return position_; }

 private:
  bool refill();  // false at the end of the body

  class Decoder;
  Source src_;
  Range body_;
  std::uint64_t encoded_pos_;         // the next byte of the body to read
  std::unique_ptr<Decoder> decoder_;  // null: the body is read as it is
  std::string encoded_;               // the decoder's input block, reused
  std::string block_;                 // decoded bytes not yet consumed start at block_pos_
  std::size_t block_pos_ = 0;
  std::uint64_t position_ = 0;
};

// One BER identifier and length, as read.
struct BerHeader {
  std::string raw;            // the identifier and length octets
  std::size_t id_length = 0;  // how many of raw are identifier octets
  int cls = 0;                // 0 universal, 1 application, 2 context-specific, 3 private
  bool constructed = false;
  std::uint32_t tag = 0;
  bool indefinite = false;
  std::uint64_t length = 0;  // definite lengths only

  bool is(int c, std::uint32_t t) const { return cls == c && tag == t; }
  bool is_end_of_contents() const {
    return cls == 0 && tag == 0 && !constructed && !indefinite && length == 0;
  }
  std::string_view identifier() const { return std::string_view(raw).substr(0, id_length); }
};

inline constexpr int kUniversal = 0;
inline constexpr int kContextSpecific = 2;

// Reads the header at the reader's position. `what` names the element in error messages.
BerHeader read_ber_header(DecodedReader& r, std::string_view what);

// Appends the whole element whose header `h` was just read (header, content, and for indefinite
// lengths every nested element up to its end-of-contents) to out. `budget` is what out may still
// grow by; going over it throws Error(bad_input) naming the budget's purpose.
void copy_ber_element(DecodedReader& r, const BerHeader& h, std::string& out, std::size_t& budget,
                      std::string_view what);

inline constexpr std::uint64_t kNoBerLimit = ~std::uint64_t{0};

// The content octets of an OCTET STRING (any tag) whose header `h` was just read: primitive, or
// constructed of nested OCTET STRING chunks with definite or indefinite lengths. `limit`: the reader
// position an indefinite-length string must end by (its container's end).
class OctetStringReader {
 public:
  OctetStringReader(DecodedReader& r, const BerHeader& h, std::uint64_t limit = kNoBerLimit);
  // Up to n content octets; 0 after the string's last one (its end-of-contents consumed).
  std::size_t read(char* buf, std::size_t n);
  // Moves past the whole string, checking its chunk structure; returns the count of content octets.
  std::uint64_t skip_all();

 private:
  bool next_segment();  // finds the next primitive chunk with content; false at the end

  struct Frame {
    bool indefinite;
    // The reader position after the frame's last byte; for an indefinite length, its enclosing
    // frame's (the bound it must end within), or no bound at all.
    std::uint64_t end;
  };
  DecodedReader& r_;
  std::vector<Frame> frames_;  // the constructed strings we are inside, outermost first
  std::uint64_t left_ = 0;     // octets left in the current primitive chunk
};

// The DER length octets for n.
std::string der_length(std::uint64_t n);

}  // namespace smime::detail
