// The smime-milter command: its options, its exit codes and its commands (main.cpp dispatches).
//
//   smime-milter [-c FILE | --builtin-config] [-f] [-u USER[:GROUP]] [-P FILE] [--allow-root]   the daemon
//   smime-milter [-c FILE | --builtin-config] [-u USER[:GROUP]] [--allow-root] -n   check start-up
//   smime-milter [-c FILE] --stats                  print the daemon's counters (metrics.listen)
//   smime-milter --keys | --version
//   smime-milter [-c FILE] --process MESSAGE --from ADDR --rcpt ADDR... [--client IP] [--auth USER]
//                [--out FILE] [--commit]            dry run of the pipeline, no MTA
// Without -c the configuration is kDefaultConfig; the embedded one (conf::default_config, state under
// ./var) only with --builtin-config (scripts/run).
#pragma once

#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "conf/config.hpp"

#ifndef SMIME_MILTER_DEFAULT_CONFIG
#define SMIME_MILTER_DEFAULT_CONFIG "/etc/smime-milter/smime-milter.json"
#endif

namespace cli {

inline constexpr const char* kDefaultConfig = SMIME_MILTER_DEFAULT_CONFIG;

// See man/smime-milter.8, EXIT STATUS.
namespace exit_code {
constexpr int ok = 0;        // stopped normally; -n: start-up would succeed; --process: accept
constexpr int usage = 2;     // bad command line
constexpr int runtime = 3;   // could not start (socket, pid file, account switch), libmilter failed,
                             // --stats: the endpoint cannot be reached
constexpr int reject = 4;    // --process: the message would be rejected (5xx)
constexpr int tempfail = 5;  // --process: the message would be tempfailed (4xx)
constexpr int discard = 6;   // --process: the message would be discarded
constexpr int input = 7;     // --process: the message file cannot be read
constexpr int config = 78;   // EX_CONFIG: the configuration is invalid, or a start-up check failed
}  // namespace exit_code

struct Options {
  std::optional<std::string> config_file;
  bool builtin_config = false;
  bool foreground = false;
  bool check = false;
  bool version = false;
  bool keys = false;
  bool stats = false;
  bool allow_root = false;
  std::string user;  // -u USER[:GROUP]
  std::optional<std::string> pid_file;
  std::optional<std::string> process;
  std::optional<std::string> from;
  std::vector<std::string> rcpts;
  std::string client;
  std::string auth;
  std::optional<std::string> out;
  bool commit = false;

  // The file the configuration is read from (and re-read at SIGHUP); nullopt with --builtin-config.
  std::optional<std::string> config_path() const;
};

void usage(std::ostream& os);
// nullopt after printing the problem to standard error.
std::optional<Options> parse_args(int argc, char** argv);

// The commands; each returns its exit code.
int run_daemon(const Options& o, std::shared_ptr<const conf::Config> config);
int dry_run(const Options& o, std::shared_ptr<const conf::Config> config);

}  // namespace cli
