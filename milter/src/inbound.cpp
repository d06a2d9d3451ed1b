#include "milter/inbound.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "inbound_layers.hpp"
#include "keystore/harvest.hpp"
#include "keystore/lookup.hpp"
#include "milter/auth_results.hpp"
#include "milter/entity_output.hpp"
#include "milter/failure.hpp"
#include "milter/forged_results.hpp"
#include "milter/pipeline.hpp"
#include "milter/settings.hpp"
#include "milter/signer_binding.hpp"
#include "milter/text.hpp"
#include "smime/cert.hpp"
#include "smime/error.hpp"

namespace milter {

namespace {

using auth_results::Result;
using inbound::Content;
using inbound::DecryptionLayer;
using inbound::Kind;
using inbound::SignatureLayer;
using logging::Line;

// What decryption did to the message. The simple header says yes (decrypted), failed, or no (the others).
enum class Decryption { not_encrypted, decrypted, failed, disabled };

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

// What the layers of one message held, outermost first.
struct Findings {
  bool smime = false;  // the root (or what decryption gave) was S/MIME
  std::vector<SignatureLayer> signatures;
  std::vector<DecryptionLayer> decryptions;
  bool decryption_disabled = false;
  // For each decryption, whether a signature inside it verified (EFAIL: CBC content is malleable).
  std::vector<bool> signed_inside;
  std::optional<std::string> part_only;    // "signature covers only part N"
  std::optional<std::string> unreadable;   // a layer that could not be unwrapped (beyond max_layers)
  std::optional<Content> output;           // the new content of the message (after the last decryption)
  std::optional<Content> unsigned_output;  // `output` (or the root) without the signatures inside it

  Decryption decryption() const {
    if (std::any_of(decryptions.begin(), decryptions.end(), [](const DecryptionLayer& d) { return !d.ok; }))
      return Decryption::failed;
    if (!decryptions.empty()) return Decryption::decrypted;
    return decryption_disabled ? Decryption::disabled : Decryption::not_encrypted;
  }
  bool unauthenticated() const {
    for (std::size_t i = 0; i < decryptions.size(); ++i)
      if (decryptions[i].ok && !decryptions[i].authenticated && !signed_inside[i]) return true;
    return false;
  }
  bool revocation_tempfail() const {
    return std::any_of(signatures.begin(), signatures.end(),
                       [](const SignatureLayer& l) { return l.revocation_tempfail; });
  }
};

constexpr std::string_view kUnauthenticated =
    "unauthenticated: CBC encryption without a valid inner signature";

// The overall result, the layer that decided it, and the comment.
struct Summary {
  Result result = Result::none;
  std::string identifier;
  std::string reason;
};

// The names of the signature layers: "signature" alone, "outer" / "inner" for two, "layer N" for more.
void name_layers(std::vector<SignatureLayer>& layers) {
  for (std::size_t i = 0; i < layers.size(); ++i) {
    if (layers.size() == 1)
      layers[i].name = "signature";
    else if (layers.size() == 2)
      layers[i].name = i == 0 ? "outer" : "inner";
    else
      layers[i].name = "layer " + std::to_string(i + 1);
  }
}

// The worst layer decides (the inner one on ties); when every layer verified, the From binding must hold
// on at least one of them, whose identity (the innermost such: the author's) is the identifier.
Summary summarise(const Findings& f, const FromAddress& from) {
  Summary s;
  std::vector<std::string> notes;
  if (f.signatures.empty()) {
    if (f.part_only) {
      s.result = Result::neutral;
      notes.push_back(*f.part_only);
    }
  } else {
    const SignatureLayer* decisive = nullptr;
    for (auto it = f.signatures.rbegin(); it != f.signatures.rend(); ++it)
      if (decisive == nullptr ||
          auth_results::severity(it->result) > auth_results::severity(decisive->result))
        decisive = &*it;
    s.result = decisive->result;
    s.identifier = decisive->identifier;
    const SignatureLayer* bound = nullptr;
    for (auto it = f.signatures.rbegin(); it != f.signatures.rend() && bound == nullptr; ++it)
      if (it->bound) bound = &*it;
    if (s.result == Result::pass && bound == nullptr) {
      s.result = Result::fail;
      notes.push_back(from.ok() ? "signer does not match From"
                                : "signer does not match From (" + from.problem + ")");
    } else if (s.result == Result::pass) {
      s.identifier = bound->identifier;
    }
    for (const SignatureLayer& l : f.signatures)
      notes.push_back(f.signatures.size() == 1 ? l.reason : l.name + ": " + l.reason);
    if (f.signatures.size() == 1 && s.result == Result::fail && bound == nullptr &&
        decisive->result == Result::pass)
      notes.pop_back();  // one layer, verified but not bound: "signer does not match From" says it all
  }
  if (f.unreadable) {
    s.result = std::max(s.result, Result::permerror, [](Result a, Result b) {
      return auth_results::severity(a) < auth_results::severity(b);
    });
    notes.push_back(*f.unreadable);
  }
  for (const DecryptionLayer& d : f.decryptions) notes.push_back(d.note);
  if (f.decryption_disabled) notes.emplace_back("encrypted, decryption disabled");
  if (f.unauthenticated()) notes.emplace_back(kUnauthenticated);
  for (std::size_t i = 0; i < notes.size(); ++i) s.reason += (i == 0 ? "" : "; ") + notes[i];
  return s;
}

// One result class that applies, with its configured action and the reply's comment.
struct ClassHit {
  InboundClass c;
  conf::InboundAction action = conf::InboundAction::deliver;
  std::string comment;
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

std::vector<ClassHit> result_classes(const conf::InboundActions& a, const Findings& f, const Summary& s) {
  std::vector<ClassHit> hits;
  for (const DecryptionLayer& d : f.decryptions)
    if (!d.ok) {
      hits.push_back({InboundClass::undecryptable, a.undecryptable, d.note.substr(d.note.find(':') + 2)});
      break;
    }
  if (f.unauthenticated())
    hits.push_back({InboundClass::unauthenticated, a.unauthenticated, "CBC without a valid signature"});
  switch (s.result) {
    case Result::fail:
      hits.push_back({InboundClass::fail, a.fail, s.reason});
      break;
    case Result::permerror:
      hits.push_back({InboundClass::permerror, a.permerror, s.reason});
      break;
    case Result::temperror:
      hits.push_back({InboundClass::temperror, a.temperror, s.reason});
      break;
    default:
      break;
  }
  return hits;
}

// The strongest of the classes that apply (reject > tempfail > quarantine > deliver), or null.
const ClassHit* strongest(const std::vector<ClassHit>& hits) {
  const ClassHit* chosen = nullptr;
  for (const ClassHit& h : hits)
    if (chosen == nullptr || strength(h.action) > strength(chosen->action)) chosen = &h;
  return chosen;
}

void add_header(std::vector<HeaderEdit>& edits, const std::string& name, std::string_view value) {
  if (!name.empty()) edits.push_back(HeaderEdit{HeaderEdit::Kind::add, name, 1, std::string(value)});
}

HeaderEdit temperror_result(const std::string& ar_id, const std::string& reason) {
  return HeaderEdit{HeaderEdit::Kind::insert_first, "Authentication-Results", 1,
                    auth_results::header_value(ar_id, Result::temperror, {}, reason)};
}

// One inbound message: the layers unwrapped into findings, then the action chosen, then the results
// written. The steps share the job.
class InboundRun {
 public:
  explicit InboundRun(Job& job) : job_(job), from_(single_from_address(job.message.headers)) {}
  Verdict run();

 private:
  void unwrap();
  bool decrypt_one(Content& current, const smime::mime::Entity* parsed);
  bool verify_one(Content& current, const smime::mime::Entity* parsed);
  void note_layer(const SignatureLayer& layer);
  void find_part_only(const Content& root);
  void remove_signatures();
  Verdict write_results(const Summary& s);
  std::string choose_action(const Summary& s, Verdict& v);
  void harvest_signers();

  Job& job_;
  const FromAddress from_;
  Findings found_;
  std::vector<smime::X509Ptr> known_;  // the From address's certificates in the keystore
  bool known_loaded_ = false;
};

// One line per signature layer, once the layers have their names.
void InboundRun::note_layer(const SignatureLayer& layer) {
  const bool has_signer = !layer.signers.empty() && layer.signers.front().cert;
  job_.note(
      Line("verify")
          .add("layer", layer.name)
          .add("result", auth_results::to_string(layer.result))
          .add("signer", has_signer ? smime::fingerprint_sha256(layer.signers.front().cert.get()) : "none")
          .add("signers", layer.signers.size())
          .add("identifier", layer.identifier)
          .add("bound", layer.bound)
          .add("reason", layer.reason));
}

// Unwraps every layer, outermost first, up to inbound.max_layers: each signature is verified, each
// encryption decrypted; a layer that cannot be unwrapped ends the walk and is reported as such.
void InboundRun::unwrap() {
  const conf::Config& config = job_.config;
  const smime::mime::Limits limits = settings::mime_limits(config);
  Content current{smime::mime::split_content_headers(job_.message.headers).content, job_.message.body};
  found_.unsigned_output = current;
  for (unsigned depth = 0;; ++depth) {
    const inbound::KindOf k = inbound::kind_of(current, limits);
    if (k.kind == Kind::plain) break;
    found_.smime = true;
    if (depth == config.inbound.max_layers) {
      found_.unreadable = "more than " + std::to_string(config.inbound.max_layers) +
                          " S/MIME layers (inbound.max_layers): the rest is not unwrapped";
      job_.note(Line().add("smime", "too-deep").add("max_layers", config.inbound.max_layers));
      break;
    }
    if (k.kind == Kind::malformed) {
      SignatureLayer l;
      l.result = Result::permerror;
      l.reason = k.reason;
      found_.signatures.push_back(std::move(l));
      job_.note(Line().add("smime", "malformed").add("reason", k.reason));
      break;
    }
    if (k.kind == Kind::encrypted) {
      if (!config.inbound.decrypt) {
        found_.decryption_disabled = true;
        job_.note(Line().add("decrypt", "disabled"));
        break;
      }
      if (!decrypt_one(current, k.entity ? &*k.entity : nullptr)) break;
      continue;
    }
    if (!config.inbound.verify) {
      job_.note(Line().add("verify", "disabled"));
      break;
    }
    if (!verify_one(current, k.entity ? &*k.entity : nullptr)) break;
  }
  name_layers(found_.signatures);
  for (const SignatureLayer& layer : found_.signatures) note_layer(layer);
  if (!found_.smime && config.inbound.verify) find_part_only(current);
}

// Decrypts the layer `current` and moves on to what it held. False when it could not be decrypted.
bool InboundRun::decrypt_one(Content& current, const smime::mime::Entity* parsed) {
  DecryptionLayer d;
  std::optional<Content> plain = inbound::decrypt_layer(job_, current, parsed, d);
  found_.decryptions.push_back(d);
  found_.signed_inside.push_back(false);
  if (!plain) return false;
  found_.output = *plain;
  found_.unsigned_output = *plain;
  current = std::move(*plain);
  return true;
}

// Verifies the signature layer `current` and moves on to its signed content. False when there is none.
bool InboundRun::verify_one(Content& current, const smime::mime::Entity* parsed) {
  if (!known_loaded_) {
    known_loaded_ = true;
    if (from_.ok())
      for (keystore::CertRecord& r : keystore::verification_certificates(job_.store, from_.address))
        known_.push_back(std::move(r.cert));
  }
  SignatureLayer layer;
  const inbound::VerifyContext ctx{job_.trust_anchors(), known_, from_};
  std::optional<Content> inner = inbound::verify_layer(job_, ctx, current, parsed, layer);
  // A valid signature inside every decryption so far authenticates its content.
  if (layer.status == smime::VerifyStatus::valid)
    std::fill(found_.signed_inside.begin(), found_.signed_inside.end(), true);
  found_.signatures.push_back(std::move(layer));
  if (!inner) return false;
  found_.unsigned_output = *inner;
  current = std::move(*inner);
  return true;
}

// A signature below the root covers part of the message only.
void InboundRun::find_part_only(const Content& root) {
  const auto ct = smime::mime::ContentType::parse(job_.message.headers.get("Content-Type"));
  if (!ct.is_multipart() && !ct.is("message", "*")) return;
  try {
    const smime::mime::Entity e = smime::mime::parse_body(job_.message.body, job_.message.body.all(),
                                                          root.headers, settings::mime_limits(job_.config));
    if (auto part = inbound::signed_part(job_.message.body, e)) {
      found_.part_only = "signature covers only part " + *part;
      job_.note(Line().add("verify", "part-only").add("part", *part));
    }
  } catch (const smime::Error& e) {
    if (e.kind() != smime::ErrorKind::bad_input) throw;
    job_.note(Line().add("mime", "malformed").add("reason", e.what()).add("outcome", "none"));
  }
}

// inbound.remove_signature, after a pass only (otherwise the recipient must be able to check it): the
// content inside the signatures (those below the last decryption) replaces the message's.
void InboundRun::remove_signatures() {
  found_.output = std::move(found_.unsigned_output);
  job_.note(Line().add("signature", "removed"));
}

// The header edits and new content: forged results removed, the content replaced, our results added.
Verdict InboundRun::write_results(const Summary& s) {
  const conf::Config& config = job_.config;
  std::vector<Line> removed;
  Verdict v;
  v.header_edits = forged_result_edits(config, job_.message.headers, &removed);
  for (const Line& l : removed) job_.note(l);
  if (found_.output) {
    const std::vector<HeaderEdit> content =
        replace_content_headers(job_.message.headers, found_.output->headers);
    v.header_edits.insert(v.header_edits.end(), content.begin(), content.end());
    v.new_body = found_.output->body;
  }
  const std::string_view verified =
      s.result == Result::pass ? "yes" : (found_.signatures.empty() ? "no" : "failed");
  add_header(v.header_edits, config.inbound.headers.smime, found_.smime ? "yes" : "no");
  add_header(v.header_edits, config.inbound.headers.decrypted, header_value(found_.decryption()));
  add_header(v.header_edits, config.inbound.headers.verified, verified);
  v.header_edits.push_back(
      HeaderEdit{HeaderEdit::Kind::insert_first, "Authentication-Results", 1,
                 auth_results::header_value(config.inbound.authserv_id, s.result, s.identifier, s.reason)});
  return v;
}

// The action: the strongest of the classes that apply; a revocation tempfail overrides. With reject or
// tempfail nothing is applied, so the verdict loses its changes. Returns the class name for the log.
std::string InboundRun::choose_action(const Summary& s, Verdict& v) {
  const std::vector<ClassHit> hits = result_classes(job_.config.inbound.actions, found_, s);
  const ClassHit* chosen = strongest(hits);
  if (found_.revocation_tempfail()) {
    v.action = conf::Action::tempfail;
    v.reply = failure_reply(conf::Action::tempfail, FailureClass::revocation, {}, job_.queue_id());
  } else if (chosen != nullptr) {
    const std::string comment = printable(chosen->comment, 300);
    switch (chosen->action) {
      case conf::InboundAction::deliver:
        break;
      case conf::InboundAction::quarantine:
        v.quarantine = "smime-milter " + std::string(to_string(chosen->c)) + ": " +
                       std::string(inbound_text(chosen->c)) + ": " + comment;
        break;
      case conf::InboundAction::reject:
        v.action = conf::Action::reject;
        break;
      case conf::InboundAction::tempfail:
        v.action = conf::Action::tempfail;
        break;
    }
    v.reply = inbound_reply(chosen->action, chosen->c, comment, job_.queue_id());
  }
  if (v.action != conf::Action::accept) {  // nothing is applied: say so plainly
    v.header_edits.clear();
    v.new_body.reset();
  }
  return chosen != nullptr ? std::string(to_string(chosen->c)) : std::string("none");
}

// Every signer through the keystore's harvesting rules, once per certificate (its best copy: a verified
// one over one that failed); failures are logged only.
void InboundRun::harvest_signers() {
  const keystore::HarvestPolicy policy = settings::harvest_policy(job_.config.inbound.harvest);
  struct Candidate {
    const inbound::SignerFinding* signer;
    const SignatureLayer* layer;
  };
  std::vector<std::pair<std::string, Candidate>> best;
  for (const SignatureLayer& l : found_.signatures)
    for (const inbound::SignerFinding& s : l.signers) {
      if (!s.cert) continue;
      const std::string fp = smime::fingerprint_sha256(s.cert.get());
      auto it = std::find_if(best.begin(), best.end(), [&](const auto& b) { return b.first == fp; });
      if (it == best.end())
        best.emplace_back(fp, Candidate{&s, &l});
      else if (s.status == smime::VerifyStatus::valid &&
               it->second.signer->status != smime::VerifyStatus::valid)
        it->second = Candidate{&s, &l};
    }
  for (const auto& [fp, c] : best) {
    if (c.signer->revoked_or_undetermined) {
      job_.note(Line().add("harvest", "skipped").add("certificate", fp).add("reason", c.layer->reason));
      continue;
    }
    if (!job_.side_effects) {
      job_.note(Line().add("harvest", "skipped").add("certificate", fp).add("reason", "dry run"));
      continue;
    }
    keystore::HarvestInput in;
    in.signer = c.signer->cert.get();
    for (const auto& x : c.layer->carried) in.carried.push_back(smime::share(x.get()));
    in.signature_verified = c.signer->status == smime::VerifyStatus::valid;
    in.from_address = from_.address;
    in.message_id = job_.message.headers.get("Message-ID");
    if (c.signer->signing_time) in.signing_time = static_cast<keystore::Time>(*c.signer->signing_time);
    in.capabilities = c.signer->capabilities;
    in.trust_store = job_.trust_store();  // the anchors verification used, prepared once per generation
    try {
      const keystore::HarvestDecision d = keystore::harvest(job_.store, in, policy, job_.time());
      Line line;
      line.add("harvest", keystore::to_string(d.outcome))
          .add("queue", job_.queue_id())
          .add("certificate", d.fingerprint)
          .add("reason", d.reason);
      if (!d.evicted.empty()) line.add("evicted", d.evicted.size());
      job_.note(line);
      if (d.warning) job_.warn(Line().add("warning", "harvest-update").add("reason", *d.warning));
    } catch (const std::exception& e) {
      job_.warn(Line().add("harvest", "error").add("queue", job_.queue_id()).add("reason", e.what()));
    }
  }
}

Verdict InboundRun::run() {
  unwrap();
  if (found_.unauthenticated())
    job_.note(Line().add("decrypt", "unauthenticated").add("reason", "CBC without a valid inner signature"));
  Summary s = summarise(found_, from_);
  if (job_.config.inbound.remove_signature && !found_.signatures.empty()) {
    if (s.result == Result::pass) {
      remove_signatures();
    } else {
      job_.note(Line().add("signature", "kept").add("reason", "not a pass"));
    }
  }
  Verdict v = write_results(s);
  const std::string class_name = choose_action(s, v);
  if (job_.config.inbound.harvest.enabled && v.action == conf::Action::accept) harvest_signers();

  const std::string_view verified =
      s.result == Result::pass ? "yes" : (found_.signatures.empty() ? "no" : "failed");
  std::string_view action = "deliver";
  if (v.action == conf::Action::tempfail) action = "tempfail";
  if (v.action == conf::Action::reject) action = "reject";
  if (v.quarantine) action = "quarantine";
  Line summary("inbound");
  summary.add("result", auth_results::to_string(s.result))
      .add("smime", found_.smime)
      .add("decrypted", header_value(found_.decryption()))
      .add("verified", verified)
      .add("layers", found_.signatures.size() + found_.decryptions.size());
  if (found_.unauthenticated()) summary.add("unauthenticated", true);
  summary.add("class", class_name)
      .add("action", action)
      .add("content", found_.output ? "replaced" : "unchanged")
      .add("reason", s.reason);
  job_.note(summary);
  return v;
}

}  // namespace

std::vector<HeaderEdit> unprocessed_inbound_edits(const conf::Config& config,
                                                  const smime::mime::HeaderList& headers,
                                                  const std::string& reason) {
  std::vector<HeaderEdit> edits = forged_result_edits(config, headers, nullptr);
  edits.push_back(temperror_result(config.inbound.authserv_id, reason));
  return edits;
}

Verdict process_inbound(Job& job) { return InboundRun(job).run(); }

Verdict process_inbound(const conf::Config& config, keystore::Store& store, revocation::Checker* revocation,
                        const Message& message, std::time_t now) {
  Job job(config, store, revocation, message, now);
  return guarded(job, [](Job& j) { return process_inbound(j); });
}

}  // namespace milter
