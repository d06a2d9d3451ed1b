#include "milter/pipeline.hpp"

#include <exception>
#include <string>

#include "milter/direction.hpp"
#include "milter/failure.hpp"
#include "milter/forged_results.hpp"
#include "milter/inbound.hpp"
#include "milter/metrics.hpp"
#include "milter/outbound.hpp"
#include "milter/policy.hpp"

namespace milter {

namespace {

// The failure verdict when even building one failed (out of memory): the internal action and no changes.
// Short literals only: they fit std::string's small buffer and allocate nothing.
Verdict last_resort(const conf::Config& config) noexcept {
  Verdict v;
  v.action = config.failure_actions.internal;
  try {
    v.reply = failure_reply(v.action, FailureClass::internal, {}, "-");
  } catch (...) {
  }
  return v;
}

// What Authentication-Results says of a message delivered unchecked after a failure of class c.
std::string unchecked_reason(FailureClass c) {
  switch (c) {
    case FailureClass::keystore:
      return "keystore unavailable";
    case FailureClass::bad_input:
      return "malformed message, not checked";
    default:
      return "internal error";
  }
}

Verdict failure_of(Job& job, std::exception_ptr e) {
  const FailureClass c = classify(e);
  metrics::count("smime_failures_total", {{"class", to_string(c)}});
  Verdict v = failure_verdict(job.config, c, describe(e), public_detail(e), job.queue_id());
  if (v.action == conf::Action::accept)  // delivered anyway: never with a forged verdict of ours
    v.header_edits = decide_direction(job.config, job.message.envelope) == Direction::inbound
                         ? unprocessed_inbound_edits(job.config, job.message.headers, unchecked_reason(c))
                         : forged_result_edits(job.config, job.message.headers, nullptr);
  std::vector<LogEntry> log = job.take_log();
  log.insert(log.end(), v.log.begin(), v.log.end());
  v.log = std::move(log);
  return v;
}

}  // namespace

Verdict guarded(Job& job, const std::function<Verdict(Job&)>& step) noexcept {
  try {
    try {
      Verdict v = step(job);
      std::vector<LogEntry> log = job.take_log();
      log.insert(log.end(), std::make_move_iterator(v.log.begin()), std::make_move_iterator(v.log.end()));
      v.log = std::move(log);
      return v;
    } catch (...) {
      return failure_of(job, std::current_exception());
    }
  } catch (...) {
    return last_resort(job.config);
  }
}

Verdict process_message(Job& job) {
  return guarded(job, [](Job& j) {
    const DirectionDecision d = explain_direction(j.config, j.message.envelope);
    j.note(logging::Line()
               .add("direction", d.direction == Direction::outbound ? "outbound" : "inbound")
               .append(d.reason));
    if (j.config.revocation.enabled && j.checker == nullptr)
      j.note(logging::Line().add("revocation", "not-checked"));
    if (d.direction == Direction::inbound) return process_inbound(j);
    const PolicyChoice choice = select_profile(j.config, j.message);
    j.note(logging::Line().add("rule", choice.rule).add("profile", choice.profile->name));
    return process_outbound(j, *choice.profile);
  });
}

Verdict process_message(const conf::Config& config, keystore::Store& store, revocation::Checker* revocation,
                        const Message& message, std::time_t now) {
  Job job(config, store, revocation, message, now);
  return process_message(job);
}

}  // namespace milter
