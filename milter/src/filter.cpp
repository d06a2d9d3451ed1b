// See filter.hpp.
#include "milter/filter.hpp"

#include <exception>
#include <future>

#include "milter/inbound.hpp"
#include "keystore/sqlite_store.hpp"
#include "milter/logging.hpp"
#include "milter/pipeline.hpp"
#include "milter/smtp_client.hpp"

namespace milter {
namespace {

using logging::quote;

// The queue id: Postfix sends "i" (from RCPT TO on, and at end-of-message); Sendmail "{i}" too.
void note_queue_id(MessageContext& msg, MilterApi& api) {
  for (const char* name : {"i", "{i}"}) {
    if (auto v = api.getsymval(name); v && !v->empty()) {
      msg.envelope.queue_id = *v;
      return;
    }
  }
}

std::string_view default_code(conf::Action a) { return a == conf::Action::reject ? "550" : "451"; }
std::string_view default_status(conf::Action a) { return a == conf::Action::reject ? "5.7.1" : "4.7.0"; }

// Carries out a failure action with a reason (for reject / tempfail, the SMTP reply names it).
Status act(MilterApi& api, conf::Action action, const std::string& reason) {
  if (action == conf::Action::reject || action == conf::Action::tempfail) {
    api.setreply(default_code(action), default_status(action), reason);
  }
  return status_of(action);
}

}  // namespace

std::string_view to_string(Status s) {
  switch (s) {
    case Status::continue_:
      return "continue";
    case Status::reject:
      return "reject";
    case Status::discard:
      return "discard";
    case Status::accept:
      return "accept";
    case Status::tempfail:
      return "tempfail";
    case Status::noreply:
      return "noreply";
    case Status::skip:
      return "skip";
  }
  return "?";
}

Status status_of(conf::Action action) {
  switch (action) {
    case conf::Action::accept:
      return Status::continue_;
    case conf::Action::tempfail:
      return Status::tempfail;
    case conf::Action::reject:
      return Status::reject;
    case conf::Action::discard:
      return Status::discard;
  }
  return Status::tempfail;
}

std::string strip_angle_brackets(std::string_view address) {
  while (!address.empty() && (address.front() == ' ' || address.front() == '\t')) address.remove_prefix(1);
  while (!address.empty() && (address.back() == ' ' || address.back() == '\t')) address.remove_suffix(1);
  if (address.size() >= 2 && address.front() == '<' && address.back() == '>') {
    address = address.substr(1, address.size() - 2);
  }
  return std::string(address);
}

Filter::Filter(const LiveConfig& config, Processor processor, StoreOpener store_opener, Reinjector reinjector)
    : config_(config),
      processor_(std::move(processor)),
      store_opener_(std::move(store_opener)),
      reinjector_(std::move(reinjector)) {
  if (!processor_) processor_ = &process_message;
  if (!store_opener_) {
    store_opener_ = [](ConnectionContext& ctx, const conf::Config& c) -> keystore::Store& {
      return ctx.store(c);
    };
  }
  if (!reinjector_) {
    reinjector_ = [](const conf::Config& c, const SplitCopy& copy) {
      if (!c.reinjection) throw SmtpError("no reinjection address configured");
      SmtpTarget target{c.reinjection->host, c.reinjection->port, c.reinjection->timeout, "smime-milter"};
      smtp_send(target, copy.sender, copy.recipients, copy.message);
    };
  }
}

Status Filter::on_connect(ConnectionContext& ctx, MilterApi&, std::string_view hostname,
                          std::string_view address) {
  ctx.end_message();
  ctx.client_name = hostname;
  ctx.client_address = address;
  return Status::continue_;
}

Status Filter::on_helo(ConnectionContext& ctx, MilterApi&, std::string_view helo) {
  ctx.helo = helo;
  return Status::continue_;
}

Status Filter::on_envfrom(ConnectionContext& ctx, MilterApi& api, const std::vector<std::string>& args) {
  MessageContext& msg = ctx.begin_message(config_.get());  // the snapshot this message keeps
  msg.envelope.sender = args.empty() ? std::string() : strip_angle_brackets(args.front());
  if (auto user = api.getsymval("{auth_authen}"); user && !user->empty()) {
    msg.envelope.authenticated = true;
    msg.envelope.auth_user = *user;
  }
  if (msg.envelope.client_address.empty()) {
    if (auto addr = api.getsymval("{client_addr}"); addr) msg.envelope.client_address = *addr;
  }
  note_queue_id(msg, api);
  return Status::continue_;
}

Status Filter::on_envrcpt(ConnectionContext& ctx, MilterApi& api, const std::vector<std::string>& args) {
  MessageContext* msg = ctx.message();
  if (msg == nullptr) return Status::tempfail;  // a protocol error of the MTA: no envfrom
  if (!args.empty()) msg->envelope.recipients.push_back(strip_angle_brackets(args.front()));
  note_queue_id(*msg, api);
  return Status::continue_;
}

Status Filter::on_header(ConnectionContext& ctx, MilterApi&, std::string_view name, std::string_view value) {
  MessageContext* msg = ctx.message();
  if (msg == nullptr) return Status::tempfail;
  // Without SMFIP_HDR_LEADSPC the MTA removed the space after the colon: put it back, so the values
  // are the bytes after the colon as the pipeline expects (smime::mime::Header).
  std::string v = ctx.leading_space ? std::string(value) : " " + std::string(value);
  msg->header_bytes += name.size() + v.size() + 3;
  msg->headers.items.push_back(smime::mime::Header{std::string(name), std::move(v)});
  return Status::continue_;
}

Status Filter::on_eoh(ConnectionContext& ctx, MilterApi& api) {
  MessageContext* msg = ctx.message();
  if (msg == nullptr) return Status::tempfail;
  note_queue_id(*msg, api);
  return Status::continue_;
}

Status Filter::on_body(ConnectionContext& ctx, MilterApi&, std::string_view chunk) {
  MessageContext* msg = ctx.message();
  if (msg == nullptr) return Status::tempfail;
  if (msg->body_error || msg->too_large) return Status::continue_;  // decided at end-of-message
  if (msg->header_bytes + msg->body.size() + chunk.size() > msg->config->limits.max_message_size) {
    msg->too_large = true;
    return Status::continue_;
  }
  try {
    msg->body.append(chunk);
  } catch (const std::exception& e) {
    msg->body_error = e.what();
    logging::error(msg->envelope.queue_id, std::string("body-buffer-failed error=") + quote(e.what()));
  }
  return Status::continue_;
}

Status Filter::on_eom(ConnectionContext& ctx, MilterApi& api) {
  MessageContext* msg = ctx.message();
  if (msg == nullptr) {
    logging::error("-", "eom-without-message action=tempfail");
    return act(api, conf::Action::tempfail, "internal error: no message state");
  }
  note_queue_id(*msg, api);
  Status status;
  try {
    status = eom(ctx, *msg, api);
  } catch (const std::exception& e) {
    logging::error(msg->envelope.queue_id, std::string("internal-error error=") + quote(e.what()));
    status = act(api, msg->config->failure_actions.internal, "internal error");
  }
  ctx.end_message();  // the one teardown, whatever happened
  return status;
}

Status Filter::eom(ConnectionContext& ctx, MessageContext& msg, MilterApi& api) {
  const conf::Config& config = *msg.config;
  const std::string& qid = msg.envelope.queue_id;
  if (msg.body_error) {
    logging::error(qid, "decision action=tempfail reason=body-not-buffered error=" + quote(*msg.body_error));
    return act(api, conf::Action::tempfail, "cannot store message body, try again later");
  }
  // A failure before the pipeline whose action is accept: an inbound message still loses any forged
  // result (the sender must never pre-set our verdict) and says it was not checked.
  auto fail_before_pipeline = [&](conf::Action a, const std::string& reply, const std::string& why) {
    if (a != conf::Action::accept || decide_direction(config, msg.envelope) != Direction::inbound)
      return act(api, a, reply);
    Verdict v;
    v.header_edits = unprocessed_inbound_edits(config, msg.headers, why);
    return apply_verdict(ctx, msg, api, v);
  };
  if (msg.too_large) {
    conf::Action a = config.failure_actions.bad_input;
    logging::warning(qid,
                     "decision action=" + std::string(conf::to_string(a)) +
                         " reason=message-too-large limit=" + std::to_string(config.limits.max_message_size));
    return fail_before_pipeline(a, "message too large for S/MIME processing", "message too large to check");
  }

  Message message;
  message.envelope = msg.envelope;
  message.headers = msg.headers;
  message.body = msg.body.finish();

  keystore::Store* store = nullptr;
  try {
    store = &store_opener_(ctx, config);
  } catch (const std::exception& e) {
    conf::Action a = config.failure_actions.keystore;
    logging::error(qid, "decision action=" + std::string(conf::to_string(a)) +
                            " reason=keystore-unavailable error=" + quote(e.what()));
    return fail_before_pipeline(a, "keystore unavailable", "keystore unavailable");
  }

  // The pipeline in a worker thread; this (the callback) thread keeps the MTA waiting meanwhile.
  // The worker uses the store and the message only while we wait here, never concurrently.
  std::shared_ptr<revocation::Checker> checker;
  try {
    checker = revocation_.checker_for(config);
  } catch (const std::exception& e) {  // the cache directory cannot be created, say
    const conf::Action a = config.failure_actions.internal;
    logging::error(qid, "decision action=" + std::string(conf::to_string(a)) +
                            " reason=revocation-unavailable error=" + quote(e.what()));
    return fail_before_pipeline(a, "revocation checking unavailable, try again later",
                                "revocation checking unavailable");
  }
  auto work = std::async(std::launch::async, [&] {
    return processor_(config, *store, checker.get(), message, std::time(nullptr));
  });
  while (work.wait_for(progress_interval_) != std::future_status::ready) {
    if (!api.progress()) logging::warning(qid, "progress-refused");
  }
  Verdict verdict = work.get();  // rethrows what the pipeline threw (an internal failure)
  for (const std::string& line : verdict.log) logging::info(qid, line);
  logging::info(qid, "verdict action=" + std::string(conf::to_string(verdict.action)) +
                         " header_edits=" + std::to_string(verdict.header_edits.size()) +
                         " new_body=" + (verdict.new_body ? "yes" : "no") +
                         " remove_recipients=" + std::to_string(verdict.remove_recipients.size()) +
                         " split=" + (verdict.split ? "yes" : "no") +
                         " quarantine=" + (verdict.quarantine ? "yes" : "no"));
  return apply_verdict(ctx, msg, api, verdict);
}

Status Filter::apply_verdict(ConnectionContext& ctx, MessageContext& msg, MilterApi& api,
                             const Verdict& verdict) {
  const std::string& qid = msg.envelope.queue_id;
  switch (verdict.action) {
    case conf::Action::reject:
    case conf::Action::tempfail: {
      std::string code =
          verdict.reply_code.empty() ? std::string(default_code(verdict.action)) : verdict.reply_code;
      std::string status =
          verdict.reply_status.empty() ? std::string(default_status(verdict.action)) : verdict.reply_status;
      std::string text =
          verdict.reply_text.empty() ? std::string("message refused by S/MIME policy") : verdict.reply_text;
      if (!api.setreply(code, status, text)) logging::warning(qid, "setreply-refused code=" + code);
      return status_of(verdict.action);
    }
    case conf::Action::discard:
      return Status::discard;
    case conf::Action::accept:
      break;
  }

  auto refused = [&](const std::string& what) {
    logging::error(qid, "apply-failed step=" + what + " action=tempfail");
    return act(api, conf::Action::tempfail, "cannot apply S/MIME changes, try again later");
  };

  // The split copy first: if it cannot be delivered, nothing has been changed yet and the whole
  // transaction is tempfailed (the client retries; nobody's mail is lost).
  if (verdict.split) {
    try {
      reinjector_(*msg.config, *verdict.split);
      logging::info(qid,
                    "split-copy-delivered recipients=" + std::to_string(verdict.split->recipients.size()));
    } catch (const std::exception& e) {
      logging::error(qid, "split-copy-failed action=tempfail error=" + quote(e.what()));
      return act(api, conf::Action::tempfail, "cannot deliver the unencrypted copy, try again later");
    }
  }

  for (const HeaderEdit& edit : verdict.header_edits) {
    // With SMFIP_HDR_LEADSPC the MTA stores the value as given: the space after the colon is ours.
    std::string value = (ctx.leading_space && !edit.value.empty()) ? " " + edit.value : edit.value;
    bool ok = false;
    switch (edit.kind) {
      case HeaderEdit::Kind::add:
        ok = api.addheader(edit.name, value);
        break;
      case HeaderEdit::Kind::change:
        ok = api.chgheader(edit.name, edit.index, value);
        break;
      case HeaderEdit::Kind::insert_first:
        ok = api.insheader(0, edit.name, value);
        break;
    }
    if (!ok) return refused("header " + edit.name);
  }

  if (verdict.new_body) {
    const smime::Source& body = *verdict.new_body;
    std::string chunk(body_chunk_size, '\0');
    std::uint64_t offset = 0;
    for (;;) {  // nothing else between the chunks (see filter.hpp)
      std::size_t n = body.read(offset, chunk.data(), chunk.size());
      if (n == 0) break;
      offset += n;
      if (!api.replacebody(std::string_view(chunk.data(), n))) return refused("replacebody");
    }
    if (offset == 0 && !api.replacebody({})) return refused("replacebody");
  }

  for (const std::string& rcpt : verdict.remove_recipients) {
    if (!api.delrcpt("<" + rcpt + ">")) return refused("delrcpt");
  }
  // Last: on hold with the changes made (the hold queue keeps the message as it would have been delivered).
  if (verdict.quarantine) {
    if (!api.quarantine(*verdict.quarantine)) return refused("quarantine");
    logging::info(qid, "quarantined reason=" + quote(*verdict.quarantine));
  }
  return Status::continue_;
}

Status Filter::on_abort(ConnectionContext& ctx, MilterApi&) {
  ctx.end_message();
  return Status::continue_;
}

Status Filter::on_close(ConnectionContext& ctx, MilterApi&) {
  ctx.end_message();
  return Status::continue_;
}

}  // namespace milter
