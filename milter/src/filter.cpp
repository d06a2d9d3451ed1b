// See filter.hpp.
#include "milter/filter.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <thread>

#include "milter/failure.hpp"
#include "milter/forged_results.hpp"
#include "milter/inbound.hpp"
#include "milter/logging.hpp"
#include "milter/metrics.hpp"
#include "milter/pipeline.hpp"
#include "milter/smtp_client.hpp"

namespace milter {
namespace {

// The queue id: Postfix sends "i" (from RCPT TO on, and at end-of-message); Sendmail "{i}" too.
void note_queue_id(MessageContext& msg, MilterApi& api) {
  for (const char* name : {"i", "{i}"}) {
    if (auto v = api.getsymval(name); v && !v->empty()) {
      msg.envelope.queue_id = *v;
      return;
    }
  }
}

using logging::Line;

// Sets the reply of a reject or tempfail (nothing for the other actions).
void set_reply(MilterApi& api, const Reply& reply, const std::string& queue_id) {
  if (reply.empty()) return;
  if (!api.setreply(reply.code, reply.status, reply.text))
    logging::warning(queue_id, Line("setreply-refused").add("code", reply.code).str());
}

// Tears the message down when the callback returns, whatever happened (also when it throws).
struct EndMessage {
  ConnectionContext& ctx;
  ~EndMessage() { ctx.end_message(); }
};

std::string_view action_label(CallbackStatus s) {
  switch (s) {
    case CallbackStatus::reject:
      return "reject";
    case CallbackStatus::tempfail:
      return "tempfail";
    case CallbackStatus::discard:
      return "discard";
    default:
      return "accept";
  }
}

// One end of message in the counters: direction, action, processing time.
void count_message(const conf::Config& config, const Envelope& envelope, CallbackStatus status,
                   std::chrono::steady_clock::time_point started) {
  const bool outbound = decide_direction(config, envelope) == Direction::outbound;
  metrics::count("smime_messages_total",
                 {{"direction", outbound ? "outbound" : "inbound"}, {"action", action_label(status)}});
  metrics::observe_latency(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

}  // namespace

std::string_view to_string(CallbackStatus s) {
  switch (s) {
    case CallbackStatus::continue_:
      return "continue";
    case CallbackStatus::reject:
      return "reject";
    case CallbackStatus::discard:
      return "discard";
    case CallbackStatus::accept:
      return "accept";
    case CallbackStatus::tempfail:
      return "tempfail";
    case CallbackStatus::noreply:
      return "noreply";
    case CallbackStatus::skip:
      return "skip";
  }
  return "?";
}

CallbackStatus status_of(conf::Action action) {
  switch (action) {
    case conf::Action::accept:
      return CallbackStatus::continue_;
    case conf::Action::tempfail:
      return CallbackStatus::tempfail;
    case conf::Action::reject:
      return CallbackStatus::reject;
    case conf::Action::discard:
      return CallbackStatus::discard;
  }
  return CallbackStatus::tempfail;
}

std::string strip_angle_brackets(std::string_view address) {
  while (!address.empty() && (address.front() == ' ' || address.front() == '\t')) address.remove_prefix(1);
  while (!address.empty() && (address.back() == ' ' || address.back() == '\t')) address.remove_suffix(1);
  if (address.size() >= 2 && address.front() == '<' && address.back() == '>') {
    address = address.substr(1, address.size() - 2);
  }
  return std::string(address);
}

Filter::Filter(const LiveConfig& config, Processor processor, StoreOpener store_opener, Reinjector reinjector,
               unsigned workers)
    : config_(config),
      processor_(std::move(processor)),
      store_opener_(std::move(store_opener)),
      reinjector_(std::move(reinjector)),
      stores_(workers == 0 ? std::max(1u, std::thread::hardware_concurrency()) : workers),
      workers_(workers) {
  if (!processor_) processor_ = [](Job& job) { return process_message(job); };
  if (!store_opener_) {
    store_opener_ = [this](ConnectionContext& ctx, const conf::Config& c) -> keystore::Store& {
      MessageContext& msg = *ctx.message();
      StoreService::Leased leased = stores_.lease(c);
      msg.store_lease.emplace(std::move(leased.lease));
      msg.store_cache_key = std::move(leased.cache_key);
      return **msg.store_lease;
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

CallbackStatus Filter::on_connect(ConnectionContext& ctx, MilterApi&, std::string_view hostname,
                                  std::string_view address) {
  ctx.end_message();
  ctx.client_name = hostname;
  ctx.client_address = address;
  return CallbackStatus::continue_;
}

CallbackStatus Filter::on_helo(ConnectionContext& ctx, MilterApi&, std::string_view helo) {
  ctx.helo = helo;
  return CallbackStatus::continue_;
}

CallbackStatus Filter::on_envfrom(ConnectionContext& ctx, MilterApi& api,
                                  const std::vector<std::string>& args) {
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
  return CallbackStatus::continue_;
}

CallbackStatus Filter::on_envrcpt(ConnectionContext& ctx, MilterApi& api,
                                  const std::vector<std::string>& args) {
  MessageContext* msg = ctx.message();
  if (msg == nullptr) return CallbackStatus::tempfail;  // a protocol error of the MTA: no envfrom
  if (!args.empty()) msg->envelope.recipients.push_back(strip_angle_brackets(args.front()));
  note_queue_id(*msg, api);
  return CallbackStatus::continue_;
}

CallbackStatus Filter::on_header(ConnectionContext& ctx, MilterApi&, std::string_view name,
                                 std::string_view value) {
  MessageContext* msg = ctx.message();
  if (msg == nullptr) return CallbackStatus::tempfail;
  // Without SMFIP_HDR_LEADSPC the MTA removed the space after the colon: put it back, so the values
  // are the bytes after the colon as the pipeline expects (smime::mime::Header).
  std::string v = ctx.leading_space ? std::string(value) : " " + std::string(value);
  msg->header_bytes += name.size() + v.size() + 3;
  msg->headers.items.push_back(smime::mime::Header{std::string(name), std::move(v)});
  return CallbackStatus::continue_;
}

CallbackStatus Filter::on_eoh(ConnectionContext& ctx, MilterApi& api) {
  MessageContext* msg = ctx.message();
  if (msg == nullptr) return CallbackStatus::tempfail;
  note_queue_id(*msg, api);
  return CallbackStatus::continue_;
}

CallbackStatus Filter::on_body(ConnectionContext& ctx, MilterApi&, std::string_view chunk) {
  MessageContext* msg = ctx.message();
  if (msg == nullptr) return CallbackStatus::tempfail;
  if (msg->body_error || msg->too_large) return CallbackStatus::continue_;  // decided at end-of-message
  if (msg->header_bytes + msg->body.size() + chunk.size() > msg->config->limits.max_message_size) {
    msg->too_large = true;
    return CallbackStatus::continue_;
  }
  try {
    msg->body.append(chunk);
  } catch (const std::exception& e) {
    msg->body_error = e.what();
    logging::error(msg->envelope.queue_id, Line("body-buffer-failed").add("error", e.what()).str());
  }
  return CallbackStatus::continue_;
}

CallbackStatus Filter::on_eom(ConnectionContext& ctx, MilterApi& api) {
  EndMessage teardown{ctx};  // the one teardown, whatever happens
  MessageContext* msg = ctx.message();
  if (msg == nullptr) {
    logging::error("-", Line("eom-without-message").add("action", "tempfail"));
    set_reply(api, tempfail_reply("-"), "-");
    return CallbackStatus::tempfail;
  }
  note_queue_id(*msg, api);
  const auto started = std::chrono::steady_clock::now();
  const CallbackStatus status = eom(ctx, *msg, api);
  count_message(*msg->config, msg->envelope, status, started);
  return status;
}

void Filter::set_key_passphrase(std::string passphrase) {
  std::lock_guard lock(passphrase_mutex_);
  key_passphrase_ = std::move(passphrase);
}

// A failure before the pipeline ran: the configured action of its class; when that is accept, the
// message still loses any forged result (nobody may pre-set our verdict), and an inbound one says it
// was not checked.
CallbackStatus Filter::fail_before_pipeline(ConnectionContext& ctx, MessageContext& msg, MilterApi& api,
                                            FailureClass c, const std::string& unchecked) {
  const conf::Config& config = *msg.config;
  const conf::Action a = action_for(config.failure_actions, c);
  metrics::count("smime_failures_total", {{"class", to_string(c)}});
  if (a != conf::Action::accept) {
    set_reply(api, failure_reply(a, c, {}, msg.envelope.queue_id), msg.envelope.queue_id);
    return status_of(a);
  }
  Verdict v;
  v.header_edits = decide_direction(config, msg.envelope) == Direction::inbound
                       ? unprocessed_inbound_edits(config, msg.headers, unchecked)
                       : forged_result_edits(config, msg.headers, nullptr);
  return apply_verdict(ctx, msg, api, v);
}

// The pipeline in a worker thread, inside the pipeline's guard (an injected processor may throw too);
// this (the callback) thread keeps the MTA waiting meanwhile. The worker uses the job only while we
// wait here, never concurrently.
Verdict Filter::run_pipeline(Job& job, MilterApi& api) {
  auto work = workers_.submit([&] { return guarded(job, processor_); });
  while (work.wait_for(progress_interval_) != std::future_status::ready) {
    if (!api.progress()) logging::warning(job.queue_id(), "progress-refused");
  }
  return work.get();
}

CallbackStatus Filter::eom(ConnectionContext& ctx, MessageContext& msg, MilterApi& api) {
  const conf::Config& config = *msg.config;
  const std::string& qid = msg.envelope.queue_id;
  auto decision = [](FailureClass c, conf::Action a, std::string_view reason) {
    return Line("decision")
        .add("class", to_string(c))
        .add("action", conf::to_string(a))
        .add("reason", reason);
  };
  if (msg.step_failed) {
    const FailureClass c = FailureClass::internal;
    metrics::count("smime_failures_total", {{"class", to_string(c)}});
    logging::error(qid, decision(c, conf::Action::tempfail, "callback-failed"));
    set_reply(api, tempfail_reply(qid), qid);
    return CallbackStatus::tempfail;
  }
  if (msg.body_error) {
    const FailureClass c = FailureClass::internal;
    logging::error(qid, decision(c, action_for(config.failure_actions, c), "body-not-buffered")
                            .add("error", *msg.body_error)
                            .str());
    return fail_before_pipeline(ctx, msg, api, c, "message body not stored");
  }
  if (msg.too_large) {
    const FailureClass c = FailureClass::bad_input;
    logging::warning(qid, decision(c, action_for(config.failure_actions, c), "message-too-large")
                              .add("limit", config.limits.max_message_size)
                              .str());
    return fail_before_pipeline(ctx, msg, api, c, "message too large to check");
  }

  Message message;
  message.envelope = msg.envelope;
  message.headers = msg.headers;
  message.body = msg.body.finish();

  keystore::Store* store = nullptr;
  std::int64_t generation = 0;
  try {
    store = &store_opener_(ctx, config);
    generation = store->generation();  // one cheap read: is the process's cache of decoded keys current?
  } catch (const std::exception& e) {
    const FailureClass c = FailureClass::keystore;
    logging::error(qid, decision(c, action_for(config.failure_actions, c), "keystore-unavailable")
                            .add("error", e.what())
                            .str());
    return fail_before_pipeline(ctx, msg, api, c, "keystore unavailable");
  }
  std::shared_ptr<revocation::Checker> checker;
  try {
    // The keystore's local revocation data (and the revocation cache when it is in the keystore): statements
    // on the keystore's location, apart from the message's store.
    checker = revocation_.checker_for(config, stores_.pool(config));
  } catch (const std::exception& e) {  // the cache directory cannot be created, say
    const FailureClass c = FailureClass::internal;
    logging::error(qid, decision(c, action_for(config.failure_actions, c), "revocation-unavailable")
                            .add("error", e.what())
                            .str());
    return fail_before_pipeline(ctx, msg, api, c, "revocation checking unavailable");
  }

  Job job(config, *store, checker.get(), message, std::time(nullptr));
  job.side_effects = side_effects_;
  // A test's own store opener leaves no cache key: the configured location names its contents.
  std::string cache_key = msg.store_cache_key;
  if (cache_key.empty())
    cache_key = config.keystore.postgres() ? config.keystore.url : config.keystore.path.string();
  job.use_cache(keys_, std::move(cache_key), generation);
  {
    std::lock_guard lock(passphrase_mutex_);
    job.key_passphrase = key_passphrase_;
  }
  const Verdict verdict = run_pipeline(job, api);
  for (const LogEntry& entry : verdict.log) logging::write(entry.level, qid, entry.text);
  logging::info(qid, Line("verdict")
                         .add("action", conf::to_string(verdict.action))
                         .add("header_edits", verdict.header_edits.size())
                         .add("new_body", verdict.new_body.has_value())
                         .add("remove_recipients", verdict.remove_recipients.size())
                         .add("split", verdict.split.has_value())
                         .add("quarantine", verdict.quarantine.has_value())
                         .str());
  return apply_verdict(ctx, msg, api, verdict);
}

CallbackStatus Filter::apply_verdict(ConnectionContext& ctx, MessageContext& msg, MilterApi& api,
                                     const Verdict& verdict) {
  switch (verdict.action) {
    case conf::Action::reject:
    case conf::Action::tempfail: {
      // A verdict without a reply of its own (a test's fake pipeline) gets its class's generic one.
      const Reply reply = verdict.reply.empty() ? failure_reply(verdict.action, FailureClass::internal, {},
                                                                msg.envelope.queue_id)
                                                : verdict.reply;
      set_reply(api, reply, msg.envelope.queue_id);
      return status_of(verdict.action);
    }
    case conf::Action::discard:
      return CallbackStatus::discard;
    case conf::Action::accept:
      break;
  }
  return apply_changes(ctx, msg, api, verdict);
}

// The changes of an accepted verdict, in full or not at all: a refused call tempfails the message, and
// with a tempfail at end-of-message the MTA does not accept it, so no half-made change is delivered.
CallbackStatus Filter::apply_changes(ConnectionContext& ctx, MessageContext& msg, MilterApi& api,
                                     const Verdict& verdict) {
  const std::string& qid = msg.envelope.queue_id;
  auto refused = [&](std::string_view what) {
    logging::error(qid, Line("apply-failed").add("step", what).add("action", "tempfail").str());
    set_reply(api, tempfail_reply(qid), qid);
    return CallbackStatus::tempfail;
  };

  // The split copy first: if it cannot be delivered, nothing has been changed yet and the whole
  // transaction is tempfailed (the client retries; nobody's mail is lost).
  if (verdict.split) {
    try {
      reinjector_(*msg.config, *verdict.split);
      logging::info(qid,
                    Line("split-copy-delivered").add("recipients", verdict.split->recipients.size()).str());
    } catch (const std::exception& e) {
      logging::error(qid, Line("split-copy-failed").add("action", "tempfail").add("error", e.what()).str());
      set_reply(api, tempfail_reply(qid), qid);
      return CallbackStatus::tempfail;
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
    logging::info(qid, Line("quarantined").add("reason", *verdict.quarantine).str());
  }
  return CallbackStatus::continue_;
}

CallbackStatus Filter::on_abort(ConnectionContext& ctx, MilterApi&) {
  ctx.end_message();
  return CallbackStatus::continue_;
}

CallbackStatus Filter::on_close(ConnectionContext& ctx, MilterApi&) {
  ctx.end_message();
  return CallbackStatus::continue_;
}

}  // namespace milter
