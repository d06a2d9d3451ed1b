// smime-milter: the daemon, its start-up check, its counters, and the dry run (command_line.hpp).
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "command_line.hpp"
#include "conf/config.hpp"
#include "conf/error.hpp"
#include "conf/keys.hpp"
#include "milter/callbacks.hpp"
#include "milter/logging.hpp"
#include "milter/metrics_http.hpp"
#include "milter/startup_checks.hpp"

#ifndef SMIME_MILTER_VERSION
#define SMIME_MILTER_VERSION "0.1.0"
#endif

namespace {

using namespace cli;

// Throws conf::ConfigError.
std::shared_ptr<const conf::Config> load_config(const Options& o) {
  if (const std::optional<std::string> path = o.config_path())
    return std::make_shared<const conf::Config>(conf::load(*path));
  return std::make_shared<const conf::Config>(conf::default_config());
}

void print_config_error(const conf::ConfigError& e) {
  for (const conf::Issue& issue : e.errors()) {
    std::cerr << e.origin() << ": " << issue.path << ": " << issue.message << "\n";
  }
  if (e.errors().empty()) std::cerr << e.what() << "\n";
}

// -n: what start-up would find, one line each, "FILE: error: ..." / "FILE: warning: ...".
int check(const Options& o, const conf::Config& config) {
  milter::startup::Report report;
  std::optional<milter::startup::Context> ctx =
      milter::startup::make_context(config, o.user, o.allow_root, true, report);
  if (ctx) {
    report.merge(milter::startup::check_all(config, *ctx));
    if (const std::optional<std::string> path = o.config_path())
      milter::startup::check_config_file(*path, *ctx, report);
  }
  for (const milter::startup::Finding& f : report.findings())
    std::cerr << config.origin << ": "
              << (f.severity == milter::startup::Severity::error ? "error" : "warning") << ": " << f.text
              << "\n";
  if (report.errors() > 0) return exit_code::config;
  std::cout << config.origin << ": configuration OK";
  if (ctx) std::cout << " (runs as " << ctx->service.name << ")";
  if (report.warnings() > 0) std::cout << ", " << report.warnings() << " warning(s)";
  std::cout << "\n";
  return exit_code::ok;
}

// --stats: the daemon's counters from metrics.listen.
int stats(const conf::Config& config) {
  if (!config.metrics.listen) {
    std::cerr << "smime-milter: metrics.listen is not set in " << config.origin
              << ": the daemon has no metrics endpoint\n";
    return exit_code::config;
  }
  try {
    std::cout << milter::fetch_metrics(*config.metrics.listen, std::chrono::seconds(5));
    return std::cout.flush() ? exit_code::ok : exit_code::runtime;
  } catch (const milter::MetricsError& e) {
    std::cerr << "smime-milter: " << e.what() << " (is the daemon running?)\n";
    return exit_code::runtime;
  }
}

}  // namespace

int main(int argc, char** argv) {
  auto options = parse_args(argc, argv);
  if (!options) {
    usage(std::cerr);
    return exit_code::usage;
  }
  if (options->version) {
    std::cout << "smime-milter " << SMIME_MILTER_VERSION << " (libmilter " << milter::libmilter_version()
              << ")\n";
    return exit_code::ok;
  }
  if (options->keys) {
    conf::write_keys(std::cout);
    return std::cout.flush() ? exit_code::ok : exit_code::runtime;
  }
  std::shared_ptr<const conf::Config> config;
  try {
    config = load_config(*options);
  } catch (const conf::ConfigError& e) {
    print_config_error(e);
    return exit_code::config;
  }
  if (options->check) return check(*options, *config);
  if (options->stats) return stats(*config);
  if (options->process) {
    milter::logging::init_comments(config->log.level, stdout);
    try {
      return dry_run(*options, config);
    } catch (const std::exception& e) {
      std::cerr << "smime-milter: " << e.what() << "\n";
      return exit_code::input;
    }
  }
  return run_daemon(*options, std::move(config));
}
