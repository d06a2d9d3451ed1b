// Decryption of application/pkcs7-mime (or x-pkcs7-mime, or octet-stream named .p7m) enveloped-data and
// authEnveloped-data with one of several own keys (key rollover: old and new keys both open mail). The key is
// chosen by the recipient identifier in the message, never by trial decryption, so a wrong key is reported as
// such (Error wrong_key).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "smime/io.hpp"
#include "smime/mime.hpp"
#include "smime/ossl.hpp"

namespace smime {

struct DecryptionKey {
  X509Ptr cert;
  PkeyPtr key;
};

struct DecryptResult {
  std::size_t key_index = 0;  // which of the given keys opened the message
  std::string cipher;  // content encryption algorithm: "aes256-cbc", "aes128-gcm", ... (see cms_parse.hpp)
  bool authenticated = false;  // AuthEnvelopedData: the GCM tag was checked; CBC content is malleable
};

// The CMS DER carried by an application/pkcs7-mime entity (its body, base64 or binary decoded), whole
// in memory.
std::string pkcs7_mime_der(const Source& src, const mime::Entity& entity);

// The CMS content type of an application/pkcs7-mime entity as an OpenSSL NID (NID_pkcs7_enveloped,
// NID_id_smime_ct_authEnvelopedData, NID_pkcs7_signed, ...; NID_undef for an unknown OID), read from
// the first bytes of the body only. Throws Error(bad_input) when they do not start a ContentInfo.
int pkcs7_mime_content_type(const Source& src, const mime::Entity& entity);

// Decrypts the entity and writes the enclosed MIME entity (headers, blank line, body) to out.
//
// Streams: the body is read twice through the Source, decoded on the fly, never whole. The first pass
// checks the CMS structure to its end and keeps only the envelope around the encrypted content
// (recipient infos, algorithm, GCM tag; at most 4 MiB); the second feeds the encrypted content to the
// cipher in blocks. So memory stays at a few hundred KiB whatever the size, and no disk is used.
//
// Throws Error(wrong_key) when no given key is a recipient, Error(usage) when the chosen key does not
// belong to its certificate, Error(bad_input) for malformed or truncated CMS (OpenSSL's error queue
// or the scanner's reason in the message), an envelope over 4 MiB, a bad CBC padding or a failed
// authentication tag, and "unsupported algorithm NAME (content encryption)" for a cipher this
// OpenSSL's CMS cannot decrypt (e.g. chacha20-poly1305 with OpenSSL 3.0), before any key is tried;
// Error(io) from the Source or from out. Writes the decrypted content exactly as it was encrypted
// (bare LF or mixed line ends, or no header block at all, are the caller's to handle:
// mime::starts_with_header_block, CrlfSink). A malformed or truncated structure, a wrong key or an
// unusable key is found before out receives anything; but decrypted bytes are streamed to out before a
// GCM tag can be checked (and before CBC padding is): on any error, discard what out received.
DecryptResult decrypt(const Source& src, const mime::Entity& entity, const std::vector<DecryptionKey>& keys,
                      Sink& out);

}  // namespace smime
