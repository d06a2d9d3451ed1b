// Internal: the encrypted content of a pkcs7-mime body as a read-only BIO, for CMS_decrypt's dcont.
#pragma once

#include <cstdint>

#include "smime/io.hpp"
#include "smime/mime.hpp"
#include "smime/ossl.hpp"

namespace smime::detail {

// Reads the body decoded from its transfer encoding, from the encryptedContent element whose header
// starts at decoded offset `content_offset` (found by scan_envelope), and yields its content octets:
// the chunk headers of a constructed OCTET STRING are left out. Throws Error(bad_input) if the
// element is not there. A failure while OpenSSL reads (Error(io) from the Source; bad_input if the
// body changed under us) ends the data with a read error and is kept for rethrow_content_error().
BioPtr make_content_bio(const Source& src, const mime::Entity& entity, std::uint64_t content_offset);
void rethrow_content_error(BIO* content_bio);

}  // namespace smime::detail
