// See logging.hpp.
#include "milter/logging.hpp"

#include <syslog.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

namespace milter::logging {
namespace {

std::atomic<int> g_level{static_cast<int>(conf::LogLevel::info)};
std::atomic<bool> g_stderr{false};  // until init(): quiet in tests
std::atomic<bool> g_syslog{false};
std::mutex g_stderr_mutex;

int priority(conf::LogLevel level) {
  switch (level) {
    case conf::LogLevel::error:
      return LOG_ERR;
    case conf::LogLevel::warning:
      return LOG_WARNING;
    case conf::LogLevel::info:
      return LOG_INFO;
    case conf::LogLevel::debug:
      return LOG_DEBUG;
  }
  return LOG_INFO;
}

std::string_view label(conf::LogLevel level) {
  switch (level) {
    case conf::LogLevel::error:
      return "error";
    case conf::LogLevel::warning:
      return "warning";
    case conf::LogLevel::info:
      return "info";
    case conf::LogLevel::debug:
      return "debug";
  }
  return "info";
}

// One line: control characters (CR, LF...) become '?', so an entry can never be split.
std::string one_line(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

}  // namespace

void init(conf::LogLevel level, bool to_stderr, bool to_syslog) {
  g_level = static_cast<int>(level);
  g_stderr = to_stderr;
  if (to_syslog && !g_syslog.exchange(true)) openlog("smime-milter", LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void set_level(conf::LogLevel level) { g_level = static_cast<int>(level); }

bool enabled(conf::LogLevel level) { return static_cast<int>(level) <= g_level.load(); }

void write(conf::LogLevel level, std::string_view id, std::string_view line) {
  if (!enabled(level)) return;
  std::string text = one_line(id.empty() ? std::string_view("-") : id) + ": " + one_line(line);
  if (g_syslog) syslog(priority(level), "%s", text.c_str());
  if (g_stderr) {
    std::lock_guard lock(g_stderr_mutex);
    std::fprintf(stderr, "smime-milter: %s: %s\n", std::string(label(level)).c_str(), text.c_str());
    std::fflush(stderr);
  }
}

std::string quote(std::string_view value) {
  bool plain = !value.empty();
  for (char c : value) {
    if (c == ' ' || c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      plain = false;
    }
  }
  if (plain) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out.push_back('?');
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace milter::logging
