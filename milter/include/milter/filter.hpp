// The callback logic of the milter, independent of libmilter: each on_* mirrors one xxfi_* callback,
// takes the connection's context and the MilterApi seam, and returns a CallbackStatus with the SMFIS_* value
// libmilter expects (callbacks.cpp casts it). Unit tests drive it through RecordingApi.
//
// End of message: the Message is built from the context (headers as received, body from the
// MessageBuffer, envelope with queue id and SMTP AUTH), the Processor (milter::process_message) returns
// a Verdict, and apply_verdict() carries it out: split copy first (SMTP re-injection; a failure
// tempfails the whole transaction), then header edits, the body in chunks of at most 64 KiB,
// recipient removals. The pipeline runs on the WorkerPool while the callback thread calls
// progress() every progress_interval, so that the MTA keeps waiting during long work (libmilter's
// context may only be used from the callback thread). No progress is sent between body chunks:
// Postfix refuses body replacement mixed with other requests ("body replacement requests can't
// currently be mixed with other requests", seen with a 20 MB message). Any refused call tempfails the
// message: with a tempfail at end-of-message the MTA does not accept the message, so no half-made change is
// ever delivered. Whatever happens, the message context is torn down (end_message) before on_eom returns.
// Each end of message is counted (metrics.hpp: smime_messages_total by direction and action, its
// processing time in smime_eom_duration_seconds, failures before the pipeline in smime_failures_total).
#pragma once

#include <chrono>
#include <cstddef>
#include <ctime>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "milter/context.hpp"
#include "milter/failure.hpp"
#include "milter/job.hpp"
#include "milter/key_cache.hpp"
#include "milter/milter_api.hpp"
#include "milter/revocation_service.hpp"
#include "milter/store_service.hpp"
#include "milter/worker_pool.hpp"

namespace milter {

enum class CallbackStatus : int {  // the values of SMFIS_*
  continue_ = 0,
  reject = 1,
  discard = 2,
  accept = 3,
  tempfail = 4,
  noreply = 7,
  skip = 8,
};

std::string_view to_string(CallbackStatus s);

// The pipeline. Default: milter::process_message.
using Processor = std::function<Verdict(Job&)>;
// The keystore for a message's configuration. Default: a store leased from the process's pool for the
// configured location (kept in the message context until the message ends).
using StoreOpener = std::function<keystore::Store&(ConnectionContext&, const conf::Config&)>;
// Delivers a split copy. Default: smtp_send to config.reinjection. Throws on failure.
using Reinjector = std::function<void(const conf::Config&, const SplitCopy&)>;

inline constexpr std::size_t body_chunk_size = 64 * 1024;  // smfi_replacebody limit we keep to

class Filter {
 public:
  // `workers`: the threads that run the pipeline (0: one per core).
  explicit Filter(const LiveConfig& config, Processor processor = {}, StoreOpener store_opener = {},
                  Reinjector reinjector = {}, unsigned workers = 0);

  CallbackStatus on_connect(ConnectionContext& ctx, MilterApi& api, std::string_view hostname,
                            std::string_view address);
  CallbackStatus on_helo(ConnectionContext& ctx, MilterApi& api, std::string_view helo);
  // args[0] is the address as given (usually with angle brackets), then ESMTP parameters.
  CallbackStatus on_envfrom(ConnectionContext& ctx, MilterApi& api, const std::vector<std::string>& args);
  CallbackStatus on_envrcpt(ConnectionContext& ctx, MilterApi& api, const std::vector<std::string>& args);
  CallbackStatus on_header(ConnectionContext& ctx, MilterApi& api, std::string_view name,
                           std::string_view value);
  CallbackStatus on_eoh(ConnectionContext& ctx, MilterApi& api);
  CallbackStatus on_body(ConnectionContext& ctx, MilterApi& api, std::string_view chunk);
  CallbackStatus on_eom(ConnectionContext& ctx, MilterApi& api);
  CallbackStatus on_abort(ConnectionContext& ctx, MilterApi& api);
  CallbackStatus on_close(ConnectionContext& ctx, MilterApi& api);

  // How often progress() is called while the pipeline works (default 10 s; tests shorten it).
  void set_progress_interval(std::chrono::milliseconds interval) { progress_interval_ = interval; }
  // false (the dry run without --commit): the pipeline writes nothing to the keystore.
  void set_side_effects(bool on) { side_effects_ = on; }
  // The passphrase of encrypted gateway keys, given to each Job (read at start and at each reload).
  void set_key_passphrase(std::string passphrase);

 private:
  CallbackStatus eom(ConnectionContext& ctx, MessageContext& msg, MilterApi& api);
  CallbackStatus fail_before_pipeline(ConnectionContext& ctx, MessageContext& msg, MilterApi& api,
                                      FailureClass c, const std::string& unchecked);
  Verdict run_pipeline(Job& job, MilterApi& api);
  CallbackStatus apply_verdict(ConnectionContext& ctx, MessageContext& msg, MilterApi& api,
                               const Verdict& verdict);
  CallbackStatus apply_changes(ConnectionContext& ctx, MessageContext& msg, MilterApi& api,
                               const Verdict& verdict);

  const LiveConfig& config_;
  Processor processor_;
  StoreOpener store_opener_;
  Reinjector reinjector_;
  RevocationService revocation_;
  std::chrono::milliseconds progress_interval_{10000};
  bool side_effects_ = true;
  StoreService stores_;
  KeyCache keys_;       // decoded keys, anchors and signing choices, shared by all messages
  mutable std::mutex passphrase_mutex_;
  std::string key_passphrase_;
  WorkerPool workers_;  // last: its threads stop before the members they use go
};

// "<a@b>" -> "a@b"; surrounding white space removed.
std::string strip_angle_brackets(std::string_view address);

// The callback status that carries out an action.
CallbackStatus status_of(conf::Action action);

}  // namespace milter
