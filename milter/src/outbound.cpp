#include "milter/outbound.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "keystore/error.hpp"
#include "keystore/identity.hpp"
#include "keystore/lookup.hpp"
#include "milter/entity_output.hpp"
#include "milter/failure.hpp"
#include "milter/forged_results.hpp"
#include "milter/pipeline.hpp"
#include "milter/policy.hpp"
#include "milter/revocation_service.hpp"
#include "milter/settings.hpp"
#include "milter/signer_binding.hpp"
#include "milter/text.hpp"
#include "smime/cert.hpp"
#include "smime/classify.hpp"
#include "smime/encrypt.hpp"
#include "smime/error.hpp"
#include "smime/sign.hpp"

namespace milter {

namespace {

using logging::Line;

// The sender has no signing identity at all (no certificate names its address or domain): a signing
// failure unless the profile lets such mail pass unsigned. An identity that exists but cannot be used
// (expired, unfit, locked key) is always a signing failure: the administrator must mend it.
class MissingIdentity : public Failure {
 public:
  explicit MissingIdentity(const std::string& why) : Failure(FailureClass::signing, why) {}
};

// Recipients named in a reply text at most (the rest are counted).
constexpr std::size_t kMaxNamedRecipients = 10;

std::string join(const std::vector<std::string>& items, std::string_view sep, std::size_t max_items) {
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < max_items; ++i) {
    if (i != 0) out += sep;
    out += items[i];
  }
  if (items.size() > max_items) out += " and " + std::to_string(items.size() - max_items) + " more";
  return out;
}

std::string plural(std::size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// A certificate used, for the last-use bookkeeping.
struct Use {
  std::string fingerprint;
  std::optional<keystore::Time> last_used;
};

struct Signer {
  smime::SigningIdentity identity;
  Use use;
  std::string label;  // the address or domain the certificate names, for the trace header
};

// One envelope recipient and the certificate chosen for it, if any.
struct RecipientChoice {
  std::string address;
  std::optional<keystore::CertRecord> certificate;  // none: not encrypted to (missing)
  std::string refusal;                              // why a found certificate was not used
  bool fail_open = false;                           // used although its revocation status is undetermined

  // For the reply and the bounce: "a@b", or "a@b (certificate revoked)".
  std::string label() const { return refusal.empty() ? address : address + " (" + refusal + ")"; }
};

// The recipients of a message, in envelope order.
struct RecipientPlan {
  std::vector<RecipientChoice> choices;

  std::size_t covered() const {
    return static_cast<std::size_t>(std::count_if(
        choices.begin(), choices.end(), [](const RecipientChoice& c) { return c.certificate.has_value(); }));
  }
  std::size_t missing() const { return choices.size() - covered(); }
  std::size_t fail_open() const {
    return static_cast<std::size_t>(
        std::count_if(choices.begin(), choices.end(), [](const RecipientChoice& c) { return c.fail_open; }));
  }
  std::vector<std::string> missing_addresses() const {
    std::vector<std::string> out;
    for (const auto& c : choices)
      if (!c.certificate) out.push_back(c.address);
    return out;
  }
  std::vector<std::string> missing_labels() const {
    std::vector<std::string> out;
    for (const auto& c : choices)
      if (!c.certificate) out.push_back(c.label());
    return out;
  }
  // One RecipientInfo per distinct certificate.
  std::vector<smime::Recipient> recipients(smime::RsaKeyTransport padding) const {
    std::vector<smime::Recipient> out;
    std::vector<std::string> seen;
    for (const auto& c : choices) {
      if (!c.certificate ||
          std::find(seen.begin(), seen.end(), c.certificate->facts.fingerprint) != seen.end())
        continue;
      seen.push_back(c.certificate->facts.fingerprint);
      out.push_back(
          smime::Recipient{smime::share(c.certificate->cert.get()), padding, c.certificate->capabilities});
    }
    return out;
  }
  std::vector<Use> uses() const {
    std::vector<Use> out;
    for (const auto& c : choices) {
      if (!c.certificate) continue;
      const std::string& fp = c.certificate->facts.fingerprint;
      if (std::none_of(out.begin(), out.end(), [&](const Use& u) { return u.fingerprint == fp; }))
        out.push_back({fp, c.certificate->last_used});
    }
    return out;
  }
};

// What recipients without a certificate mean under the profile.
struct Coverage {
  bool encrypt = true;
  bool split = false;
  bool discard = false;
};

// The header edits that turn the original header into the new one: the Content-* fields replaced and
// MIME-Version set (entity_output.hpp), and our trace header added. (Copies of our headers the message
// already carried are deleted by forged_result_edits, for every verdict.)
std::vector<HeaderEdit> header_edits(const conf::Config& config, const smime::mime::HeaderList& original,
                                     const smime::mime::HeaderList& new_content, const std::string& trace) {
  std::vector<HeaderEdit> edits = replace_content_headers(original, new_content);
  if (!config.trace_header.empty() && !trace.empty())
    edits.push_back(HeaderEdit{HeaderEdit::Kind::add, config.trace_header, 1, printable(trace)});
  return edits;
}

// The whole split copy: routing headers, MIME-Version, the new Content-* fields, the trace header, body.
smime::Source whole_message(const conf::Config& config, const smime::mime::HeaderList& outer,
                            const smime::mime::HeaderList& content, const std::string& trace,
                            const smime::Source& body) {
  Output out(config, body.size());
  smime::mime::HeaderList h = outer;
  h.remove_all("MIME-Version");
  if (!config.trace_header.empty()) h.remove_all(config.trace_header);
  h.add("MIME-Version", "1.0");
  for (const auto& c : content.items) h.items.push_back(c);
  if (!config.trace_header.empty() && !trace.empty()) h.add(config.trace_header, printable(trace));
  smime::mime::write_headers(h, out.sink());
  out.sink().write("\r\n");
  smime::copy(body, body.all(), out.sink());
  return out.finish();
}

// One outbound message under one profile: the steps share the job and the profile.
class OutboundRun {
 public:
  OutboundRun(Job& job, const conf::Profile& profile) : job_(job), profile_(profile) {}
  Verdict run();

 private:
  Verdict protect();
  std::optional<smime::ProtectionLevel> existing_protection(const smime::mime::Entity& content);
  std::optional<Signer> load_signer();
  Use signer_use(std::string& label);
  RecipientPlan resolve_recipients();
  void check_revocation(RecipientChoice& choice);
  Coverage apply_missing_policy(const RecipientPlan& plan);
  std::string trace_text(const std::string& sign_text, const std::optional<smime::Cipher>& cipher,
                         const RecipientPlan& plan) const;
  void mark_used(const std::vector<Use>& uses);

  Job& job_;
  const conf::Profile& profile_;
};

// The signing certificate the profile names for this message (fingerprint, last use), and its label
// from the keystore's facts (no certificate decoded per message).
Use OutboundRun::signer_use(std::string& label) {
  const conf::SignerChoice& wanted = profile_.signing_identity;
  if (wanted.kind == conf::SignerChoice::Kind::fingerprint) {
    std::optional<keystore::CertRecord> rec = job_.store.find(wanted.fingerprint);
    if (!rec)
      throw Failure(FailureClass::signing,
                    "signing certificate " + wanted.fingerprint + " not in the keystore");
    if (!rec->has_private_key)
      throw Failure(FailureClass::signing,
                    "signing certificate " + wanted.fingerprint + " has no private key");
    keystore::Check c =
        keystore::check_validity(rec->facts, job_.time());  // a fingerprint: looked up each time
    if (c.ok()) c = keystore::check_purpose(rec->facts, keystore::Purpose::sign);
    if (!c.ok())
      throw Failure(FailureClass::signing, "signing certificate " + wanted.fingerprint + ": " + c.reason);
    job_.note(Line().add("signer", rec->facts.fingerprint).add("by", "fingerprint"));
    label = certificate_label(rec->facts);
    return Use{rec->facts.fingerprint, rec->last_used};
  }
  const std::string sender = policy_sender(job_.message);
  const bool by_domain = wanted.kind == conf::SignerChoice::Kind::sender_domain;
  const std::string key = by_domain ? keystore::domain_of(sender) : sender;
  if (key.empty() || (!by_domain && sender.find('@') == std::string::npos))
    throw MissingIdentity("no sender address to choose a signing identity by");
  const std::shared_ptr<const KeyCache::Choice> choice = job_.signing_choice(key);
  const keystore::LookupResult& r = choice->lookup;
  if (!r.found() && r.candidates.empty()) throw MissingIdentity("no signing identity for " + key);
  if (!r.found()) throw Failure(FailureClass::signing, "cannot sign for " + key + ": " + r.explanation);
  if (!by_domain && r.match != keystore::Match::email)
    throw Failure(FailureClass::signing, "cannot sign for " + key +
                                             ": no gateway certificate names this address (only a " +
                                             keystore::to_string(r.match) + " certificate)");
  job_.note(Line()
                .add("signer", r.chosen->facts.fingerprint)
                .add("by", by_domain ? "sender-domain" : "sender-address")
                .add("key", key)
                .add("match", keystore::to_string(r.match)));
  label = certificate_label(r.chosen->facts);
  return Use{r.chosen->facts.fingerprint, r.chosen->last_used};
}

// The signing identity; none when the sender has none and the profile lets such mail pass unsigned
// (missing_identity "pass", as OpenDKIM passes mail that no SigningTable entry matches).
std::optional<Signer> OutboundRun::load_signer() {
  Signer s;
  try {
    s.use = signer_use(s.label);
  } catch (const MissingIdentity& m) {
    if (profile_.missing_identity != conf::MissingIdentity::pass) throw;
    job_.warn(Line().add("signing", "skipped").add("reason", m.what()).add("missing_identity", "pass"));
    return std::nullopt;
  }
  std::shared_ptr<const keystore::Identity> id;
  try {
    id = job_.identity(s.use.fingerprint);
  } catch (const keystore::Error& e) {
    if (e.kind() == keystore::ErrorKind::store) throw;
    throw Failure(FailureClass::signing,
                  "cannot load the signing key " + s.use.fingerprint + ": " + e.what());
  } catch (const smime::Error& e) {
    throw Failure(FailureClass::signing,
                  "cannot load the signing key " + s.use.fingerprint + ": " + e.what());
  }
  // Shared references to the cached objects: the same key object signs every message.
  s.identity.cert = smime::share(id->cert.get());
  s.identity.key = smime::share(id->key.get());
  for (const smime::X509Ptr& c : id->chain) s.identity.chain.push_back(smime::share(c.get()));
  return s;
}

// Revocation of a recipient's chosen certificate: a refused one is dropped from the choice (the
// recipient is missing), a fail-open one marked; a tempfail decision throws (the whole message waits).
void OutboundRun::check_revocation(RecipientChoice& choice) {
  X509* cert = choice.certificate->cert.get();
  const revocation::Decision d =
      revocation::decide(settings::revocation_policy(job_.config.revocation), revocation::Operation::encrypt,
                         *job_.checker, cert, job_.trust_anchors(), job_.now);
  job_.note(revocation_line(revocation::Operation::encrypt, choice.address, cert, d));
  switch (d.use) {
    case revocation::Use::use:
      return;
    case revocation::Use::use_fail_open:
      choice.fail_open = true;
      job_.warn(Line().add("warning", "revocation-fail-open").add("recipient", choice.address));
      return;
    case revocation::Use::refuse_revoked:
      choice.refusal = "certificate revoked";
      break;
    case revocation::Use::refuse_undetermined:
      choice.refusal = "revocation undetermined";
      break;
    case revocation::Use::tempfail:
      throw Failure(FailureClass::revocation,
                    "revocation status of the certificate of " + choice.address + " could not be determined",
                    printable(choice.address, 200));
  }
  job_.note(Line()
                .add("recipient", choice.address)
                .add("certificate", choice.certificate->facts.fingerprint)
                .add("refused", choice.refusal));
  choice.certificate.reset();
}

RecipientPlan OutboundRun::resolve_recipients() {
  RecipientPlan plan;
  for (const std::string& rcpt : job_.message.envelope.recipients) {
    RecipientChoice choice{rcpt, std::nullopt, {}, false};
    keystore::LookupResult r = keystore::encryption_certificate(job_.store, rcpt, job_.time());
    if (!r.found()) {
      job_.note(Line().add("recipient", rcpt).add("certificate", "none").add("why", r.explanation));
      plan.choices.push_back(std::move(choice));
      continue;
    }
    choice.certificate = std::move(r.chosen);
    if (job_.checker != nullptr) check_revocation(choice);
    if (choice.certificate)
      job_.note(Line()
                    .add("recipient", rcpt)
                    .add("certificate", choice.certificate->facts.fingerprint)
                    .add("match", keystore::to_string(r.match))
                    .add("capabilities", choice.certificate->capabilities.present ? "stored" : "unknown"));
    plan.choices.push_back(std::move(choice));
  }
  return plan;
}

// Bounce throws (no_certificate); drop discards; split and plain say whether to encrypt and to split.
Coverage OutboundRun::apply_missing_policy(const RecipientPlan& plan) {
  Coverage c;
  // An MTA names at least one recipient before end-of-message; without any there is no one to
  // encrypt to, which no policy for missing certificates covers.
  if (plan.choices.empty())
    throw Failure(FailureClass::no_certificate, "no envelope recipient to encrypt to");
  if (plan.missing() == 0) return c;
  switch (profile_.missing_certificate) {
    case conf::MissingCertificate::bounce: {
      const std::string named = join(plan.missing_labels(), ", ", kMaxNamedRecipients);
      throw Failure(FailureClass::no_certificate, "no usable encryption certificate for " + named,
                    printable(named, 300));
    }
    case conf::MissingCertificate::drop:
      job_.note(Line()
                    .add("action", "discard")
                    .add("reason", "missing-certificate")
                    .add("policy", "drop")
                    .add("recipients", plan.missing()));
      c.discard = true;
      break;
    case conf::MissingCertificate::split:
      if (plan.covered() == 0) {
        c.encrypt = false;
        job_.note(Line()
                      .add("missing-certificate", "split")
                      .add("recipients-with-certificate", 0)
                      .add("outcome", "plain-to-all"));
      } else {
        c.split = true;
        job_.note(Line()
                      .add("missing-certificate", "split")
                      .add("encrypted-for", plan.covered())
                      .add("split-off", plan.missing()));
      }
      break;
    case conf::MissingCertificate::plain:
      c.encrypt = false;
      job_.note(Line()
                    .add("missing-certificate", "plain")
                    .add("outcome", "plain-to-all")
                    .add("recipients-without", plan.missing()));
      break;
  }
  return c;
}

// The trace header's text: what was done, and what was not.
std::string OutboundRun::trace_text(const std::string& sign_text, const std::optional<smime::Cipher>& cipher,
                                    const RecipientPlan& plan) const {
  std::string trace = sign_text;
  if (cipher) {
    trace += std::string(trace.empty() ? "" : "; ") + "encrypted " + std::string(smime::to_string(*cipher)) +
             " to " + plural(plan.covered(), "recipient", "recipients");
    if (profile_.mode == conf::Mode::triple) trace += "; signed again (triple wrap)";
    if (plan.fail_open() != 0)
      trace += "; revocation undetermined for " + plural(plan.fail_open(), "recipient", "recipients") +
               ", encrypted under fail-open";
  } else if (profile_.encrypts()) {
    trace += "; not encrypted: no certificate for " + plural(plan.missing(), "recipient", "recipients");
  }
  return trace;
}

// The certificates used are marked so (least-recently-used eviction, `list`), in one transaction and
// only where the recorded last use is older than keystore::kLastUseGranularity. The new message is
// complete already: a store failure here is only logged.
void OutboundRun::mark_used(const std::vector<Use>& uses) {
  std::vector<std::string> due;
  for (const Use& u : uses)
    if (job_.cache().last_use_due(u.fingerprint, u.last_used, job_.time())) due.push_back(u.fingerprint);
  if (due.empty() || !job_.side_effects) return;
  try {
    job_.store.in_transaction([&] {
      for (const auto& fp : due) job_.store.mark_used(fp, job_.time());
    });
    for (const auto& fp : due) job_.cache().last_use_written(fp, job_.time());
  } catch (const std::exception& e) {
    job_.warn(Line().add("warning", "mark-used-failed").add("reason", e.what()));
  }
}

// The protection the message already has, when its Content-Type claims some: the body must really be
// CMS of that kind (a header alone claims nothing). nullopt: none, process it as any other message.
std::optional<smime::ProtectionLevel> OutboundRun::existing_protection(const smime::mime::Entity& content) {
  if (!job_.config.outbound.skip_already_protected || !already_protected(job_.message.headers))
    return std::nullopt;
  const smime::Protection p =
      smime::protection_of(job_.message.body, content, settings::mime_limits(job_.config));
  const std::string type =
      smime::mime::ContentType::parse(job_.message.headers.get("Content-Type")).mime_type();
  if (p.level == smime::ProtectionLevel::none) {
    job_.note(Line().add("already-protected", "no").add("content-type", type).add("reason", p.reason));
    return std::nullopt;
  }
  job_.note(Line()
                .add("already-protected", smime::to_string(p.level))
                .add("content-type", type)
                .add("reason", p.reason));
  return p.level;
}

// Every outbound verdict that lets the message through loses the forged copies of our headers.
Verdict OutboundRun::run() {
  Verdict v = protect();
  if (v.action == conf::Action::accept) {
    std::vector<logging::Line> removed;
    std::vector<HeaderEdit> edits = forged_result_edits(job_.config, job_.message.headers, &removed);
    for (const logging::Line& l : removed) job_.note(l);
    edits.insert(edits.end(), v.header_edits.begin(), v.header_edits.end());
    v.header_edits = std::move(edits);
  }
  return v;
}

Verdict OutboundRun::protect() {
  const Message& message = job_.message;
  const conf::Config& config = job_.config;
  job_.note(Line().add("profile", profile_.name).add("mode", conf::to_string(profile_.mode)));
  if (profile_.mode == conf::Mode::none) {
    job_.note(Line().add("action", "unchanged").add("reason", "profile-none"));
    return {};
  }
  if (message.body.size() > config.limits.max_message_size)
    throw Failure(FailureClass::bad_input, "message body of " + std::to_string(message.body.size()) +
                                               " bytes exceeds limits.max_message_size");

  // The content to protect: the Content-* fields and the body.
  const smime::mime::Limits limits = settings::mime_limits(config);
  smime::mime::SplitHeaders parts = smime::mime::split_content_headers(message.headers);
  const smime::mime::Entity content =
      smime::mime::parse_body(message.body, message.body.all(), parts.content, limits);

  // Encrypted already: left alone. Signed only (by its author): not signed again, but still encrypted
  // when the profile encrypts, the author's signature inside.
  const std::optional<smime::ProtectionLevel> existing = existing_protection(content);
  const bool already_signed = existing == smime::ProtectionLevel::signed_only;
  if (existing == smime::ProtectionLevel::encrypted || (already_signed && !profile_.encrypts())) {
    job_.note(Line().add("action", "unchanged").add("reason", "already-protected"));
    return {};
  }

  std::optional<Signer> signer;
  if (profile_.signs() && !already_signed) signer = load_signer();

  RecipientPlan plan;
  Coverage coverage{profile_.encrypts(), false, false};
  if (coverage.encrypt) {
    plan = resolve_recipients();
    coverage = apply_missing_policy(plan);
    if (coverage.discard) {
      Verdict v;
      v.action = conf::Action::discard;
      return v;
    }
  }
  if (!coverage.encrypt && !signer) {
    job_.note(Line().add("action", "unchanged").add("reason", "not-encrypted-no-certificate"));
    return {};
  }
  const std::uint64_t size_hint = message.body.size();

  const smime::SignOptions sopts = settings::sign_options(config, profile_, size_hint);
  std::string sign_text;
  if (signer)
    sign_text = "signed " + std::string(conf::to_string(profile_.sign_mode)) + " " +
                std::string(conf::to_string(profile_.digest)) + " by " + signer->label;
  else if (already_signed)
    sign_text = "already signed (the author's signature kept)";
  auto sign_only = [&](smime::Sink& out) {
    smime::sign(message.body, content, signer->identity, sopts, out);
  };

  std::optional<smime::Cipher> used_cipher;
  NewEntity rewritten;
  if (coverage.encrypt) {
    const smime::EncryptOptions eopts = settings::encrypt_options(config, profile_, size_hint);
    const std::vector<smime::Recipient> recipients = plan.recipients(settings::key_transport(profile_));
    rewritten = produce_entity(config, size_hint, [&](smime::Sink& out) {
      if (!signer)
        used_cipher = smime::encrypt(message.body, content, recipients, eopts, out);
      else if (profile_.mode == conf::Mode::triple)
        used_cipher =
            smime::triple_wrap(message.body, content, signer->identity, sopts, recipients, eopts, sopts, out);
      else
        used_cipher =
            smime::sign_encrypt(message.body, content, signer->identity, sopts, recipients, eopts, out);
    });
  } else {
    rewritten = produce_entity(config, size_hint, sign_only);
  }

  Verdict v;
  v.header_edits =
      header_edits(config, message.headers, rewritten.headers, trace_text(sign_text, used_cipher, plan));
  v.new_body = rewritten.body;

  if (coverage.split) {  // the copy for the others: signed if the profile signs, never encrypted
    std::string copy_trace = "not encrypted (no certificate): split copy";
    smime::Source copy = smime::Source::from_string({});
    if (signer) {
      NewEntity signed_copy = produce_entity(config, size_hint, sign_only);
      copy_trace = sign_text + "; " + copy_trace;
      copy = whole_message(config, parts.outer, signed_copy.headers, copy_trace, signed_copy.body);
    } else {
      copy = whole_message(config, parts.outer, parts.content, copy_trace, message.body);
    }
    v.remove_recipients = plan.missing_addresses();
    v.split = SplitCopy{message.envelope.sender, plan.missing_addresses(), copy};
  }

  std::vector<Use> used;
  if (used_cipher) used = plan.uses();
  if (signer) used.push_back(signer->use);
  mark_used(used);

  Line summary;
  summary.add("action", "rewrite");
  if (signer) summary.add("signed", conf::to_string(profile_.sign_mode));
  if (used_cipher) summary.add("encrypted", smime::to_string(*used_cipher)).add("recipients", plan.covered());
  if (profile_.mode == conf::Mode::triple && used_cipher) summary.add("triple", true);
  if (coverage.split) summary.add("split", plan.missing());
  summary.add("spooled", rewritten.spooled);
  job_.note(summary);
  return v;
}

}  // namespace

bool already_protected(const smime::mime::HeaderList& headers) {
  if (headers.find("Content-Type") == nullptr) return false;
  const auto ct = smime::mime::ContentType::parse(headers.get("Content-Type"));
  return ct.is("multipart", "signed") || ct.is("application", "pkcs7-mime") ||
         ct.is("application", "x-pkcs7-mime");
}

Verdict process_outbound(Job& job, const conf::Profile& profile) { return OutboundRun(job, profile).run(); }

Verdict process_outbound(const conf::Config& config, keystore::Store& store, revocation::Checker* revocation,
                         const Message& message, const conf::Profile& profile, std::time_t now) {
  Job job(config, store, revocation, message, now);
  return guarded(job, [&profile](Job& j) { return process_outbound(j, profile); });
}

}  // namespace milter
