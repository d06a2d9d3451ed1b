// The daemon's start-up, in the order that keeps it safe:
//  1. signals blocked, logging (syslog, or standard error said once) while the terminal is still there;
//  2. the start-up checks of -n (startup_checks.hpp): any error refuses the start (exit 78);
//  3. missing state directories made (owned by the service account);
//  4. as the account started as (root): the listening socket (mode, group, owner) and the metrics
//     endpoint's socket;
//  5. the switch to the service account (privileges.hpp), while the process has one thread;
//  6. daemon() unless -f, then the pid file (written by the service account, so that it can remove it);
//  7. only now threads: the Filter's worker pool, the metrics thread, libmilter's.
// At a stop (SIGTERM) run_milter() returns within a second plus the messages in flight (callbacks.hpp).
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>

#include "command_line.hpp"
#include "milter/callbacks.hpp"
#include "milter/context.hpp"
#include "milter/filter.hpp"
#include "milter/key_passphrase.hpp"
#include "milter/logging.hpp"
#include "milter/metrics_http.hpp"
#include "milter/pid_file.hpp"
#include "milter/privileges.hpp"
#include "milter/startup_checks.hpp"

namespace cli {
namespace {

using milter::logging::Line;
namespace startup = milter::startup;

constexpr const char* kDaemon = "smime-milter";

// Each finding in the log; an error also on standard error when that is not a log destination already
// (without -f the terminal is gone after daemon()).
void log_findings(const startup::Report& report, bool foreground) {
  for (const startup::Finding& f : report.findings()) {
    const bool error = f.severity == startup::Severity::error;
    const Line line =
        Line("startup-check").add("severity", error ? "error" : "warning").add("problem", f.text);
    if (error)
      milter::logging::error(kDaemon, line);
    else
      milter::logging::warning(kDaemon, line);
    if (error && !foreground) std::cerr << "smime-milter: error: " << f.text << "\n";
  }
}

int fail(int code, const std::string& what, bool foreground) {
  milter::logging::error(kDaemon, Line("start-failed").add("error", what));
  if (!foreground) std::cerr << "smime-milter: " << what << "\n";
  return code;
}

// SIGHUP: the file and the key passphrase are read again; either failing keeps what runs.
std::function<void()> reloader(const Options& o, milter::LiveConfig& live, milter::Filter& filter) {
  const std::optional<std::string> path = o.config_path();
  if (!path) return {};  // the built-in configuration: nothing to reload
  return [path = *path, &live, &filter] {
    std::shared_ptr<const conf::Config> next;
    try {
      next = std::make_shared<const conf::Config>(conf::load(path));
    } catch (const conf::ConfigError& e) {
      for (const conf::Issue& issue : e.errors())
        milter::logging::error(kDaemon,
                               Line("reload-refused").add("path", issue.path).add("error", issue.message));
      milter::logging::error(kDaemon, Line("reload-refused").add("keeping", "previous-configuration"));
      return;
    }
    std::optional<std::string> passphrase;
    try {
      passphrase = milter::read_key_passphrase(next->keystore, std::getenv("CREDENTIALS_DIRECTORY"));
    } catch (const milter::PassphraseError& e) {
      milter::logging::error(
          kDaemon, Line("reload-refused").add("error", e.what()).add("keeping", "previous-configuration"));
      return;
    }
    if (next->listen.to_string() != live.get()->listen.to_string())
      milter::logging::warning(
          kDaemon, Line("reload-listen-unchanged").add("reason", "the socket changes on restart only"));
    live.set(next);
    filter.set_key_passphrase(passphrase.value_or(std::string()));
    milter::logging::set_level(next->log.level);
    milter::logging::info(kDaemon, Line("reloaded").add("config", path));
  };
}

}  // namespace

int run_daemon(const Options& o, std::shared_ptr<const conf::Config> config) {
  milter::block_daemon_signals();
  milter::logging::init(config->log.level, o.foreground && config->log.foreground_stderr);
  const bool fg = o.foreground;

  startup::Report report;
  std::optional<startup::Context> ctx = startup::make_context(*config, o.user, o.allow_root, false, report);
  if (ctx) {
    report.merge(startup::check_all(*config, *ctx));
    if (const std::optional<std::string> path = o.config_path())
      startup::check_config_file(*path, *ctx, report);
  }
  log_findings(report, fg);
  if (report.errors() > 0)
    return fail(exit_code::config,
                "start-up refused: " + std::to_string(report.errors()) +
                    " problem(s), see smime-milter -n -c " + o.config_path().value_or("FILE"),
                fg);

  try {
    startup::make_missing_directories(*config, ctx->service);
  } catch (const std::exception& e) {
    return fail(exit_code::runtime, e.what(), fg);
  }

  milter::ListenOptions listen;
  listen.listen = config->listen;
  listen.socket_mode = config->daemon.socket_mode;
  listen.socket_group = config->daemon.socket_group;
  if (ctx->switch_user) listen.owner = ctx->service;
  std::unique_ptr<milter::MetricsServer> metrics;
  try {
    milter::open_listener(listen);
    if (config->metrics.listen) metrics = std::make_unique<milter::MetricsServer>(*config->metrics.listen);
    if (ctx->switch_user) milter::privileges::switch_to(ctx->service);
  } catch (const std::exception& e) {
    milter::remove_listener_socket();
    return fail(exit_code::runtime, e.what(), fg);
  }
  milter::logging::info(kDaemon, Line("running-as")
                                     .add("user", ctx->service.name)
                                     .add("group", ctx->service.group_name)
                                     .add("switched", ctx->switch_user));

  if (!fg && daemon(1, 0) != 0) {
    milter::remove_listener_socket();
    return fail(exit_code::runtime, std::string("cannot become a daemon: ") + std::strerror(errno), fg);
  }
  std::unique_ptr<milter::PidFile> pid_file;
  const std::filesystem::path pid_path =
      o.pid_file ? std::filesystem::path(*o.pid_file) : config->daemon.pid_file;
  try {
    if (!pid_path.empty()) pid_file = std::make_unique<milter::PidFile>(pid_path, getpid());
  } catch (const milter::PidFileError& e) {
    milter::remove_listener_socket();
    return fail(exit_code::runtime, e.what(), fg);
  }

  milter::LiveConfig live(config);
  auto filter = std::make_unique<milter::Filter>(live, milter::Processor{}, milter::StoreOpener{},
                                                 milter::Reinjector{}, config->daemon.workers);
  filter->set_key_passphrase(ctx->passphrase.value.value_or(std::string()));
  if (metrics) {
    metrics->start();
    milter::logging::info(kDaemon, Line("metrics").add("listen", config->metrics.listen->to_string()));
  }
  milter::RunOptions run_options;
  run_options.on_sighup = reloader(o, live, *filter);
  const int rc = milter::run_milter(*filter, run_options) == 0 ? exit_code::ok : exit_code::runtime;
  metrics.reset();
  pid_file.reset();
  if (milter::sessions_open()) {
    // Connections libmilter still serves may call the Filter at any time: it is never destroyed under
    // them; the process ends here.
    std::fflush(nullptr);
    std::_Exit(rc);
  }
  return rc;
}

}  // namespace cli
