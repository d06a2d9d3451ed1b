#include "smime/sign.hpp"

#include <openssl/rsa.h>

#include <optional>

#include "cms_stream.hpp"

namespace smime {

namespace {

const char kSignatureHeaders[] =
    "Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "Content-Disposition: attachment; filename=\"smime.p7s\"\r\n"
    "Content-Description: S/MIME Cryptographic Signature\r\n\r\n";

const char kOpaqueHeaders[] =
    "Content-Type: application/pkcs7-mime; smime-type=signed-data; name=\"smime.p7m\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "Content-Disposition: attachment; filename=\"smime.p7m\"\r\n\r\n";

// A SignedData ready to take content: signer, chain, signed attributes (signingTime is added by
// OpenSSL when the signature is made), our SMIMECapabilities.
bool uses_pss(const SigningIdentity& id, const SignOptions& opt) {
  return opt.rsa_padding == RsaSignaturePadding::pss && EVP_PKEY_is_a(id.key.get(), "RSA");
}

// Opaque signatures are held in memory for DER, and for RSA-PSS, which OpenSSL 3.0 cannot stream
// ("illegal zero content": the PSS parameters are only set when the signature is made).
bool buffered(const SigningIdentity& id, const SignOptions& opt) {
  return opt.mode == SignMode::opaque && (opt.der || uses_pss(id, opt));
}

CmsPtr make_signed_data(const SigningIdentity& id, const SignOptions& opt) {
  if (!id.cert || !id.key) throw Error(ErrorKind::usage, "signing needs a certificate and its private key");
  if (X509_check_private_key(id.cert.get(), id.key.get()) <= 0)
    throw_openssl(ErrorKind::usage, "the signing key does not belong to the signing certificate");
  unsigned flags = CMS_PARTIAL | CMS_BINARY | CMS_NOSMIMECAP;
  if (opt.mode == SignMode::detached)
    flags |= CMS_DETACHED;
  else if (!buffered(id, opt))
    flags |= CMS_STREAM;
  static const std::vector<X509Ptr> kNone;
  X509StackPtr chain = make_stack(opt.include_chain ? id.chain : kNone);
  CmsPtr cms = take<CmsPtr>(CMS_sign(nullptr, nullptr, chain.get(), nullptr, flags), "creating SignedData");

  const bool pss = uses_pss(id, opt);
  unsigned signer_flags =
      flags | (pss ? CMS_KEY_PARAM : 0u) | (opt.include_signer_certificate ? 0u : CMS_NOCERTS);
  CMS_SignerInfo* si =
      CMS_add1_signer(cms.get(), id.cert.get(), id.key.get(), evp_md(opt.digest), signer_flags);
  if (si == nullptr) throw_openssl(ErrorKind::crypto, "adding the signer");
  if (pss) {
    EVP_PKEY_CTX* pctx = CMS_SignerInfo_get0_pkey_ctx(si);
    check(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), "selecting RSA-PSS");
    check(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST), "setting the PSS salt length");
  }
  if (!opt.capabilities.empty()) {
    AlgorStackPtr caps = Capabilities::of(opt.capabilities).to_algors();
    check(CMS_add_smimecap(si, caps.get()), "adding SMIMECapabilities");
  }
  return cms;
}

}  // namespace

class SignStream::Impl {
 public:
  Impl(const SigningIdentity& id, const SignOptions& opt, Sink& out)
      : out_(out), mode_(opt.mode), digest_(opt.digest), cms_(make_signed_data(id, opt)) {
    if (mode_ == SignMode::detached) {
      boundary_ = mime::make_boundary();
      out_.write("Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n\tmicalg=");
      out_.write(micalg_name(digest_));
      out_.write("; boundary=\"" + boundary_ + "\"\r\n\r\n");
      out_.write("This is a cryptographically signed message in MIME format.\r\n\r\n--" + boundary_ + "\r\n");
      digest_bio_ = take<BioPtr>(CMS_dataInit(cms_.get(), nullptr), "starting the message digest");
    } else {
      out_.write(kOpaqueHeaders);
      opaque_ = buffered(id, opt) ? detail::buffered_der_writer(cms_.get(), opt.max_in_memory, out_)
                                  : detail::streamed_ber_writer(cms_.get(), out_);
    }
  }

  void write(std::string_view bytes) {
    if (opaque_) return opaque_->write(bytes);
    out_.write(bytes);
    while (!bytes.empty()) {
      int chunk = static_cast<int>(std::min<std::size_t>(bytes.size(), 1 << 20));
      int n = BIO_write(digest_bio_.get(), bytes.data(), chunk);
      if (n <= 0) throw_openssl(ErrorKind::crypto, "digesting the content");
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    if (opaque_) return opaque_->finish();
    check(CMS_dataFinal(cms_.get(), digest_bio_.get()), "signing");
    // The line end before the delimiter belongs to the delimiter (RFC 2046 section 5.1.1).
    out_.write("\r\n--" + boundary_ + "\r\n");
    out_.write(kSignatureHeaders);
    detail::write_base64(detail::cms_to_der(cms_.get()), out_);
    out_.write("\r\n--" + boundary_ + "--\r\n");
    out_.finish();
  }

 private:
  Sink& out_;
  SignMode mode_;
  Digest digest_;
  CmsPtr cms_;
  std::string boundary_;
  BioPtr digest_bio_;                          // detached: digest BIOs over a null sink
  std::unique_ptr<detail::CmsWriter> opaque_;  // opaque: the SignedData being written
  bool finished_ = false;
};

SignStream::SignStream(const SigningIdentity& id, const SignOptions& options, Sink& out)
    : impl_(std::make_unique<Impl>(id, options, out)) {}
SignStream::~SignStream() = default;
void SignStream::write(std::string_view bytes) { impl_->write(bytes); }
void SignStream::finish() { impl_->finish(); }

void sign(const Source& src, const mime::Entity& content, const SigningIdentity& id,
          const SignOptions& options, Sink& out) {
  SignStream stream(id, options, out);
  mime::write_canonical(src, content, stream);
  stream.finish();
}

}  // namespace smime
