// The libmilter glue: registers the smfiDesc whose C trampolines call Filter, opens the listening
// socket and runs smfi_main. main.cpp uses only this; it never includes libmilter/mfapi.h.
//
// Start-up is two steps so that the daemon can leave root in between: open_listener() (as root: the
// socket is made, given its mode, group and owner) and, after the switch and once the Filter exists,
// run_milter(). No thread is started before run_milter().
//
// Stopping: SIGTERM or SIGINT (taken by our own signal thread, not libmilter's): the messages in flight
// (begun before the signal) get up to RunOptions::drain_time to end, while libmilter still serves every
// connection (once stopped, Debian's libmilter with its worker pool reads nothing more from any of them).
// Then smfi_stop(), and libmilter's listener is woken at once by a connection to our own socket (it
// otherwise sees the stop only at its next 5 s select timeout): idle, the daemon stops within a second.
// Connections still open when the process exits are cut (the MTA tempfails what they carried: Postfix's
// milter_default_action, Sendmail's F=T); messages begun after the signal are not waited for.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

#include "conf/config.hpp"
#include "milter/filter.hpp"
#include "milter/privileges.hpp"

namespace milter {

class ListenError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ListenOptions {
  conf::Listen listen;
  unsigned socket_mode = 0660;  // unix socket: its permission bits
  // unix socket: the group given to it; empty: the group it got from its directory (setgid) or its maker.
  std::string socket_group;
  // unix socket made by root for an account the daemon switches to: given to that account (so that it can
  // connect to itself to stop, and remove the socket at exit), with the account's group unless
  // socket_group or a setgid directory says otherwise.
  std::optional<privileges::Account> owner;
};

// Registers the callbacks and opens the socket. A unix socket file left by an earlier run is removed,
// unless a milter still answers on it (then ListenError: two daemons must not share one socket).
// Throws ListenError naming the socket and the reason.
void open_listener(const ListenOptions& options);
// Removes the unix socket file of open_listener() (start-up failed after it).
void remove_listener_socket();

struct RunOptions {
  std::function<void()> on_sighup;              // called from the signal thread for each SIGHUP
  std::chrono::milliseconds drain_time{10000};  // at a stop, for the messages in flight
};

// SIGHUP, SIGTERM and SIGINT blocked in the calling thread. Call it before any thread starts (the
// Filter's worker pool among them), so that every thread inherits the mask: only our signal thread
// takes them.
void block_daemon_signals();

// Runs until SIGTERM or SIGINT (see the file comment). Returns 0 on a normal stop, 1 when libmilter
// fails (the reason is logged). The unix socket file is removed.
int run_milter(Filter& filter, const RunOptions& options);
// After run_milter(): whether libmilter still serves connections (their threads may still call the
// Filter: the caller must not destroy it, and exits the process instead).
bool sessions_open();

// libmilter's library version, "1.0.2".
std::string libmilter_version();

}  // namespace milter
