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
// Signals: libmilter's own signal thread treats SIGHUP like SIGTERM (it stops the milter). We want
// SIGHUP to reload, so sigwait() is interposed below: in libmilter's call (the one waiting for SIGTERM
// too) SIGHUP is taken out of the set, and our reload thread waits for SIGHUP alone.
#include "milter/callbacks.hpp"

#include <arpa/inet.h>
#include <grp.h>
#include <libmilter/mfapi.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <thread>

#include "libmilter_api.hpp"
#include "milter/logging.hpp"

// libmilter's signal thread calls sigwait(SIGHUP|SIGTERM|SIGINT); we leave SIGHUP to our reload thread.
extern "C" int sigwait(const sigset_t* __restrict set, int* __restrict sig) {
  sigset_t copy = *set;
  if (sigismember(&copy, SIGTERM) == 1) sigdelset(&copy, SIGHUP);
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

ConnectionContext* context_of(SMFICTX* ctx) { return static_cast<ConnectionContext*>(smfi_getpriv(ctx)); }

ConnectionContext& ensure_context(SMFICTX* ctx) {
  if (ConnectionContext* c = context_of(ctx)) return *c;
  auto* c = new ConnectionContext();
  if (smfi_setpriv(ctx, c) != MI_SUCCESS) {
    delete c;
    throw std::runtime_error("smfi_setpriv failed");
  }
  return *c;
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

// A step the MTA expects no reply for answers SMFIS_NOREPLY. Such a step cannot refuse: when it failed,
// the message is marked and end-of-message tempfails it.
sfsistat answer(SMFICTX* ctx, unsigned long no_reply_flag, sfsistat status) {
  ConnectionContext* c = context_of(ctx);
  if (c == nullptr || (c->no_reply_steps & no_reply_flag) == 0) return status;
  if (status != SMFIS_CONTINUE && c->message() != nullptr) c->message()->step_failed = true;
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
  return answer(ctx, SMFIP_NR_MAIL, guarded(ctx, "envfrom", [&] {
                  LibmilterApi api(ctx);
                  return g_filter->on_envfrom(ensure_context(ctx), api, args_of(argv));
                }));
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
  return guarded(ctx, "eom", [&] {
    LibmilterApi api(ctx);
    return g_filter->on_eom(ensure_context(ctx), api);
  });
}

sfsistat xx_abort(SMFICTX* ctx) {
  return guarded(ctx, "abort", [&] {
    LibmilterApi api(ctx);
    return g_filter->on_abort(ensure_context(ctx), api);
  });
}

sfsistat xx_close(SMFICTX* ctx) {
  sfsistat r = guarded(ctx, "close", [&] {
    ConnectionContext* c = context_of(ctx);
    if (c == nullptr) return CallbackStatus::continue_;
    LibmilterApi api(ctx);
    return g_filter->on_close(*c, api);
  });
  delete context_of(ctx);  // the connection context dies with the connection, whatever happened
  smfi_setpriv(ctx, nullptr);
  return r;
}

// Sets TCP_NODELAY on libmilter's listening socket, which libmilter does not expose: the socket is
// found among our descriptors (a listening TCP socket bound to the configured port). Accepted sockets
// inherit the option on Linux. Returns false when it was not found.
bool set_nodelay_on_listener(std::uint16_t port) {
  bool found = false;
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
    if (bound != port) continue;
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0) found = true;
  }
  return found;
}

void secure_unix_socket(const std::string& path, const std::string& group) {
  gid_t gid = static_cast<gid_t>(-1);
  if (!group.empty()) {
    if (const struct group* g = getgrnam(group.c_str())) gid = g->gr_gid;
  }
  if (gid != static_cast<gid_t>(-1) && chown(path.c_str(), static_cast<uid_t>(-1), gid) != 0) {
    logging::warning("smime-milter",
                     Line("socket-chgrp-failed").add("path", path).add("error", std::strerror(errno)));
  }
  if (chmod(path.c_str(), 0660) != 0) {
    logging::warning("smime-milter",
                     Line("socket-chmod-failed").add("path", path).add("error", std::strerror(errno)));
  }
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

int run_milter(Filter& filter, const RunOptions& options) {
  g_filter = &filter;
  static struct smfiDesc desc = {};
  desc.xxfi_name = const_cast<char*>("smime-milter");
  desc.xxfi_version = SMFI_VERSION;
  desc.xxfi_flags = wanted_actions;
  desc.xxfi_connect = xx_connect;
  desc.xxfi_helo = xx_helo;
  desc.xxfi_envfrom = xx_envfrom;
  desc.xxfi_envrcpt = xx_envrcpt;
  desc.xxfi_header = xx_header;
  desc.xxfi_eoh = xx_eoh;
  desc.xxfi_body = xx_body;
  desc.xxfi_eom = xx_eom;
  desc.xxfi_abort = xx_abort;
  desc.xxfi_close = xx_close;
  desc.xxfi_negotiate = xx_negotiate;

  const conf::Listen& listen = options.listen;
  std::string conn = listen.libmilter();
  if (listen.kind == conf::Listen::Kind::unix_socket) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(listen.path).parent_path(), ec);
  }
  if (smfi_setconn(conn.data()) != MI_SUCCESS) {
    logging::error("smime-milter", Line("setconn-failed").add("socket", conn));
    return 1;
  }
  if (smfi_register(desc) != MI_SUCCESS) {
    logging::error("smime-milter", "register-failed");
    return 1;
  }
  // true: remove a stale unix socket file left by a previous run.
  if (smfi_opensocket(true) != MI_SUCCESS) {
    logging::error("smime-milter", Line("socket-open-failed")
                                       .add("socket", conn)
                                       .add("hint", "in use, or directory missing / not writable"));
    return 1;
  }
  if (listen.kind == conf::Listen::Kind::unix_socket) {
    secure_unix_socket(listen.path, options.socket_group);
  } else if (set_nodelay_on_listener(listen.port)) {
    logging::info("smime-milter", Line("listener").add("tcp_nodelay", "on"));
  } else {
    logging::warning("smime-milter", Line("tcp-nodelay-not-set").add("socket", conn));
  }

  block_daemon_signals();  // again, in case the caller did not (it must, before starting threads)
  sigset_t hup;
  sigemptyset(&hup);
  sigaddset(&hup, SIGHUP);
  if (options.on_sighup) {
    std::thread([hup, cb = options.on_sighup] {
      for (;;) {
        int sig = sigwaitinfo(&hup, nullptr);
        if (sig == SIGHUP) {
          try {
            cb();
          } catch (const std::exception& e) {
            logging::error("smime-milter", Line("reload-failed").add("error", e.what()));
          }
        }
      }
    }).detach();
  }

  logging::info("smime-milter", Line("started").add("socket", conn).add("libmilter", libmilter_version()));
  int rc = smfi_main();
  logging::info("smime-milter", "stopped");
  if (listen.kind == conf::Listen::Kind::unix_socket) {
    std::error_code ec;
    std::filesystem::remove(listen.path, ec);
  }
  return rc == MI_SUCCESS ? 0 : 1;
}

}  // namespace milter
