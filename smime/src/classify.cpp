#include "smime/classify.hpp"

#include <openssl/err.h>
#include <openssl/objects.h>

#include <algorithm>
#include <optional>

#include "cms_parse.hpp"
#include "smime/decrypt.hpp"
#include "smime/error.hpp"

namespace smime {

std::string_view to_string(SmimeType t) {
  switch (t) {
    case SmimeType::none:
      return "none";
    case SmimeType::multipart_signed:
      return "multipart-signed";
    case SmimeType::signed_data:
      return "signed-data";
    case SmimeType::enveloped_data:
      return "enveloped-data";
    case SmimeType::auth_enveloped_data:
      return "authEnveloped-data";
    case SmimeType::certs_only:
      return "certs-only";
    case SmimeType::compressed_data:
      return "compressed-data";
    case SmimeType::malformed:
      return "malformed";
  }
  return "malformed";
}

std::string_view to_string(ProtectionLevel p) {
  switch (p) {
    case ProtectionLevel::none:
      return "none";
    case ProtectionLevel::signed_only:
      return "signed";
    case ProtectionLevel::encrypted:
      return "encrypted";
  }
  return "none";
}

namespace {

constexpr std::size_t kPrefixText = 8 * 1024;  // encoded bytes read for the outline (about 6 KiB of DER)
constexpr int kMaxLayers = 4;                  // signatures looked through for an encrypted entity inside

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool is_pkcs7_mime(const mime::ContentType& ct) {
  return ct.is("application", "pkcs7-mime") || ct.is("application", "x-pkcs7-mime");
}
bool is_pkcs7_signature(const mime::ContentType& ct) {
  return ct.is("application", "pkcs7-signature") || ct.is("application", "x-pkcs7-signature");
}

// A file name of the CMS media types (RFC 8551 section 3.2.2): .p7m, .p7c (certs-only), .p7z
// (compressed). RFC 2231 forms ("name*=UTF-8''smime.p7m") end the same way.
bool cms_file_name(std::string name) {
  name = lower(std::move(name));
  while (!name.empty() && (name.back() == '"' || name.back() == ' ')) name.pop_back();
  return ends_with(name, ".p7m") || ends_with(name, ".p7c") || ends_with(name, ".p7z");
}

bool named_like_cms(const mime::Entity& e) {
  for (const char* p : {"name", "name*"})
    if (cms_file_name(e.content_type.param(p))) return true;
  // Content-Disposition has Content-Type's parameter syntax after its one token.
  const mime::ContentType disposition =
      mime::ContentType::parse("disposition/" + e.headers.get("Content-Disposition"));
  for (const char* p : {"filename", "filename*"})
    if (cms_file_name(disposition.param(p))) return true;
  return false;
}

// The first bytes of the CMS a body carries, decoded from its transfer encoding. Throws
// Error(bad_input) when a base64 body holds other characters.
std::string der_prefix(const Source& src, const mime::Entity& e) {
  const std::uint64_t n = std::min<std::uint64_t>(e.body.length, kPrefixText);
  if (e.encoding == mime::Encoding::quoted_printable) {
    StringSink all;  // not a form CMS is sent in: decoded whole, rare
    mime::write_decoded_body(src, e, all);
    return all.take().substr(0, kPrefixText);
  }
  std::string text = src.slice({e.body.offset, n});
  if (e.encoding != mime::Encoding::base64) return text;
  std::string clean;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '+' || c == '/' || c == '=')
      clean.push_back(c);
    else if (!std::isspace(u))
      throw Error(ErrorKind::bad_input, "the body is not base64");
  }
  if (n < e.body.length) clean.resize(clean.size() / 4 * 4);  // a prefix: whole groups only
  StringSink der;
  mime::decode_base64(clean, der);
  return der.take();
}

SmimeType type_of(const detail::CmsOutline& o) {
  switch (o.type) {
    case NID_pkcs7_signed:
      return o.has_content == false ? SmimeType::certs_only : SmimeType::signed_data;
    case NID_pkcs7_enveloped:
      return SmimeType::enveloped_data;
    case NID_id_smime_ct_authEnvelopedData:
      return SmimeType::auth_enveloped_data;
    case NID_id_smime_ct_compressedData:
      return SmimeType::compressed_data;
    default:
      return SmimeType::none;
  }
}

std::optional<SmimeType> labelled_type(const std::string& smime_type) {
  if (smime_type == "signed-data") return SmimeType::signed_data;
  if (smime_type == "enveloped-data") return SmimeType::enveloped_data;
  if (smime_type == "authenveloped-data") return SmimeType::auth_enveloped_data;
  if (smime_type == "certs-only") return SmimeType::certs_only;
  if (smime_type == "compressed-data") return SmimeType::compressed_data;
  return std::nullopt;
}

Classification classify_cms(const Source& src, const mime::Entity& e, bool named_only) {
  const std::string what =
      named_only ? "application/octet-stream named like CMS" : e.content_type.mime_type();
  auto fail = [&](const std::string& why) {
    // A file that is merely named .p7m is an ordinary attachment; a CMS media type must hold CMS.
    return Classification{named_only ? SmimeType::none : SmimeType::malformed, what + ": " + why};
  };
  std::optional<detail::CmsOutline> outline;
  try {
    outline = detail::cms_outline(der_prefix(src, e));
  } catch (const Error& err) {
    return fail(err.what());
  }
  if (!outline) return fail("the body is not CMS");
  const SmimeType actual = type_of(*outline);
  const std::string inside = actual == SmimeType::none ? outline->type_name : std::string(to_string(actual));
  if (actual == SmimeType::none) return fail("the CMS holds " + inside + ", not S/MIME content");

  const std::string label = named_only ? std::string() : lower(e.content_type.param("smime-type"));
  const std::optional<SmimeType> claimed = labelled_type(label);
  if (!claimed) return {actual, what + " holding " + inside + " (by its CMS content type)"};
  if (*claimed != actual)
    return {SmimeType::malformed, what + " labelled smime-type " + label + " holds " + inside};
  return {actual, what + " of smime-type " + label};
}

int count_recipients(CMS_ContentInfo* cms) { return sk_CMS_RecipientInfo_num(CMS_get0_RecipientInfos(cms)); }
int count_signers(CMS_ContentInfo* cms) { return sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms)); }

std::string plural(int n, const std::string& what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

std::optional<CmsPtr> parse_whole(const Source& src, const mime::Entity& e) {
  try {
    return detail::parse_cms(pkcs7_mime_der(src, e));
  } catch (const Error&) {
    ERR_clear_error();
    return std::nullopt;
  }
}

Protection protection_at(const Source& src, const mime::Entity& e, const mime::Limits& limits, int layer);

// A signature around an encrypted entity protects as much as the encryption inside.
Protection signed_around(const Source& src, const mime::Entity& inner, const mime::Limits& limits, int layer,
                         std::string reason) {
  if (layer + 1 < kMaxLayers) {
    Protection in = protection_at(src, inner, limits, layer + 1);
    if (in.level == ProtectionLevel::encrypted)
      return {ProtectionLevel::encrypted, reason + ", around " + in.reason};
  }
  return {ProtectionLevel::signed_only, std::move(reason)};
}

Protection encrypted_entity(const Source& src, const mime::Entity& e, SmimeType type) {
  auto cms = parse_whole(src, e);
  if (!cms) return {ProtectionLevel::none, "labelled " + std::string(to_string(type)) + ", but not CMS"};
  const int nid = OBJ_obj2nid(CMS_get0_type(cms->get()));
  const int want =
      type == SmimeType::enveloped_data ? NID_pkcs7_enveloped : NID_id_smime_ct_authEnvelopedData;
  if (nid != want) return {ProtectionLevel::none, "the CMS is not " + std::string(to_string(type))};
  const int n = count_recipients(cms->get());
  if (n <= 0) return {ProtectionLevel::none, std::string(to_string(type)) + " without recipients"};
  return {ProtectionLevel::encrypted, std::string(to_string(type)) + ", " + plural(n, "recipient")};
}

Protection opaque_signed(const Source& src, const mime::Entity& e, const mime::Limits& limits, int layer) {
  auto cms = parse_whole(src, e);
  if (!cms || OBJ_obj2nid(CMS_get0_type(cms->get())) != NID_pkcs7_signed)
    return {ProtectionLevel::none, "labelled signed-data, but not CMS SignedData"};
  ASN1_OCTET_STRING** content = CMS_get0_content(cms->get());
  if (content == nullptr || *content == nullptr)
    return {ProtectionLevel::none, "signed-data without content"};
  const int n = count_signers(cms->get());
  if (n <= 0) return {ProtectionLevel::none, "signed-data without signers"};
  std::string reason = "signed-data, " + plural(n, "signer");
  try {
    Source inner_src =
        Source::from_string(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(*content)),
                                        static_cast<std::size_t>(ASN1_STRING_length(*content))));
    cms->reset();  // the content was copied: free the structure before looking inside
    mime::Entity inner = mime::parse(inner_src, inner_src.all(), limits);
    return signed_around(inner_src, inner, limits, layer, std::move(reason));
  } catch (const Error&) {
    return {ProtectionLevel::signed_only, std::move(reason)};  // content that is no MIME entity
  }
}

Protection detached_signed(const Source& src, const mime::Entity& e, const mime::Limits& limits, int layer) {
  if (e.children.size() != 2)
    return {ProtectionLevel::none,
            "multipart/signed with " + plural(static_cast<int>(e.children.size()), "part")};
  const mime::Entity& sig = e.children[1];
  if (!is_pkcs7_signature(sig.content_type))
    return {ProtectionLevel::none, "multipart/signed whose second part is " + sig.content_type.mime_type()};
  auto cms = parse_whole(src, sig);
  if (!cms || OBJ_obj2nid(CMS_get0_type(cms->get())) != NID_pkcs7_signed)
    return {ProtectionLevel::none, "multipart/signed whose signature part is not CMS SignedData"};
  if (CMS_is_detached(cms->get()) != 1)
    return {ProtectionLevel::none, "multipart/signed whose signature part carries content"};
  const int n = count_signers(cms->get());
  if (n <= 0) return {ProtectionLevel::none, "multipart/signed without signers"};
  return signed_around(src, e.children[0], limits, layer, "multipart/signed, " + plural(n, "signer"));
}

Protection protection_at(const Source& src, const mime::Entity& e, const mime::Limits& limits, int layer) {
  const Classification c = classify(src, e);
  switch (c.type) {
    case SmimeType::enveloped_data:
    case SmimeType::auth_enveloped_data:
      return encrypted_entity(src, e, c.type);
    case SmimeType::signed_data:
      return opaque_signed(src, e, limits, layer);
    case SmimeType::multipart_signed:
      return detached_signed(src, e, limits, layer);
    case SmimeType::none:
    case SmimeType::certs_only:
    case SmimeType::compressed_data:
    case SmimeType::malformed:
      break;
  }
  return {ProtectionLevel::none, c.type == SmimeType::none ? "not S/MIME" : c.reason};
}

}  // namespace

Classification classify(const Source& src, const mime::Entity& e) {
  const mime::ContentType& ct = e.content_type;
  if (ct.is("multipart", "signed")) {
    const std::string protocol = lower(ct.param("protocol"));
    if (protocol == "application/pkcs7-signature" || protocol == "application/x-pkcs7-signature")
      return {SmimeType::multipart_signed, "multipart/signed, protocol " + protocol};
    return {SmimeType::none, "multipart/signed with protocol \"" + protocol + "\" is not S/MIME"};
  }
  if (is_pkcs7_mime(ct)) return classify_cms(src, e, false);
  if (ct.is("application", "octet-stream") && named_like_cms(e)) return classify_cms(src, e, true);
  return {SmimeType::none, ct.mime_type() + " is not S/MIME"};
}

bool carries_cms(const mime::Entity& e) {
  return is_pkcs7_mime(e.content_type) ||
         (e.content_type.is("application", "octet-stream") && named_like_cms(e));
}

Protection protection_of(const Source& src, const mime::Entity& entity, const mime::Limits& limits) {
  return protection_at(src, entity, limits, 0);
}

}  // namespace smime
