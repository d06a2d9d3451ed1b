#include "smime/encrypt.hpp"

#include <openssl/rsa.h>

#include <algorithm>
#include <optional>

#include "cms_stream.hpp"
#include "smime/cert.hpp"

namespace smime {

namespace {

CmsPtr make_enveloped_data(const std::vector<Recipient>& recipients, Cipher cipher, bool streamed) {
  if (recipients.empty()) throw Error(ErrorKind::usage, "encryption needs at least one recipient");
  const unsigned flags = CMS_PARTIAL | CMS_BINARY | (streamed ? CMS_STREAM : 0u);
  // With an AEAD cipher OpenSSL builds AuthEnvelopedData (RFC 5083), otherwise EnvelopedData.
  CmsPtr cms =
      take<CmsPtr>(CMS_encrypt(nullptr, nullptr, evp_cipher(cipher), flags), "creating EnvelopedData");
  for (const auto& r : recipients) {
    if (!r.cert) throw Error(ErrorKind::usage, "a recipient has no certificate");
    const bool oaep =
        r.rsa_padding == RsaKeyTransport::oaep && EVP_PKEY_is_a(X509_get0_pubkey(r.cert.get()), "RSA");
    CMS_RecipientInfo* ri =
        CMS_add1_recipient_cert(cms.get(), r.cert.get(), flags | (oaep ? CMS_KEY_PARAM : 0u));
    if (ri == nullptr) throw_openssl(ErrorKind::crypto, "adding the recipient " + subject_name(r.cert.get()));
    if (oaep) {
      EVP_PKEY_CTX* pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);
      check(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING), "selecting RSA-OAEP");
      check(EVP_PKEY_CTX_set_rsa_oaep_md(pctx, EVP_sha256()), "setting the OAEP digest");
      check(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()), "setting the OAEP mask digest");
    }
  }
  return cms;
}

}  // namespace

Cipher choose_cipher(const std::vector<Recipient>& recipients) {
  // The strongest GCM cipher that every recipient announced; one recipient without it decides CBC.
  for (Cipher c : {Cipher::aes256_gcm, Cipher::aes128_gcm}) {
    bool all =
        !recipients.empty() && std::all_of(recipients.begin(), recipients.end(),
                                           [c](const Recipient& r) { return r.capabilities.supports(c); });
    if (all) return c;
  }
  return Cipher::aes256_cbc;
}

class EncryptStream::Impl {
 public:
  Impl(const std::vector<Recipient>& recipients, const EncryptOptions& opt, Sink& out)
      : cipher_(opt.cipher.value_or(choose_cipher(recipients))),
        cms_(make_enveloped_data(recipients, cipher_, !opt.der)) {
    out.write(std::string("Content-Type: application/pkcs7-mime; smime-type=") +
              (is_aead(cipher_) ? "authEnveloped-data" : "enveloped-data") +
              "; name=\"smime.p7m\"\r\n"
              "Content-Transfer-Encoding: base64\r\n"
              "Content-Disposition: attachment; filename=\"smime.p7m\"\r\n\r\n");
    writer_ = opt.der ? detail::buffered_der_writer(cms_.get(), opt.max_in_memory, out)
                      : detail::streamed_ber_writer(cms_.get(), out);
  }
  void write(std::string_view bytes) { writer_->write(bytes); }
  void finish() {
    if (finished_) return;
    finished_ = true;
    writer_->finish();
  }
  Cipher cipher() const { return cipher_; }

 private:
  Cipher cipher_;
  CmsPtr cms_;
  std::unique_ptr<detail::CmsWriter> writer_;
  bool finished_ = false;
};

EncryptStream::EncryptStream(const std::vector<Recipient>& recipients, const EncryptOptions& options,
                             Sink& out)
    : impl_(std::make_unique<Impl>(recipients, options, out)) {}
EncryptStream::~EncryptStream() = default;
void EncryptStream::write(std::string_view bytes) { impl_->write(bytes); }
void EncryptStream::finish() { impl_->finish(); }
Cipher EncryptStream::cipher() const { return impl_->cipher(); }

Cipher encrypt(const Source& src, const mime::Entity& content, const std::vector<Recipient>& recipients,
               const EncryptOptions& options, Sink& out) {
  EncryptStream enc(recipients, options, out);
  mime::write_canonical(src, content, enc);
  enc.finish();
  return enc.cipher();
}

Cipher sign_encrypt(const Source& src, const mime::Entity& content, const SigningIdentity& id,
                    const SignOptions& sign_options, const std::vector<Recipient>& recipients,
                    const EncryptOptions& options, Sink& out) {
  EncryptStream enc(recipients, options, out);
  SignStream signer(id, sign_options, enc);  // the signed entity streams straight into the encryption
  mime::write_canonical(src, content, signer);
  signer.finish();  // finishes enc, then out
  return enc.cipher();
}

Cipher triple_wrap(const Source& src, const mime::Entity& content, const SigningIdentity& id,
                   const SignOptions& inner, const std::vector<Recipient>& recipients,
                   const EncryptOptions& options, const SignOptions& outer, Sink& out) {
  SignStream outer_signer(id, outer, out);
  EncryptStream enc(recipients, options, outer_signer);
  SignStream inner_signer(id, inner, enc);
  mime::write_canonical(src, content, inner_signer);
  inner_signer.finish();
  return enc.cipher();
}

}  // namespace smime
