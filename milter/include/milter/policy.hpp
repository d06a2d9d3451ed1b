// Outbound policy: which profile applies to a message.
//
// Contract: pure functions of the configuration and the message; select_profile() never returns a
// null profile (the configured default_profile is never null) and does not throw on odd input
// (malformed addresses and headers simply do not match).
//
// Rules are tried in order; a rule matches when every condition it gives matches:
//  - sender: the policy sender (below) against any of the patterns;
//  - recipient: any envelope recipient against any of the patterns;
//  - header: each condition met by at least one header field (values unfolded and trimmed by
//    conf::HeaderCondition);
//  - size_min / size_max: the body size in bytes (as the MTA handed it over, CRLF line ends), inclusive.
// The first matching rule picks the profile; otherwise the default profile applies (rule "default").
//
// The policy sender is the envelope sender (MAIL FROM). It is the address the MTA can tie to the
// authenticated user (Postfix smtpd_sender_login_maps); the From header is whatever the client wrote.
// Only for the null sender <> (DSNs, auto-replies) is the From header's address used instead. Rules
// that care about the From header can say so with a header condition on "From". The signing identity
// is chosen by the same address (outbound.hpp), so policy and signature agree.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "conf/config.hpp"
#include "milter/message.hpp"

namespace milter {

struct PolicyChoice {
  std::shared_ptr<const conf::Profile> profile;  // never null
  std::string rule;                              // the matching rule's name, or "default"
};

PolicyChoice select_profile(const conf::Config& config, const Message& message);
bool rule_matches(const conf::RuleMatch& match, const Message& message);

// The envelope sender, or for the null sender the address of the From header ("" if none).
std::string policy_sender(const Message& message);
// The addr-spec of a From-like header value: the part in <angle brackets> if any, else the first
// word containing '@' (comments in parentheses dropped). "" when there is none.
std::string header_address(std::string_view value);

}  // namespace milter
