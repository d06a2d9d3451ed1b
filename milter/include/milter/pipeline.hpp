// The decision pipeline at end-of-message: direction, then (outbound) policy and S/MIME processing,
// (inbound) decryption and verification. Pure with respect to libmilter: it reads a Job (the message and
// what it needs) and returns a Verdict; the callback layer applies the Verdict.
//
// Contract: never throws. This is the one place where the pipeline's exceptions are caught: a step
// throws (a Failure of its class, keystore::Error, smime::Error, anything) and guarded() turns it into
// the failure verdict of its class (failure.hpp) with no changes to the message — except that an
// inbound message delivered anyway (the action is accept) still loses forged results and says it was not
// checked (smime=temperror).
#pragma once

#include <ctime>
#include <functional>

#include "conf/config.hpp"
#include "keystore/store.hpp"
#include "milter/job.hpp"
#include "milter/message.hpp"

namespace revocation {
class Checker;
}

namespace milter {

Direction decide_direction(const conf::Config& config, const Envelope& envelope);

// The whole pipeline for a job; the verdict's log holds the job's log.
Verdict process_message(Job& job);

// A step inside the pipeline's guard, the one catch-all of the pipeline (process_message uses it; tests
// run process_inbound / process_outbound through it).
Verdict guarded(Job& job, const std::function<Verdict(Job&)>& step) noexcept;

// Conveniences for tests and tools: a Job made of the arguments.
Verdict process_message(const conf::Config& config, keystore::Store& store, revocation::Checker* revocation,
                        const Message& message, std::time_t now);

}  // namespace milter
