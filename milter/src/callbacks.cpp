// The smfiDesc and its C trampolines. Each trampoline finds the ConnectionContext in libmilter's
// private data, wraps the SMFICTX in a LibmilterApi and calls Filter inside guarded(): one template
// catches every exception, logs it and returns SMFIS_TEMPFAIL, so no exception ever crosses
// libmilter's C frames and a failure never lets a message through unprocessed.
//
// Negotiation: we ask for ADDHDRS, CHGHDRS, CHGBODY, DELRCPT (and QUARANTINE, SETSYMLIST when offered),
// for SMFIP_HDR_LEADSPC (header values with their exact leading white space; the values we add carry
// their own space), skip the HELO, unknown and DATA steps, and give no reply to the collecting steps
// (kNoReplySteps). Macros: "i" at RCPT, EOH and EOM, "{auth_authen}" and "{client_addr}" at MAIL FROM,
// via smfi_setsymlist when the MTA allows it.
//
// Signals: libmilter's own signal thread treats SIGHUP like SIGTERM (it stops the milter), and after a
// SIGTERM its listener notices the stop only at its next select timeout (5 s). So sigwait() is interposed
// below: libmilter's call (the one waiting for SIGTERM) gets none of SIGHUP, SIGTERM and SIGINT, and our
// own signal thread takes them: SIGHUP reloads; SIGTERM and SIGINT let the messages in flight end, then
// call smfi_stop() and wake the listener by connecting to our own socket, so that it stops at once.
//
// The private data is a Session: the ConnectionContext and whether its message counts as in flight
// (begun before a stop), so that a stop can wait for exactly those messages.
#include "milter/callbacks.hpp"

#include <arpa/inet.h>
#include <libmilter/mfapi.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <thread>

#include "libmilter_api.hpp"
#include "milter/logging.hpp"

// libmilter's signal thread calls sigwait(SIGHUP|SIGTERM|SIGINT); those three are our signal thread's.
// With nothing left to wait for, it waits for ever.
extern "C" int sigwait(const sigset_t* __restrict set, int* __restrict sig) {
  sigset_t copy = *set;
  if (sigismember(&copy, SIGTERM) == 1) {
    sigdelset(&copy, SIGHUP);
    sigdelset(&copy, SIGTERM);
    sigdelset(&copy, SIGINT);
    if (sigisemptyset(&copy) == 1) {
      for (;;) pause();
    }
  }
  for (;;) {
    int r = sigwaitinfo(&copy, nullptr);
    if (r > 0) {
      *sig = r;
      return 0;
    }
    if (errno != EINTR) return errno;
  }
}

namespace milter {
namespace {

using logging::Line;

Filter* g_filter = nullptr;
std::uint16_t g_tcp_port = 0;  // the port we listen on over TCP; 0 on a unix socket
std::atomic<bool> g_quickack_warned{false};

// libmilter's private data: the connection's context, and whether its message counts as in flight.
struct Session {
  ConnectionContext context;
  bool in_flight = false;  // counted in g_in_flight
  int ack_socket = -1;     // the MTA's TCP connection, on which the no-reply steps send their ACK at once
};

std::atomic<int> g_sessions{0};   // connections with a Session
std::atomic<int> g_in_flight{0};  // messages begun before a stop and not ended
std::atomic<bool> g_stopping{false};

Session* session_of(SMFICTX* ctx) { return static_cast<Session*>(smfi_getpriv(ctx)); }

ConnectionContext* context_of(SMFICTX* ctx) {
  Session* s = session_of(ctx);
  return s != nullptr ? &s->context : nullptr;
}

ConnectionContext& ensure_context(SMFICTX* ctx) {
  if (ConnectionContext* c = context_of(ctx)) return *c;
  auto* s = new Session();
  if (smfi_setpriv(ctx, s) != MI_SUCCESS) {
    delete s;
    throw std::runtime_error("smfi_setpriv failed");
  }
  ++g_sessions;
  return s->context;
}

// After each callback: a message begun (before a stop) counts as in flight until it ends.
sfsistat track(SMFICTX* ctx, sfsistat status) {
  if (Session* s = session_of(ctx)) {
    const bool has_message = s->context.message() != nullptr;
    if (has_message && !s->in_flight && !g_stopping) {
      s->in_flight = true;
      ++g_in_flight;
    } else if (!has_message && s->in_flight) {
      s->in_flight = false;
      --g_in_flight;
    }
  }
  return status;
}

void end_session(SMFICTX* ctx) {
  Session* s = session_of(ctx);
  if (s == nullptr) return;
  if (s->in_flight) --g_in_flight;
  delete s;  // the connection context dies with the connection, whatever happened
  smfi_setpriv(ctx, nullptr);
  --g_sessions;
}

std::string queue_id_of(SMFICTX* ctx) {
  const char* q = smfi_getsymval(ctx, const_cast<char*>("i"));
  return q != nullptr ? q : "-";
}

// The one try/catch of the milter.
template <typename F>
sfsistat guarded(SMFICTX* ctx, const char* where, F&& f) noexcept {
  try {
    return static_cast<sfsistat>(f());
  } catch (const std::exception& e) {
    try {
      logging::error(
          queue_id_of(ctx),
          Line("callback-failed").add("callback", where).add("action", "tempfail").add("error", e.what()));
    } catch (...) {
    }
  } catch (...) {
    try {
      logging::error(
          queue_id_of(ctx),
          Line("callback-failed").add("callback", where).add("action", "tempfail").add("error", "unknown"));
    } catch (...) {
    }
  }
  return SMFIS_TEMPFAIL;
}

// Over TCP, the no-reply steps meet Nagle's algorithm on the MTA's side (Postfix sets no TCP_NODELAY on
// its milter connections) and our delayed ACK: Postfix sends a message's commands in several writes with
// no reply between them, each write after the first waits for the ACK of the one before, and after our
// negotiation reply the kernel holds that ACK for up to 40 ms. Measured through Postfix 3.7 (4 KiB
// messages, 8 sessions): inet 0.5 x the unix socket. Replying to every step does not help (the writes
// of one step, and smtpd's and cleanup's writes on the same socket, still wait); so each no-reply step
// sends the pending ACK at once with TCP_QUICKACK, which the kernel clears again, hence on every step.
//
// libmilter does not expose the connection's socket: it is the second member of its SMFICTX (after the
// session thread's id) in every libmilter since 8.12. What is found there is used only when it is a
// TCP socket bound to our listening port; otherwise the milter runs without (and says so once).
struct LibmilterContextHead {
  pthread_t thread;
  int socket;
};

int mta_tcp_socket(SMFICTX* ctx) {
  const int fd = reinterpret_cast<const LibmilterContextHead*>(ctx)->socket;
  int type = 0;
  socklen_t type_len = sizeof type;
  if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) != 0 || type != SOCK_STREAM) return -1;
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return -1;
  std::uint16_t port = 0;
  if (ss.ss_family == AF_INET)
    port = ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
  else if (ss.ss_family == AF_INET6)
    port = ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
  return port == g_tcp_port ? fd : -1;
}

void find_ack_socket(Session& s, SMFICTX* ctx) {
  if (g_tcp_port == 0) return;
  s.ack_socket = mta_tcp_socket(ctx);
  if (s.ack_socket < 0 && !g_quickack_warned.exchange(true))
    logging::warning("smime-milter",
                     Line("tcp-quickack-not-set").add("reason", "connection socket not found"));
}

void send_ack_now(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

std::vector<std::string> args_of(char** argv) {
  std::vector<std::string> out;
  for (; argv != nullptr && *argv != nullptr; ++argv) out.emplace_back(*argv);
  return out;
}

std::string address_of(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (sa == nullptr) return {};
  if (sa->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf, sizeof buf);
  } else if (sa->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, buf, sizeof buf);
  }
  return buf;
}

constexpr unsigned long needed_actions = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_DELRCPT;
constexpr unsigned long wanted_actions = needed_actions | SMFIF_QUARANTINE | SMFIF_SETSYMLIST;

// The protocol steps we ask for, when the MTA offers them: header values with their exact leading white
// space; no HELO, unknown-command or DATA callbacks (nothing of ours uses them); and no reply for the
// steps that only collect (connect, MAIL, RCPT, each header, end of headers, each body chunk), so that
// the MTA does not wait a round trip for each. End of message is the one step that answers.
constexpr unsigned long kNoReplySteps =
    SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY;
constexpr unsigned long kWantedSteps =
    SMFIP_HDR_LEADSPC | SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA | kNoReplySteps;

sfsistat xx_negotiate(SMFICTX* ctx, unsigned long f0, unsigned long f1, unsigned long, unsigned long,
                      unsigned long* pf0, unsigned long* pf1, unsigned long* pf2, unsigned long* pf3) {
  return guarded(ctx, "negotiate", [&]() -> sfsistat {
    ConnectionContext& c = ensure_context(ctx);
    if ((f0 & needed_actions) != needed_actions) {
      logging::error(
          "-",
          Line("negotiate-failed").add("reason", "MTA does not allow header, body and recipient changes"));
      return SMFIS_REJECT;
    }
    *pf0 = f0 & wanted_actions;
    const unsigned long steps = f1 & kWantedSteps;
    *pf1 = steps;
    *pf2 = 0;
    *pf3 = 0;
    c.leading_space = (steps & SMFIP_HDR_LEADSPC) != 0;
    c.no_reply_steps = steps & kNoReplySteps;
    if (c.no_reply_steps != 0) find_ack_socket(*session_of(ctx), ctx);
    if ((f0 & SMFIF_SETSYMLIST) != 0) {
      smfi_setsymlist(ctx, SMFIM_ENVFROM, const_cast<char*>("i {auth_authen} {client_addr}"));
      smfi_setsymlist(ctx, SMFIM_ENVRCPT, const_cast<char*>("i"));
      smfi_setsymlist(ctx, SMFIM_EOH, const_cast<char*>("i"));
      smfi_setsymlist(ctx, SMFIM_EOM, const_cast<char*>("i"));
    }
    logging::debug("-", Line("negotiated").add("actions", *pf0).add("steps", steps));
    return SMFIS_CONTINUE;
  });
}

// A step the MTA expects no reply for answers SMFIS_NOREPLY (over TCP, sending its ACK at once). Such a
// step cannot refuse: when it failed, the message is marked and end-of-message tempfails it.
sfsistat answer(SMFICTX* ctx, unsigned long no_reply_flag, sfsistat status) {
  Session* s = session_of(ctx);
  if (s == nullptr || (s->context.no_reply_steps & no_reply_flag) == 0) return status;
  ConnectionContext* c = &s->context;
  if (status != SMFIS_CONTINUE && c->message() != nullptr) c->message()->step_failed = true;
  if (s->ack_socket >= 0) send_ack_now(s->ack_socket);
  return SMFIS_NOREPLY;
}

sfsistat xx_connect(SMFICTX* ctx, char* hostname, _SOCK_ADDR* hostaddr) {
  return answer(ctx, SMFIP_NR_CONN, guarded(ctx, "connect", [&] {
                  LibmilterApi api(ctx);
                  return g_filter->on_connect(ensure_context(ctx), api, hostname != nullptr ? hostname : "",
                                              address_of(hostaddr));
                }));
}

sfsistat xx_helo(SMFICTX* ctx, char* helo) {
  return guarded(ctx, "helo", [&] {
    LibmilterApi api(ctx);
    return g_filter->on_helo(ensure_context(ctx), api, helo != nullptr ? helo : "");
  });
}

sfsistat xx_envfrom(SMFICTX* ctx, char** argv) {
  return track(ctx, answer(ctx, SMFIP_NR_MAIL, guarded(ctx, "envfrom", [&] {
                             LibmilterApi api(ctx);
                             return g_filter->on_envfrom(ensure_context(ctx), api, args_of(argv));
                           })));
}

sfsistat xx_envrcpt(SMFICTX* ctx, char** argv) {
  return answer(ctx, SMFIP_NR_RCPT, guarded(ctx, "envrcpt", [&] {
                  LibmilterApi api(ctx);
                  return g_filter->on_envrcpt(ensure_context(ctx), api, args_of(argv));
                }));
}

sfsistat xx_header(SMFICTX* ctx, char* name, char* value) {
  return answer(ctx, SMFIP_NR_HDR, guarded(ctx, "header", [&] {
                  LibmilterApi api(ctx);
                  return g_filter->on_header(ensure_context(ctx), api, name != nullptr ? name : "",
                                             value != nullptr ? value : "");
                }));
}

sfsistat xx_eoh(SMFICTX* ctx) {
  return answer(ctx, SMFIP_NR_EOH, guarded(ctx, "eoh", [&] {
                  LibmilterApi api(ctx);
                  return g_filter->on_eoh(ensure_context(ctx), api);
                }));
}

sfsistat xx_body(SMFICTX* ctx, unsigned char* data, size_t len) {
  return answer(ctx, SMFIP_NR_BODY, guarded(ctx, "body", [&] {
                  LibmilterApi api(ctx);
                  return g_filter->on_body(ensure_context(ctx), api,
                                           std::string_view(reinterpret_cast<const char*>(data), len));
                }));
}

sfsistat xx_eom(SMFICTX* ctx) {
  return track(ctx, guarded(ctx, "eom", [&] {
                 LibmilterApi api(ctx);
                 return g_filter->on_eom(ensure_context(ctx), api);
               }));
}

sfsistat xx_abort(SMFICTX* ctx) {
  return track(ctx, guarded(ctx, "abort", [&] {
                 LibmilterApi api(ctx);
                 return g_filter->on_abort(ensure_context(ctx), api);
               }));
}

sfsistat xx_close(SMFICTX* ctx) {
  sfsistat r = guarded(ctx, "close", [&] {
    ConnectionContext* c = context_of(ctx);
    if (c == nullptr) return CallbackStatus::continue_;
    LibmilterApi api(ctx);
    return g_filter->on_close(*c, api);
  });
  end_session(ctx);
  return r;
}

// libmilter's listening TCP socket, which libmilter does not expose: found among our descriptors (a
// listening TCP socket bound to the configured port). -1 when it was not found.
int find_tcp_listener(std::uint16_t port) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    int fd = std::atoi(entry.path().filename().c_str());
    int listening = 0;
    socklen_t len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening == 0) continue;
    sockaddr_storage ss{};
    socklen_t sl = sizeof ss;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &sl) != 0) continue;
    std::uint16_t bound = 0;
    if (ss.ss_family == AF_INET)
      bound = ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    else if (ss.ss_family == AF_INET6)
      bound = ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
    else
      continue;
    if (bound == port) return fd;
  }
  return -1;
}

// Where to connect to wake the listener: the unix socket, or the TCP address it is bound to (a wildcard
// address replaced by loopback).
struct WakeAddress {
  sockaddr_storage address{};
  socklen_t length = 0;
};
WakeAddress g_wake;
std::string g_socket_path;  // the unix socket file, removed at the end

WakeAddress unix_address(const std::string& path) {
  WakeAddress w;
  auto* un = reinterpret_cast<sockaddr_un*>(&w.address);
  un->sun_family = AF_UNIX;
  std::strncpy(un->sun_path, path.c_str(), sizeof un->sun_path - 1);
  w.length = sizeof(sockaddr_un);
  return w;
}

WakeAddress tcp_address(int fd) {
  WakeAddress w;
  w.length = sizeof w.address;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&w.address), &w.length) != 0) return {};
  if (w.address.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&w.address);
    if (in->sin_addr.s_addr == htonl(INADDR_ANY)) in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  } else if (w.address.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&w.address);
    if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr)) in6->sin6_addr = in6addr_loopback;
  }
  return w;
}

// One connection to our own socket, closed at once: libmilter's select returns, the listener accepts it
// (its session sees the end of the connection at once) and then sees the stop.
void wake_listener() {
  if (g_wake.length == 0) return;
  const int fd = socket(g_wake.address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&g_wake.address), g_wake.length) != 0)
    logging::debug("smime-milter", Line("wake-listener-failed").add("error", std::strerror(errno)));
  close(fd);
}

// A milter answers on this unix socket (a second daemon must not take it over).
bool unix_socket_in_use(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return false;
  const WakeAddress w = unix_address(path);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool answered = connect(fd, reinterpret_cast<const sockaddr*>(&w.address), w.length) == 0;
  close(fd);
  return answered;
}

// The socket file's mode, group and owner (see ListenOptions).
void secure_unix_socket(const ListenOptions& options) {
  const std::string& path = options.listen.path;
  gid_t gid = static_cast<gid_t>(-1);
  if (!options.socket_group.empty()) {
    try {
      gid = privileges::lookup_group(options.socket_group);
    } catch (const privileges::PrivilegeError& e) {
      throw ListenError("daemon.socket_group: " + std::string(e.what()));
    }
  }
  uid_t uid = static_cast<uid_t>(-1);
  if (options.owner && geteuid() == 0) {
    uid = options.owner->uid;
    struct stat dir {};
    const std::string parent = std::filesystem::path(path).parent_path().string();
    const bool setgid_dir =
        stat(parent.empty() ? "." : parent.c_str(), &dir) == 0 && (dir.st_mode & S_ISGID) != 0;
    if (gid == static_cast<gid_t>(-1) && !setgid_dir) gid = options.owner->gid;
  }
  if ((uid != static_cast<uid_t>(-1) || gid != static_cast<gid_t>(-1)) && chown(path.c_str(), uid, gid) != 0)
    throw ListenError("cannot give the socket " + path + " its owner and group: " + std::strerror(errno));
  if (chmod(path.c_str(), static_cast<mode_t>(options.socket_mode)) != 0)
    throw ListenError("cannot set the mode of the socket " + path + ": " + std::strerror(errno));
}

struct smfiDesc g_desc = {};

void register_callbacks() {
  g_desc.xxfi_name = const_cast<char*>("smime-milter");
  g_desc.xxfi_version = SMFI_VERSION;
  g_desc.xxfi_flags = wanted_actions;
  g_desc.xxfi_connect = xx_connect;
  g_desc.xxfi_helo = xx_helo;
  g_desc.xxfi_envfrom = xx_envfrom;
  g_desc.xxfi_envrcpt = xx_envrcpt;
  g_desc.xxfi_header = xx_header;
  g_desc.xxfi_eoh = xx_eoh;
  g_desc.xxfi_body = xx_body;
  g_desc.xxfi_eom = xx_eom;
  g_desc.xxfi_abort = xx_abort;
  g_desc.xxfi_close = xx_close;
  g_desc.xxfi_negotiate = xx_negotiate;
  if (smfi_register(g_desc) != MI_SUCCESS) throw ListenError("libmilter refused to register the callbacks");
}

std::atomic<bool> g_listener_done{false};  // smfi_main has returned

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

// The messages begun before the stop get up to `limit` to end, while libmilter still serves them: once
// stopped, Debian's libmilter (its worker pool) reads nothing more from any connection. A second SIGTERM
// or SIGINT ends the wait.
void drain(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  const sigset_t again = stop_signals();
  const timespec tick{0, 20 * 1000 * 1000};
  while (g_in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    if (sigtimedwait(&again, nullptr, &tick) > 0) break;
  }
  if (const int left = g_in_flight.load(); left > 0)
    logging::warning("smime-milter", Line("stopped-with-messages-in-flight")
                                         .add("messages", left)
                                         .add("outcome", "the MTA tempfails them"));
}

// After the drain, smfi_stop(): it sets libmilter's stop flag and then waits for the listener's mutex,
// which the listener holds while it sits in select (up to 5 s). So it runs in a thread of its own, while
// this one connects to our socket until the listener has seen the flag and returned (a connection made
// before the flag was set only sends it round its loop once more).
void request_stop(int sig, std::chrono::milliseconds drain_time) {
  g_stopping = true;
  logging::info("smime-milter", Line("stopping")
                                    .add("signal", sig == SIGINT ? "SIGINT" : "SIGTERM")
                                    .add("messages_in_flight", g_in_flight.load()));
  drain(drain_time);
  std::thread([] { smfi_stop(); }).detach();
  for (int i = 0; i < 100 && !g_listener_done.load(); ++i) {
    wake_listener();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// Our signal thread: SIGHUP reloads, SIGTERM and SIGINT stop (then the thread ends).
void start_signal_thread(std::function<void()> on_sighup, std::chrono::milliseconds drain_time) {
  std::thread([cb = std::move(on_sighup), drain_time] {
    sigset_t set = stop_signals();
    sigaddset(&set, SIGHUP);
    for (;;) {
      const int sig = sigwaitinfo(&set, nullptr);
      if (sig == SIGTERM || sig == SIGINT) {
        request_stop(sig, drain_time);
        return;
      }
      if (sig != SIGHUP) continue;
      if (!cb) {
        logging::info("smime-milter", Line("reload-skipped").add("reason", "nothing to reload"));
        continue;
      }
      try {
        cb();
      } catch (const std::exception& e) {
        logging::error("smime-milter", Line("reload-failed").add("error", e.what()));
      }
    }
  }).detach();
}

}  // namespace

void block_daemon_signals() {
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGHUP);
  sigaddset(&blocked, SIGTERM);
  sigaddset(&blocked, SIGINT);
  pthread_sigmask(SIG_BLOCK, &blocked, nullptr);
}

std::string libmilter_version() {
  unsigned int major = 0, minor = 0, patch = 0;
  smfi_version(&major, &minor, &patch);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

void open_listener(const ListenOptions& options) {
  const conf::Listen& listen = options.listen;
  std::string conn = listen.libmilter();
  if (listen.kind == conf::Listen::Kind::unix_socket && unix_socket_in_use(listen.path))
    throw ListenError("a milter is already listening on " + listen.path + ": stop it first");
  if (smfi_setconn(conn.data()) != MI_SUCCESS) throw ListenError("libmilter refused the socket " + conn);
  register_callbacks();
  // true: remove a stale unix socket file left by a previous run.
  if (smfi_opensocket(true) != MI_SUCCESS)
    throw ListenError("cannot listen on " + conn +
                      " (in use, or its directory missing or not writable; libmilter logs the reason)");
  if (listen.kind == conf::Listen::Kind::unix_socket) {
    g_socket_path = listen.path;
    g_wake = unix_address(listen.path);
    secure_unix_socket(options);
    return;
  }
  g_tcp_port = listen.port;
  const int fd = find_tcp_listener(listen.port);
  if (fd >= 0) g_wake = tcp_address(fd);
  int one = 1;
  if (fd >= 0 && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0)
    logging::info("smime-milter", Line("listener").add("tcp_nodelay", "on"));
  else
    logging::warning("smime-milter", Line("tcp-nodelay-not-set").add("socket", conn));
}

void remove_listener_socket() {
  if (g_socket_path.empty()) return;
  std::error_code ec;
  std::filesystem::remove(g_socket_path, ec);
}

int run_milter(Filter& filter, const RunOptions& options) {
  g_filter = &filter;
  block_daemon_signals();  // again, in case the caller did not (it must, before starting threads)
  start_signal_thread(options.on_sighup, options.drain_time);
  logging::info("smime-milter", Line("started").add("libmilter", libmilter_version()));
  const int rc = smfi_main();
  g_listener_done = true;
  remove_listener_socket();
  logging::info("smime-milter", "stopped");
  return rc == MI_SUCCESS ? 0 : 1;
}

bool sessions_open() { return g_sessions.load() > 0; }

}  // namespace milter
