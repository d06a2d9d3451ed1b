// Per-connection and per-message state of the milter (the OpenDKIM / gwmilter shape).
//
// Ownership: libmilter's private data is a ConnectionContext*, created at connect and deleted at
// close. The connection owns at most one MessageContext. begin_message() (envfrom) destroys any old
// message before building a fresh one; end_message() is the one teardown, used at end-of-message, at
// abort and at close. Nothing is reset by hand anywhere else, so nothing of one message can leak into
// the next one on the same connection (after RSET, a rejected message, an abort).
//
// Configuration: LiveConfig holds the current snapshot; a message takes it at envfrom and keeps it
// until its end, so a SIGHUP reload never changes a message in flight.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "conf/config.hpp"
#include "keystore/store.hpp"
#include "keystore/store_pool.hpp"
#include "milter/message.hpp"
#include "milter/message_buffer.hpp"

namespace milter {

// The live configuration: an immutable snapshot swapped whole on reload.
class LiveConfig {
 public:
  explicit LiveConfig(std::shared_ptr<const conf::Config> initial) : current_(std::move(initial)) {}
  std::shared_ptr<const conf::Config> get() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  void set(std::shared_ptr<const conf::Config> next) {
    std::lock_guard lock(mutex_);
    current_ = std::move(next);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const conf::Config> current_;
};

// One message, from envfrom to its end. Everything here dies with the message.
struct MessageContext {
  explicit MessageContext(std::shared_ptr<const conf::Config> snapshot);

  std::shared_ptr<const conf::Config> config;  // the snapshot this message started with
  Envelope envelope;
  smime::mime::HeaderList headers;
  MessageBuffer body;
  std::uint64_t header_bytes = 0;
  std::optional<std::string> body_error;  // the body could not be buffered (full disk): tempfail at eom
  bool too_large = false;                 // past limits.max_message_size: the rest is not buffered
  bool step_failed = false;               // a callback the MTA expects no reply for failed: tempfail at eom
  // The keystore this message uses while it is processed: leased at end-of-message from the process's
  // pool, given back when the message ends.
  std::optional<keystore::StorePool::Lease> store_lease;
  std::string store_cache_key;  // what the leased store holds, for the process's KeyCache
};

class ConnectionContext {
 public:
  ConnectionContext() = default;
  ~ConnectionContext();
  ConnectionContext(const ConnectionContext&) = delete;
  ConnectionContext& operator=(const ConnectionContext&) = delete;

  // Connection facts, set at connect / helo.
  std::string client_name;
  std::string client_address;
  std::string helo;
  // SMFIP_HDR_LEADSPC was negotiated: header values arrive with their leading space, and values we
  // give to the MTA must carry it.
  bool leading_space = false;
  // The SMFIP_NR_* steps negotiated: their callbacks answer SMFIS_NOREPLY.
  unsigned long no_reply_steps = 0;

  MessageContext* message() { return message_.get(); }
  MessageContext& begin_message(std::shared_ptr<const conf::Config> snapshot);
  void end_message();

 private:
  std::unique_ptr<MessageContext> message_;
};

}  // namespace milter
