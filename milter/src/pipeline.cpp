#include "milter/pipeline.hpp"

#include <exception>
#include <string>

#include "milter/direction.hpp"
#include "milter/inbound.hpp"
#include "milter/outbound.hpp"
#include "milter/policy.hpp"

namespace milter {

namespace {

// The failure verdict when even building one failed (out of memory): the internal action, no changes.
Verdict last_resort(const conf::Config& config, const char* what, std::vector<std::string>& log) noexcept {
  try {
    Verdict v = failure_verdict(config, FailureClass::internal, what);
    log.insert(log.end(), v.log.begin(), v.log.end());
    v.log = std::move(log);
    return v;
  } catch (...) {
    Verdict v;  // short literals only: they fit std::string's small buffer and allocate nothing
    v.action = config.failure_actions.internal;
    if (v.action == conf::Action::tempfail) {
      v.reply_code = "451";
      v.reply_status = "4.7.0";
      v.reply_text = "internal error";
    } else if (v.action == conf::Action::reject) {
      v.reply_code = "550";
      v.reply_status = "5.7.1";
      v.reply_text = "internal error";
    }
    return v;
  }
}

}  // namespace

Verdict process_message(const conf::Config& config, keystore::Store& store, revocation::Checker* revocation,
                        const Message& message, std::time_t now) {
  std::vector<std::string> log;
  try {
    const DirectionDecision d = explain_direction(config, message.envelope);
    log.push_back(std::string("direction=") + (d.direction == Direction::outbound ? "outbound" : "inbound") +
                  " " + d.reason);
    if (config.revocation.enabled && revocation == nullptr) log.push_back("revocation=not-checked");
    Verdict v;
    if (d.direction == Direction::inbound) {
      v = process_inbound(config, store, revocation, message, now);
    } else {
      const PolicyChoice choice = select_profile(config, message);
      log.push_back("rule=" + choice.rule + " profile=" + choice.profile->name);
      v = process_outbound(config, store, revocation, message, *choice.profile, now);
    }
    log.insert(log.end(), std::make_move_iterator(v.log.begin()), std::make_move_iterator(v.log.end()));
    v.log = std::move(log);
    return v;
  } catch (const std::exception& e) {
    return last_resort(config, e.what(), log);
  } catch (...) {
    return last_resort(config, "unknown exception", log);
  }
}

}  // namespace milter
