// The failure policy of the milter, in one place: which class a failure belongs to, which configured
// action answers it, and the SMTP reply (code, enhanced status, public text). No other file writes a
// reply code.
//
// Public text is generic and carries the queue id ("451 4.7.0 temporary failure, queue id ABC123"), so
// that a client's complaint can be found in the log. The detail (errno text, spool paths, OpenSSL's
// error queue, fingerprints, exception text) goes to the log at level error, never into a reply. The
// only specifics a reply may name are those the client gave itself (the recipients without a
// certificate) or the result classes of inbound mail, in our own words (never OpenSSL's).
//
//   failure class    reject      tempfail    public text; configured action failure_actions.<class>
//   internal         550 5.7.1   451 4.7.0   "internal error"
//   keystore         550 5.7.1   451 4.7.0   "certificate store unavailable"
//   no_certificate   550 5.7.1   451 4.7.0   "no usable encryption certificate: <the recipients>"
//   bad_input        550 5.7.1   451 4.7.0   "message cannot be processed for S/MIME"
//   signing          550 5.7.1   451 4.7.0   "cannot sign for this sender"
//   revocation       -           451 4.7.0   "revocation status could not be determined" (always tempfail)
//   (a refused MTA call, an undeliverable split copy: 451 4.7.0 "temporary failure")
//
//   inbound class    configured action (inbound.actions)  reject      tempfail
//   undecryptable                                          550 5.7.5   451 4.7.5
//   unauthenticated                                        550 5.7.7   451 4.7.0
//   fail                                                   550 5.7.7   451 4.7.0
//   permerror                                              550 5.7.1   451 4.7.0
//   temperror                                              550 5.7.1   451 4.7.0
#pragma once

#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>

#include "conf/config.hpp"
#include "milter/message.hpp"

namespace milter {

enum class FailureClass { internal, keystore, no_certificate, bad_input, signing, revocation };
std::string_view to_string(FailureClass c);

// The results of inbound mail that have an action of their own (inbound.actions).
enum class InboundClass { undecryptable, unauthenticated, fail, permerror, temperror };
std::string_view to_string(InboundClass c);

// A failure of a known class, thrown by the pipeline's steps and turned into a verdict where the
// pipeline runs. what() is the detail for the log; public_detail is what the reply may add (for
// no_certificate and revocation: the recipients concerned, as the client gave them).
class Failure : public std::runtime_error {
 public:
  Failure(FailureClass c, const std::string& detail, std::string public_detail = {})
      : std::runtime_error(detail), class_(c), public_detail_(std::move(public_detail)) {}
  FailureClass failure_class() const noexcept { return class_; }
  const std::string& public_detail() const noexcept { return public_detail_; }

 private:
  FailureClass class_;
  std::string public_detail_;
};

// The class of any exception: a Failure by its own class, keystore::Error(store) keystore,
// smime::Error(bad_input) bad_input, everything else internal.
FailureClass classify(std::exception_ptr e) noexcept;
// Its text for the log: what(), with the kind for keystore:: and smime:: errors.
std::string describe(std::exception_ptr e) noexcept;
// What the reply may add: Failure::public_detail(), empty for any other exception.
std::string public_detail(std::exception_ptr e) noexcept;

conf::Action action_for(const conf::FailureActions& actions, FailureClass c);

// The reply of a failure answered with `action`; empty unless the action is reject or tempfail.
Reply failure_reply(conf::Action action, FailureClass c, std::string_view public_detail,
                    std::string_view queue_id);
// The reply of an inbound result class answered with reject or tempfail (empty otherwise). `comment` is
// the result in our words, as in Authentication-Results.
Reply inbound_reply(conf::InboundAction action, InboundClass c, std::string_view comment,
                    std::string_view queue_id);
// The words of an inbound class for a reply or a quarantine reason: "S/MIME signature failed", ...
std::string_view inbound_text(InboundClass c);

// "451 4.7.0 temporary failure, queue id X": for what cannot be anything but a tempfail (the MTA refused
// a change, the split copy could not be delivered).
Reply tempfail_reply(std::string_view queue_id);

// The whole verdict of a failure: its configured action, the reply, and the log line
// "failure class=... action=... reason=...".
Verdict failure_verdict(const conf::Config& config, FailureClass c, std::string_view detail,
                        std::string_view public_detail, std::string_view queue_id);

}  // namespace milter
