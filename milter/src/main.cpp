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

#include "milter/callbacks.hpp"
#include "conf/config.hpp"
#include "conf/error.hpp"
#include "milter/context.hpp"
#include "milter/filter.hpp"
#include "keystore/sqlite_store.hpp"
#include "milter/logging.hpp"
#include "milter/pipeline.hpp"
#include "milter/revocation_service.hpp"
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

// Applies the header edits as the MTA would (smfi_addheader / chgheader / insheader semantics).
void apply_edits(smime::mime::HeaderList& headers, const std::vector<milter::HeaderEdit>& edits) {
  auto same = [](const std::string& a, const std::string& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return std::tolower(x) == std::tolower(y);
           });
  };
  for (const milter::HeaderEdit& e : edits) {
    smime::mime::Header h{e.name, " " + e.value};
    switch (e.kind) {
      case milter::HeaderEdit::Kind::add:
        headers.items.push_back(h);
        break;
      case milter::HeaderEdit::Kind::insert_first:
        headers.items.insert(headers.items.begin(), h);
        break;
      case milter::HeaderEdit::Kind::change: {
        int seen = 0;
        auto it = std::find_if(headers.items.begin(), headers.items.end(), [&](const smime::mime::Header& x) {
          return same(x.name, e.name) && ++seen == e.index;
        });
        if (it == headers.items.end()) {
          if (!e.value.empty()) headers.items.push_back(h);  // libmilter: a missing index adds
        } else if (e.value.empty()) {
          headers.items.erase(it);
        } else {
          it->value = h.value;
        }
        break;
      }
    }
  }
}

int dry_run(const Options& o, const conf::Config& config) {
  std::string text;
  {
    std::ifstream in(*o.process, std::ios::binary);
    if (!in) {
      std::cerr << "smime-milter: cannot read " << *o.process << ": " << std::strerror(errno) << "\n";
      return exit_code::input;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  // Headers end at the first empty line (CRLF or LF); the body is sent with CRLF line ends, as Postfix does.
  std::size_t header_end = std::string::npos, body_start = text.size();
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\n') continue;
    if (i + 1 < text.size() && text[i + 1] == '\n') {
      header_end = i + 1, body_start = i + 2;
      break;
    }
    if (i + 2 < text.size() && text[i + 1] == '\r' && text[i + 2] == '\n') {
      header_end = i + 1, body_start = i + 3;
      break;
    }
  }
  if (header_end == std::string::npos) header_end = text.size();
  milter::Message message;
  try {
    message.headers = smime::mime::parse_headers(std::string_view(text).substr(0, header_end));
  } catch (const std::exception& e) {
    std::cerr << "smime-milter: " << *o.process << ": bad header block: " << e.what() << "\n";
    return exit_code::input;
  }
  smime::StringSink body;
  {
    smime::CrlfSink crlf(body);
    crlf.write(std::string_view(text).substr(std::min(body_start, text.size())));
    crlf.finish();
  }
  message.body = smime::Source::from_string(body.take());
  message.envelope.queue_id = "-";
  message.envelope.sender = milter::strip_angle_brackets(*o.from);
  for (const std::string& r : o.rcpts) message.envelope.recipients.push_back(milter::strip_angle_brackets(r));
  message.envelope.client_address = o.client;
  message.envelope.authenticated = !o.auth.empty();
  message.envelope.auth_user = o.auth;

  milter::Verdict verdict;
  std::unique_ptr<keystore::Store> store;
  try {
    keystore::SqliteOptions so;
    so.create = false;
    store = keystore::open_sqlite_store(config.keystore.path.string(), so);
  } catch (const std::exception& e) {
    verdict.action = config.failure_actions.keystore;
    verdict.reply_text = "keystore unavailable";
    verdict.log.push_back("decision reason=keystore-unavailable error=" + milter::logging::quote(e.what()));
  }
  if (store) {
    // The dry run checks revocation as the milter would (network and cache included).
    milter::RevocationService revocation;
    std::shared_ptr<revocation::Checker> checker = revocation.checker_for(config);
    verdict = milter::process_message(config, *store, checker.get(), message, std::time(nullptr));
  }

  std::ostream& os = std::cout;
  for (const std::string& line : verdict.log) os << "# " << line << "\n";
  os << "# action=" << conf::to_string(verdict.action) << "\n";
  if (verdict.action == conf::Action::reject || verdict.action == conf::Action::tempfail) {
    os << "# reply="
       << milter::logging::quote(verdict.reply_code + " " + verdict.reply_status + " " + verdict.reply_text)
       << "\n";
    os.flush();
    return verdict.action == conf::Action::reject ? exit_code::reject : exit_code::tempfail;
  }
  if (verdict.action == conf::Action::discard) {
    os.flush();
    return exit_code::discard;
  }
  for (const std::string& r : verdict.remove_recipients) os << "# remove-recipient=" << r << "\n";
  if (verdict.split) {
    os << "# split-copy sender=" << verdict.split->sender << " recipients=";
    for (std::size_t i = 0; i < verdict.split->recipients.size(); ++i) {
      os << (i ? "," : "") << verdict.split->recipients[i];
    }
    os << " (not delivered in a dry run)\n";
  }

  smime::mime::HeaderList headers = message.headers;
  apply_edits(headers, verdict.header_edits);
  std::unique_ptr<std::ofstream> file;
  std::ostream* out = &os;
  if (o.out) {
    file = std::make_unique<std::ofstream>(*o.out, std::ios::binary | std::ios::trunc);
    if (!*file) {
      std::cerr << "smime-milter: cannot write " << *o.out << "\n";
      return exit_code::input;
    }
    out = file.get();
  }
  smime::StringSink head;
  smime::mime::write_headers(headers, head);
  *out << head.str() << "\r\n";
  const smime::Source& new_body = verdict.new_body ? *verdict.new_body : message.body;
  std::string chunk(64 * 1024, '\0');
  for (std::uint64_t off = 0;;) {
    std::size_t n = new_body.read(off, chunk.data(), chunk.size());
    if (n == 0) break;
    out->write(chunk.data(), static_cast<std::streamsize>(n));
    off += n;
  }
  out->flush();
  return *out ? exit_code::ok : exit_code::input;
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

  milter::LiveConfig live(config);
  milter::Filter filter(live);
  milter::RunOptions run_options;
  run_options.listen = config->listen;
  run_options.on_sighup = [&live, &o] {
    if (!o.config_file) {
      milter::logging::info("smime-milter", "reload-skipped reason=\"built-in configuration\"");
      return;
    }
    try {
      auto next = std::make_shared<const conf::Config>(conf::load(*o.config_file));
      auto old = live.get();
      if (next->listen.to_string() != old->listen.to_string()) {
        milter::logging::warning("smime-milter",
                                 "reload-listen-unchanged reason=\"the socket changes on restart only\"");
      }
      live.set(next);
      milter::logging::set_level(next->log.level);
      milter::logging::info("smime-milter", "reloaded config=" + milter::logging::quote(*o.config_file));
    } catch (const conf::ConfigError& e) {
      for (const conf::Issue& issue : e.errors()) {
        milter::logging::error("smime-milter", "reload-refused path=" + milter::logging::quote(issue.path) +
                                                   " error=" + milter::logging::quote(issue.message));
      }
      milter::logging::error("smime-milter", "reload-refused keeping=previous-configuration");
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
    milter::logging::init(config->log.level, false, false);
    try {
      return dry_run(*options, *config);
    } catch (const std::exception& e) {
      std::cerr << "smime-milter: " << e.what() << "\n";
      return exit_code::input;
    }
  }
  return run(*options, std::move(config));
}
