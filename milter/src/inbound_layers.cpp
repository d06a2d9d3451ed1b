#include "inbound_layers.hpp"

#include <openssl/cms.h>
#include <openssl/objects.h>

#include <algorithm>

#include "keystore/identity.hpp"
#include "milter/entity_output.hpp"
#include "milter/revocation_service.hpp"
#include "milter/settings.hpp"
#include "smime/cert.hpp"
#include "smime/decrypt.hpp"
#include "smime/error.hpp"

namespace milter::inbound {

namespace {

using auth_results::Result;
using logging::Line;

bool is_pkcs7_mime(const smime::mime::ContentType& ct) {
  return ct.is("application", "pkcs7-mime") || ct.is("application", "x-pkcs7-mime");
}

std::string smime_type(const smime::mime::ContentType& ct) {
  std::string type = ct.param("smime-type");
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return type;
}

// The CMS content type of a pkcs7-mime entity that does not say (no or an unknown smime-type).
int cms_type(const smime::Source& src, const smime::mime::Entity& e) {
  const std::string der = smime::pkcs7_mime_der(src, e);
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  smime::CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  if (!cms) {
    smime::drain_openssl_errors();
    throw smime::Error(smime::ErrorKind::bad_input, "application/pkcs7-mime without a readable CMS");
  }
  return OBJ_obj2nid(CMS_get0_type(cms.get()));
}

bool is_signed_part(const smime::mime::Entity& e) {
  if (e.content_type.is("multipart", "signed")) return true;
  return is_pkcs7_mime(e.content_type) && smime_type(e.content_type) == "signed-data";
}

std::optional<std::string> signed_part_below(const smime::mime::Entity& e, const std::string& prefix) {
  for (std::size_t i = 0; i < e.children.size(); ++i) {
    const smime::mime::Entity& child = e.children[i];
    // message/rfc822: its one child is the enclosed message, numbered like the part itself.
    const bool message = !e.content_type.is_multipart();
    const std::string number =
        message ? prefix : (prefix.empty() ? "" : prefix + ".") + std::to_string(i + 1);
    if (is_signed_part(child)) return number.empty() ? std::string("1") : number;
    if (auto inner = signed_part_below(child, number)) return inner;
  }
  return std::nullopt;
}

// Every gateway decryption key (old and new identities, expired ones too); keys that cannot be loaded
// (locked) are logged and left out. `fingerprints` gets each key's certificate fingerprint, in order.
std::vector<smime::DecryptionKey> decryption_keys(Job& job, std::vector<std::string>& fingerprints) {
  std::vector<smime::DecryptionKey> keys;
  std::vector<std::string> skipped;
  std::vector<keystore::Identity> ids = keystore::decryption_identities(job.store, {}, &skipped);
  for (const std::string& s : skipped) job.warn(Line().add("decrypt-key", "skipped").add("reason", s));
  for (keystore::Identity& id : ids) {
    fingerprints.push_back(id.fingerprint);
    keys.push_back(smime::DecryptionKey{std::move(id.cert), std::move(id.key)});
  }
  return keys;
}

// Receives the signed content from smime::verify: never throws into it (an oversized or headerless
// content is a finding, not an internal failure), and never finishes the split early.
class ContentSink final : public smime::Sink {
 public:
  explicit ContentSink(HeaderSplitSink& split) : split_(split) {}
  void write(std::string_view bytes) override {
    if (!problem_.empty()) return;
    try {
      split_.write(bytes);
    } catch (const NotAnEntity& e) {
      problem_ = e.what();
    }
  }
  void finish() override {}
  const std::string& problem() const { return problem_; }

 private:
  HeaderSplitSink& split_;
  std::string problem_;
};

// Checks the signer's revocation status (after the chain validated and the signer was bound to From),
// through the one policy edge shared with outbound (revocation/decision.hpp); adjusts the layer.
void check_revocation(Job& job, const VerifyContext& ctx, SignatureLayer& layer) {
  std::vector<smime::X509Ptr> candidates;  // anchors first; find_issuer checks the signature either way
  for (const auto& c : ctx.anchors) candidates.push_back(smime::share(c.get()));
  for (const auto& c : layer.carried) candidates.push_back(smime::share(c.get()));
  const revocation::Decision d =
      revocation::decide(settings::revocation_policy(job.config.revocation), revocation::Operation::verify,
                         *job.checker, layer.signer.get(), candidates, job.now);
  job.note(revocation_line(revocation::Operation::verify, layer.identifier, layer.signer.get(), d));
  switch (d.use) {
    case revocation::Use::use:
      return;
    case revocation::Use::use_fail_open:
      layer.reason += "; revocation undetermined, accepted (fail-open)";
      job.warn(Line().add("warning", "revocation-undetermined").add("accepted", "fail-open"));
      return;
    case revocation::Use::refuse_revoked:
      layer.result = Result::fail;
      layer.reason = "signer certificate revoked (" + d.answer.reason + ")";
      break;
    case revocation::Use::refuse_undetermined:
    case revocation::Use::tempfail:
      layer.result = Result::temperror;
      layer.reason = "revocation undetermined (" + d.answer.reason + ")";
      layer.revocation_tempfail = d.use == revocation::Use::tempfail;
      break;
  }
  layer.harvestable = false;
}

// The result of a layer whose signatures verified: bound to From, then revocation.
void bind_and_check(Job& job, const VerifyContext& ctx, SignatureLayer& layer) {
  layer.harvestable = true;
  if (!ctx.from.ok()) {
    layer.result = Result::fail;
    layer.reason = "signer does not match From (" + ctx.from.problem + ")";
    return;
  }
  const Binding b = bind_signer(layer.signer.get(), ctx.from.address);
  if (!b.bound) {
    layer.result = Result::fail;
    layer.reason = "signer does not match From";
    return;
  }
  layer.identifier = b.identifier;
  layer.result = Result::pass;
  layer.reason = b.how == "email" ? "verified" : "verified, domain certificate";
  if (job.checker != nullptr && job.config.revocation.enabled) check_revocation(job, ctx, layer);
}

}  // namespace

Kind kind_of(const Content& c, const smime::mime::Limits& limits) {
  const auto ct = smime::mime::ContentType::parse(c.headers.get("Content-Type"));
  if (ct.is("multipart", "signed")) return Kind::signed_entity;
  if (!is_pkcs7_mime(ct)) return Kind::plain;
  const std::string type = smime_type(ct);
  if (type == "enveloped-data" || type == "authenveloped-data") return Kind::encrypted;
  if (type == "signed-data") return Kind::signed_entity;
  if (type == "certs-only") return Kind::plain;  // certificates only: neither signed nor encrypted
  const smime::mime::Entity e = smime::mime::parse_body(c.body, c.body.all(), c.headers, limits);
  const int nid = cms_type(c.body, e);
  if (nid == NID_pkcs7_enveloped || nid == NID_id_smime_ct_authEnvelopedData) return Kind::encrypted;
  if (nid == NID_pkcs7_signed) {
    if (!type.empty())
      throw smime::Error(smime::ErrorKind::bad_input, "signed-data labelled smime-type " + type);
    return Kind::signed_entity;
  }
  throw smime::Error(smime::ErrorKind::bad_input,
                     std::string("application/pkcs7-mime holding ") + OBJ_nid2sn(nid) +
                         (type.empty() ? std::string() : " (smime-type " + type + ")"));
}

std::optional<std::string> signed_part(const smime::mime::Entity& root) {
  return signed_part_below(root, "");
}

std::string_view header_value(Decryption d) {
  switch (d) {
    case Decryption::decrypted:
      return "yes";
    case Decryption::failed:
      return "failed";
    case Decryption::not_encrypted:
    case Decryption::disabled:
      return "no";
  }
  return "no";
}

std::optional<Content> decrypt_layer(Job& job, const Content& c, DecryptionFinding& finding) {
  std::vector<std::string> fingerprints;
  const std::vector<smime::DecryptionKey> keys = decryption_keys(job, fingerprints);
  // `why` is the log's short word, `reason` ours for the comment and the reply, `detail` the log's only.
  auto failed = [&](std::string_view why, const std::string& reason, std::string_view detail = {}) {
    finding.state = Decryption::failed;
    finding.note = "not decrypted: " + reason;
    Line line;
    line.add("decrypt", "failed").add("why", why).add("reason", reason);
    if (!detail.empty()) line.add("detail", detail);
    job.note(line);
    return std::nullopt;
  };
  if (keys.empty()) return failed("no-key", "the gateway has no decryption key");
  try {
    const smime::mime::Entity e =
        smime::mime::parse_body(c.body, c.body.all(), c.headers, settings::mime_limits(job.config));
    smime::DecryptResult r;
    NewEntity out = produce_entity(job.config, c.body.size(),
                                   [&](smime::Sink& sink) { r = smime::decrypt(c.body, e, keys, sink); });
    finding.state = Decryption::decrypted;
    finding.authenticated = r.authenticated;
    finding.note = "decrypted " + r.cipher;
    job.note(Line()
                 .add("decrypt", "ok")
                 .add("cipher", r.cipher)
                 .add("authenticated", r.authenticated)
                 .add("key", r.key_index < fingerprints.size() ? fingerprints[r.key_index] : std::string("?"))
                 .add("spooled", out.spooled));
    return Content{std::move(out.headers), std::move(out.body)};
  } catch (const smime::Error& e) {
    switch (e.kind()) {
      case smime::ErrorKind::wrong_key:
        return failed("wrong-key", "not encrypted to this gateway's keys");
      case smime::ErrorKind::bad_input:
        return failed("corrupt", "corrupt or truncated", e.what());
      case smime::ErrorKind::crypto:
        return failed("crypto", "decryption failed", e.what());
      case smime::ErrorKind::usage:
        return failed("key", "unusable gateway key", e.what());
      case smime::ErrorKind::io:
        throw;
    }
    throw;
  } catch (const NotAnEntity& e) {
    // The decrypted bytes are not a MIME entity (no header/body separator).
    return failed("corrupt", "the decrypted content is not a MIME entity", e.what());
  }
}

std::optional<Content> verify_layer(Job& job, const VerifyContext& ctx, const Content& c,
                                    SignatureLayer& layer) {
  smime::VerifyOptions opts;
  for (const auto& a : ctx.anchors) opts.anchors.push_back(smime::share(a.get()));
  for (const auto& k : ctx.known) opts.intermediates.push_back(smime::share(k.get()));
  opts.at_time = job.now;
  opts.limits = settings::mime_limits(job.config);
  smime::VerifyResult r;
  std::optional<Content> content;
  try {
    const smime::mime::Entity e = smime::mime::parse_body(c.body, c.body.all(), c.headers, opts.limits);
    Output output(job.config, c.body.size());
    HeaderSplitSink split(output.sink());
    ContentSink sink(split);
    r = smime::verify(c.body, e, opts, &sink);
    if (!sink.problem().empty()) {
      job.note(Line().add("signed-content", "unusable").add("reason", sink.problem()));
    } else if (split.complete()) {
      split.finish();
      Content inner;
      inner.headers = smime::mime::parse_headers(split.header());
      inner.body = output.finish();
      content = std::move(inner);
    }
  } catch (const smime::Error& e) {
    if (e.kind() != smime::ErrorKind::bad_input) throw;
    r = smime::VerifyResult{};
    r.status = smime::VerifyStatus::malformed;
    r.reason = e.what();
  }
  layer.status = r.status;
  layer.carried = std::move(r.certificates);
  if (r.signers.size() == 1) {
    layer.signer = smime::share(r.signers.front().cert.get());
    layer.signing_time = r.signers.front().signing_time;
    layer.capabilities = r.signers.front().capabilities;
    layer.identifier = certificate_label(layer.signer.get());
  }
  switch (r.status) {
    case smime::VerifyStatus::valid:
      break;
    case smime::VerifyStatus::bad_signature:
      // OpenSSL's error queue is for the log; the header and any reply say it in words.
      job.note(Line("verify-detail").add("reason", r.reason));
      layer.result = Result::fail;
      layer.reason = "signature does not match the content";
      layer.harvestable = true;  // the keystore refuses unverified signers unless harvest.unverified
      return content;
    case smime::VerifyStatus::untrusted:
      layer.result = Result::fail;
      layer.reason = r.reason;
      layer.harvestable = true;
      return content;
    case smime::VerifyStatus::no_signer:
    case smime::VerifyStatus::malformed:
      layer.result = Result::permerror;
      layer.reason = r.reason;
      return content;
  }
  if (r.signers.size() != 1) {
    layer.result = Result::permerror;
    layer.reason = std::to_string(r.signers.size()) + " signers";
    return content;
  }
  bind_and_check(job, ctx, layer);
  return content;
}

}  // namespace milter::inbound
