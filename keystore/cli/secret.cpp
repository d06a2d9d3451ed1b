#include "secret.hpp"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>

#include "args.hpp"

namespace cli {

namespace {

// RAII for the terminal's echo flag.
class NoEcho {
 public:
  explicit NoEcho(int fd) : fd_(fd) {
    if (tcgetattr(fd_, &saved_) == 0) {
      termios t = saved_;
      t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      active_ = tcsetattr(fd_, TCSAFLUSH, &t) == 0;
    }
  }
  ~NoEcho() {
    if (active_) tcsetattr(fd_, TCSAFLUSH, &saved_);
  }
  NoEcho(const NoEcho&) = delete;
  NoEcho& operator=(const NoEcho&) = delete;

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

std::string prompt_terminal(const std::string& prompt) {
  std::cerr << prompt << ": " << std::flush;
  std::string line;
  {
    NoEcho quiet(STDIN_FILENO);
    std::getline(std::cin, line);
  }
  std::cerr << "\n";
  return line;
}

}  // namespace

std::string read_secret(const std::string& source, const std::string& prompt) {
  if (source == "prompt") return prompt_terminal(prompt);
  if (source.rfind("env:", 0) == 0) {
    const char* v = std::getenv(source.substr(4).c_str());
    if (v == nullptr) throw UsageError("environment variable " + source.substr(4) + " is not set");
    return v;
  }
  if (source.rfind("file:", 0) == 0) {
    std::ifstream in(source.substr(5));
    if (!in) throw UsageError("cannot read passphrase file " + source.substr(5));
    std::string line;
    std::getline(in, line);
    return line;
  }
  throw UsageError("a passphrase source is env:VARIABLE, file:PATH or prompt, not '" + source + "'");
}

std::string secret_or_prompt(const std::optional<std::string>& source, const std::string& prompt,
                             const std::string& option) {
  if (source) return read_secret(*source, prompt);
  if (isatty(STDIN_FILENO)) return read_secret("prompt", prompt);
  throw UsageError("a passphrase is needed: give --" + option + " env:VAR or --" + option + " file:PATH");
}

}  // namespace cli
