// Our verdicts cannot be pre-set by a sender: every Authentication-Results field carrying our
// authserv-id and every copy of our simple result headers and of the trace header are removed from
// every message, inbound, outbound and internal alike. A field name is matched whatever its case and
// also with white space before the colon (RFC 5322's obsolete syntax, "Authentication-Results : ..."),
// and deleted under the name exactly as it arrived, so that the MTA finds it.
#pragma once

#include <vector>

#include "conf/config.hpp"
#include "milter/logging.hpp"
#include "milter/message.hpp"
#include "smime/mime.hpp"

namespace milter {

// The deletions (highest index first per name); `removed`, when given, gets one log line per name.
std::vector<HeaderEdit> forged_result_edits(const conf::Config& config,
                                            const smime::mime::HeaderList& headers,
                                            std::vector<logging::Line>* removed);

}  // namespace milter
