// smime-milter: the daemon, its configuration check, and the dry run.
//
//   smime-milter [-c FILE] [-f]                 run (daemon; -f: foreground, log to stderr too)
//   smime-milter [-c FILE] -n                   check the configuration
//   smime-milter --version
//   smime-milter [-c FILE] --process MESSAGE --from ADDR --rcpt ADDR... [--client IP] [--auth USER]
//                [--out FILE]                   dry run of the pipeline, no MTA
// Without -c the built-in default configuration (conf::default_config_json) is used.
// Exit codes: see exit_code below and man/smime-milter.8.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "conf/error.hpp"
#include "milter/callbacks.hpp"
#include "milter/context.hpp"
#include "milter/dry_run.hpp"
#include "milter/filter.hpp"
#include "milter/logging.hpp"
#include "milter/spool_file.hpp"
#include "smime/io.hpp"
#include "smime/mime.hpp"

#ifndef SMIME_MILTER_VERSION
#define SMIME_MILTER_VERSION "0.1.0"
#endif

namespace {

namespace exit_code {
constexpr int ok = 0;        // stopped normally; -n: configuration valid; --process: accept
constexpr int config = 1;    // configuration invalid (every error printed with its JSON path)
constexpr int usage = 2;     // bad command line
constexpr int runtime = 3;   // could not start (socket, spool directory) or libmilter failed
constexpr int reject = 4;    // --process: the message would be rejected (5xx)
constexpr int tempfail = 5;  // --process: the message would be tempfailed (4xx)
constexpr int discard = 6;   // --process: the message would be discarded
constexpr int input = 7;     // --process: the message file cannot be read
}  // namespace exit_code

struct Options {
  std::optional<std::string> config_file;
  bool foreground = false;
  bool check = false;
  bool version = false;
  std::optional<std::string> process;
  std::optional<std::string> from;
  std::vector<std::string> rcpts;
  std::string client;
  std::string auth;
  std::optional<std::string> out;
};

void usage(std::ostream& os) {
  os << "usage: smime-milter [-c FILE] [-f]\n"
        "       smime-milter [-c FILE] -n\n"
        "       smime-milter --version\n"
        "       smime-milter [-c FILE] --process MESSAGE --from ADDR --rcpt ADDR... [--client IP]\n"
        "                    [--auth USER] [--out FILE]\n";
}

// Returns nullopt after printing the problem.
std::optional<Options> parse_args(int argc, char** argv) {
  Options o;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    std::optional<std::string> inline_value;
    if (a.rfind("--", 0) == 0) {
      if (auto eq = a.find('='); eq != std::string::npos) {
        inline_value = a.substr(eq + 1);
        a = a.substr(0, eq);
      }
    }
    auto value = [&]() -> std::optional<std::string> {
      if (inline_value) return inline_value;
      if (i + 1 >= args.size()) {
        std::cerr << "smime-milter: " << a << " needs a value\n";
        return std::nullopt;
      }
      return args[++i];
    };
    if (a == "-c" || a == "--config") {
      auto v = value();
      if (!v) return std::nullopt;
      o.config_file = *v;
    } else if (a == "-f" || a == "--foreground") {
      o.foreground = true;
    } else if (a == "-n" || a == "--check") {
      o.check = true;
    } else if (a == "--version" || a == "-V") {
      o.version = true;
    } else if (a == "--process") {
      auto v = value();
      if (!v) return std::nullopt;
      o.process = *v;
    } else if (a == "--from") {
      auto v = value();
      if (!v) return std::nullopt;
      o.from = *v;
    } else if (a == "--rcpt") {
      auto v = value();
      if (!v) return std::nullopt;
      o.rcpts.push_back(*v);
      // --rcpt a b c: following words that are not options are recipients too
      while (!inline_value && i + 1 < args.size() && args[i + 1].rfind("-", 0) != 0)
        o.rcpts.push_back(args[++i]);
    } else if (a == "--client") {
      auto v = value();
      if (!v) return std::nullopt;
      o.client = *v;
    } else if (a == "--auth") {
      auto v = value();
      if (!v) return std::nullopt;
      o.auth = *v;
    } else if (a == "--out") {
      auto v = value();
      if (!v) return std::nullopt;
      o.out = *v;
    } else if (a == "-h" || a == "--help") {
      usage(std::cout);
      std::exit(exit_code::ok);
    } else {
      std::cerr << "smime-milter: unknown argument " << a << "\n";
      return std::nullopt;
    }
  }
  if (o.process && (!o.from || o.rcpts.empty())) {
    std::cerr << "smime-milter: --process needs --from and at least one --rcpt\n";
    return std::nullopt;
  }
  if (!o.process && (o.from || !o.rcpts.empty() || !o.client.empty() || !o.auth.empty() || o.out)) {
    std::cerr << "smime-milter: --from, --rcpt, --client, --auth and --out go with --process\n";
    return std::nullopt;
  }
  return o;
}

// Throws conf::ConfigError.
std::shared_ptr<const conf::Config> load_config(const Options& o) {
  if (o.config_file) return std::make_shared<const conf::Config>(conf::load(*o.config_file));
  return std::make_shared<const conf::Config>(conf::default_config());
}

void print_config_error(const conf::ConfigError& e) {
  for (const conf::Issue& issue : e.errors()) {
    std::cerr << e.origin() << ": " << issue.path << ": " << issue.message << "\n";
  }
  if (e.errors().empty()) std::cerr << e.what() << "\n";
}

// ---- dry run ----

std::string_view action_name(milter::CallbackStatus s) {
  switch (s) {
    case milter::CallbackStatus::reject:
      return "reject";
    case milter::CallbackStatus::tempfail:
      return "tempfail";
    case milter::CallbackStatus::discard:
      return "discard";
    default:
      return "accept";
  }
}

// The message goes to --out, or to an anonymous spool file copied to standard output after the
// comment lines, so that the comments come first and nothing is held in memory.
int dry_run(const Options& o, std::shared_ptr<const conf::Config> config) {
  milter::LiveConfig live(config);
  milter::Reinjector no_delivery = [](const conf::Config&, const milter::SplitCopy& copy) {
    std::string rcpts;
    for (const std::string& r : copy.recipients) rcpts += (rcpts.empty() ? "" : ",") + r;
    std::cout << "# split-copy sender=" << copy.sender << " recipients=" << rcpts
              << " (not delivered in a dry run)\n";
  };
  milter::Filter filter(live, {}, {}, no_delivery, 1);
  filter.set_side_effects(false);

  milter::DryRunInput input;
  input.message = *o.process;
  input.sender = milter::strip_angle_brackets(*o.from);
  for (const std::string& r : o.rcpts) input.recipients.push_back(milter::strip_angle_brackets(r));
  input.client_address = o.client;
  input.auth_user = o.auth;

  std::unique_ptr<smime::FileSink> file;
  std::unique_ptr<milter::SpoolFile> spool;
  smime::Sink* out = nullptr;
  try {
    if (o.out) {
      file = std::make_unique<smime::FileSink>(*o.out);
      out = file.get();
    } else {
      spool = std::make_unique<milter::SpoolFile>(config->spool.directory);
      out = &spool->sink();
    }
  } catch (const std::exception& e) {
    std::cerr << "smime-milter: " << e.what() << "\n";
    return exit_code::input;
  }
  milter::DryRunResult r;
  try {
    r = milter::dry_run(filter, input, *out);
  } catch (const smime::Error& e) {
    std::cerr << "smime-milter: " << *o.process << ": " << e.what() << "\n";
    return exit_code::input;
  }
  std::cout << "# action=" << action_name(r.status) << "\n";
  if (r.reply)
    std::cout << "# reply="
              << milter::logging::quote(r.reply->code + " " + r.reply->status + " " + r.reply->text) << "\n";
  switch (r.status) {
    case milter::CallbackStatus::reject:
      return exit_code::reject;
    case milter::CallbackStatus::tempfail:
      return exit_code::tempfail;
    case milter::CallbackStatus::discard:
      return exit_code::discard;
    default:
      break;
  }
  for (const std::string& rcpt : r.removed_recipients) std::cout << "# remove-recipient=" << rcpt << "\n";
  if (r.quarantine) std::cout << "# quarantine=" << milter::logging::quote(*r.quarantine) << "\n";
  std::cout.flush();
  if (spool) {
    const smime::Source message = spool->source();
    std::string chunk(64 * 1024, '\0');
    for (std::uint64_t off = 0;;) {
      const std::size_t n = message.read(off, chunk.data(), chunk.size());
      if (n == 0) break;
      std::cout.write(chunk.data(), static_cast<std::streamsize>(n));
      off += n;
    }
    std::cout.flush();
  }
  return std::cout ? exit_code::ok : exit_code::input;
}

// ---- the daemon ----

int run(const Options& o, std::shared_ptr<const conf::Config> config) {
  std::error_code ec;
  std::filesystem::create_directories(config->spool.directory, ec);
  if (ec) {
    std::cerr << "smime-milter: cannot create spool directory " << config->spool.directory << ": "
              << ec.message() << "\n";
    return exit_code::runtime;
  }
  ::chmod(config->spool.directory.c_str(), 0700);
  if (!o.foreground && daemon(1, 0) != 0) {
    std::cerr << "smime-milter: cannot become a daemon: " << std::strerror(errno) << "\n";
    return exit_code::runtime;
  }
  milter::logging::init(config->log.level, o.foreground && config->log.foreground_stderr);

  milter::block_daemon_signals();  // before the Filter starts its worker threads
  milter::LiveConfig live(config);
  milter::Filter filter(live);
  milter::RunOptions run_options;
  run_options.listen = config->listen;
  run_options.on_sighup = [&live, &o] {
    if (!o.config_file) {
      milter::logging::info(
          "smime-milter",
          milter::logging::Line("reload-skipped").add("reason", "built-in configuration").str());
      return;
    }
    try {
      auto next = std::make_shared<const conf::Config>(conf::load(*o.config_file));
      auto old = live.get();
      if (next->listen.to_string() != old->listen.to_string()) {
        milter::logging::warning("smime-milter", milter::logging::Line("reload-listen-unchanged")
                                                     .add("reason", "the socket changes on restart only")
                                                     .str());
      }
      live.set(next);
      milter::logging::set_level(next->log.level);
      milter::logging::info("smime-milter",
                            milter::logging::Line("reloaded").add("config", *o.config_file).str());
    } catch (const conf::ConfigError& e) {
      for (const conf::Issue& issue : e.errors()) {
        milter::logging::error("smime-milter", milter::logging::Line("reload-refused")
                                                   .add("path", issue.path)
                                                   .add("error", issue.message)
                                                   .str());
      }
      milter::logging::error(
          "smime-milter", milter::logging::Line("reload-refused").add("keeping", "previous-configuration"));
    }
  };
  int rc = milter::run_milter(filter, run_options);
  return rc == 0 ? exit_code::ok : exit_code::runtime;
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
  std::shared_ptr<const conf::Config> config;
  try {
    config = load_config(*options);
  } catch (const conf::ConfigError& e) {
    print_config_error(e);
    return exit_code::config;
  }
  if (options->check) {
    std::cout << config->origin << ": configuration OK\n";
    return exit_code::ok;
  }
  if (options->process) {
    milter::logging::init_comments(config->log.level, stdout);
    try {
      return dry_run(*options, config);
    } catch (const std::exception& e) {
      std::cerr << "smime-milter: " << e.what() << "\n";
      return exit_code::input;
    }
  }
  return run(*options, std::move(config));
}
