#include "inbound_layers.hpp"

#include <algorithm>

#include "keystore/identity.hpp"
#include "milter/entity_output.hpp"
#include "milter/revocation_service.hpp"
#include "milter/settings.hpp"
#include "smime/cert.hpp"
#include "smime/classify.hpp"
#include "smime/decrypt.hpp"
#include "smime/error.hpp"

namespace milter::inbound {

namespace {

using auth_results::Result;
using logging::Line;

// A reason for the comment and the reply, in our words: OpenSSL's error queue ("...: error:0680009B:
// asn1 encoding routines::too long"), which smime::Error appends, stays in the log.
std::string words_only(std::string_view reason) {
  const std::size_t queue = reason.find("error:");
  if (queue == std::string_view::npos) return std::string(reason);
  std::string_view words = reason.substr(0, queue);
  while (!words.empty() && (words.back() == ' ' || words.back() == ':' || words.back() == ';'))
    words.remove_suffix(1);
  return words.empty() ? std::string("unreadable CMS") : std::string(words);
}

bool may_carry_smime(const smime::mime::ContentType& ct) {
  return ct.is("multipart", "signed") || ct.is("application", "pkcs7-mime") ||
         ct.is("application", "x-pkcs7-mime") || ct.is("application", "octet-stream");
}

bool is_signed_part(const smime::Source& src, const smime::mime::Entity& e) {
  if (e.content_type.is("multipart", "signed")) return true;
  if (!smime::carries_cms(e)) return false;
  return smime::classify(src, e).type == smime::SmimeType::signed_data;
}

std::optional<std::string> signed_part_below(const smime::Source& src, const smime::mime::Entity& e,
                                             const std::string& prefix) {
  for (std::size_t i = 0; i < e.children.size(); ++i) {
    const smime::mime::Entity& child = e.children[i];
    // message/rfc822: its one child is the enclosed message, numbered like the part itself.
    const bool message = !e.content_type.is_multipart();
    const std::string number =
        message ? prefix : (prefix.empty() ? "" : prefix + ".") + std::to_string(i + 1);
    if (is_signed_part(src, child)) return number.empty() ? std::string("1") : number;
    if (auto inner = signed_part_below(src, child, number)) return inner;
  }
  return std::nullopt;
}

// Raw content is text when it has no NUL and no line longer than SMTP allows.
bool looks_like_text(const smime::Source& raw) {
  std::string chunk(64 * 1024, '\0');
  std::size_t line = 0;
  for (std::uint64_t off = 0;;) {
    const std::size_t n = raw.read(off, chunk.data(), chunk.size());
    if (n == 0) return true;
    for (std::size_t i = 0; i < n; ++i) {
      const char c = chunk[i];
      if (c == '\0') return false;
      line = c == '\n' ? 0 : line + 1;
      if (line > 998) return false;
    }
    off += n;
  }
}

bool has_8bit(const smime::Source& raw) {
  std::string chunk(64 * 1024, '\0');
  for (std::uint64_t off = 0;;) {
    const std::size_t n = raw.read(off, chunk.data(), chunk.size());
    if (n == 0) return false;
    if (std::any_of(chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n),
                    [](char c) { return static_cast<unsigned char>(c) >= 0x80; }))
      return true;
    off += n;
  }
}

// Content that is not a MIME entity (raw text or bytes, as some senders encrypt): a text/plain entity
// with canonical line ends, or application/octet-stream in base64 when it is not text.
Content wrap_raw(Job& job, const smime::Source& raw, std::string& note) {
  Output out(job.config, raw.size());
  Content c;
  if (looks_like_text(raw)) {
    c.headers.add("Content-Type", "text/plain");
    c.headers.add("Content-Transfer-Encoding", has_8bit(raw) ? "8bit" : "7bit");
    smime::CrlfSink crlf(out.sink());
    smime::copy(raw, raw.all(), crlf);
    crlf.finish();
    note = "content was not a MIME entity, delivered as text/plain";
  } else {
    c.headers.add("Content-Type", "application/octet-stream");
    c.headers.add("Content-Transfer-Encoding", "base64");
    smime::Base64Sink b64(out.sink());
    smime::copy(raw, raw.all(), b64);
    b64.finish();
    note = "content was not a MIME entity, delivered as application/octet-stream";
  }
  c.body = out.finish();
  return c;
}

// The unwrapped bytes of a layer as the entity to continue with: its header block and body, with
// canonical CRLF line ends (senders put bare LF or mixed line ends inside the CMS), or the raw content
// wrapped when it is not an entity. `note` says when it was wrapped. Throws NotAnEntity for a header
// block over 64 KiB.
Content entity_of(Job& job, const smime::Source& raw, std::string& note) {
  if (!smime::mime::starts_with_header_block(raw, raw.all(), settings::mime_limits(job.config)))
    return wrap_raw(job, raw, note);
  NewEntity e = produce_entity(job.config, raw.size(), [&](smime::Sink& out) {
    smime::CrlfSink crlf(out);
    smime::copy(raw, raw.all(), crlf);
    crlf.finish();
  });
  return Content{std::move(e.headers), std::move(e.body)};
}

// Checks a verified signer's revocation status, through the one policy edge shared with outbound
// (revocation/decision.hpp); adjusts the layer's result.
void check_revocation(Job& job, const VerifyContext& ctx, SignerFinding& signer, SignatureLayer& layer) {
  std::vector<smime::X509Ptr> candidates;  // anchors first; find_issuer checks the signature either way
  for (const auto& c : ctx.anchors) candidates.push_back(smime::share(c.get()));
  for (const auto& c : layer.carried) candidates.push_back(smime::share(c.get()));
  const revocation::Decision d =
      revocation::decide(settings::revocation_policy(job.config.revocation), revocation::Operation::verify,
                         *job.checker, signer.cert.get(), candidates, job.now);
  const std::string& subject = signer.binding.bound ? signer.binding.identifier : signer.label;
  job.note(revocation_line(revocation::Operation::verify, subject, signer.cert.get(), d));
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
      if (layer.result != Result::fail) {
        layer.result = Result::temperror;
        layer.reason = "revocation undetermined (" + d.answer.reason + ")";
      }
      layer.revocation_tempfail = layer.revocation_tempfail || d.use == revocation::Use::tempfail;
      break;
  }
  signer.revoked_or_undetermined = true;
}

// "signer 2 of 3 (carol@example.org)" when there are several, "" for one.
std::string which_signer(const SignatureLayer& layer, std::size_t index) {
  if (layer.signers.size() < 2) return {};
  return "signer " + std::to_string(index + 1) + " of " + std::to_string(layer.signers.size()) + " (" +
         layer.signers[index].label + "): ";
}

// A layer whose every signature verified: bound to From (any signer), then revocation of each signer.
void verified_layer(Job& job, const VerifyContext& ctx, SignatureLayer& layer) {
  const SignerFinding* bound = nullptr;
  for (SignerFinding& s : layer.signers) {
    if (ctx.from.ok()) s.binding = bind_signer(s.cert.get(), ctx.from.address);
    if (s.binding.bound && bound == nullptr) bound = &s;
  }
  layer.result = Result::pass;
  layer.bound = bound != nullptr;
  if (bound != nullptr) {
    layer.identifier = bound->binding.identifier;
    layer.reason = bound->binding.how == "email" ? "verified" : "verified, domain certificate";
  } else {
    layer.reason = "verified, signed by " + layer.signers.front().label;
  }
  if (layer.signers.size() > 1) {
    std::string names;
    for (const SignerFinding& s : layer.signers) names += (names.empty() ? "" : ", ") + s.label;
    layer.reason += " (" + std::to_string(layer.signers.size()) + " signers: " + names + ")";
  }
  if (job.checker != nullptr && job.config.revocation.enabled)
    for (SignerFinding& s : layer.signers) check_revocation(job, ctx, s, layer);
}

// The result of a layer whose verification did not succeed, with the reason in words.
void failed_layer(Job& job, const smime::VerifyResult& r, SignatureLayer& layer) {
  switch (r.status) {
    case smime::VerifyStatus::bad_signature: {
      // OpenSSL's error queue is for the log; the header and any reply say it in words.
      job.note(Line("verify-detail").add("reason", r.reason));
      std::size_t bad = 0;
      while (bad + 1 < r.signers.size() && r.signers[bad].status != smime::VerifyStatus::bad_signature) ++bad;
      layer.result = Result::fail;
      layer.reason = which_signer(layer, bad) + "signature does not match the content";
      return;
    }
    case smime::VerifyStatus::untrusted:
    case smime::VerifyStatus::weak:
    case smime::VerifyStatus::unsupported:
      layer.result = Result::fail;
      layer.reason = words_only(r.reason);
      return;
    case smime::VerifyStatus::no_signer:
    case smime::VerifyStatus::malformed:
    case smime::VerifyStatus::valid:
      layer.result = Result::permerror;
      layer.reason = words_only(r.reason);
      return;
  }
}

}  // namespace

KindOf kind_of(const Content& c, const smime::mime::Limits& limits) {
  const auto ct = smime::mime::ContentType::parse(c.headers.get("Content-Type"));
  if (!may_carry_smime(ct)) return {};
  smime::mime::Entity e;
  try {
    e = smime::mime::parse_body(c.body, c.body.all(), c.headers, limits);
  } catch (const smime::Error& err) {
    if (err.kind() != smime::ErrorKind::bad_input) throw;
    if (ct.is("application", "octet-stream")) return {};  // an attachment we cannot read is not S/MIME
    return {Kind::malformed, words_only(err.what()), std::nullopt};
  }
  const smime::Classification cl = smime::classify(c.body, e);
  switch (cl.type) {
    case smime::SmimeType::none:
    case smime::SmimeType::certs_only:  // certificates only: neither signed nor encrypted
      return {};
    case smime::SmimeType::multipart_signed:
    case smime::SmimeType::signed_data:
      return {Kind::signed_entity, {}, std::move(e)};
    case smime::SmimeType::enveloped_data:
    case smime::SmimeType::auth_enveloped_data:
      return {Kind::encrypted, {}, std::move(e)};
    case smime::SmimeType::compressed_data:
      return {Kind::malformed, "CMS CompressedData is not supported", std::nullopt};
    case smime::SmimeType::malformed:
      break;
  }
  // A body that does not hold what its smime-type says: that layer's own step reports it in its terms
  // (an enveloped-data that cannot be decrypted is undecryptable; a signed-data that cannot be verified
  // is a permerror of the signature).
  std::string type = ct.param("smime-type");
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char ch) { return std::tolower(ch); });
  if (type == "enveloped-data" || type == "authenveloped-data") return {Kind::encrypted, {}, std::move(e)};
  if (type == "signed-data") return {Kind::signed_entity, {}, std::move(e)};
  return {Kind::malformed, words_only(cl.reason), std::nullopt};
}

std::optional<std::string> signed_part(const smime::Source& src, const smime::mime::Entity& root) {
  return signed_part_below(src, root, "");
}

namespace {

// `c` parsed as kind_of parsed it (the same limits), unless it was already.
const smime::mime::Entity& entity_of_layer(const Job& job, const Content& c,
                                           const smime::mime::Entity* parsed,
                                           std::optional<smime::mime::Entity>& storage) {
  if (parsed != nullptr) return *parsed;
  storage = smime::mime::parse_body(c.body, c.body.all(), c.headers, settings::mime_limits(job.config));
  return *storage;
}

}  // namespace

std::optional<Content> decrypt_layer(Job& job, const Content& c, const smime::mime::Entity* parsed,
                                     DecryptionLayer& found) {
  // Every gateway decryption key (old and new identities, expired ones too); keys that cannot be loaded
  // (locked) are logged and left out.
  const std::shared_ptr<const KeyCache::DecryptionKeys> cached = job.decryption_keys();
  for (const std::string& why : cached->skipped)
    job.warn(Line().add("decrypt-key", "skipped").add("reason", why));
  const std::vector<smime::DecryptionKey>& keys = cached->keys;
  const std::vector<std::string>& fingerprints = cached->fingerprints;
  // `why` is the log's short word, `reason` ours for the comment and the reply, `detail` the log's only.
  auto failed = [&](std::string_view why, const std::string& reason, std::string_view detail = {}) {
    found.ok = false;
    found.note = "not decrypted: " + reason;
    Line line;
    line.add("decrypt", "failed").add("why", why).add("reason", reason);
    if (!detail.empty()) line.add("detail", detail);
    job.note(line);
    return std::nullopt;
  };
  if (keys.empty()) return failed("no-key", "the gateway has no decryption key");
  try {
    std::optional<smime::mime::Entity> storage;
    const smime::mime::Entity& e = entity_of_layer(job, c, parsed, storage);
    Output raw(job.config, c.body.size());
    const smime::DecryptResult r = smime::decrypt(c.body, e, keys, raw.sink());
    const smime::Source plain = raw.finish();
    std::string wrapped;
    Content content = entity_of(job, plain, wrapped);
    found.ok = true;
    found.cipher = r.cipher;
    found.authenticated = r.authenticated;
    found.key = r.key_index < fingerprints.size() ? fingerprints[r.key_index] : std::string("?");
    found.note = "decrypted " + r.cipher + (wrapped.empty() ? std::string() : ", " + wrapped);
    job.note(Line()
                 .add("decrypt", "ok")
                 .add("cipher", r.cipher)
                 .add("authenticated", r.authenticated)
                 .add("key", found.key)
                 .add("spooled", raw.spooled())
                 .add("content", wrapped.empty() ? "entity" : "wrapped"));
    return content;
  } catch (const smime::Error& e) {
    switch (e.kind()) {
      case smime::ErrorKind::wrong_key:
        return failed("wrong-key", "not encrypted to this gateway's keys");
      case smime::ErrorKind::bad_input:
        return failed("corrupt", "corrupt, truncated or unsupported", e.what());
      case smime::ErrorKind::crypto:
        return failed("crypto", "decryption failed", e.what());
      case smime::ErrorKind::usage:
        return failed("key", "unusable gateway key", e.what());
      case smime::ErrorKind::io:
        throw;
    }
    throw;
  } catch (const NotAnEntity& e) {
    return failed("corrupt", "the decrypted content is not a usable MIME entity", e.what());
  }
}

std::optional<Content> verify_layer(Job& job, const VerifyContext& ctx, const Content& c,
                                    const smime::mime::Entity* parsed, SignatureLayer& layer) {
  smime::VerifyOptions opts;
  opts.trust_store = job.trust_store();
  for (const auto& k : ctx.known) opts.intermediates.push_back(smime::share(k.get()));
  opts.at_time = job.now;
  opts.limits = settings::mime_limits(job.config);
  opts.algorithms = settings::algorithm_policy(job.config.inbound.algorithms);
  smime::VerifyResult r;
  std::optional<Content> content;
  try {
    std::optional<smime::mime::Entity> storage;
    const smime::mime::Entity& e = entity_of_layer(job, c, parsed, storage);
    Output raw(job.config, c.body.size());
    r = smime::verify(c.body, e, opts, &raw.sink());
    const smime::Source signed_bytes = raw.finish();
    if (signed_bytes.size() > 0) {
      std::string wrapped;
      content = entity_of(job, signed_bytes, wrapped);
      if (!wrapped.empty()) job.note(Line().add("signed-content", "wrapped").add("reason", wrapped));
    }
  } catch (const smime::Error& e) {
    if (e.kind() != smime::ErrorKind::bad_input) throw;
    job.note(Line("verify-detail").add("reason", e.what()));
    r = smime::VerifyResult{};
    r.status = smime::VerifyStatus::malformed;
    r.reason = words_only(e.what());
  } catch (const NotAnEntity& e) {
    job.note(Line().add("signed-content", "unusable").add("reason", e.what()));
  }
  layer.status = r.status;
  layer.carried = std::move(r.certificates);
  for (smime::SignerResult& s : r.signers) {
    SignerFinding f;
    f.status = s.status;
    f.reason = s.reason;
    f.label = certificate_label(s.cert.get());
    f.signing_time = s.signing_time;
    f.capabilities = s.capabilities;
    f.cert = std::move(s.cert);
    layer.signers.push_back(std::move(f));
  }
  if (!layer.signers.empty()) layer.identifier = layer.signers.front().label;
  if (r.status == smime::VerifyStatus::valid && !layer.signers.empty())
    verified_layer(job, ctx, layer);
  else
    failed_layer(job, r, layer);
  return content;
}

}  // namespace milter::inbound
