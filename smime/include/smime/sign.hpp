// Signing (RFC 8551 section 3.5): detached multipart/signed or opaque application/pkcs7-mime.
//
// SignStream is a Sink: write the canonical MIME entity to sign (headers, blank line, body, CRLF line
// ends, 7-bit, as mime::write_canonical produces it), then finish(); the signed entity (its headers,
// a blank line, its body) is written to `out` as the input arrives, the signature at finish().
// Signed attributes: contentType, messageDigest, signingTime, SMIMECapabilities (the ciphers given
// in SignOptions).
//
// Memory: a detached signature keeps nothing of the content beyond a buffer, and its signature part
// is DER. An opaque signature streams indefinite-length BER, except in two cases where the whole
// content is held in memory and the SignedData is written as DER (definite lengths) at finish():
// SignOptions::der, and RSA-PSS (OpenSSL 3.0 cannot stream an opaque PSS signature). Then the content
// may be at most SignOptions::max_in_memory bytes (Error(bad_input) beyond), and finish() holds about
// three times the content at once (content, DER, base64).
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "smime/algorithms.hpp"
#include "smime/io.hpp"
#include "smime/mime.hpp"
#include "smime/ossl.hpp"

namespace smime {

enum class SignMode { detached, opaque };
enum class RsaSignaturePadding { pkcs1v15, pss };

struct SigningIdentity {
  X509Ptr cert;
  PkeyPtr key;
  std::vector<X509Ptr> chain;  // intermediates (and optionally the root) to include
};

struct SignOptions {
  SignMode mode = SignMode::detached;
  Digest digest = Digest::sha256;
  RsaSignaturePadding rsa_padding = RsaSignaturePadding::pkcs1v15;  // ignored for EC keys
  bool include_chain = true;
  // false: the signer's own certificate is left out too (CMS_NOCERTS), as some senders do to save
  // space; the receiver must know the certificate already.
  bool include_signer_certificate = true;
  // Opaque: DER with definite lengths instead of streamed indefinite-length BER, for strict parsers
  // (detached signatures are DER anyway). The content is held in memory: see max_in_memory.
  bool der = false;
  // The most content an opaque signature holds in memory (DER, or RSA-PSS); more is Error(bad_input).
  std::size_t max_in_memory = 64 * 1024 * 1024;
  // What we announce we can decrypt, in order of preference.
  std::vector<Cipher> capabilities = {Cipher::aes256_gcm, Cipher::aes128_gcm, Cipher::aes256_cbc,
                                      Cipher::aes128_cbc};
};

class SignStream final : public Sink {
 public:
  SignStream(const SigningIdentity& id, const SignOptions& options, Sink& out);
  ~SignStream() override;
  SignStream(const SignStream&) = delete;
  SignStream& operator=(const SignStream&) = delete;
  void write(std::string_view bytes) override;
  void finish() override;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Canonicalises `content` (an entity of src) and signs it, writing the signed entity to out.
void sign(const Source& src, const mime::Entity& content, const SigningIdentity& id,
          const SignOptions& options, Sink& out);

}  // namespace smime
