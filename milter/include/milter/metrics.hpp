// The daemon's counters, for the Prometheus text format (metrics_http.hpp serves them on metrics.listen).
//
// Contract: one registry per process, thread safe (a mutex; a handful of updates per message). A counter
// is a family name and a set of labels; count() creates it at 0 and adds. Families the daemon knows
// (kFamilies in metrics.cpp, with their help text) are always exported, so that a scraper sees a 0
// before the first message; a label-less known family is exported as 0 too. Label values are escaped as
// the text format requires; label names are the program's own literals.
//
// The names (all counters unless said):
//   smime_messages_total{direction,action}   every end of message: outbound/inbound, accept/reject/
//                                            tempfail/discard
//   smime_messages_signed_total              outbound: a signature made
//   smime_messages_encrypted_total           outbound: an encrypted message made
//   smime_messages_decrypted_total           inbound: an encrypted layer decrypted
//   smime_verify_total{result}               inbound: a signature's result (pass, fail, neutral,
//                                            permerror, temperror)
//   smime_failures_total{class}              a failure of a class (failure.hpp), at its verdict
//   smime_revocation_answers_total{status,source}  a revocation decision: good/revoked/undetermined,
//                                            ocsp/crl/local/none
//   smime_eom_duration_seconds (histogram)   end-of-message processing time (observe_latency)
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace milter::metrics {

using Label = std::pair<std::string_view, std::string_view>;

// Adds n to the counter `family` with these labels (in the order given; keep one order per family).
void count(std::string_view family, std::initializer_list<Label> labels = {}, double n = 1);
// One end-of-message processing time, in seconds, into smime_eom_duration_seconds.
void observe_latency(double seconds);

// Every family in the Prometheus text exposition format (version 0.0.4).
std::string exposition();
// The value of one counter (0 when never counted); for tests.
double value(std::string_view family, std::initializer_list<Label> labels = {});
// Back to nothing counted; for tests.
void reset();

}  // namespace milter::metrics
