// MIME parsing and the canonical form for signing, on an arbitrary message.
//
// As the milter does: the message is parsed, its Content-* headers are split off and the body parsed
// under them, then written in canonical form. Every leaf is also decoded. Properties every input
// must keep (a break aborts, and libFuzzer keeps the input):
//  - the canonical form has CRLF line ends (no LF without its CR);
//  - what write_canonical wrote parses again, and its canonical form is itself (what we sign is
//    what a verifier sees when it parses the same bytes).
// Malformed input is an smime::Error (bad_input); any other exception escapes and is a finding.
#include <cstdint>

#include "fuzz_support.hpp"
#include "smime/error.hpp"
#include "smime/mime.hpp"

namespace {

using smime::mime::Entity;

// Counts what it is given: decoded bodies are only checked for not crashing.
class NullSink final : public smime::Sink {
 public:
  void write(std::string_view bytes) override { size_ += bytes.size(); }
  std::size_t size_ = 0;
};

void decode_leaves(const smime::Source& src, const Entity& e) {
  for (const Entity& child : e.children) decode_leaves(src, child);
  if (!e.is_leaf()) return;
  NullSink sink;
  try {
    smime::mime::write_decoded_body(src, e, sink);
  } catch (const smime::Error& err) {
    fuzz::require(err.kind() == smime::ErrorKind::bad_input, "decoding fails only as bad_input");
  }
}

std::string canonical(const smime::Source& src, const Entity& e) {
  smime::StringSink out;
  smime::mime::write_canonical(src, e, out);
  return out.take();
}

bool crlf_only(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i)
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return false;
  return true;
}

void check_canonical_form(const std::string& form) {
  fuzz::require(crlf_only(form), "canonical form has CRLF line ends only");
  smime::Source again = smime::Source::from_string(form);
  std::string twice;
  try {
    twice = canonical(again, smime::mime::parse(again, again.all()));
  } catch (const smime::Error& err) {
    fuzz::require(false, std::string("canonical form parses and canonicalises again: ") + err.what());
  }
  fuzz::require(twice == form, "canonical form is its own canonical form");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  smime::Source src = smime::Source::from_string(std::string(fuzz::as_text(data, size)));
  try {
    Entity root = smime::mime::parse(src, src.all());
    decode_leaves(src, root);
    smime::mime::SplitHeaders split = smime::mime::split_content_headers(root.headers);
    Entity content = smime::mime::parse_body(src, root.body, split.content);
    for (const auto& h : root.headers.items) (void)smime::mime::ContentType::parse(h.value);
    check_canonical_form(canonical(src, content));
  } catch (const smime::Error& err) {
    fuzz::require(err.kind() == smime::ErrorKind::bad_input, "malformed MIME fails only as bad_input");
  }
  return 0;
}
