#include "milter/inbound.hpp"

#include <openssl/cms.h>
#include <openssl/objects.h>

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "milter/auth_results.hpp"
#include "milter/entity_output.hpp"
#include "keystore/error.hpp"
#include "keystore/harvest.hpp"
#include "keystore/identity.hpp"
#include "keystore/lookup.hpp"
#include "milter/outbound.hpp"
#include "revocation/revocation.hpp"
#include "milter/revocation_decision.hpp"
#include "milter/signer_binding.hpp"
#include "smime/cert.hpp"
#include "smime/decrypt.hpp"
#include "smime/error.hpp"
#include "smime/verify.hpp"

namespace milter {

namespace {

using auth_results::Result;

// At most this many S/MIME layers are unwrapped (triple wrap: signature, encryption, signature).
constexpr int kMaxLayers = 3;

std::string quoted_log(std::string_view text) { return "\"" + sanitize(text, 300) + "\""; }

// What an entity is, for inbound processing.
enum class Kind { plain, signed_entity, encrypted };

// An entity to look at: its Content-* header fields and its body (for the root: the message body).
struct Content {
  smime::mime::HeaderList headers;
  smime::Source body = smime::Source::from_string({});
};

struct Layer {
  std::string name;  // "signature", or "outer" / "inner" when there are two
  Result result = Result::permerror;
  std::string reason;
  std::string identifier;  // for the header: the bound identity, else the signer certificate's label
  std::optional<smime::VerifyStatus> status;
  smime::X509Ptr signer;
  std::vector<smime::X509Ptr> carried;
  std::optional<std::time_t> signing_time;
  smime::Capabilities capabilities;
  bool harvestable = false;  // not revoked, and the revocation policy did not tempfail the message
};

// The state of one message's processing: what was found, and every change decided.
struct State {
  bool smime = false;            // the root (or what decryption gave) was S/MIME
  std::string decrypted = "no";  // yes / no / failed
  std::string decrypt_note;      // for the comment: "decrypted aes256-gcm", or why not
  bool undecryptable = false;
  bool unauthenticated = false;
  std::string unauthenticated_reason;
  bool encrypted_cbc = false;
  std::optional<std::string> part_only;  // "signature covers only part N"
  std::vector<Layer> layers;
  bool revocation_tempfail = false;
  std::string revocation_tempfail_reason;
};

smime::mime::Limits mime_limits(const conf::Config& config) {
  smime::mime::Limits l;
  l.max_depth = config.limits.mime_depth;
  l.max_parts = config.limits.mime_parts;
  return l;
}

bool is_pkcs7_mime(const smime::mime::ContentType& ct) {
  return ct.is("application", "pkcs7-mime") || ct.is("application", "x-pkcs7-mime");
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

// The kind of an entity; parses its body only when the Content-Type alone does not tell.
// Throws smime::Error(bad_input) for malformed S/MIME.
Kind kind_of(const Content& c, const smime::mime::Limits& limits) {
  const auto ct = smime::mime::ContentType::parse(c.headers.get("Content-Type"));
  if (ct.is("multipart", "signed")) return Kind::signed_entity;
  if (!is_pkcs7_mime(ct)) return Kind::plain;
  std::string type = ct.param("smime-type");
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char ch) { return std::tolower(ch); });
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

bool is_signed_part(const smime::mime::Entity& e) {
  if (e.content_type.is("multipart", "signed")) return true;
  if (!is_pkcs7_mime(e.content_type)) return false;
  std::string type = e.content_type.param("smime-type");
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return type == "signed-data";
}

// The part number (IMAP style, "2", "1.3") of the first signed entity below `e`, if any.
std::optional<std::string> signed_part(const smime::mime::Entity& e, const std::string& prefix) {
  for (std::size_t i = 0; i < e.children.size(); ++i) {
    const smime::mime::Entity& child = e.children[i];
    // message/rfc822: its one child is the enclosed message, numbered like the part itself.
    const bool message = !e.content_type.is_multipart();
    const std::string number =
        message ? prefix : (prefix.empty() ? "" : prefix + ".") + std::to_string(i + 1);
    if (is_signed_part(child)) return number.empty() ? std::string("1") : number;
    if (auto inner = signed_part(child, number)) return inner;
  }
  return std::nullopt;
}

// Every gateway decryption key (old and new identities, expired ones too); keys that cannot be loaded
// (locked) are logged and left out.
std::vector<smime::DecryptionKey> decryption_keys(keystore::Store& store, std::vector<std::string>& fps,
                                                  std::vector<std::string>& log) {
  std::vector<smime::DecryptionKey> keys;
  std::vector<std::string> skipped;
  std::vector<keystore::Identity> ids = keystore::decryption_identities(store, {}, &skipped);
  for (const std::string& s : skipped) log.push_back("decrypt-key=skipped reason=" + quoted_log(s));
  for (keystore::Identity& id : ids) {
    fps.push_back(id.fingerprint);
    keys.push_back(smime::DecryptionKey{std::move(id.cert), std::move(id.key)});
  }
  return keys;
}

// Decrypts `c`; on success the enclosed entity, else nullopt with the state and log saying why.
std::optional<Content> decrypt_layer(const conf::Config& config, keystore::Store& store, const Content& c,
                                     State& st, std::vector<std::string>& log) {
  std::vector<std::string> fps;
  const std::vector<smime::DecryptionKey> keys = decryption_keys(store, fps, log);
  auto failed = [&](const std::string& why, const std::string& reason) {
    st.decrypted = "failed";
    st.undecryptable = true;
    st.decrypt_note = "not decrypted: " + reason;
    log.push_back("decrypt=failed why=" + why + " reason=" + quoted_log(reason));
    return std::nullopt;
  };
  if (keys.empty()) return failed("no-key", "the gateway has no decryption key");
  try {
    const smime::mime::Entity e =
        smime::mime::parse_body(c.body, c.body.all(), c.headers, mime_limits(config));
    smime::DecryptResult r;
    NewEntity out = produce_entity(config, c.body.size(),
                                   [&](smime::Sink& sink) { r = smime::decrypt(c.body, e, keys, sink); });
    st.decrypted = "yes";
    st.encrypted_cbc = !r.authenticated;
    st.decrypt_note = "decrypted " + r.cipher;
    log.push_back("decrypt=ok cipher=" + r.cipher + " authenticated=" + (r.authenticated ? "yes" : "no") +
                  " key=" + (r.key_index < fps.size() ? fps[r.key_index] : std::string("?")) +
                  " spooled=" + (out.spooled ? "yes" : "no"));
    return Content{std::move(out.headers), std::move(out.body)};
  } catch (const smime::Error& e) {
    switch (e.kind()) {
      case smime::ErrorKind::wrong_key:
        return failed("wrong-key", "not encrypted to this gateway's keys");
      case smime::ErrorKind::bad_input:
        return failed("corrupt", std::string("corrupt or truncated: ") + e.what());
      case smime::ErrorKind::crypto:
        return failed("crypto", std::string("decryption failed: ") + e.what());
      case smime::ErrorKind::usage:
        return failed("key", std::string("unusable gateway key: ") + e.what());
      case smime::ErrorKind::io:
        throw;
    }
    throw;
  } catch (const NotAnEntity& e) {
    // The decrypted bytes are not a MIME entity (no header/body separator).
    return failed("corrupt", std::string("the decrypted content is not a MIME entity: ") + e.what());
  }
}

// Checks the signer's revocation status (after the chain validated and the signer was bound to From),
// through the one policy edge shared with outbound (revocation_decision.hpp); adjusts the layer.
void check_revocation(const conf::Config& config, revocation::Checker& checker,
                      const std::vector<smime::X509Ptr>& anchors, Layer& layer, State& st, std::time_t now,
                      std::vector<std::string>& log) {
  std::vector<smime::X509Ptr> candidates;  // anchors first; find_issuer checks the signature either way
  for (const auto& c : anchors) candidates.push_back(smime::share(c.get()));
  for (const auto& c : layer.carried) candidates.push_back(smime::share(c.get()));
  const RevocationDecision d = decide_revocation(config.revocation, RevocationOperation::verify, checker,
                                                 layer.signer.get(), candidates, layer.identifier, now);
  log.push_back(d.log);
  switch (d.use) {
    case RevocationUse::use:
      break;
    case RevocationUse::use_fail_open:
      layer.reason += "; revocation undetermined, accepted (fail-open)";
      log.push_back("warning=revocation-undetermined accepted=fail-open");
      break;
    case RevocationUse::refuse_revoked:
      layer.result = Result::fail;
      layer.reason = "signer certificate revoked (" + d.answer.reason + ")";
      layer.harvestable = false;
      break;
    case RevocationUse::refuse_undetermined:
      layer.result = Result::temperror;
      layer.reason = "revocation undetermined (" + d.answer.reason + ")";
      layer.harvestable = false;
      break;
    case RevocationUse::tempfail:
      layer.result = Result::temperror;
      layer.reason = "revocation undetermined (" + d.answer.reason + ")";
      layer.harvestable = false;
      st.revocation_tempfail = true;
      st.revocation_tempfail_reason = "signer revocation status undetermined, try again later";
      break;
  }
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

// Verifies a signed entity; returns the signed content when the structure let it be found.
// `known`: the keystore's certificates for the From address, for a signer whose message does not carry
// its certificate (they are only candidates: the chain is validated as for any other signer).
std::optional<Content> verify_layer(const conf::Config& config, const std::vector<smime::X509Ptr>& anchors,
                                    const std::vector<smime::X509Ptr>& known, revocation::Checker* checker,
                                    const FromAddress& from, const Content& c, Layer& layer, State& st,
                                    std::time_t now, std::vector<std::string>& log) {
  smime::VerifyOptions opts;
  for (const auto& a : anchors) opts.anchors.push_back(smime::share(a.get()));
  for (const auto& k : known) opts.intermediates.push_back(smime::share(k.get()));
  opts.at_time = now;
  opts.limits = mime_limits(config);
  smime::VerifyResult r;
  std::optional<Content> content;
  try {
    const smime::mime::Entity e = smime::mime::parse_body(c.body, c.body.all(), c.headers, opts.limits);
    Output output(config, c.body.size());
    HeaderSplitSink split(output.sink());
    ContentSink sink(split);
    r = smime::verify(c.body, e, opts, &sink);
    if (!sink.problem().empty())
      log.push_back("signed-content=unusable reason=" + quoted_log(sink.problem()));
    else if (split.complete()) {
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
      log.push_back("verify-detail reason=" + quoted_log(r.reason));
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
  layer.harvestable = true;
  if (!from.ok()) {
    layer.result = Result::fail;
    layer.reason = "signer does not match From (" + from.problem + ")";
    return content;
  }
  const Binding b = bind_signer(layer.signer.get(), from.address);
  if (!b.bound) {
    layer.result = Result::fail;
    layer.reason = "signer does not match From";
    return content;
  }
  layer.identifier = b.identifier;
  layer.result = Result::pass;
  layer.reason = b.how == "email" ? "verified" : "verified, domain certificate";
  if (checker != nullptr && config.revocation.enabled)
    check_revocation(config, *checker, anchors, layer, st, now, log);
  return content;
}

// Header edits that delete every forged copy of our result headers (highest index first per name).
std::vector<HeaderEdit> remove_forged(const conf::Config& config, const smime::mime::HeaderList& headers,
                                      const std::string& authserv_id, std::vector<std::string>& log) {
  std::vector<HeaderEdit> edits;
  // Authentication-Results: only those carrying our authserv-id.
  std::vector<int> ours;
  int index = 0;
  std::string ar_name = "Authentication-Results";
  for (const auto& h : headers.items) {
    if (!conf::iequals(h.name, "Authentication-Results")) continue;
    ++index;
    if (auth_results::is_ours(h.unfolded(), authserv_id)) {
      ours.push_back(index);
      ar_name = h.name;
    }
  }
  for (auto it = ours.rbegin(); it != ours.rend(); ++it)
    edits.push_back(HeaderEdit{HeaderEdit::Kind::change, ar_name, *it, {}});
  if (!ours.empty())
    log.push_back("removed-forged header=Authentication-Results count=" + std::to_string(ours.size()));
  // The simple headers and the trace header: every copy.
  std::vector<std::string> names;
  for (const std::string* n : {&config.inbound.headers.smime, &config.inbound.headers.decrypted,
                               &config.inbound.headers.verified, &config.trace_header}) {
    if (n->empty() || conf::iequals(*n, "Authentication-Results")) continue;
    if (std::none_of(names.begin(), names.end(), [&](const std::string& x) { return conf::iequals(x, *n); }))
      names.push_back(*n);
  }
  for (const std::string& name : names) {
    const int count = static_cast<int>(headers.count(name));
    for (int i = count; i >= 1; --i) edits.push_back(HeaderEdit{HeaderEdit::Kind::change, name, i, {}});
    if (count > 0) log.push_back("removed-forged header=" + name + " count=" + std::to_string(count));
  }
  return edits;
}

// The overall result, the layer that decided it (inner one on ties), and the comment.
struct Summary {
  Result result = Result::none;
  std::string identifier;
  std::string reason;
};

Summary summarise(const State& st) {
  Summary s;
  std::vector<std::string> notes;
  if (st.layers.empty()) {
    if (st.part_only) {
      s.result = Result::neutral;
      notes.push_back(*st.part_only);
    }
  } else {
    const Layer* decisive = nullptr;
    for (auto it = st.layers.rbegin(); it != st.layers.rend(); ++it)
      if (decisive == nullptr ||
          auth_results::severity(it->result) > auth_results::severity(decisive->result))
        decisive = &*it;
    s.result = decisive->result;
    s.identifier = decisive->identifier;
    for (const Layer& l : st.layers)
      notes.push_back(st.layers.size() == 1 ? l.reason : l.name + ": " + l.reason);
  }
  if (!st.decrypt_note.empty()) notes.push_back(st.decrypt_note);
  if (st.unauthenticated) notes.push_back(st.unauthenticated_reason);
  for (std::size_t i = 0; i < notes.size(); ++i) s.reason += (i == 0 ? "" : "; ") + notes[i];
  return s;
}

// One result class that applies, with its configured action.
struct ClassHit {
  std::string name;
  conf::InboundAction action = conf::InboundAction::deliver;
  std::string reject_status;    // 5.7.x
  std::string tempfail_status;  // 4.7.x
  std::string text;
};

int strength(conf::InboundAction a) {
  switch (a) {
    case conf::InboundAction::deliver:
      return 0;
    case conf::InboundAction::quarantine:
      return 1;
    case conf::InboundAction::tempfail:
      return 2;
    case conf::InboundAction::reject:
      return 3;
  }
  return 0;
}

std::vector<ClassHit> result_classes(const conf::Config& config, const State& st, const Summary& s) {
  const conf::InboundActions& a = config.inbound.actions;
  std::vector<ClassHit> hits;
  if (st.undecryptable)
    hits.push_back(
        {"undecryptable", a.undecryptable, "5.7.5", "4.7.5",
         "message could not be decrypted: " + st.decrypt_note.substr(st.decrypt_note.find(':') + 2)});
  if (st.unauthenticated)
    hits.push_back({"unauthenticated", a.unauthenticated, "5.7.7", "4.7.0",
                    "decrypted content is unauthenticated (CBC without a valid signature)"});
  switch (s.result) {
    case Result::fail:
      hits.push_back({"fail", a.fail, "5.7.7", "4.7.0", "S/MIME signature failed: " + s.reason});
      break;
    case Result::permerror:
      hits.push_back({"permerror", a.permerror, "5.7.1", "4.7.0", "malformed S/MIME: " + s.reason});
      break;
    case Result::temperror:
      hits.push_back(
          {"temperror", a.temperror, "5.7.1", "4.7.0", "S/MIME signature not checked: " + s.reason});
      break;
    default:
      break;
  }
  return hits;
}

void add_header(std::vector<HeaderEdit>& edits, const std::string& name, const std::string& value) {
  if (!name.empty()) edits.push_back(HeaderEdit{HeaderEdit::Kind::add, name, 1, value});
}

// The signers through the keystore's harvesting rules; failures are logged only.
void harvest_signers(const conf::Config& config, keystore::Store& store, const Message& message,
                     const State& st, const FromAddress& from, std::time_t now,
                     std::vector<std::string>& log) {
  keystore::HarvestPolicy policy;
  policy.harvest_unverified = config.inbound.harvest.unverified;
  policy.harvest_updates = config.inbound.harvest.updates;
  policy.size_limit_bytes = static_cast<std::int64_t>(config.inbound.harvest.size_limit);
  policy.warning_window = static_cast<keystore::Time>(config.inbound.harvest.warning_window.count());
  std::vector<std::string> done;  // triple wrap: the same signer usually signs both layers
  for (const Layer& l : st.layers) {
    if (!l.signer) continue;
    const std::string fp = smime::fingerprint_sha256(l.signer.get());
    if (std::find(done.begin(), done.end(), fp) != done.end()) continue;
    done.push_back(fp);
    if (!l.harvestable) {
      log.push_back("harvest=skipped layer=" + l.name + " reason=" + quoted_log(l.reason));
      continue;
    }
    keystore::HarvestInput in;
    in.signer = l.signer.get();
    for (const auto& c : l.carried) in.carried.push_back(smime::share(c.get()));
    in.signature_verified = l.status == smime::VerifyStatus::valid;
    in.from_address = from.address;
    in.message_id = message.headers.get("Message-ID");
    if (l.signing_time) in.signing_time = static_cast<keystore::Time>(*l.signing_time);
    in.capabilities = l.capabilities;
    try {
      const keystore::HarvestDecision d =
          keystore::harvest(store, in, policy, static_cast<keystore::Time>(now));
      std::string line = "harvest=" + keystore::to_string(d.outcome) +
                         " queue=" + sanitize(message.envelope.queue_id, 64) +
                         " certificate=" + d.fingerprint + " reason=" + quoted_log(d.reason);
      if (!d.evicted.empty()) line += " evicted=" + std::to_string(d.evicted.size());
      log.push_back(line);
      if (d.warning) log.push_back("warning=harvest-update reason=" + quoted_log(*d.warning));
    } catch (const std::exception& e) {
      log.push_back("harvest=error queue=" + sanitize(message.envelope.queue_id, 64) +
                    " reason=" + quoted_log(e.what()));
    }
  }
}

Verdict run(const conf::Config& config, keystore::Store& store, revocation::Checker* checker,
            const Message& message, std::time_t now, const std::vector<HeaderEdit>& forged,
            const std::string& ar_id, std::vector<std::string>& log) {
  const smime::mime::Limits limits = mime_limits(config);
  State st;
  const FromAddress from = single_from_address(message.headers);
  Content current{smime::mime::split_content_headers(message.headers).content, message.body};

  // Unwrap the layers: signatures and (once) encryption, outermost first.
  std::optional<Content> output;     // the new content of the message (after decryption)
  std::optional<Content> unwrapped;  // the signed content of the signature over `output` (or the root)
  bool current_is_output = true;
  bool decrypted_once = false;
  bool inner_signature_valid = false;  // a signature inside the encryption verified
  std::optional<std::vector<smime::X509Ptr>> anchors;
  std::vector<smime::X509Ptr> known;  // the From address's certificates in the keystore
  for (int step = 0; step < kMaxLayers; ++step) {
    Kind kind = Kind::plain;
    try {
      kind = kind_of(current, limits);
    } catch (const smime::Error& e) {
      if (e.kind() != smime::ErrorKind::bad_input) throw;
      st.smime = true;
      Layer l;
      l.name = st.layers.empty() ? "outer" : "inner";
      l.result = Result::permerror;
      l.reason = e.what();
      st.layers.push_back(std::move(l));
      log.push_back("smime=malformed reason=" + quoted_log(e.what()));
      break;
    }
    if (kind == Kind::plain) break;
    st.smime = true;
    if (kind == Kind::encrypted) {
      if (decrypted_once) {
        log.push_back("decrypt=skipped reason=\"encrypted again inside the decrypted content\"");
        break;
      }
      if (!config.inbound.decrypt) {
        st.decrypt_note = "encrypted, decryption disabled";
        log.push_back("decrypt=disabled");
        break;
      }
      decrypted_once = true;
      std::optional<Content> plain = decrypt_layer(config, store, current, st, log);
      if (!plain) break;
      output = *plain;
      current = std::move(*plain);
      current_is_output = true;
      unwrapped.reset();
      continue;
    }
    if (!config.inbound.verify) {
      log.push_back("verify=disabled");
      break;
    }
    if (!anchors) {
      anchors = keystore::trust_anchors(store);
      if (from.ok())
        for (keystore::CertRecord& r : keystore::verification_certificates(store, from.address))
          known.push_back(std::move(r.cert));
    }
    Layer layer;
    layer.name = st.layers.empty() && !decrypted_once ? "outer" : "inner";
    std::optional<Content> inner =
        verify_layer(config, *anchors, known, checker, from, current, layer, st, now, log);
    log.push_back(
        "verify layer=" + layer.name + " result=" + std::string(auth_results::to_string(layer.result)) +
        " signer=" + (layer.signer ? smime::fingerprint_sha256(layer.signer.get()) : std::string("none")) +
        " identifier=" + quoted_log(layer.identifier) + " reason=" + quoted_log(layer.reason));
    if (decrypted_once && layer.status == smime::VerifyStatus::valid) inner_signature_valid = true;
    st.layers.push_back(std::move(layer));
    if (!inner) break;
    if (current_is_output) unwrapped = *inner;
    current = std::move(*inner);
    current_is_output = false;
  }
  if (st.layers.size() == 1) st.layers.front().name = "signature";

  // A signature below the root covers part of the message only.
  if (!st.smime && config.inbound.verify) {
    const auto ct = smime::mime::ContentType::parse(message.headers.get("Content-Type"));
    if (ct.is_multipart() || ct.is("message", "*")) {
      try {
        const smime::mime::Entity root =
            smime::mime::parse_body(message.body, message.body.all(), current.headers, limits);
        if (auto part = signed_part(root, "")) {
          st.part_only = "signature covers only part " + *part;
          log.push_back("verify=part-only part=" + *part);
        }
      } catch (const smime::Error& e) {
        if (e.kind() != smime::ErrorKind::bad_input) throw;
        log.push_back("mime=malformed reason=" + quoted_log(e.what()) + " outcome=none");
      }
    }
  }

  // CBC content is malleable: without a valid inner signature it is unauthenticated (EFAIL).
  if (st.decrypted == "yes" && st.encrypted_cbc) {
    if (!inner_signature_valid) {
      st.unauthenticated = true;
      st.unauthenticated_reason = "unauthenticated: CBC encryption without a valid inner signature";
      log.push_back("decrypt=unauthenticated reason=\"CBC without a valid inner signature\"");
    }
  }

  // Remove the signature (the inner one for triple wrap): its signed content replaces the entity.
  if (config.inbound.remove_signature && unwrapped) {
    output = std::move(unwrapped);
    log.push_back("signature=removed");
  }

  const Summary s = summarise(st);
  const std::string verified = s.result == Result::pass ? "yes" : (st.layers.empty() ? "no" : "failed");

  Verdict v;
  v.header_edits = forged;
  if (output) {
    const std::vector<HeaderEdit> content = replace_content_headers(message.headers, output->headers);
    v.header_edits.insert(v.header_edits.end(), content.begin(), content.end());
    v.new_body = output->body;
  }
  add_header(v.header_edits, config.inbound.headers.smime, st.smime ? "yes" : "no");
  add_header(v.header_edits, config.inbound.headers.decrypted, st.decrypted);
  add_header(v.header_edits, config.inbound.headers.verified, verified);
  v.header_edits.push_back(HeaderEdit{HeaderEdit::Kind::insert_first, "Authentication-Results", 1,
                                      auth_results::header_value(ar_id, s.result, s.identifier, s.reason)});

  // The action: the strongest of the classes that apply; a revocation tempfail overrides.
  const std::vector<ClassHit> hits = result_classes(config, st, s);
  const ClassHit* chosen = nullptr;
  for (const ClassHit& h : hits)
    if (chosen == nullptr || strength(h.action) > strength(chosen->action)) chosen = &h;
  std::string action_name = "deliver";
  if (st.revocation_tempfail) {
    v.action = conf::Action::tempfail;
    v.reply_code = "451";
    v.reply_status = "4.7.0";
    v.reply_text = st.revocation_tempfail_reason;
    action_name = "tempfail";
  } else if (chosen != nullptr && chosen->action != conf::InboundAction::deliver) {
    action_name = std::string(conf::to_string(chosen->action));
    const std::string text = sanitize(chosen->text, 300);
    switch (chosen->action) {
      case conf::InboundAction::deliver:
        break;
      case conf::InboundAction::quarantine:
        v.quarantine = "smime-milter " + chosen->name + ": " + text;
        break;
      case conf::InboundAction::reject:
        v.action = conf::Action::reject;
        v.reply_code = "550";
        v.reply_status = chosen->reject_status;
        v.reply_text = text;
        break;
      case conf::InboundAction::tempfail:
        v.action = conf::Action::tempfail;
        v.reply_code = "451";
        v.reply_status = chosen->tempfail_status;
        v.reply_text = text;
        break;
    }
  }
  if (v.action != conf::Action::accept) {  // nothing is applied: say so plainly
    v.header_edits.clear();
    v.new_body.reset();
  }

  if (config.inbound.harvest.enabled && v.action == conf::Action::accept)
    harvest_signers(config, store, message, st, from, now, log);

  log.push_back("inbound result=" + std::string(auth_results::to_string(s.result)) +
                " smime=" + (st.smime ? "yes" : "no") + " decrypted=" + st.decrypted +
                " verified=" + verified + (st.unauthenticated ? " unauthenticated=yes" : "") + " class=" +
                (chosen != nullptr ? chosen->name : std::string("none")) + " action=" + action_name +
                (output ? " content=replaced" : " content=unchanged") + " reason=" + quoted_log(s.reason));
  v.log = std::move(log);
  return v;
}

HeaderEdit temperror_result(const std::string& ar_id, const std::string& reason) {
  return HeaderEdit{HeaderEdit::Kind::insert_first, "Authentication-Results", 1,
                    auth_results::header_value(ar_id, Result::temperror, {}, reason)};
}

}  // namespace

std::vector<HeaderEdit> unprocessed_inbound_edits(const conf::Config& config,
                                                  const smime::mime::HeaderList& headers,
                                                  const std::string& reason) {
  std::vector<std::string> ignored;
  std::vector<HeaderEdit> edits = remove_forged(config, headers, config.inbound.authserv_id, ignored);
  edits.push_back(temperror_result(config.inbound.authserv_id, reason));
  return edits;
}

Verdict process_inbound(const conf::Config& config, keystore::Store& store, revocation::Checker* revocation,
                        const Message& message, std::time_t now) {
  std::vector<std::string> log;
  const std::string& ar_id = config.inbound.authserv_id;  // conf resolves an absent one to the host name
  std::vector<HeaderEdit> forged;
  try {
    forged = remove_forged(config, message.headers, ar_id, log);
  } catch (...) {
    forged.clear();
  }
  auto fail = [&](FailureClass c, const std::string& reason) {
    Verdict v = failure_verdict(config, c, reason);
    log.insert(log.end(), v.log.begin(), v.log.end());
    v.log = std::move(log);
    if (v.action == conf::Action::accept) {  // delivered anyway: never with a forged verdict
      v.header_edits = forged;
      v.header_edits.push_back(temperror_result(ar_id, "internal error"));
    }
    return v;
  };
  try {
    return run(config, store, revocation, message, now, forged, ar_id, log);
  } catch (const keystore::Error& e) {
    return fail(e.kind() == keystore::ErrorKind::store ? FailureClass::keystore : FailureClass::internal,
                std::string("keystore: ") + e.what());
  } catch (const smime::Error& e) {
    return fail(FailureClass::internal, std::string(smime::to_string(e.kind())) + ": " + e.what());
  } catch (const std::exception& e) {
    return fail(FailureClass::internal, e.what());
  } catch (...) {
    return fail(FailureClass::internal, "unknown exception");
  }
}

}  // namespace milter
