// The dry run (`--process`): one message through the daemon's Filter with DryRunApi as the MTA. Without
// --commit it writes nothing to the keystore (no harvest, no last-use mark).
#include <cstdlib>
#include <iostream>

#include "command_line.hpp"
#include "milter/context.hpp"
#include "milter/dry_run.hpp"
#include "milter/filter.hpp"
#include "milter/key_passphrase.hpp"
#include "milter/logging.hpp"
#include "milter/spool_file.hpp"
#include "smime/io.hpp"

namespace cli {
namespace {

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

}  // namespace

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
  filter.set_side_effects(o.commit);
  try {
    if (auto passphrase = milter::read_key_passphrase(config->keystore, std::getenv("CREDENTIALS_DIRECTORY")))
      filter.set_key_passphrase(std::move(*passphrase));
  } catch (const milter::PassphraseError& e) {
    std::cerr << "smime-milter: " << e.what() << "\n";
    return exit_code::config;
  }

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

}  // namespace cli
