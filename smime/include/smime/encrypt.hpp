// Encryption (RFC 8551 section 3.3): EnvelopedData with AES-CBC, or AuthEnvelopedData with AES-GCM
// (RFC 5083/5084), to one or many recipients; RSA key transport (PKCS#1 v1.5 or OAEP) and EC key
// agreement (ECDH), chosen by the recipient certificate's key type.
//
// EncryptStream is a Sink: write the MIME entity to encrypt (headers, blank line, body), then
// finish(); the application/pkcs7-mime entity is written to `out` as it goes (streamed,
// indefinite-length BER). With EncryptOptions::der the content is held in memory instead (at most
// max_in_memory bytes, Error(bad_input) beyond) and written as DER with definite lengths at finish(),
// which then holds about three times the content at once (content, DER, base64).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include "smime/algorithms.hpp"
#include "smime/io.hpp"
#include "smime/mime.hpp"
#include "smime/ossl.hpp"
#include "smime/sign.hpp"

namespace smime {

enum class RsaKeyTransport { pkcs1v15, oaep };

struct Recipient {
  X509Ptr cert;
  RsaKeyTransport rsa_padding = RsaKeyTransport::pkcs1v15;  // ignored for EC certificates
  Capabilities capabilities;  // as last announced by the recipient; absent if never seen
};

struct EncryptOptions {
  std::optional<Cipher> cipher;  // nullopt = auto: choose_cipher()
  bool der = false;              // DER with definite lengths (content held in memory), not streamed BER
  std::size_t max_in_memory = 64 * 1024 * 1024;  // with der: the most content held in memory
};

// auto: AES-GCM only when every recipient has announced it (the strongest GCM all of them share),
// else AES-256-CBC, which every S/MIME client reads (gpgsm 2.2 and NSS 3.87 do not read AES-GCM).
Cipher choose_cipher(const std::vector<Recipient>& recipients);

class EncryptStream final : public Sink {
 public:
  EncryptStream(const std::vector<Recipient>& recipients, const EncryptOptions& options, Sink& out);
  ~EncryptStream() override;
  EncryptStream(const EncryptStream&) = delete;
  EncryptStream& operator=(const EncryptStream&) = delete;
  void write(std::string_view bytes) override;
  void finish() override;
  Cipher cipher() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Canonicalises `content` and encrypts it; returns the cipher used.
Cipher encrypt(const Source& src, const mime::Entity& content, const std::vector<Recipient>& recipients,
               const EncryptOptions& options, Sink& out);
// Sign, then encrypt the signed entity. (DER for both layers: set der in both options.)
Cipher sign_encrypt(const Source& src, const mime::Entity& content, const SigningIdentity& id,
                    const SignOptions& sign_options, const std::vector<Recipient>& recipients,
                    const EncryptOptions& options, Sink& out);
// Triple wrap (RFC 2634 section 1.1): sign, encrypt, sign the encrypted entity again.
Cipher triple_wrap(const Source& src, const mime::Entity& content, const SigningIdentity& id,
                   const SignOptions& inner, const std::vector<Recipient>& recipients,
                   const EncryptOptions& options, const SignOptions& outer, Sink& out);

}  // namespace smime
