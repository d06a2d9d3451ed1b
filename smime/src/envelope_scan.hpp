// Internal: the outer layers of an EnvelopedData or AuthEnvelopedData ContentInfo, read forward from
// a body without holding its encrypted content. OpenSSL gets the envelope with the encrypted content
// left out (the field is OPTIONAL: "detached" content) and the content as a stream of its own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "ber_stream.hpp"

namespace smime::detail {

// The most the parts of the structure other than the encrypted content may take (recipient infos,
// originator certificates and CRLs, attributes): they are held in memory and parsed by OpenSSL.
inline constexpr std::size_t kMaxEnvelopeBytes = 4 * 1024 * 1024;

struct Envelope {
  std::string skeleton;  // the ContentInfo without encryptedContent: lengths adjusted, BER where it was
  // Where encryptedContent's header starts in the decoded body; none when the message carries no
  // encrypted content.
  std::optional<std::uint64_t> content_offset;
};

// Reads the ContentInfo at the reader's position, then the rest of the body (so that its transfer
// encoding is checked to the end, as a whole decode would). The encrypted content's chunk structure
// is checked, its bytes are skipped. Throws Error(bad_input): "not enveloped-data but <type>" for
// other CMS types, "malformed CMS: ..." for malformed or truncated BER or an envelope over
// kMaxEnvelopeBytes; Error(io) from the Source.
Envelope scan_envelope(DecodedReader& r);

// The content type of the ContentInfo at the reader's position (an OpenSSL NID), read from its first
// bytes. Throws Error(bad_input) when they are not a ContentInfo's.
int scan_content_type(DecodedReader& r);

}  // namespace smime::detail
