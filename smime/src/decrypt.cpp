#include "smime/decrypt.hpp"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include "cms_parse.hpp"
#include "smime/algorithms.hpp"
#include "smime/classify.hpp"

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

}  // namespace

DecryptResult decrypt(const Source& src, const mime::Entity& entity, const std::vector<DecryptionKey>& keys,
                      Sink& out) {
  if (!carries_cms(entity))
    throw Error(ErrorKind::bad_input,
                "not an encrypted entity (Content-Type " + entity.content_type.mime_type() + ")");
  std::string der = pkcs7_mime_der(src, entity);
  const std::string cipher = detail::content_encryption_algorithm(der);
  require_supported_cipher(cipher);
  CmsPtr cms = detail::parse_cms(der);
  std::string().swap(der);  // the parsed structure holds its own copy of the content
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
  BioPtr sink = make_sink_bio(out);
  int rc = CMS_decrypt(cms.get(), nullptr, nullptr, nullptr, sink.get(), CMS_BINARY);
  rethrow_sink_error(sink.get());
  if (rc <= 0)
    throw_openssl(ErrorKind::bad_input, result.authenticated
                                            ? "decrypting (authentication tag or content corrupt)"
                                            : "decrypting the content");
  out.finish();
  return result;
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
