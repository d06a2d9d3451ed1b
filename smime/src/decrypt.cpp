#include "smime/decrypt.hpp"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include "cms_parse.hpp"
#include "smime/algorithms.hpp"
#include "smime/classify.hpp"
#include "content_bio.hpp"
#include "envelope_scan.hpp"

namespace smime {

namespace {

// Does `cert` name one of the message's recipients (key transport or key agreement)?
bool is_recipient(CMS_ContentInfo* cms, X509* cert) {
  STACK_OF(CMS_RecipientInfo)* ris = CMS_get0_RecipientInfos(cms);
  for (int i = 0; i < sk_CMS_RecipientInfo_num(ris); ++i) {
    CMS_RecipientInfo* ri = sk_CMS_RecipientInfo_value(ris, i);
    switch (CMS_RecipientInfo_type(ri)) {
      case CMS_RECIPINFO_TRANS:
        if (CMS_RecipientInfo_ktri_cert_cmp(ri, cert) == 0) return true;
        break;
      case CMS_RECIPINFO_AGREE: {
        STACK_OF(CMS_RecipientEncryptedKey)* reks = CMS_RecipientInfo_kari_get0_reks(ri);
        for (int j = 0; j < sk_CMS_RecipientEncryptedKey_num(reks); ++j)
          if (CMS_RecipientEncryptedKey_cert_cmp(sk_CMS_RecipientEncryptedKey_value(reks, j), cert) == 0)
            return true;
        break;
      }
      default:
        break;
    }
  }
  return false;
}

// OIDs of content encryption algorithms OpenSSL does not name, for a readable refusal.
std::string readable_cipher(const std::string& name) {
  if (name == "1.2.840.113549.1.9.16.3.18") return "chacha20-poly1305";  // RFC 8103
  return name;
}

// Refuses a content encryption this OpenSSL cannot decrypt, by name, before any key is used: such a
// message is unsupported, not corrupt.
void require_supported_cipher(const std::string& name) {
  if (name == "unknown" || cipher_from_string(name)) return;  // unknown: the parser will say why
  CipherPtr cipher(EVP_CIPHER_fetch(nullptr, name.c_str(), nullptr));
  ERR_clear_error();
  if (!cipher)
    throw Error(ErrorKind::bad_input,
                "unsupported algorithm " + readable_cipher(name) + " (content encryption)");
}

// A body up to this size that the streaming scanner rejects is handed to OpenSSL whole: its BER
// parser is the judge of what is malformed, so nothing that decrypted before fails now, and its
// error queue says why. Larger bodies get the scanner's reason.
constexpr std::uint64_t kWholeParseLimit = detail::kMaxEnvelopeBytes;

// The envelope OpenSSL parses, and where the encrypted content is streamed from (none: the envelope
// holds it, or the message has none).
detail::Envelope read_envelope(const Source& src, const mime::Entity& entity) {
  try {
    detail::DecodedReader reader(src, entity.body, entity.encoding);
    return detail::scan_envelope(reader);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::bad_input || entity.body.length > kWholeParseLimit) throw;
  }
  detail::Envelope whole;
  whole.skeleton = pkcs7_mime_der(src, entity);
  return whole;
}

// Runs the content decryption (the key is set) into out, the content streamed when it is apart.
void decrypt_content(CMS_ContentInfo* cms, const Source& src, const mime::Entity& entity,
                     const detail::Envelope& envelope, bool authenticated, Sink& out) {
  BioPtr content;
  if (envelope.content_offset) content = detail::make_content_bio(src, entity, *envelope.content_offset);
  BioPtr sink = make_sink_bio(out);
  const int rc = CMS_decrypt(cms, nullptr, nullptr, content.get(), sink.get(), CMS_BINARY);
  if (content) detail::rethrow_content_error(content.get());
  rethrow_sink_error(sink.get());
  if (rc <= 0)
    throw_openssl(ErrorKind::bad_input, authenticated ? "decrypting (authentication tag or content corrupt)"
                                                      : "decrypting the content");
}

}  // namespace

DecryptResult decrypt(const Source& src, const mime::Entity& entity, const std::vector<DecryptionKey>& keys,
                      Sink& out) {
  if (!carries_cms(entity))
    throw Error(ErrorKind::bad_input,
                "not an encrypted entity (Content-Type " + entity.content_type.mime_type() + ")");
  detail::Envelope envelope = read_envelope(src, entity);
  const std::string cipher = detail::content_encryption_algorithm(envelope.skeleton);
  require_supported_cipher(cipher);
  CmsPtr cms = detail::parse_cms(envelope.skeleton);
  std::string().swap(envelope.skeleton);  // the parsed structure holds its own copy
  const int type = OBJ_obj2nid(CMS_get0_type(cms.get()));
  if (type != NID_pkcs7_enveloped && type != NID_id_smime_ct_authEnvelopedData)
    throw Error(ErrorKind::bad_input, std::string("not enveloped-data but ") + OBJ_nid2sn(type));

  DecryptResult result;
  result.authenticated = type == NID_id_smime_ct_authEnvelopedData;
  result.cipher = cipher;

  // Choose the key by the recipient identifiers, so a wrong key is "not for us", never garbage.
  std::size_t chosen = keys.size();
  for (std::size_t i = 0; i < keys.size() && chosen == keys.size(); ++i)
    if (keys[i].cert && keys[i].key && is_recipient(cms.get(), keys[i].cert.get())) chosen = i;
  if (chosen == keys.size())
    throw Error(ErrorKind::wrong_key, "the message is not encrypted to any of our " +
                                          std::to_string(keys.size()) + " decryption key(s)");
  result.key_index = chosen;
  if (X509_check_private_key(keys[chosen].cert.get(), keys[chosen].key.get()) <= 0)
    throw_openssl(ErrorKind::usage,
                  "decryption key " + std::to_string(chosen) + " does not belong to its certificate");

  check(CMS_decrypt_set1_pkey(cms.get(), keys[chosen].key.get(), keys[chosen].cert.get()),
        "decrypting the content-encryption key", ErrorKind::bad_input);
  decrypt_content(cms.get(), src, entity, envelope, result.authenticated, out);
  out.finish();
  return result;
}

int pkcs7_mime_content_type(const Source& src, const mime::Entity& entity) {
  detail::DecodedReader reader(src, entity.body, entity.encoding);
  return detail::scan_content_type(reader);
}

std::string pkcs7_mime_der(const Source& src, const mime::Entity& entity) {
  // Decoded straight from the Source: the base64 text is never held whole beside the DER.
  StringSink der;
  const std::uint64_t encoded = entity.body.length;
  der.reserve(entity.encoding == mime::Encoding::base64 ? encoded / 4 * 3 + 3 : encoded);
  mime::write_decoded_body(src, entity, der);
  return der.take();
}

}  // namespace smime
