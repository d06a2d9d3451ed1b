// Internal: writing a CMS structure as base64 into a Sink while its content is fed, shared by opaque
// signing and encryption. Two forms: streamed indefinite-length BER (nothing held), or DER with
// definite lengths (the content held in memory up to a bound, the structure completed at finish()).
// Not part of the public API.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "smime/io.hpp"
#include "smime/ossl.hpp"

namespace smime::detail {

// Takes the content of a CMS structure created with CMS_PARTIAL; finish() completes the structure
// (signature or tag), flushes the base64 and finishes `out`.
class CmsWriter {
 public:
  virtual ~CmsWriter() = default;
  virtual void write(std::string_view bytes) = 0;
  virtual void finish() = 0;
};

// Streamed BER (BIO_new_CMS): `cms` must have been created with CMS_STREAM.
std::unique_ptr<CmsWriter> streamed_ber_writer(CMS_ContentInfo* cms, Sink& out);
// DER: `cms` created without CMS_STREAM; more than max_in_memory bytes of content throw Error(bad_input).
std::unique_ptr<CmsWriter> buffered_der_writer(CMS_ContentInfo* cms, std::size_t max_in_memory, Sink& out);

// Writes a small DER blob as base64 lines to out (without finishing out).
void write_base64(std::string_view der, Sink& out);

// The DER encoding of a complete CMS structure.
std::string cms_to_der(CMS_ContentInfo* cms);

}  // namespace smime::detail
