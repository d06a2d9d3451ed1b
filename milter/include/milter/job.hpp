// One message's processing: everything the steps of the pipeline read (the configuration snapshot, the
// keystore, the revocation checker, the message, the clock, the process's cache of decoded keys) and
// the log they write. The Filter makes one Job per message at end-of-message and drops it with the
// message; nothing in it outlives the message.
//
// Contract: a Job is used by one thread at a time. Its log collects the lines of every step in order;
// the caller (Filter, dry run) writes them with the queue id. `side_effects` false (the dry run without
// --commit) means no step writes to the keystore: no harvest, no last-use mark. Without a KeyCache of the
// process (tests, tools), the Job uses one of its own.
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "keystore/record.hpp"
#include "keystore/store.hpp"
#include "milter/key_cache.hpp"
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

  // The process's cache, the store's location (its key in the cache) and the generation read for this
  // message; without them the Job keeps its own cache and reads the generation when first needed.
  void use_cache(KeyCache& cache, std::string location, std::int64_t generation);

  keystore::Time time() const { return static_cast<keystore::Time>(now); }
  const std::string& queue_id() const { return message.envelope.queue_id; }

  void note(const logging::Line& line) { log_.push_back({conf::LogLevel::info, line.str()}); }
  void warn(const logging::Line& line) { log_.push_back({conf::LogLevel::warning, line.str()}); }
  void error(const logging::Line& line) { log_.push_back({conf::LogLevel::error, line.str()}); }
  // The lines so far, handed over (to the verdict).
  std::vector<LogEntry> take_log() { return std::move(log_); }
  const std::vector<LogEntry>& log() const { return log_; }

  // Decoded keystore material, through the cache (key_cache.hpp).
  const std::vector<smime::X509Ptr>& trust_anchors();
  std::shared_ptr<X509_STORE> trust_store();
  std::shared_ptr<const keystore::Identity> identity(const std::string& fingerprint);
  std::shared_ptr<const KeyCache::DecryptionKeys> decryption_keys();
  std::shared_ptr<const KeyCache::Choice> signing_choice(const std::string& address_or_domain);
  KeyCache& cache() { return *cache_; }

 private:
  KeyCache::From source();

  std::vector<LogEntry> log_;
  std::unique_ptr<KeyCache> own_cache_ = std::make_unique<KeyCache>();
  KeyCache* cache_ = own_cache_.get();
  std::string location_ = "job";
  std::optional<std::int64_t> generation_;
  std::shared_ptr<const KeyCache::Anchors> anchors_;
};

}  // namespace milter
