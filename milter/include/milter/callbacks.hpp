// The libmilter glue: registers the smfiDesc whose C trampolines call Filter, opens the listening
// socket and runs smfi_main. main.cpp uses only this; it never includes libmilter/mfapi.h.
#pragma once

#include <functional>
#include <string>

#include "conf/config.hpp"
#include "milter/filter.hpp"

namespace milter {

struct RunOptions {
  conf::Listen listen;
  // unix socket: group given to the socket file (mode 0660), so that Postfix's smtpd can connect
  // without the socket being world-writable. Empty or unknown group: mode 0660 for the owner's group.
  std::string socket_group = "postfix";
  std::function<void()> on_sighup;  // called from a dedicated thread for each SIGHUP
};

// SIGHUP, SIGTERM and SIGINT blocked in the calling thread. Call it before any thread starts (the
// Filter's worker pool among them), so that every thread inherits the mask: libmilter's signal thread
// then takes SIGTERM and SIGINT, the reload thread SIGHUP, and no other thread is ever killed by one.
void block_daemon_signals();

// Runs until SIGTERM or SIGINT (in-flight connections finish). Returns 0 on a normal stop, 1 when the
// socket cannot be opened or libmilter fails (the reason is logged).
int run_milter(Filter& filter, const RunOptions& options);

// libmilter's library version, "1.0.2".
std::string libmilter_version();

}  // namespace milter
