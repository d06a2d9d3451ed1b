#include "smime/verify.hpp"

#include <openssl/err.h>
#include <openssl/objects.h>

#include <algorithm>
#include <cctype>

#include "cms_parse.hpp"
#include "smime/cert.hpp"
#include "smime/decrypt.hpp"

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
  }
  return "malformed";
}

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// "SHA-256", "sha256", "sha-256" all compare equal.
std::string micalg_key(std::string s) {
  s = lower(std::move(s));
  s.erase(std::remove(s.begin(), s.end(), '-'), s.end());
  return s;
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

std::string digest_name(CMS_SignerInfo* si) {
  X509_ALGOR* dig = nullptr;
  CMS_SignerInfo_get0_algs(si, nullptr, nullptr, &dig, nullptr);
  const ASN1_OBJECT* obj = nullptr;
  X509_ALGOR_get0(&obj, nullptr, nullptr, dig);
  int nid = OBJ_obj2nid(obj);
  return nid == NID_undef ? "unknown" : lower(OBJ_nid2sn(nid));
}

// Chain of one signer to the anchors, for S/MIME signing, at the given time.
void check_chain(SignerResult& s, const VerifyOptions& opt, STACK_OF(X509) * untrusted) {
  // untrusted: the certificates the message carried plus the caller's intermediates
  StorePtr store = take<StorePtr>(X509_STORE_new(), "creating a trust store");
  for (const auto& a : opt.anchors) check(X509_STORE_add_cert(store.get(), a.get()), "adding a trust anchor");
  StoreCtxPtr ctx = take<StoreCtxPtr>(X509_STORE_CTX_new(), "creating a verification context");
  check(X509_STORE_CTX_init(ctx.get(), store.get(), s.cert.get(), untrusted), "starting chain verification");
  check(X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SMIME_SIGN), "setting the S/MIME purpose");
  if (opt.at_time) X509_STORE_CTX_set_time(ctx.get(), 0, *opt.at_time);
  s.chain_ok = X509_verify_cert(ctx.get()) == 1;
  if (!s.chain_ok) s.chain_error = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
  ERR_clear_error();
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

}  // namespace

VerifyResult verify(const Source& src, const mime::Entity& entity, const VerifyOptions& opt,
                    Sink* content_out) {
  const bool detached = entity.content_type.is("multipart", "signed");
  Located where;
  try {  // a signature whose transfer encoding does not decode is a malformed structure, not an error
    if (detached) {
      if (auto refused = locate_detached(src, entity, where)) return std::move(*refused);
    } else if (entity.content_type.is("application", "pkcs7-mime") ||
               entity.content_type.is("application", "x-pkcs7-mime")) {
      std::string type = lower(entity.content_type.param("smime-type"));
      if (!type.empty() && type != "signed-data")
        return refuse(VerifyStatus::malformed,
                      "application/pkcs7-mime of smime-type " + type + " is not signed data", false);
      where.der = pkcs7_mime_der(src, entity);
    } else {
      return refuse(VerifyStatus::malformed,
                    "not a signed entity (Content-Type " + entity.content_type.mime_type() + ")", false);
    }
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::bad_input) throw;
    return refuse(VerifyStatus::malformed, e.what(), detached);
  }

  CmsPtr cms;
  try {
    cms = detail::parse_cms(where.der);
  } catch (const Error& e) {
    return refuse(VerifyStatus::malformed, e.what(), detached);
  }
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
  X509StackPtr carried(CMS_get1_certs(cms.get()));
  for (int i = 0; carried && i < sk_X509_num(carried.get()); ++i)
    result.certificates.push_back(share(sk_X509_value(carried.get(), i)));
  X509StackPtr untrusted = make_stack(result.certificates);
  for (const auto& c : opt.intermediates) {
    X509Ptr ref = share(c.get());
    check(sk_X509_push(untrusted.get(), ref.get()), "collecting intermediate certificates");
    ref.release();
  }

  STACK_OF(CMS_SignerInfo)* sis = CMS_get0_SignerInfos(cms.get());
  if (sk_CMS_SignerInfo_num(sis) <= 0) {
    result.status = VerifyStatus::no_signer;
    result.reason = "the signature has no signer";
    return result;
  }

  if (detached) {
    std::string micalg = micalg_key(where.micalg);
    for (int i = 0; i < sk_CMS_SignerInfo_num(sis); ++i) {
      std::string used = micalg_key(digest_name(sk_CMS_SignerInfo_value(sis, i)));
      if (micalg.empty() || ("," + micalg + ",").find("," + used + ",") == std::string::npos) {
        result.status = VerifyStatus::malformed;
        result.reason = "micalg \"" + where.micalg + "\" does not name the signer's digest " + used;
        return result;
      }
    }
  }

  // The signatures over the content; chains are checked per signer below, to say which failed.
  X509StackPtr extra = make_stack(opt.intermediates);
  BioPtr dcont = detached ? make_source_bio(src, *where.content, true) : nullptr;
  std::optional<CrlfSink> crlf;
  BioPtr out;
  if (content_out != nullptr && detached) {
    crlf.emplace(*content_out);
    copy(src, *where.content, *crlf);
    content_out->finish();
  } else if (content_out != nullptr) {
    out = make_sink_bio(*content_out);
  }
  const unsigned flags = CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY;
  const int ok = CMS_verify(cms.get(), extra.get(), nullptr, dcont.get(), out.get(), flags);
  if (out) {
    rethrow_sink_error(out.get());
    content_out->finish();
  }
  std::string openssl_reason = ok == 1 ? std::string() : drain_openssl_errors();

  for (int i = 0; i < sk_CMS_SignerInfo_num(sis); ++i) {
    CMS_SignerInfo* si = sk_CMS_SignerInfo_value(sis, i);
    SignerResult s;
    X509* signer = nullptr;
    CMS_SignerInfo_get0_algs(si, nullptr, &signer, nullptr, nullptr);
    if (signer == nullptr) {  // CMS_verify stopped before matching certificates: match them here
      for (int c = 0; carried && c < sk_X509_num(carried.get()) && signer == nullptr; ++c)
        if (CMS_SignerInfo_cert_cmp(si, sk_X509_value(carried.get(), c)) == 0)
          signer = sk_X509_value(carried.get(), c);
      for (const auto& c : opt.intermediates)
        if (signer == nullptr && CMS_SignerInfo_cert_cmp(si, c.get()) == 0) signer = c.get();
    }
    s.cert = share(signer);
    s.digest = digest_name(si);
    s.signing_time = signing_time(si);
    s.capabilities = signer_capabilities(si);
    if (s.cert) {
      s.emails = email_addresses(s.cert.get());
      check_chain(s, opt, untrusted.get());
    } else {
      s.chain_error = "the signer's certificate is not in the message";
    }
    result.signers.push_back(std::move(s));
  }

  if (ok != 1) {
    // A signer whose certificate is nowhere to be found cannot be checked at all; otherwise a failure
    // is a signature or digest that does not match.
    const bool cert_missing = std::any_of(result.signers.begin(), result.signers.end(),
                                          [](const SignerResult& s) { return !s.cert; });
    result.status = cert_missing ? VerifyStatus::untrusted : VerifyStatus::bad_signature;
    result.reason = cert_missing ? "the signer's certificate is not in the message"
                                 : "signature does not match the content: " + openssl_reason;
    return result;
  }
  for (const auto& s : result.signers) {
    if (!s.chain_ok) {
      result.status = VerifyStatus::untrusted;
      std::string who = s.emails.empty() ? (s.cert ? subject_name(s.cert.get()) : std::string("unknown"))
                                         : s.emails.front();
      result.reason = "signer " + who + ": " + s.chain_error;
      return result;
    }
  }
  result.status = VerifyStatus::valid;
  result.reason = "signature valid";
  return result;
}

}  // namespace smime
