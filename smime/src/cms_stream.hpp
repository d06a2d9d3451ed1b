// Internal: streaming a CMS structure as base64 BER into a Sink, shared by opaque signing and
// encryption. Not part of the public API.
#pragma once

#include <string_view>

#include "smime/io.hpp"
#include "smime/ossl.hpp"

namespace smime::detail {

// Writes `cms`'s content as it is fed (BIO_new_CMS, indefinite-length BER), base64 with CRLF lines, to out.
class CmsBase64Writer {
 public:
  CmsBase64Writer(CMS_ContentInfo* cms, Sink& out);
  void write(std::string_view bytes);
  void finish();  // completes the structure (signature or tag), flushes base64, finishes out

 private:
  Base64Sink base64_;
  BioPtr sink_bio_;  // our reference; the chain below holds another
  BioPtr chain_;     // BIO_new_CMS(...) -> ... -> sink_bio_
};

// Writes a small DER blob as base64 lines to out (without finishing out).
void write_base64(std::string_view der, Sink& out);

// The DER encoding of a complete CMS structure.
std::string cms_to_der(CMS_ContentInfo* cms);

}  // namespace smime::detail
