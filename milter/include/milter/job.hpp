// One message's processing: everything the steps of the pipeline read (the configuration snapshot, the
// keystore, the revocation checker, the message, the clock) and the log they write. The Filter makes one
// Job per message at end-of-message and drops it with the message; nothing in it outlives the message.
//
// Contract: a Job is used by one thread at a time. Its log collects the lines of every step in order;
// the caller (Filter, dry run) writes them with the queue id. `side_effects` false (the dry run without
// --commit) means no step writes to the keystore: no harvest, no last-use mark.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "keystore/record.hpp"
#include "keystore/store.hpp"
#include "milter/logging.hpp"
#include "milter/message.hpp"
#include "smime/ossl.hpp"

namespace revocation {
class Checker;
}

namespace milter {

class Job {
 public:
  Job(const conf::Config& config_snapshot, keystore::Store& keystore, revocation::Checker* revocation_checker,
      const Message& the_message, std::time_t clock)
      : config(config_snapshot),
        store(keystore),
        checker(revocation_checker),
        message(the_message),
        now(clock) {}
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;

  const conf::Config& config;
  keystore::Store& store;
  revocation::Checker* checker;  // null: certificates are not checked for revocation
  const Message& message;
  const std::time_t now;  // the time certificates are checked against
  bool side_effects = true;
  // The passphrase of encrypted gateway keys (keystore.key_passphrase_file / _credential), for
  // keystore::load_identity and keystore::decryption_identities; empty: none configured.
  std::string key_passphrase;

  keystore::Time time() const { return static_cast<keystore::Time>(now); }
  const std::string& queue_id() const { return message.envelope.queue_id; }

  void note(const logging::Line& line) { log_.push_back({conf::LogLevel::info, line.str()}); }
  void warn(const logging::Line& line) { log_.push_back({conf::LogLevel::warning, line.str()}); }
  void error(const logging::Line& line) { log_.push_back({conf::LogLevel::error, line.str()}); }
  // The lines so far, handed over (to the verdict).
  std::vector<LogEntry> take_log() { return std::move(log_); }
  const std::vector<LogEntry>& log() const { return log_; }

  // The keystore's trust anchors, read once per message.
  const std::vector<smime::X509Ptr>& trust_anchors();

 private:
  std::vector<LogEntry> log_;
  std::optional<std::vector<smime::X509Ptr>> anchors_;
};

}  // namespace milter
