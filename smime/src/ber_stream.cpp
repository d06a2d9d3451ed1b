#include "ber_stream.hpp"

#include <algorithm>

#include "mime_detail.hpp"
#include "smime/error.hpp"

namespace smime::detail {

namespace {

constexpr std::size_t kEncodedBlock = 48 * 1024;  // base64: decodes to 36 KiB
constexpr std::size_t kMaxNesting = 32;           // chunks within chunks, elements within elements

[[noreturn]] void malformed(const std::string& what) {
  throw Error(ErrorKind::bad_input, "malformed CMS: " + what);
}

[[noreturn]] void too_large(std::string_view what) {
  throw Error(ErrorKind::bad_input,
              "CMS too large to read: " + std::string(what) + " is over the size limit");
}

// Appends what a decoder emits to a string.
class AppendSink final : public Sink {
 public:
  explicit AppendSink(std::string& to) : to_(to) {}
  void write(std::string_view bytes) override { to_.append(bytes); }

 private:
  std::string& to_;
};

}  // namespace

// A transfer-encoding decoder whose output lands in the reader's block.
class DecodedReader::Decoder {
 public:
  Decoder(mime::Encoding encoding, std::string& block) : append_(block) {
    if (encoding == mime::Encoding::base64)
      sink_ = std::make_unique<mime::detail::Base64DecodeSink>(append_);
    else
      sink_ = std::make_unique<mime::detail::QuotedPrintableDecodeSink>(append_);
  }
  void write(std::string_view text) { sink_->write(text); }
  void finish() {
    if (!finished_) sink_->finish();
    finished_ = true;
  }

 private:
  AppendSink append_;
  std::unique_ptr<Sink> sink_;
  bool finished_ = false;
};

DecodedReader::DecodedReader(const Source& src, Range body, mime::Encoding encoding)
    : src_(src), body_(body), encoded_pos_(body.offset) {
  if (encoding == mime::Encoding::base64 || encoding == mime::Encoding::quoted_printable)
    decoder_ = std::make_unique<Decoder>(encoding, block_);
}

DecodedReader::~DecodedReader() = default;

bool DecodedReader::refill() {
  block_.clear();
  block_pos_ = 0;
  while (block_.empty()) {
    if (encoded_pos_ >= body_.end()) {
      if (!decoder_) return false;
      decoder_->finish();  // emits a final group without padding
      return !block_.empty();
    }
    const std::size_t want = std::min<std::uint64_t>(kEncodedBlock, body_.end() - encoded_pos_);
    if (!decoder_) {
      block_.resize(want);
      const std::size_t n = src_.read(encoded_pos_, block_.data(), want);
      block_.resize(n);
      if (n == 0) {
        encoded_pos_ = body_.end();  // the Source is shorter than the range: its end is the body's
        return false;
      }
      encoded_pos_ += n;
    } else {
      encoded_.resize(want);
      const std::size_t n = src_.read(encoded_pos_, encoded_.data(), want);
      encoded_pos_ = n == 0 ? body_.end() : encoded_pos_ + n;
      decoder_->write(std::string_view(encoded_.data(), n));
    }
  }
  return true;
}

std::size_t DecodedReader::read(char* buf, std::size_t n) {
  std::size_t done = 0;
  while (done < n) {
    if (block_pos_ == block_.size() && !refill()) break;
    const std::size_t k = std::min(n - done, block_.size() - block_pos_);
    std::copy_n(block_.data() + block_pos_, k, buf + done);
    block_pos_ += k;
    done += k;
  }
  position_ += done;
  return done;
}

void DecodedReader::read_exact(char* buf, std::size_t n, std::string_view what) {
  if (read(buf, n) != n)
    malformed("truncated at decoded offset " + std::to_string(position_) + " (" + std::string(what) + ")");
}

bool DecodedReader::skip(std::uint64_t n) {
  while (n > 0) {
    if (block_pos_ == block_.size()) {
      if (!decoder_) {  // as it is: jump over the bytes instead of reading them
        const std::uint64_t k = std::min(n, body_.end() - encoded_pos_);
        encoded_pos_ += k;
        position_ += k;
        n -= k;
        if (n == 0) break;
      }
      if (!refill()) return false;
    }
    const std::size_t k = std::min<std::uint64_t>(n, block_.size() - block_pos_);
    block_pos_ += k;
    position_ += k;
    n -= k;
  }
  return true;
}

void DecodedReader::skip_to_end() {
  while (skip(std::uint64_t{1} << 40)) {
  }
}

BerHeader read_ber_header(DecodedReader& r, std::string_view what) {
  BerHeader h;
  auto next_byte = [&]() {
    char c = 0;
    r.read_exact(&c, 1, what);
    h.raw.push_back(c);
    return static_cast<unsigned char>(c);
  };
  const unsigned char id = next_byte();
  h.cls = id >> 6;
  h.constructed = (id & 0x20) != 0;
  h.tag = id & 0x1f;
  if (h.tag == 0x1f) {  // high tag number form: base 128, at most four octets here
    h.tag = 0;
    unsigned char b = 0;
    do {
      if (h.raw.size() > 4) malformed("tag number too large in " + std::string(what));
      b = next_byte();
      h.tag = (h.tag << 7) | (b & 0x7f);
    } while (b & 0x80);
  }
  h.id_length = h.raw.size();
  const unsigned char first = next_byte();
  if (first == 0x80) {
    if (!h.constructed) malformed("indefinite length on a primitive " + std::string(what));
    h.indefinite = true;
  } else if (first < 0x80) {
    h.length = first;
  } else {
    const int octets = first & 0x7f;
    if (octets > 7) malformed("length too large in " + std::string(what));
    for (int i = 0; i < octets; ++i) h.length = (h.length << 8) | next_byte();
  }
  return h;
}

void copy_ber_element(DecodedReader& r, const BerHeader& h, std::string& out, std::size_t& budget,
                      std::string_view what) {
  // Iterative over nested indefinite lengths: `open` counts the end-of-contents still due.
  std::size_t open = 0;
  const BerHeader* current = &h;
  BerHeader child;
  for (;;) {
    if (current->raw.size() > budget) too_large(what);
    budget -= current->raw.size();
    out.append(current->raw);
    if (current->indefinite) {
      if (++open > kMaxNesting) malformed("nesting too deep in " + std::string(what));
    } else {
      if (current->length > budget) too_large(what);
      const std::size_t at = out.size();
      out.resize(at + current->length);
      r.read_exact(out.data() + at, current->length, what);
      budget -= current->length;
      if (current->is_end_of_contents() && open > 0) --open;
    }
    if (open == 0) return;
    child = read_ber_header(r, what);
    current = &child;
  }
}

OctetStringReader::OctetStringReader(DecodedReader& r, const BerHeader& h, std::uint64_t limit) : r_(r) {
  if (!h.constructed) {
    left_ = h.length;
    return;
  }
  const std::uint64_t end = h.indefinite ? limit : r.position() + h.length;
  frames_.push_back(Frame{h.indefinite, end});
}

bool OctetStringReader::next_segment() {
  while (!frames_.empty()) {
    const Frame f = frames_.back();
    if (!f.indefinite && r_.position() == f.end) {
      frames_.pop_back();
      continue;
    }
    const BerHeader h = read_ber_header(r_, "a chunk of the encrypted content");
    const std::uint64_t end = h.indefinite ? f.end : r_.position() + h.length;
    if (r_.position() > f.end || end > f.end)
      malformed("a chunk of the encrypted content overruns its string");
    if (h.is_end_of_contents()) {
      if (!f.indefinite) malformed("end-of-contents inside a definite-length encrypted content");
      frames_.pop_back();
      continue;
    }
    if (!h.is(kUniversal, 4)) malformed("a chunk of the encrypted content is not an OCTET STRING");
    if (h.constructed) {
      if (frames_.size() >= kMaxNesting) malformed("encrypted content chunks nested too deep");
      frames_.push_back(Frame{h.indefinite, end});
      continue;
    }
    if (h.length > 0) {
      left_ = h.length;
      return true;
    }
  }
  return false;
}

std::size_t OctetStringReader::read(char* buf, std::size_t n) {
  std::size_t done = 0;
  while (done < n && (left_ > 0 || next_segment())) {
    const std::size_t k = std::min<std::uint64_t>(n - done, left_);
    r_.read_exact(buf + done, k, "the encrypted content");
    left_ -= k;
    done += k;
  }
  return done;
}

std::uint64_t OctetStringReader::skip_all() {
  std::uint64_t total = 0;
  while (left_ > 0 || next_segment()) {
    if (!r_.skip(left_)) malformed("truncated inside the encrypted content");
    total += left_;
    left_ = 0;
  }
  return total;
}

std::string der_length(std::uint64_t n) {
  if (n < 0x80) return std::string(1, static_cast<char>(n));
  std::string octets;
  for (; n > 0; n >>= 8) octets.insert(octets.begin(), static_cast<char>(n & 0xff));
  return static_cast<char>(0x80 | octets.size()) + octets;
}

}  // namespace smime::detail
