// The milter protocol as milter::Filter sees it: the input is a program (filter_program.hpp) of
// callbacks with arbitrary arguments, MTA macros, refused MTA calls and, now and then, a verdict from a
// fake pipeline in place of the real one (milter::process_message over the throwaway gateway of
// milter_support.hpp, side effects off). The test MTA is RecordingApi (test/unit/milter). Properties:
//  - only end-of-message calls the MTA (the other callbacks make no call), and every message context is
//    gone after eom, abort, close and connect, with nothing left in the spool;
//  - a callback that needs a message (envrcpt, header, eoh, body) without one tempfails;
//  - the message the pipeline gets is exactly what the callbacks since the last envfrom gave (envelope,
//    macros, header fields with the space the MTA kept or removed, the body), so that after abort the
//    next message starts clean; past limits.max_message_size the pipeline is not run;
//  - the verdict is applied in full or the message tempfails: with a continue, the calls are exactly
//    the verdict's (header edits, the body in chunks of at most 64 KiB, recipient removals,
//    quarantine) in that order; a refused call stops there with a tempfail; reject, tempfail and
//    discard change nothing; a split copy that cannot be delivered tempfails before any change;
//  - the real pipeline's verdicts keep check_verdict's properties.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "filter_program.hpp"
#include "fuzz_support.hpp"
#include "milter/context.hpp"
#include "milter/direction.hpp"
#include "milter/filter.hpp"
#include "milter/pipeline.hpp"
#include "milter_support.hpp"
#include "recording_api.hpp"

namespace {

namespace fp = fuzz::filter_program;
using fuzz::require;
using milter::CallbackStatus;
using milter::Verdict;

// What the pipeline and the re-injector were asked for at the last end-of-message (they run on the
// Filter's worker thread while the callback thread waits for them).
struct Pipeline {
  std::optional<Verdict> fake;  // the next end-of-message's verdict, instead of the real pipeline's
  bool split_fails = false;
  std::vector<milter::Message> seen;
  std::optional<Verdict> returned;
  int split_copies = 0;
};

Pipeline& pipeline() {
  static Pipeline p;
  return p;
}

milter::Filter& filter() {
  static milter::LiveConfig live(fuzz::gateway().config);
  static milter::Filter f = [] {
    auto processor = [](milter::Job& job) {
      Pipeline& p = pipeline();
      p.seen.push_back(job.message);
      Verdict v = p.fake ? *p.fake : milter::process_message(job);
      p.returned = v;
      return v;
    };
    auto reinjector = [](const conf::Config&, const milter::SplitCopy&) {
      ++pipeline().split_copies;
      if (pipeline().split_fails) throw std::runtime_error("split copy refused");
    };
    return milter::Filter(live, processor, {}, reinjector, 1);
  }();
  static const bool configured = [] {
    f.set_side_effects(false);
    return true;
  }();
  (void)configured;
  return f;
}

// What the callbacks since envfrom gave: the message the pipeline must see.
struct Model {
  milter::Message message;
  std::uint64_t header_bytes = 0;
  std::uint64_t body_bytes = 0;
  bool too_large = false;
};

// The state of one connection of the test MTA.
struct Connection {
  milter::ConnectionContext ctx;
  milter::RecordingApi api;
  std::optional<Model> model;
  std::string client_address;

  std::optional<std::string> symbol(std::string_view name) const {
    for (const auto& [n, v] : api.symbols)
      if (n == name) return v;
    return std::nullopt;
  }
  void note_queue_id() {
    for (const char* name : {"i", "{i}"})
      if (auto v = symbol(name); v && !v->empty()) {
        model->message.envelope.queue_id = *v;
        return;
      }
  }
};

const char* const kSymbols[] = {"i", "{i}", "{auth_authen}", "{client_addr}"};
const char* const kCalls[] = {"",        "addheader",  "chgheader", "insheader", "replacebody",
                              "delrcpt", "quarantine", "setreply",  "progress"};

Verdict read_verdict(fp::Reader& in) {
  Verdict v;
  const std::uint8_t flags = in.byte();
  v.action = static_cast<conf::Action>(flags % 4);
  const std::size_t edits = in.byte() % 8;
  for (std::size_t i = 0; i < edits; ++i) {
    milter::HeaderEdit e;
    e.kind = static_cast<milter::HeaderEdit::Kind>(in.byte() % 3);
    e.name = in.string();
    e.index = in.byte();
    e.value = in.string();
    v.header_edits.push_back(std::move(e));
  }
  if (flags & 4) {
    std::string body = in.string();
    if (flags & 128) body = std::string(body.size() * 97, body.empty() ? 'x' : body[0]);  // past one chunk
    v.new_body = smime::Source::from_string(std::move(body));
  }
  for (std::string& r : in.strings()) v.remove_recipients.push_back(std::move(r));
  if (flags & 8)
    v.split = milter::SplitCopy{"split@example.org", {"bob@example.net"}, smime::Source::from_string("x")};
  pipeline().split_fails = (flags & 16) != 0;
  if (flags & 32) v.quarantine = in.string();
  if (flags & 64) v.reply = milter::Reply{in.string(), in.string(), in.string()};
  return v;
}

bool modifying(const milter::RecordingApi::Call& c) { return c.what != "setreply" && c.what != "progress"; }

// The MTA calls that carry out an accepted verdict, in order.
std::vector<milter::RecordingApi::Call> expected_calls(const Verdict& v, bool leading_space) {
  std::vector<milter::RecordingApi::Call> out;
  for (const milter::HeaderEdit& e : v.header_edits) {
    const std::string value = leading_space && !e.value.empty() ? " " + e.value : e.value;
    switch (e.kind) {
      case milter::HeaderEdit::Kind::add:
        out.push_back({"addheader", e.name, 0, value});
        break;
      case milter::HeaderEdit::Kind::change:
        out.push_back({"chgheader", e.name, e.index, value});
        break;
      case milter::HeaderEdit::Kind::insert_first:
        out.push_back({"insheader", e.name, 0, value});
        break;
    }
  }
  if (v.new_body) {
    const std::string body = v.new_body->slice(v.new_body->all());
    for (std::size_t at = 0; at < body.size(); at += milter::body_chunk_size)
      out.push_back({"replacebody", {}, 0, body.substr(at, milter::body_chunk_size)});
    if (body.empty()) out.push_back({"replacebody", {}, 0, {}});
  }
  for (const std::string& r : v.remove_recipients) out.push_back({"delrcpt", "<" + r + ">", 0, {}});
  if (v.quarantine) out.push_back({"quarantine", {}, 0, *v.quarantine});
  return out;
}

bool same_call(const milter::RecordingApi::Call& a, const milter::RecordingApi::Call& b) {
  return a.what == b.what && a.name == b.name && a.index == b.index && a.value == b.value;
}

// The number of calls the test MTA refused in this callback.
bool any_refused(const milter::RecordingApi& api) {
  if (api.fail_on.empty() || api.fail_on == "setreply" || api.fail_on == "progress") return false;
  return api.of(api.fail_on).size() > api.fail_after;
}

void check_seen(const Model& m, const milter::Message& seen) {
  const milter::Envelope& a = m.message.envelope;
  const milter::Envelope& b = seen.envelope;
  require(a.sender == b.sender && a.recipients == b.recipients && a.client_address == b.client_address &&
              a.authenticated == b.authenticated && a.auth_user == b.auth_user && a.queue_id == b.queue_id,
          "the pipeline gets the envelope of this message's callbacks");
  require(m.message.headers.items.size() == seen.headers.items.size(),
          "the pipeline gets this message's fields");
  for (std::size_t i = 0; i < seen.headers.items.size(); ++i)
    require(m.message.headers.items[i].name == seen.headers.items[i].name &&
                m.message.headers.items[i].value == seen.headers.items[i].value,
            "the pipeline gets the fields as given");
  require(m.message.body.slice(m.message.body.all()) == seen.body.slice(seen.body.all()),
          "the pipeline gets the body as given");
}

void check_applied(Connection& c, CallbackStatus status, const Verdict& v) {
  std::vector<milter::RecordingApi::Call> made;
  for (const auto& call : c.api.calls)
    if (modifying(call)) made.push_back(call);
  using conf::Action;
  if (v.action != Action::accept) {
    require(made.empty(), "reject, tempfail and discard change nothing");
    require(status == milter::status_of(v.action), "the status of the verdict's action");
    return;
  }
  if (v.split && pipeline().split_fails) {
    require(made.empty() && status == CallbackStatus::tempfail,
            "an undelivered split copy tempfails unchanged");
    return;
  }
  const std::vector<milter::RecordingApi::Call> want = expected_calls(v, c.ctx.leading_space);
  if (any_refused(c.api)) {
    require(status == CallbackStatus::tempfail, "a refused call tempfails the message");
    require(!made.empty() && made.back().what == c.api.fail_on, "nothing is called after the refused call");
  } else {
    require(status == CallbackStatus::continue_, "an applied verdict continues");
    require(made.size() == want.size(), "every change of the verdict is made");
    require(c.api.of("setreply").empty(), "no reply with an applied verdict");
  }
  require(made.size() <= want.size(), "no change beyond the verdict's");
  for (std::size_t i = 0; i < made.size(); ++i)
    require(same_call(made[i], want[i]), "the verdict's changes, in order");
}

void end_of_message(Connection& c) {
  Pipeline& p = pipeline();
  p.seen.clear();
  p.returned.reset();
  p.split_copies = 0;
  if (c.model) c.note_queue_id();
  const CallbackStatus status = filter().on_eom(c.ctx, c.api);
  const bool fake = p.fake.has_value();
  p.fake.reset();
  require(c.ctx.message() == nullptr, "the message ends with eom");
  fuzz::check_spool_empty(fuzz::gateway());
  if (!c.model) {
    require(status == CallbackStatus::tempfail && p.seen.empty(), "eom without a message tempfails");
    return;
  }
  const Model m = std::move(*c.model);
  c.model.reset();
  if (m.too_large) {
    require(p.seen.empty(), "a message past the size limit is not processed");
    if (status == CallbackStatus::continue_)
      require(!any_refused(c.api), "a refused call tempfails the message");
    return;
  }
  require(p.seen.size() == 1 && p.returned.has_value(), "the pipeline runs once for a message");
  check_seen(m, p.seen.front());
  if (!fake) {
    const bool inbound = milter::decide_direction(*fuzz::gateway().config, p.seen.front().envelope) ==
                         milter::Direction::inbound;
    fuzz::check_verdict(*fuzz::gateway().config, p.seen.front(), *p.returned, inbound);
  }
  check_applied(c, status, *p.returned);
}

// A callback that needs a message: continues with one, tempfails without.
void expect_message_status(const Connection& c, CallbackStatus s) {
  require(s == (c.model ? CallbackStatus::continue_ : CallbackStatus::tempfail),
          "a callback continues with a message, tempfails without");
}

void end_without_eom(Connection& c, CallbackStatus s) {
  c.model.reset();
  require(s == CallbackStatus::continue_, "abort, close and connect continue");
  require(c.ctx.message() == nullptr, "abort, close and connect end the message");
  fuzz::check_spool_empty(fuzz::gateway());
}

// Runs the next operation; returns it.
fp::Op step(Connection& c, fp::Reader& in) {
  milter::Filter& f = filter();
  const std::uint64_t max_size = fuzz::gateway().config->limits.max_message_size;
  const auto op = static_cast<fp::Op>(in.byte() % fp::kOpCount);
  switch (op) {
    case fp::connect: {
      const std::string host = in.string();
      c.client_address = in.string();
      end_without_eom(c, f.on_connect(c.ctx, c.api, host, c.client_address));
      break;
    }
    case fp::helo:
      require(f.on_helo(c.ctx, c.api, in.string()) == CallbackStatus::continue_, "helo continues");
      break;
    case fp::envfrom: {
      const std::vector<std::string> args = in.strings();
      c.model.emplace();
      milter::Envelope& e = c.model->message.envelope;
      e.sender = args.empty() ? std::string() : milter::strip_angle_brackets(args.front());
      e.queue_id = "-";
      e.client_address = c.client_address;
      if (auto user = c.symbol("{auth_authen}"); user && !user->empty())
        e.authenticated = true, e.auth_user = *user;
      if (auto addr = c.symbol("{client_addr}"); addr && e.client_address.empty()) e.client_address = *addr;
      c.note_queue_id();
      require(f.on_envfrom(c.ctx, c.api, args) == CallbackStatus::continue_, "envfrom continues");
      break;
    }
    case fp::envrcpt: {
      const std::vector<std::string> args = in.strings();
      if (c.model) {
        if (!args.empty())
          c.model->message.envelope.recipients.push_back(milter::strip_angle_brackets(args.front()));
        c.note_queue_id();
      }
      expect_message_status(c, f.on_envrcpt(c.ctx, c.api, args));
      break;
    }
    case fp::header: {
      const std::string name = in.string(), value = in.string();
      if (c.model) {
        std::string v = c.ctx.leading_space ? value : " " + value;
        c.model->header_bytes += name.size() + v.size() + 3;
        c.model->message.headers.items.push_back({name, std::move(v)});
      }
      expect_message_status(c, f.on_header(c.ctx, c.api, name, value));
      break;
    }
    case fp::eoh:
      if (c.model) c.note_queue_id();
      expect_message_status(c, f.on_eoh(c.ctx, c.api));
      break;
    case fp::body:
    case fp::body_repeat: {
      std::string chunk;
      if (in.byte() % 2 == 0) {
        chunk = in.string();
      } else {
        const char b = static_cast<char>(in.byte());
        chunk.assign(in.u16(), b);
      }
      if (c.model && !c.model->too_large) {
        Model& m = *c.model;
        if (m.header_bytes + m.body_bytes + chunk.size() > max_size) {
          m.too_large = true;
        } else {
          m.body_bytes += chunk.size();
          m.message.body = smime::Source::from_string(m.message.body.slice(m.message.body.all()) + chunk);
        }
      }
      expect_message_status(c, f.on_body(c.ctx, c.api, chunk));
      break;
    }
    case fp::eom:
      end_of_message(c);
      break;
    case fp::abort:
      end_without_eom(c, f.on_abort(c.ctx, c.api));
      break;
    case fp::close:
      end_without_eom(c, f.on_close(c.ctx, c.api));
      break;
    case fp::symbol: {
      const std::string name = kSymbols[in.byte() % 4];
      std::string value = in.string();
      std::erase_if(c.api.symbols, [&](const auto& s) { return s.first == name; });
      if (!value.empty()) c.api.set_symbol(name, std::move(value));
      break;
    }
    case fp::fail_on:
      c.api.fail_on = kCalls[in.byte() % 9];
      c.api.fail_after = in.byte() % 4;
      break;
    case fp::leading_space:
      c.ctx.leading_space = in.byte() % 2 != 0;
      break;
    case fp::verdict:
      pipeline().fake = read_verdict(in);
      break;
    case fp::kOpCount:
      break;
  }
  return op;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fp::Reader in(data, size);
  pipeline().fake.reset();
  pipeline().split_fails = false;
  {
    Connection c;
    for (int n = 0; n < 512 && !in.done(); ++n) {
      c.api.calls.clear();  // each callback's calls on their own (fail_after counts within one callback)
      if (step(c, in) != fp::eom) require(c.api.calls.empty(), "only end-of-message calls the MTA");
    }
  }
  fuzz::check_spool_empty(fuzz::gateway());
  return 0;
}
