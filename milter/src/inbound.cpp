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
using inbound::Decryption;
using inbound::Kind;
using inbound::SignatureLayer;
using logging::Line;

// At most this many S/MIME layers are unwrapped (triple wrap: signature, encryption, signature).
constexpr int kMaxLayers = 3;

// What the layers of one message held.
struct Findings {
  bool smime = false;  // the root (or what decryption gave) was S/MIME
  inbound::DecryptionFinding decryption;
  bool inner_signature_valid = false;    // a signature inside the encryption verified
  std::optional<std::string> part_only;  // "signature covers only part N"
  std::vector<SignatureLayer> layers;
  std::optional<Content> output;     // the new content of the message (after decryption)
  std::optional<Content> unwrapped;  // the signed content of the signature over `output` (or the root)

  // CBC content is malleable: without a valid inner signature it is unauthenticated (EFAIL).
  bool unauthenticated() const {
    return decryption.state == Decryption::decrypted && !decryption.authenticated && !inner_signature_valid;
  }
  bool revocation_tempfail() const {
    return std::any_of(layers.begin(), layers.end(),
                       [](const SignatureLayer& l) { return l.revocation_tempfail; });
  }
};

constexpr std::string_view kUnauthenticated =
    "unauthenticated: CBC encryption without a valid inner signature";

// The overall result, the layer that decided it (inner one on ties), and the comment.
struct Summary {
  Result result = Result::none;
  std::string identifier;
  std::string reason;
};

Summary summarise(const Findings& f) {
  Summary s;
  std::vector<std::string> notes;
  if (f.layers.empty()) {
    if (f.part_only) {
      s.result = Result::neutral;
      notes.push_back(*f.part_only);
    }
  } else {
    const SignatureLayer* decisive = nullptr;
    for (auto it = f.layers.rbegin(); it != f.layers.rend(); ++it)
      if (decisive == nullptr ||
          auth_results::severity(it->result) > auth_results::severity(decisive->result))
        decisive = &*it;
    s.result = decisive->result;
    s.identifier = decisive->identifier;
    for (const SignatureLayer& l : f.layers)
      notes.push_back(f.layers.size() == 1 ? l.reason : l.name + ": " + l.reason);
  }
  if (!f.decryption.note.empty()) notes.push_back(f.decryption.note);
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
  if (f.decryption.state == Decryption::failed)
    hits.push_back({InboundClass::undecryptable, a.undecryptable,
                    f.decryption.note.substr(f.decryption.note.find(':') + 2)});
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

// Header edits that delete every forged copy of our result headers (highest index first per name);
// `removed` gets a log line per header name found.
std::vector<HeaderEdit> forged_result_edits(const conf::Config& config,
                                            const smime::mime::HeaderList& headers,
                                            std::vector<Line>* removed) {
  std::vector<HeaderEdit> edits;
  // Authentication-Results: only those carrying our authserv-id.
  std::vector<int> ours;
  int index = 0;
  std::string ar_name = "Authentication-Results";
  for (const auto& h : headers.items) {
    if (!conf::iequals(h.name, "Authentication-Results")) continue;
    ++index;
    if (auth_results::is_ours(h.unfolded(), config.inbound.authserv_id)) {
      ours.push_back(index);
      ar_name = h.name;
    }
  }
  for (auto it = ours.rbegin(); it != ours.rend(); ++it)
    edits.push_back(HeaderEdit{HeaderEdit::Kind::change, ar_name, *it, {}});
  if (!ours.empty() && removed != nullptr)
    removed->push_back(
        Line("removed-forged").add("header", "Authentication-Results").add("count", ours.size()));
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
    if (count > 0 && removed != nullptr)
      removed->push_back(Line("removed-forged").add("header", name).add("count", count));
  }
  return edits;
}

// One inbound message: the layers unwrapped into findings, then the action chosen, then the results
// written. The steps share the job.
class InboundRun {
 public:
  explicit InboundRun(Job& job) : job_(job), from_(single_from_address(job.message.headers)) {}
  Verdict run();

 private:
  void unwrap();
  bool verify_one(Content& current, bool& current_is_output);
  void find_part_only(const Content& root);
  Verdict write_results(const Summary& s);
  std::string choose_action(const Summary& s, Verdict& v);
  void harvest_signers();

  Job& job_;
  const FromAddress from_;
  Findings found_;
  std::vector<smime::X509Ptr> known_;  // the From address's certificates in the keystore
  bool known_loaded_ = false;
};

// Unwraps the layers: signatures and (once) encryption, outermost first.
void InboundRun::unwrap() {
  const conf::Config& config = job_.config;
  const smime::mime::Limits limits = settings::mime_limits(config);
  Content current{smime::mime::split_content_headers(job_.message.headers).content, job_.message.body};
  bool current_is_output = true;
  for (int step = 0; step < kMaxLayers; ++step) {
    Kind kind = Kind::plain;
    try {
      kind = inbound::kind_of(current, limits);
    } catch (const smime::Error& e) {
      if (e.kind() != smime::ErrorKind::bad_input) throw;
      found_.smime = true;
      SignatureLayer l;
      l.name = found_.layers.empty() ? "outer" : "inner";
      l.result = Result::permerror;
      l.reason = e.what();
      found_.layers.push_back(std::move(l));
      job_.note(Line().add("smime", "malformed").add("reason", e.what()));
      break;
    }
    if (kind == Kind::plain) break;
    found_.smime = true;
    if (kind == Kind::encrypted) {
      if (found_.decryption.state != Decryption::not_encrypted) {
        job_.note(
            Line().add("decrypt", "skipped").add("reason", "encrypted again inside the decrypted content"));
        break;
      }
      if (!config.inbound.decrypt) {
        found_.decryption.state = Decryption::disabled;
        found_.decryption.note = "encrypted, decryption disabled";
        job_.note(Line().add("decrypt", "disabled"));
        break;
      }
      std::optional<Content> plain = inbound::decrypt_layer(job_, current, found_.decryption);
      if (!plain) break;
      found_.output = *plain;
      current = std::move(*plain);
      current_is_output = true;
      found_.unwrapped.reset();
      continue;
    }
    if (!config.inbound.verify) {
      job_.note(Line().add("verify", "disabled"));
      break;
    }
    if (!verify_one(current, current_is_output)) break;
  }
  if (found_.layers.size() == 1) found_.layers.front().name = "signature";
  if (!found_.smime && config.inbound.verify) find_part_only(current);
}

// Verifies the signature layer `current`; moves on to its signed content. False when there is none.
bool InboundRun::verify_one(Content& current, bool& current_is_output) {
  if (!known_loaded_) {
    known_loaded_ = true;
    if (from_.ok())
      for (keystore::CertRecord& r : keystore::verification_certificates(job_.store, from_.address))
        known_.push_back(std::move(r.cert));
  }
  const bool inside_encryption = found_.decryption.state == Decryption::decrypted;
  SignatureLayer layer;
  layer.name = found_.layers.empty() && !inside_encryption ? "outer" : "inner";
  const inbound::VerifyContext ctx{job_.trust_anchors(), known_, from_};
  std::optional<Content> inner = inbound::verify_layer(job_, ctx, current, layer);
  job_.note(
      Line("verify")
          .add("layer", layer.name)
          .add("result", auth_results::to_string(layer.result))
          .add("signer", layer.signer ? smime::fingerprint_sha256(layer.signer.get()) : std::string("none"))
          .add("identifier", layer.identifier)
          .add("reason", layer.reason));
  if (inside_encryption && layer.status == smime::VerifyStatus::valid) found_.inner_signature_valid = true;
  found_.layers.push_back(std::move(layer));
  if (!inner) return false;
  if (current_is_output) found_.unwrapped = *inner;
  current = std::move(*inner);
  current_is_output = false;
  return true;
}

// A signature below the root covers part of the message only.
void InboundRun::find_part_only(const Content& root) {
  const auto ct = smime::mime::ContentType::parse(job_.message.headers.get("Content-Type"));
  if (!ct.is_multipart() && !ct.is("message", "*")) return;
  try {
    const smime::mime::Entity e = smime::mime::parse_body(job_.message.body, job_.message.body.all(),
                                                          root.headers, settings::mime_limits(job_.config));
    if (auto part = inbound::signed_part(e)) {
      found_.part_only = "signature covers only part " + *part;
      job_.note(Line().add("verify", "part-only").add("part", *part));
    }
  } catch (const smime::Error& e) {
    if (e.kind() != smime::ErrorKind::bad_input) throw;
    job_.note(Line().add("mime", "malformed").add("reason", e.what()).add("outcome", "none"));
  }
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
      s.result == Result::pass ? "yes" : (found_.layers.empty() ? "no" : "failed");
  add_header(v.header_edits, config.inbound.headers.smime, found_.smime ? "yes" : "no");
  add_header(v.header_edits, config.inbound.headers.decrypted,
             inbound::header_value(found_.decryption.state));
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
        v.quarantine = "smime-milter " + std::string(to_string(chosen->c)) + ": " + comment;
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

// The signers through the keystore's harvesting rules; failures are logged only.
void InboundRun::harvest_signers() {
  const keystore::HarvestPolicy policy = settings::harvest_policy(job_.config.inbound.harvest);
  std::vector<std::string> done;  // triple wrap: the same signer usually signs both layers
  for (const SignatureLayer& l : found_.layers) {
    if (!l.signer) continue;
    const std::string fp = smime::fingerprint_sha256(l.signer.get());
    if (std::find(done.begin(), done.end(), fp) != done.end()) continue;
    done.push_back(fp);
    if (!l.harvestable) {
      job_.note(Line().add("harvest", "skipped").add("layer", l.name).add("reason", l.reason));
      continue;
    }
    if (!job_.side_effects) {
      job_.note(Line().add("harvest", "skipped").add("layer", l.name).add("reason", "dry run"));
      continue;
    }
    keystore::HarvestInput in;
    in.signer = l.signer.get();
    for (const auto& c : l.carried) in.carried.push_back(smime::share(c.get()));
    in.signature_verified = l.status == smime::VerifyStatus::valid;
    in.from_address = from_.address;
    in.message_id = job_.message.headers.get("Message-ID");
    if (l.signing_time) in.signing_time = static_cast<keystore::Time>(*l.signing_time);
    in.capabilities = l.capabilities;
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
  // Remove the signature (the inner one for triple wrap): its signed content replaces the entity.
  if (job_.config.inbound.remove_signature && found_.unwrapped) {
    found_.output = std::move(found_.unwrapped);
    job_.note(Line().add("signature", "removed"));
  }
  const Summary s = summarise(found_);
  Verdict v = write_results(s);
  const std::string class_name = choose_action(s, v);
  if (job_.config.inbound.harvest.enabled && v.action == conf::Action::accept) harvest_signers();

  const std::string_view verified =
      s.result == Result::pass ? "yes" : (found_.layers.empty() ? "no" : "failed");
  std::string_view action = "deliver";
  if (v.action == conf::Action::tempfail) action = "tempfail";
  if (v.action == conf::Action::reject) action = "reject";
  if (v.quarantine) action = "quarantine";
  Line summary("inbound");
  summary.add("result", auth_results::to_string(s.result))
      .add("smime", found_.smime)
      .add("decrypted", inbound::header_value(found_.decryption.state))
      .add("verified", verified);
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
