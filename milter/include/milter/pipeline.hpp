// The decision pipeline at end-of-message: direction, then (outbound) policy and S/MIME processing,
// (inbound) decryption and verification. Pure with respect to libmilter: it reads a Message and returns
// a Verdict; the callback layer applies the Verdict. Never throws: internal failures become the
// configured failure action with a reason. `revocation` is the checker of the configuration
// (RevocationService); null means certificates are not checked for revocation (revocation.enabled off,
// or unit tests of other matters), which is logged.
#pragma once

#include <ctime>

#include "conf/config.hpp"
#include "keystore/store.hpp"
#include "milter/message.hpp"

namespace revocation {
class Checker;
}

namespace milter {

Direction decide_direction(const conf::Config& config, const Envelope& envelope);

// `now` is the time certificates are checked against.
Verdict process_message(const conf::Config& config, keystore::Store& store, revocation::Checker* revocation,
                        const Message& message, std::time_t now);

}  // namespace milter
