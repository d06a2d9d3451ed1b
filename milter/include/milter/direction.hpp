// Direction of a message: outbound (ours, to be signed/encrypted) or inbound (decrypted and verified).
//
// Contract: pure function of the configuration and the envelope; never throws for any input
// (malformed addresses simply match nothing). The reason is a short "key=value" fragment for the log.
//
// Outbound when, in this order:
//  1. the client authenticated (SMTP AUTH) and direction.authenticated_is_outbound is set;
//  2. the client address lies in one of direction.internal_networks;
//  3. the client address is unknown (a dry run, or an MTA that did not pass {client_addr}) and the
//     envelope sender's domain matches direction.internal_domains.
// Otherwise inbound. Rule 3 deliberately does not apply when a client address is known: anybody on the
// Internet can write MAIL FROM:<ceo@example.com>, and treating that as outbound would have the gateway
// sign forged mail with its own key. A known client is trusted by its network or its authentication.
#pragma once

#include <string>

#include "conf/config.hpp"
#include "milter/logging.hpp"
#include "milter/message.hpp"

namespace milter {

struct DirectionDecision {
  Direction direction = Direction::inbound;
  logging::Line
      reason;  // e.g. "reason=authenticated user=alice", "reason=internal-network network=10.0.0.0/8"
};

DirectionDecision explain_direction(const conf::Config& config, const Envelope& envelope);

// The domain of an address ("Bob@Example.ORG" -> "example.org"), angle brackets allowed; "" without '@'.
std::string address_domain(std::string_view address);

}  // namespace milter
