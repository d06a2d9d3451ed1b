// The decision pipeline at end-of-message: direction, then (outbound) policy and S/MIME processing,
// (inbound, issue 5) decryption and verification. Pure with respect to libmilter: it reads a Message
// and returns a Verdict; the callback layer applies the Verdict. Never throws: internal failures
// become the configured failure action with a reason.
#pragma once

#include <ctime>

#include "conf/config.hpp"
#include "keystore/store.hpp"
#include "message.hpp"

namespace milter {

Direction decide_direction(const conf::Config& config, const Envelope& envelope);

// `now` is the time certificates are checked against.
Verdict process_message(const conf::Config& config, keystore::Store& store, const Message& message,
                        std::time_t now);

}  // namespace milter
