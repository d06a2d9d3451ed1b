// Canonical form for signing (RFC 8551 section 3.1) and decoded bodies.
//
// Contract: write_canonical writes the entity with CRLF line ends and 7-bit content: each leaf that
// needs it (Entity::needs_7bit_conversion) is re-encoded and its Content-Transfer-Encoding set;
// containers declared 8bit/binary are relabelled 7bit. A multipart/signed keeps its parts' bytes
// (only line ends made CRLF), whatever they declare. Everything else keeps its bytes apart from
// line ends, delimiter lines, preamble and epilogue included; a multipart whose close delimiter was
// missing gets one, and an entity whose source had no blank line after its headers gets none.
// Bodies stream through in chunks. A leaf that must be re-encoded but has an
// unknown transfer encoding throws Error(bad_input); base64 that does not decode throws too.
// Neither function calls out.finish(): the caller ends its sink.
#include <string>

#include "mime_detail.hpp"
#include "smime/error.hpp"
#include "smime/mime.hpp"

namespace smime::mime {

namespace {

constexpr std::string_view kCte = "Content-Transfer-Encoding";

// What a leaf becomes in canonical form.
enum class Target {
  keep,              // 7-bit clean already: bytes kept, line ends made CRLF
  relabel_7bit,      // declared 8bit, but its content is 7-bit clean: only the label changes
  quoted_printable,  // text: decoded, then quoted-printable
  base64,            // anything else, and binary of any type: decoded (or raw), then base64
};

bool clean_content(const Entity& leaf) {
  return !leaf.has_8bit && !leaf.has_nul && !leaf.has_bare_cr && leaf.longest_line <= 998;
}

Target leaf_target(const Entity& leaf) {
  if (!leaf.needs_7bit_conversion()) return Target::keep;
  if (leaf.encoding == Encoding::unknown) {
    throw Error(ErrorKind::bad_input, "cannot make a " + leaf.content_type.mime_type() +
                                          " part 7-bit: its Content-Transfer-Encoding \"" +
                                          leaf.headers.get(kCte) + "\" is unknown (at byte offset " +
                                          std::to_string(leaf.whole.offset) + ")");
  }
  if (leaf.encoding == Encoding::eight_bit && clean_content(leaf)) return Target::relabel_7bit;
  if (leaf.encoding == Encoding::binary || leaf.encoding == Encoding::base64) return Target::base64;
  return leaf.content_type.type == "text" ? Target::quoted_printable : Target::base64;
}

std::string_view target_label(Target t) {
  switch (t) {
    case Target::keep:
      break;
    case Target::relabel_7bit:
      return "7bit";
    case Target::quoted_printable:
      return "quoted-printable";
    case Target::base64:
      return "base64";
  }
  return {};
}

// Copies a range with its line ends made CRLF.
void copy_crlf(const Source& src, Range r, Sink& out) {
  if (r.length == 0) return;
  CrlfSink crlf(out);  // never finished: it holds nothing, and finishing would finish `out`
  copy(src, r, crlf);
}

// Streams the body decoded from base64/quoted-printable (other encodings as they are) into out.
void decode_into(const Source& src, const Entity& leaf, Sink& out) {
  detail::KeepOpenSink keep(out);
  if (leaf.encoding == Encoding::base64) {
    detail::Base64DecodeSink decoder(keep);
    copy(src, leaf.body, decoder);
    decoder.finish();
  } else if (leaf.encoding == Encoding::quoted_printable) {
    detail::QuotedPrintableDecodeSink decoder(keep);
    copy(src, leaf.body, decoder);
    decoder.finish();
  } else {
    copy(src, leaf.body, keep);
  }
}

void write_leaf_body(const Source& src, const Entity& leaf, Target target, Sink& out) {
  detail::KeepOpenSink keep(out);
  switch (target) {
    case Target::keep:
    case Target::relabel_7bit:
      copy_crlf(src, leaf.body, out);
      return;
    case Target::quoted_printable: {
      QuotedPrintableSink encoder(keep);
      decode_into(src, leaf, encoder);
      encoder.finish();
      return;
    }
    case Target::base64: {
      Base64Sink encoder(keep);
      decode_into(src, leaf, encoder);  // binary: the raw bytes, line ends untouched
      encoder.finish();
      return;
    }
  }
}

void write_entity(const Source& src, const Entity& e, Sink& out);

// The blank line after the headers, unless the source had none and nothing needs one: a part that
// is only headers ("Content-Type: text/plain" CRLF, then the delimiter) keeps its bytes. Headers
// given apart (parse_body) are always followed by one.
void write_header_end(const Entity& e, Sink& out) {
  const bool source_had_one = e.body.offset > e.header.end();
  const bool headers_given_apart = e.header.length == 0 && !e.headers.items.empty();
  if (source_had_one || e.body.length > 0 || headers_given_apart) out.write("\r\n");
}

// Container body: the bytes between children (delimiter lines, preamble, epilogue) are copied,
// each child is written canonically in its place.
void write_container_body(const Source& src, const Entity& e, Sink& out) {
  std::uint64_t pos = e.body.offset;
  for (const Entity& child : e.children) {
    copy_crlf(src, Range{pos, child.whole.offset - pos}, out);
    write_entity(src, child, out);
    pos = child.whole.end();
  }
  copy_crlf(src, Range{pos, e.body.end() - pos}, out);
  if (e.content_type.is_multipart() && !e.closed) out.write("\r\n--" + e.boundary + "--\r\n");
}

void write_entity(const Source& src, const Entity& e, Sink& out) {
  // A signature inside (a forwarded signed message, an author's signature under our encryption) covers
  // the bytes as they are: re-encoding one of its parts would break it.
  if (e.content_type.is("multipart", "signed")) {
    write_headers(e.headers, out);
    write_header_end(e, out);
    copy_crlf(src, e.body, out);
    return;
  }
  HeaderList headers = e.headers;
  if (!e.is_leaf()) {
    if (e.encoding == Encoding::eight_bit || e.encoding == Encoding::binary) headers.set(kCte, "7bit");
    write_headers(headers, out);
    write_header_end(e, out);
    write_container_body(src, e, out);
    return;
  }
  Target target = leaf_target(e);
  if (target != Target::keep) headers.set(kCte, target_label(target));
  write_headers(headers, out);
  write_header_end(e, out);
  write_leaf_body(src, e, target, out);
}

}  // namespace

void write_canonical(const Source& src, const Entity& e, Sink& out) { write_entity(src, e, out); }

void write_decoded_body(const Source& src, const Entity& leaf, Sink& out) { decode_into(src, leaf, out); }

}  // namespace smime::mime
