#include "milter/outbound.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "milter/entity_output.hpp"
#include "keystore/error.hpp"
#include "keystore/identity.hpp"
#include "keystore/lookup.hpp"
#include "milter/policy.hpp"
#include "milter/revocation_decision.hpp"
#include "smime/cert.hpp"
#include "smime/encrypt.hpp"
#include "smime/error.hpp"
#include "smime/sign.hpp"

namespace milter {

namespace {

// A failure of a known class, thrown inside this file only and turned into a Verdict at the top.
class Failure : public std::runtime_error {
 public:
  Failure(FailureClass c, const std::string& reason) : std::runtime_error(reason), class_(c) {}
  FailureClass failure_class() const noexcept { return class_; }

 private:
  FailureClass class_;
};

// Recipients named in a reply text at most (the rest are counted).
constexpr std::size_t kMaxNamedRecipients = 10;

smime::Digest to_smime(conf::Digest d) {
  switch (d) {
    case conf::Digest::sha256:
      return smime::Digest::sha256;
    case conf::Digest::sha384:
      return smime::Digest::sha384;
    case conf::Digest::sha512:
      return smime::Digest::sha512;
  }
  return smime::Digest::sha256;
}

std::optional<smime::Cipher> to_smime(conf::Cipher c) {
  switch (c) {
    case conf::Cipher::automatic:
      return std::nullopt;
    case conf::Cipher::aes256_cbc:
      return smime::Cipher::aes256_cbc;
    case conf::Cipher::aes128_gcm:
      return smime::Cipher::aes128_gcm;
    case conf::Cipher::aes256_gcm:
      return smime::Cipher::aes256_gcm;
  }
  return std::nullopt;
}

smime::SignOptions sign_options(const conf::Profile& p) {
  smime::SignOptions o;
  o.mode = p.sign_mode == conf::SignMode::opaque ? smime::SignMode::opaque : smime::SignMode::detached;
  o.digest = to_smime(p.digest);
  o.rsa_padding = p.rsa_signature_padding == conf::RsaSignaturePadding::pss
                      ? smime::RsaSignaturePadding::pss
                      : smime::RsaSignaturePadding::pkcs1v15;
  o.include_chain = true;
  return o;
}

std::string join(const std::vector<std::string>& items, std::string_view sep, std::size_t max_items) {
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < max_items; ++i) {
    if (i != 0) out += sep;
    out += items[i];
  }
  if (items.size() > max_items) out += " and " + std::to_string(items.size() - max_items) + " more";
  return out;
}

struct Signer {
  smime::SigningIdentity identity;
  std::string fingerprint;
  std::optional<keystore::Time> last_used;
  std::string label;  // the address or domain the certificate names, for the trace header
};

std::string cert_label(X509* cert) {
  auto emails = smime::email_addresses(cert);
  if (!emails.empty()) return emails.front();
  auto names = smime::dns_names(cert);
  if (!names.empty()) return names.front();
  return smime::subject_name(cert);
}

Signer load_signer(keystore::Store& store, const conf::Profile& profile, const Message& message,
                   std::time_t now, std::vector<std::string>& log) {
  const auto t = static_cast<keystore::Time>(now);
  std::string fingerprint;
  std::optional<keystore::Time> last_used;
  const conf::SignerChoice& wanted = profile.signing_identity;
  if (wanted.kind == conf::SignerChoice::Kind::fingerprint) {
    std::optional<keystore::CertRecord> rec = store.find(wanted.fingerprint);
    if (!rec)
      throw Failure(FailureClass::signing,
                    "signing certificate " + wanted.fingerprint + " not in the keystore");
    if (!rec->has_private_key)
      throw Failure(FailureClass::signing,
                    "signing certificate " + wanted.fingerprint + " has no private key");
    keystore::Check c = keystore::check_validity(rec->facts, t);
    if (c.ok()) c = keystore::check_purpose(rec->facts, keystore::Purpose::sign);
    if (!c.ok())
      throw Failure(FailureClass::signing, "signing certificate " + wanted.fingerprint + ": " + c.reason);
    fingerprint = rec->facts.fingerprint;
    last_used = rec->last_used;
    log.push_back("signer=" + fingerprint + " by=fingerprint");
  } else {
    const std::string sender = policy_sender(message);
    const bool by_domain = wanted.kind == conf::SignerChoice::Kind::sender_domain;
    const std::string key = by_domain ? keystore::domain_of(sender) : sender;
    if (key.empty() || (!by_domain && sender.find('@') == std::string::npos))
      throw Failure(FailureClass::signing, "no sender address to choose a signing identity by");
    keystore::LookupResult r = keystore::signing_certificate(store, key, t);
    if (!r.found()) throw Failure(FailureClass::signing, "cannot sign for " + key + ": " + r.explanation);
    if (!by_domain && r.match != keystore::Match::email)
      throw Failure(FailureClass::signing, "cannot sign for " + key +
                                               ": no gateway certificate names this address (only a " +
                                               keystore::to_string(r.match) + " certificate)");
    fingerprint = r.chosen->facts.fingerprint;
    last_used = r.chosen->last_used;
    log.push_back("signer=" + fingerprint + " by=" + (by_domain ? "sender-domain" : "sender-address") +
                  " key=" + key + " match=" + keystore::to_string(r.match));
  }
  keystore::Identity id;
  try {
    id = keystore::load_identity(store, fingerprint, {});
  } catch (const keystore::Error& e) {
    if (e.kind() == keystore::ErrorKind::store) throw;
    throw Failure(FailureClass::signing, "cannot load the signing key " + fingerprint + ": " + e.what());
  } catch (const smime::Error& e) {
    throw Failure(FailureClass::signing, "cannot load the signing key " + fingerprint + ": " + e.what());
  }
  Signer s;
  s.label = cert_label(id.cert.get());
  s.identity.cert = std::move(id.cert);
  s.identity.key = std::move(id.key);
  s.identity.chain = std::move(id.chain);
  s.fingerprint = fingerprint;
  s.last_used = last_used;
  return s;
}

// Every header edit that turns the original header into the new one: the Content-* fields replaced
// and MIME-Version set (entity_output.hpp), any trace header of ours the message already carried
// deleted (highest index first), and our trace header added.
std::vector<HeaderEdit> header_edits(const conf::Config& config, const smime::mime::HeaderList& original,
                                     const smime::mime::HeaderList& new_content, const std::string& trace) {
  std::vector<HeaderEdit> edits = replace_content_headers(original, new_content);
  if (config.trace_header.empty()) return edits;
  for (int i = static_cast<int>(original.count(config.trace_header)); i >= 1; --i)
    edits.push_back(HeaderEdit{HeaderEdit::Kind::change, config.trace_header, i, {}});
  if (!trace.empty()) edits.push_back(HeaderEdit{HeaderEdit::Kind::add, config.trace_header, 1, trace});
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
  if (!config.trace_header.empty() && !trace.empty()) h.add(config.trace_header, trace);
  smime::mime::write_headers(h, out.sink());
  out.sink().write("\r\n");
  smime::copy(body, body.all(), out.sink());
  return out.finish();
}

Verdict unchanged(std::vector<std::string> log) {
  Verdict v;
  v.action = conf::Action::accept;
  v.log = std::move(log);
  return v;
}

// The recipients' encryption certificates (one RecipientInfo per distinct certificate), and who has none.
struct RecipientPlan {
  std::vector<smime::Recipient> recipients;
  std::vector<std::string> fingerprints;
  std::vector<std::optional<keystore::Time>> last_used;  // of each fingerprint's certificate
  std::vector<std::string> covered;                      // recipients with a certificate
  std::vector<std::string> missing;         // recipients without one (or whose certificate was refused)
  std::vector<std::string> missing_labels;  // the same, with why when it was revocation: "a@b (revoked)"
  std::vector<std::string> fail_open;       // covered under revocation fail-open
};

// Revocation of a recipient's chosen certificate; nullopt when it may be used. A tempfail decision
// throws (the whole message waits).
std::optional<std::string> revocation_refusal(const conf::Config& config, revocation::Checker& checker,
                                              std::optional<std::vector<smime::X509Ptr>>& anchors,
                                              keystore::Store& store, X509* cert, const std::string& rcpt,
                                              keystore::Time t, RecipientPlan& plan,
                                              std::vector<std::string>& log) {
  if (!anchors) anchors = keystore::trust_anchors(store);
  RevocationDecision d = decide_revocation(config.revocation, RevocationOperation::encrypt, checker, cert,
                                           *anchors, rcpt, static_cast<std::time_t>(t));
  log.push_back(d.log);
  switch (d.use) {
    case RevocationUse::use:
      return std::nullopt;
    case RevocationUse::use_fail_open:
      plan.fail_open.push_back(rcpt);
      log.push_back("warning=revocation-fail-open recipient=" + sanitize(rcpt));
      return std::nullopt;
    case RevocationUse::refuse_revoked:
      return std::string("certificate revoked");
    case RevocationUse::refuse_undetermined:
      return std::string("revocation undetermined");
    case RevocationUse::tempfail:
      throw Failure(FailureClass::revocation, "revocation status of the certificate of " + sanitize(rcpt) +
                                                  " could not be determined, try again later");
  }
  return std::nullopt;
}

RecipientPlan resolve_recipients(const conf::Config& config, keystore::Store& store,
                                 revocation::Checker* revocation, const Message& message,
                                 const conf::Profile& profile, keystore::Time t,
                                 std::vector<std::string>& log) {
  const smime::RsaKeyTransport padding = profile.rsa_key_transport == conf::RsaKeyTransport::oaep
                                             ? smime::RsaKeyTransport::oaep
                                             : smime::RsaKeyTransport::pkcs1v15;
  RecipientPlan plan;
  std::optional<std::vector<smime::X509Ptr>> anchors;  // read once, when the first certificate is checked
  for (const std::string& rcpt : message.envelope.recipients) {
    keystore::LookupResult r = keystore::encryption_certificate(store, rcpt, t);
    if (!r.found()) {
      plan.missing.push_back(rcpt);
      plan.missing_labels.push_back(rcpt);
      log.push_back("recipient=" + sanitize(rcpt) + " certificate=none why=\"" + sanitize(r.explanation) +
                    "\"");
      continue;
    }
    const std::string& fp = r.chosen->facts.fingerprint;
    if (revocation != nullptr) {
      if (auto refusal = revocation_refusal(config, *revocation, anchors, store, r.chosen->cert.get(), rcpt,
                                            t, plan, log)) {
        plan.missing.push_back(rcpt);
        plan.missing_labels.push_back(rcpt + " (" + *refusal + ")");
        log.push_back("recipient=" + sanitize(rcpt) + " certificate=" + fp + " refused=\"" + *refusal + "\"");
        continue;
      }
    }
    plan.covered.push_back(rcpt);
    log.push_back("recipient=" + sanitize(rcpt) + " certificate=" + fp +
                  " match=" + keystore::to_string(r.match) +
                  " capabilities=" + (r.chosen->capabilities.present ? "stored" : "unknown"));
    if (std::find(plan.fingerprints.begin(), plan.fingerprints.end(), fp) != plan.fingerprints.end())
      continue;
    plan.fingerprints.push_back(fp);
    plan.last_used.push_back(r.chosen->last_used);
    plan.recipients.push_back(
        smime::Recipient{smime::share(r.chosen->cert.get()), padding, r.chosen->capabilities});
  }
  return plan;
}

// What recipients without a certificate mean under the profile: bounce throws (no_certificate), drop
// returns the discard verdict, split and plain say whether to encrypt and whether to split.
struct Coverage {
  bool encrypt = true;
  bool split = false;
};

std::optional<Verdict> apply_missing_policy(const conf::Profile& profile, const RecipientPlan& plan,
                                            Coverage& c, std::vector<std::string>& log) {
  if (plan.missing.empty()) return std::nullopt;
  switch (profile.missing_certificate) {
    case conf::MissingCertificate::bounce:
      throw Failure(FailureClass::no_certificate,
                    "no usable encryption certificate for " +
                        sanitize(join(plan.missing_labels, ", ", kMaxNamedRecipients)));
    case conf::MissingCertificate::drop: {
      log.push_back("action=discard reason=missing-certificate policy=drop recipients=" +
                    std::to_string(plan.missing.size()));
      Verdict v;
      v.action = conf::Action::discard;
      v.log = std::move(log);
      return v;
    }
    case conf::MissingCertificate::split:
      if (plan.covered.empty()) {
        c.encrypt = false;
        log.push_back("missing-certificate=split recipients-with-certificate=0 outcome=plain-to-all");
      } else {
        c.split = true;
        log.push_back("missing-certificate=split encrypted-for=" + std::to_string(plan.covered.size()) +
                      " split-off=" + std::to_string(plan.missing.size()));
      }
      break;
    case conf::MissingCertificate::plain:
      c.encrypt = false;
      log.push_back("missing-certificate=plain outcome=plain-to-all recipients-without=" +
                    std::to_string(plan.missing.size()));
      break;
  }
  return std::nullopt;
}

std::string plural(std::size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// The trace header's text: what was done, and what was not.
std::string trace_text(const conf::Profile& profile, const std::string& sign_text,
                       const std::optional<smime::Cipher>& cipher, const RecipientPlan& plan) {
  std::string trace = sign_text;
  if (cipher) {
    trace += std::string(trace.empty() ? "" : "; ") + "encrypted " + std::string(smime::to_string(*cipher)) +
             " to " + plural(plan.covered.size(), "recipient", "recipients");
    if (profile.mode == conf::Mode::triple) trace += "; signed again (triple wrap)";
    if (!plan.fail_open.empty())
      trace += "; revocation undetermined for " + plural(plan.fail_open.size(), "recipient", "recipients") +
               ", encrypted under fail-open";
  } else if (profile.encrypts()) {
    trace += "; not encrypted: no certificate for " + plural(plan.missing.size(), "recipient", "recipients");
  }
  return trace;
}

// The certificates used are marked so (least-recently-used eviction, `list`), in one transaction and
// only where the recorded last use is older than keystore::kLastUseGranularity. The new message is
// complete already: a store failure here is only logged.
struct Use {
  std::string fingerprint;
  std::optional<keystore::Time> last_used;
};

void mark_used(keystore::Store& store, const std::vector<Use>& uses, keystore::Time t,
               std::vector<std::string>& log) {
  std::vector<std::string> due;
  for (const Use& u : uses)
    if (keystore::last_use_stale(u.last_used, t)) due.push_back(u.fingerprint);
  if (due.empty()) return;
  try {
    store.in_transaction([&] {
      for (const auto& fp : due) store.mark_used(fp, t);
    });
  } catch (const std::exception& e) {
    log.push_back("warning=mark-used-failed reason=\"" + sanitize(e.what()) + "\"");
  }
}

Verdict run(const conf::Config& config, keystore::Store& store, revocation::Checker* revocation,
            const Message& message, const conf::Profile& profile, std::time_t now,
            std::vector<std::string>& log) {
  const auto t = static_cast<keystore::Time>(now);
  log.push_back("profile=" + profile.name + " mode=" + std::string(conf::to_string(profile.mode)));
  if (profile.mode == conf::Mode::none) {
    log.push_back("action=unchanged reason=profile-none");
    return unchanged(std::move(log));
  }
  if (config.outbound.skip_already_protected && already_protected(message.headers)) {
    log.push_back("action=unchanged reason=already-protected content-type=" +
                  sanitize(smime::mime::ContentType::parse(message.headers.get("Content-Type")).mime_type()));
    return unchanged(std::move(log));
  }
  if (message.body.size() > config.limits.max_message_size)
    throw Failure(FailureClass::bad_input, "message body of " + std::to_string(message.body.size()) +
                                               " bytes exceeds limits.max_message_size");

  std::optional<Signer> signer;
  if (profile.signs()) signer = load_signer(store, profile, message, now, log);

  RecipientPlan plan;
  Coverage coverage{profile.encrypts(), false};
  if (coverage.encrypt) {
    plan = resolve_recipients(config, store, revocation, message, profile, t, log);
    if (auto dropped = apply_missing_policy(profile, plan, coverage, log)) return std::move(*dropped);
  }
  if (!coverage.encrypt && !signer) {
    log.push_back("action=unchanged reason=not-encrypted-no-certificate");
    return unchanged(std::move(log));
  }

  // The content to protect: the Content-* fields and the body.
  smime::mime::Limits limits;
  limits.max_depth = config.limits.mime_depth;
  limits.max_parts = config.limits.mime_parts;
  smime::mime::SplitHeaders parts = smime::mime::split_content_headers(message.headers);
  const smime::mime::Entity content =
      smime::mime::parse_body(message.body, message.body.all(), parts.content, limits);
  const std::uint64_t size_hint = message.body.size();

  const smime::SignOptions sopts = sign_options(profile);
  const std::string sign_text = signer ? "signed " + std::string(conf::to_string(profile.sign_mode)) + " " +
                                             std::string(conf::to_string(profile.digest)) + " by " +
                                             signer->label
                                       : std::string();
  auto sign_only = [&](smime::Sink& out) {
    smime::sign(message.body, content, signer->identity, sopts, out);
  };

  std::optional<smime::Cipher> used_cipher;
  NewEntity rewritten;
  if (coverage.encrypt) {
    smime::EncryptOptions eopts;
    eopts.cipher = to_smime(profile.cipher);
    rewritten = produce_entity(config, size_hint, [&](smime::Sink& out) {
      if (!signer)
        used_cipher = smime::encrypt(message.body, content, plan.recipients, eopts, out);
      else if (profile.mode == conf::Mode::triple)
        used_cipher = smime::triple_wrap(message.body, content, signer->identity, sopts, plan.recipients,
                                         eopts, sopts, out);
      else
        used_cipher =
            smime::sign_encrypt(message.body, content, signer->identity, sopts, plan.recipients, eopts, out);
    });
  } else {
    rewritten = produce_entity(config, size_hint, sign_only);
  }

  Verdict v;
  v.action = conf::Action::accept;
  v.header_edits = header_edits(config, message.headers, rewritten.headers,
                                trace_text(profile, sign_text, used_cipher, plan));
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
    v.remove_recipients = plan.missing;
    v.split = SplitCopy{message.envelope.sender, plan.missing, copy};
  }

  std::vector<Use> used;
  if (used_cipher)
    for (std::size_t i = 0; i < plan.fingerprints.size(); ++i)
      used.push_back({plan.fingerprints[i], plan.last_used[i]});
  if (signer) used.push_back({signer->fingerprint, signer->last_used});
  mark_used(store, used, t, log);

  std::string summary = "action=rewrite";
  if (signer) summary += " signed=" + std::string(conf::to_string(profile.sign_mode));
  if (used_cipher)
    summary += " encrypted=" + std::string(smime::to_string(*used_cipher)) +
               " recipients=" + std::to_string(plan.covered.size());
  if (profile.mode == conf::Mode::triple && used_cipher) summary += " triple=yes";
  if (coverage.split) summary += " split=" + std::to_string(plan.missing.size());
  summary += std::string(" spooled=") + (rewritten.spooled ? "yes" : "no");
  log.push_back(summary);
  v.log = std::move(log);
  return v;
}

}  // namespace

std::string_view to_string(FailureClass c) {
  switch (c) {
    case FailureClass::internal:
      return "internal";
    case FailureClass::keystore:
      return "keystore";
    case FailureClass::no_certificate:
      return "no-certificate";
    case FailureClass::bad_input:
      return "bad-input";
    case FailureClass::signing:
      return "signing";
    case FailureClass::revocation:
      return "revocation";
  }
  return "internal";
}

Verdict failure_verdict(const conf::Config& config, FailureClass failure_class, const std::string& reason) {
  const conf::FailureActions& fa = config.failure_actions;
  conf::Action action = fa.internal;
  switch (failure_class) {
    case FailureClass::internal:
      action = fa.internal;
      break;
    case FailureClass::keystore:
      action = fa.keystore;
      break;
    case FailureClass::no_certificate:
      action = fa.no_certificate;
      break;
    case FailureClass::bad_input:
      action = fa.bad_input;
      break;
    case FailureClass::signing:
      action = fa.signing;
      break;
    case FailureClass::revocation:  // revocation.encrypt/verify = tempfail: the setting is the action
      action = conf::Action::tempfail;
      break;
  }
  const std::string text = sanitize(reason);
  Verdict v;
  v.action = action;
  if (action == conf::Action::reject) {
    v.reply_code = "550";
    v.reply_status = "5.7.1";
  } else if (action == conf::Action::tempfail) {
    v.reply_code = "451";
    v.reply_status = "4.7.0";
  }
  if (!v.reply_code.empty()) {
    v.reply_text = failure_class == FailureClass::signing ? "cannot sign: " + text : text;
    if (failure_class == FailureClass::internal) v.reply_text = "temporary failure: " + text;
  }
  v.log.push_back("failure=" + std::string(to_string(failure_class)) +
                  " action=" + std::string(conf::to_string(action)) + " reason=\"" + text + "\"");
  return v;
}

bool already_protected(const smime::mime::HeaderList& headers) {
  if (headers.find("Content-Type") == nullptr) return false;
  const auto ct = smime::mime::ContentType::parse(headers.get("Content-Type"));
  return ct.is("multipart", "signed") || ct.is("application", "pkcs7-mime") ||
         ct.is("application", "x-pkcs7-mime");
}

Verdict process_outbound(const conf::Config& config, keystore::Store& store, revocation::Checker* revocation,
                         const Message& message, const conf::Profile& profile, std::time_t now) {
  std::vector<std::string> log;
  auto fail = [&](FailureClass c, const std::string& reason) {
    Verdict v = failure_verdict(config, c, reason);
    log.insert(log.end(), v.log.begin(), v.log.end());
    v.log = std::move(log);
    return v;
  };
  try {
    return run(config, store, revocation, message, profile, now, log);
  } catch (const Failure& f) {
    return fail(f.failure_class(), f.what());
  } catch (const keystore::Error& e) {
    return fail(e.kind() == keystore::ErrorKind::store ? FailureClass::keystore : FailureClass::internal,
                std::string("keystore: ") + e.what());
  } catch (const smime::Error& e) {
    return fail(e.kind() == smime::ErrorKind::bad_input ? FailureClass::bad_input : FailureClass::internal,
                std::string(smime::to_string(e.kind())) + ": " + e.what());
  } catch (const std::exception& e) {
    return fail(FailureClass::internal, e.what());
  } catch (...) {
    return fail(FailureClass::internal, "unknown exception");
  }
}

}  // namespace milter
