// Signing (RFC 8551 section 3.5): detached multipart/signed or opaque application/pkcs7-mime.
//
// SignStream is a Sink: write the canonical MIME entity to sign (headers, blank line, body, CRLF line
// ends, 7-bit, as mime::write_canonical produces it), then finish(); the signed entity (its headers,
// a blank line, its body) is written to `out` as the input arrives, the signature at finish().
// Nothing of the content is kept in memory beyond a buffer. Signed attributes: contentType,
// messageDigest, signingTime, SMIMECapabilities (the ciphers given in SignOptions).
#pragma once

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
