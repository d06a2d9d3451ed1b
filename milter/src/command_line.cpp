// See command_line.hpp.
#include "command_line.hpp"

#include <cstdlib>
#include <iostream>

namespace cli {

std::optional<std::string> Options::config_path() const {
  if (builtin_config) return std::nullopt;
  return config_file ? *config_file : std::string(kDefaultConfig);
}

void usage(std::ostream& os) {
  os << "usage: smime-milter [-c FILE | --builtin-config] [-f] [-u USER[:GROUP]] [-P FILE] [--allow-root]\n"
        "       smime-milter [-c FILE | --builtin-config] [-u USER[:GROUP]] [--allow-root] -n\n"
        "       smime-milter [-c FILE] --stats\n"
        "       smime-milter --keys | --version\n"
        "       smime-milter [-c FILE] --process MESSAGE --from ADDR --rcpt ADDR... [--client IP]\n"
        "                    [--auth USER] [--out FILE] [--commit]\n"
        "Without -c the configuration is "
     << kDefaultConfig << ".\n";
}

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
    auto take = [&](std::optional<std::string>& into) {
      into = value();
      return into.has_value();
    };
    std::optional<std::string> v;
    if (a == "-c" || a == "--config") {
      if (!take(o.config_file)) return std::nullopt;
    } else if (a == "--builtin-config") {
      o.builtin_config = true;
    } else if (a == "-f" || a == "--foreground") {
      o.foreground = true;
    } else if (a == "-n" || a == "--check") {
      o.check = true;
    } else if (a == "--version" || a == "-V") {
      o.version = true;
    } else if (a == "--keys") {
      o.keys = true;
    } else if (a == "--stats") {
      o.stats = true;
    } else if (a == "--allow-root") {
      o.allow_root = true;
    } else if (a == "-u" || a == "--user") {
      if (!take(v)) return std::nullopt;
      o.user = *v;
    } else if (a == "-P" || a == "--pid-file") {
      if (!take(o.pid_file)) return std::nullopt;
    } else if (a == "--process") {
      if (!take(o.process)) return std::nullopt;
    } else if (a == "--from") {
      if (!take(o.from)) return std::nullopt;
    } else if (a == "--rcpt") {
      if (!take(v)) return std::nullopt;
      o.rcpts.push_back(*v);
      // --rcpt a b c: following words that are not options are recipients too
      while (!inline_value && i + 1 < args.size() && args[i + 1].rfind("-", 0) != 0)
        o.rcpts.push_back(args[++i]);
    } else if (a == "--client") {
      if (!take(v)) return std::nullopt;
      o.client = *v;
    } else if (a == "--auth") {
      if (!take(v)) return std::nullopt;
      o.auth = *v;
    } else if (a == "--out") {
      if (!take(o.out)) return std::nullopt;
    } else if (a == "--commit") {
      o.commit = true;
    } else if (a == "-h" || a == "--help") {
      usage(std::cout);
      std::exit(exit_code::ok);
    } else {
      std::cerr << "smime-milter: unknown argument " << a << "\n";
      return std::nullopt;
    }
  }
  if (o.config_file && o.builtin_config) {
    std::cerr << "smime-milter: -c and --builtin-config exclude each other\n";
    return std::nullopt;
  }
  const int commands = int{o.check} + int{o.stats} + int{o.keys} + int{o.process.has_value()};
  if (commands > 1) {
    std::cerr << "smime-milter: -n, --stats, --keys and --process exclude each other\n";
    return std::nullopt;
  }
  if (o.process && (!o.from || o.rcpts.empty())) {
    std::cerr << "smime-milter: --process needs --from and at least one --rcpt\n";
    return std::nullopt;
  }
  if (!o.process &&
      (o.from || !o.rcpts.empty() || !o.client.empty() || !o.auth.empty() || o.out || o.commit)) {
    std::cerr << "smime-milter: --from, --rcpt, --client, --auth, --out and --commit go with --process\n";
    return std::nullopt;
  }
  return o;
}

}  // namespace cli
