#include "smime/verify.hpp"

#include <openssl/err.h>
#include <openssl/objects.h>

#include <algorithm>
#include <cctype>

#include "cms_parse.hpp"
#include "smime/cert.hpp"
#include "smime/classify.hpp"
#include "smime/decrypt.hpp"
#include "verify_detail.hpp"

namespace smime {

std::string_view to_string(VerifyStatus s) {
  switch (s) {
    case VerifyStatus::valid:
      return "valid";
    case VerifyStatus::bad_signature:
      return "bad-signature";
    case VerifyStatus::untrusted:
      return "untrusted";
    case VerifyStatus::no_signer:
      return "no-signer";
    case VerifyStatus::malformed:
      return "malformed";
    case VerifyStatus::weak:
      return "weak";
    case VerifyStatus::unsupported:
      return "unsupported";
  }
  return "malformed";
}

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// "SHA-256", "sha256", "sha-256" all compare equal; white space and quotes in a list are dropped.
std::string micalg_key(std::string s) {
  s = lower(std::move(s));
  s.erase(std::remove_if(s.begin(), s.end(),
                         [](char c) { return c == '-' || c == ' ' || c == '\t' || c == '"'; }),
          s.end());
  return s;
}

// Which signer of how many, for reasons: "alice@example.org", or "2 of 3 (carol@example.org)".
std::string signer_label(const SignerResult& s, std::size_t index, std::size_t count) {
  std::string who = !s.emails.empty() ? s.emails.front()
                    : s.cert          ? subject_name(s.cert.get())
                                      : std::string("with an unknown certificate");
  if (count == 1) return who;
  return std::to_string(index + 1) + " of " + std::to_string(count) + " (" + who + ")";
}

// Which status is worse when signers disagree: the content not matching above all.
int severity(VerifyStatus s) {
  switch (s) {
    case VerifyStatus::valid:
      return 0;
    case VerifyStatus::untrusted:
      return 1;
    case VerifyStatus::weak:
      return 2;
    case VerifyStatus::unsupported:
      return 3;
    case VerifyStatus::bad_signature:
      return 4;
    case VerifyStatus::no_signer:
    case VerifyStatus::malformed:
      return 5;
  }
  return 5;
}

VerifyResult refuse(VerifyStatus status, std::string reason, bool detached) {
  VerifyResult r;
  r.status = status;
  r.reason = std::move(reason);
  r.detached = detached;
  return r;
}

std::optional<std::time_t> signing_time(CMS_SignerInfo* si) {
  int idx = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1);
  if (idx < 0) return std::nullopt;
  X509_ATTRIBUTE* attr = CMS_signed_get_attr(si, idx);
  ASN1_TYPE* value = X509_ATTRIBUTE_get0_type(attr, 0);
  if (value == nullptr) return std::nullopt;
  ASN1_TIME* t = nullptr;
  if (value->type == V_ASN1_UTCTIME)
    t = value->value.utctime;
  else if (value->type == V_ASN1_GENERALIZEDTIME)
    t = value->value.generalizedtime;
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  return timegm(&tm);
}

Capabilities signer_capabilities(CMS_SignerInfo* si) {
  int idx = CMS_signed_get_attr_by_NID(si, NID_SMIMECapabilities, -1);
  if (idx < 0) return {};
  ASN1_TYPE* value = X509_ATTRIBUTE_get0_type(CMS_signed_get_attr(si, idx), 0);
  if (value == nullptr || value->type != V_ASN1_SEQUENCE) return {};
  const ASN1_STRING* seq = value->value.sequence;
  try {
    return Capabilities::from_der(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(seq)),
                                                   static_cast<std::size_t>(ASN1_STRING_length(seq))));
  } catch (const Error&) {
    return {};  // a malformed capability list is ignored, not fatal: it only steers our cipher choice
  }
}

struct Located {
  std::string der;               // the SignedData
  std::optional<Range> content;  // detached: the signed part
  std::string micalg;            // detached: the micalg parameter
};

// Structure checks of multipart/signed; fills `where` or returns a refusal.
std::optional<VerifyResult> locate_detached(const Source& src, const mime::Entity& e, Located& where) {
  if (e.children.size() != 2)
    return refuse(VerifyStatus::malformed,
                  "multipart/signed must have exactly two parts, it has " + std::to_string(e.children.size()),
                  true);
  std::string protocol = lower(e.content_type.param("protocol"));
  if (protocol != "application/pkcs7-signature" && protocol != "application/x-pkcs7-signature")
    return refuse(VerifyStatus::malformed,
                  "multipart/signed with protocol \"" + protocol + "\" is not S/MIME", true);
  const mime::Entity& sig = e.children[1];
  if (!sig.content_type.is("application", "pkcs7-signature") &&
      !sig.content_type.is("application", "x-pkcs7-signature"))
    return refuse(VerifyStatus::malformed,
                  "the second part is " + sig.content_type.mime_type() + ", not a signature", true);
  where.der = pkcs7_mime_der(src, sig);
  where.content = e.children[0].whole;
  where.micalg = e.content_type.param("micalg");
  return std::nullopt;
}

// Every signer's digest must be named by micalg (a comma-separated list for several signers).
// A digest unknown to OpenSSL is left to the signer's own check (unsupported algorithm).
std::optional<std::string> micalg_mismatch(const std::string& micalg, STACK_OF(CMS_SignerInfo) * sis) {
  const std::string listed = "," + micalg_key(micalg) + ",";
  for (int i = 0; i < sk_CMS_SignerInfo_num(sis); ++i) {
    CMS_SignerInfo* si = sk_CMS_SignerInfo_value(sis, i);
    if (detail::signer_digest_nid(si) == NID_undef) continue;
    const std::string used = micalg_key(detail::signer_digest_name(si));
    if (listed == ",," || listed.find("," + used + ",") == std::string::npos)
      return "micalg \"" + micalg + "\" does not name the signer's digest " + used;
  }
  return std::nullopt;
}

// Facts of a signer that do not depend on any check.
SignerResult describe_signer(CMS_SignerInfo* si) {
  SignerResult s;
  X509* signer = nullptr;
  CMS_SignerInfo_get0_algs(si, nullptr, &signer, nullptr, nullptr);
  if (signer != nullptr) {
    s.cert = share(signer);
    s.emails = email_addresses(signer);
  }
  s.digest = detail::signer_digest_name(si);
  s.signature_algorithm = detail::signer_signature_algorithm(si);
  s.signing_time = signing_time(si);
  s.capabilities = signer_capabilities(si);
  return s;
}

// Feeds the signed content once to the digests and to content_out: a detached part in canonical
// CRLF form, opaque eContent byte for byte.
void read_content(const Source& src, const std::optional<Range>& part, CMS_ContentInfo* cms,
                  detail::ContentDigests& digests, Sink* content_out) {
  StringSink discard;
  TeeSink tee(digests, content_out != nullptr ? *content_out : discard);
  if (part) {
    CrlfSink crlf(tee);
    copy(src, *part, crlf);
    crlf.finish();
    return;
  }
  ASN1_OCTET_STRING** content = CMS_get0_content(cms);
  if (content != nullptr && *content != nullptr) {
    std::string_view bytes(reinterpret_cast<const char*>(ASN1_STRING_get0_data(*content)),
                           static_cast<std::size_t>(ASN1_STRING_length(*content)));
    while (!bytes.empty()) {
      const std::size_t n = std::min<std::size_t>(bytes.size(), 64 * 1024);
      tee.write(bytes.substr(0, n));
      bytes.remove_prefix(n);
    }
  }
  tee.finish();
}

// The checks of one signer after its certificate was matched, in order; the first failure decides.
void check_signer(SignerResult& s, CMS_ContentInfo* cms, CMS_SignerInfo* si, BIO* digests, X509_STORE* store,
                  STACK_OF(X509) * untrusted, const VerifyOptions& opt) {
  std::optional<detail::Verdict> v = detail::check_signature(cms, si, digests);
  if (!v) v = detail::check_algorithms(si, opt.algorithms);
  if (!v) v = detail::check_chain(s, store, untrusted, opt);
  ERR_clear_error();
  if (v) {
    s.status = v->status;
    s.reason = std::move(v->reason);
  } else {
    s.status = VerifyStatus::valid;
  }
}

// The overall verdict: valid when every signer is, else the first of the worst signers.
void summarize(VerifyResult& result) {
  const std::size_t n = result.signers.size();
  std::size_t worst = 0;
  for (std::size_t i = 1; i < n; ++i)
    if (severity(result.signers[i].status) > severity(result.signers[worst].status)) worst = i;
  const SignerResult& w = result.signers[worst];
  result.status = w.status;
  if (w.status == VerifyStatus::valid)
    result.reason = n == 1 ? "signature valid" : "all " + std::to_string(n) + " signatures valid";
  else
    result.reason = "signer " + signer_label(w, worst, n) + ": " + w.reason;
}

// Finds the SignedData of a detached or opaque signature and checks its structure.
std::optional<VerifyResult> locate(const Source& src, const mime::Entity& entity, bool detached,
                                   Located& where) {
  if (detached) return locate_detached(src, entity, where);
  if (!carries_cms(entity))
    return refuse(VerifyStatus::malformed,
                  "not a signed entity (Content-Type " + entity.content_type.mime_type() + ")", false);
  std::string type = lower(entity.content_type.param("smime-type"));
  if (!type.empty() && type != "signed-data")
    return refuse(VerifyStatus::malformed,
                  "application/pkcs7-mime of smime-type " + type + " is not signed data", false);
  where.der = pkcs7_mime_der(src, entity);
  return std::nullopt;
}

}  // namespace

VerifyResult verify(const Source& src, const mime::Entity& entity, const VerifyOptions& opt,
                    Sink* content_out) {
  const bool detached = entity.content_type.is("multipart", "signed");
  Located where;
  try {  // a signature whose transfer encoding does not decode is a malformed structure, not an error
    if (auto refused = locate(src, entity, detached, where)) return std::move(*refused);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::bad_input) throw;
    return refuse(VerifyStatus::malformed, e.what(), detached);
  }

  detail::SignedCms parsed;
  try {
    parsed = detail::parse_signed_cms(where.der);
  } catch (const Error& e) {
    return refuse(VerifyStatus::malformed, e.what(), detached);
  }
  CmsPtr cms = std::move(parsed.cms);
  std::string().swap(where.der);  // the parsed structure holds its own copy
  if (OBJ_obj2nid(CMS_get0_type(cms.get())) != NID_pkcs7_signed)
    return refuse(
        VerifyStatus::malformed,
        std::string("the CMS is ") + OBJ_nid2sn(OBJ_obj2nid(CMS_get0_type(cms.get()))) + ", not signed-data",
        detached);
  const bool cms_detached = CMS_is_detached(cms.get()) == 1;
  if (detached && !cms_detached)
    return refuse(VerifyStatus::malformed, "the signature part carries content of its own", true);
  if (!detached && cms_detached)
    return refuse(VerifyStatus::malformed, "opaque signed-data without content", false);

  VerifyResult result;
  result.detached = detached;
  result.certificates = std::move(parsed.certificates);
  X509StackPtr untrusted = make_stack(result.certificates);
  for (const auto& c : opt.intermediates) {
    X509Ptr ref = share(c.get());
    check(sk_X509_push(untrusted.get(), ref.get()), "collecting intermediate certificates");
    ref.release();
  }

  STACK_OF(CMS_SignerInfo)* sis = CMS_get0_SignerInfos(cms.get());
  const int count = sk_CMS_SignerInfo_num(sis);
  if (count <= 0) {
    result.status = VerifyStatus::no_signer;
    result.reason = "the signature has no signer";
    return result;
  }
  if (detached) {
    if (auto wrong = micalg_mismatch(where.micalg, sis)) {
      result.status = VerifyStatus::malformed;
      result.reason = *wrong;
      return result;
    }
  }

  // Certificates first (from the message, then the caller's), so every signer's algorithms are known
  // before the content is read once for all of them.
  CMS_set1_signers_certs(cms.get(), untrusted.get(), 0);
  ERR_clear_error();
  std::vector<int> digest_nids;
  std::vector<bool> to_check;  // not yet decided by the certificate or algorithm checks
  for (int i = 0; i < count; ++i) {
    CMS_SignerInfo* si = sk_CMS_SignerInfo_value(sis, i);
    SignerResult s = describe_signer(si);
    std::optional<detail::Verdict> v;
    if (!s.cert)
      v = detail::Verdict{VerifyStatus::untrusted,
                          s.chain_error = "the signer's certificate is not in the message"};
    else
      v = detail::unsupported_algorithm(si);
    if (v) {
      s.status = v->status;
      s.reason = std::move(v->reason);
    } else {
      digest_nids.push_back(detail::signer_digest_nid(si));
    }
    to_check.push_back(!v);
    result.signers.push_back(std::move(s));
  }
  detail::ContentDigests digests(digest_nids);
  read_content(src, detached ? where.content : std::nullopt, cms.get(), digests, content_out);

  StorePtr own_store;
  if (!opt.trust_store) own_store = detail::trust_store(opt.anchors);
  X509_STORE* const store_ptr = opt.trust_store ? opt.trust_store.get() : own_store.get();
  for (int i = 0; i < count; ++i) {
    const auto k = static_cast<std::size_t>(i);
    if (to_check[k])
      check_signer(result.signers[k], cms.get(), sk_CMS_SignerInfo_value(sis, i), digests.chain(), store_ptr,
                   untrusted.get(), opt);
  }
  summarize(result);
  return result;
}

}  // namespace smime

namespace smime {

std::shared_ptr<X509_STORE> make_trust_store(const std::vector<X509Ptr>& anchors) {
  StorePtr store = detail::trust_store(anchors);
  return std::shared_ptr<X509_STORE>(store.release(), X509_STORE_free);
}

}  // namespace smime
