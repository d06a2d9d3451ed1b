// See logging.hpp.
#include "milter/logging.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string>

namespace milter::logging {
namespace {

std::atomic<int> g_level{static_cast<int>(conf::LogLevel::info)};
std::mutex g_mutex;     // guards everything below
bool g_stderr = false;  // until init(): quiet in tests
bool g_syslog = false;
std::FILE* g_comments = nullptr;  // the dry run: "# <line>" to this stream
int g_socket = -1;                // connected to /dev/log
bool g_said_no_syslog = false;

constexpr const char* kSyslogPath = "/dev/log";

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

// The syslog socket, connected once; glibc's syslog() would try to connect again for every line while
// no syslog daemon listens. After a failed connect the next attempt waits kReconnectPause (lines in
// between go to standard error), so a machine without syslog costs no system calls per line; `now`
// (at init) tries at once. Called with g_mutex held.
constexpr auto kReconnectPause = std::chrono::seconds(10);
std::chrono::steady_clock::time_point g_next_connect{};

bool connect_syslog(bool now = false) {
  if (g_socket >= 0) return true;
  const auto t = std::chrono::steady_clock::now();
  if (!now && t < g_next_connect) return false;
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, kSyslogPath, sizeof addr.sun_path - 1);
  if (fd < 0 || connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (fd >= 0) close(fd);
    g_next_connect = t + kReconnectPause;
    return false;
  }
  g_socket = fd;
  return true;
}

// "<PRI>Mmm dd hh:mm:ss smime-milter[PID]: TEXT", as syslog(3) sends it (RFC 3164).
std::string syslog_datagram(conf::LogLevel level, const std::string& text) {
  char stamp[32] = {};
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  std::strftime(stamp, sizeof stamp, "%b %e %T", &tm);
  return "<" + std::to_string(LOG_MAIL | priority(level)) + ">" + stamp + " smime-milter[" +
         std::to_string(getpid()) + "]: " + text;
}

// Sends one line; reconnects once when the daemon was restarted. False when there is no syslog.
bool send_syslog(conf::LogLevel level, const std::string& text) {
  const std::string datagram = syslog_datagram(level, text);
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!connect_syslog()) return false;
    if (send(g_socket, datagram.data(), datagram.size(), MSG_NOSIGNAL) >= 0) return true;
    close(g_socket);  // ECONNREFUSED / ENOTCONN after a restart of the syslog daemon: once more
    g_socket = -1;
  }
  return false;
}

void write_stderr(conf::LogLevel level, const std::string& text) {
  std::fprintf(stderr, "smime-milter: %s: %s\n", std::string(label(level)).c_str(), text.c_str());
  std::fflush(stderr);
}

// Under systemd, standard error already goes to the journal (which also receives syslog): a copy there
// would show every line twice.
bool stderr_is_journal() { return std::getenv("JOURNAL_STREAM") != nullptr; }

}  // namespace

void init(conf::LogLevel level, bool to_stderr, bool to_syslog) {
  std::lock_guard lock(g_mutex);
  g_level = static_cast<int>(level);
  g_syslog = to_syslog;
  const bool syslog_up = to_syslog && connect_syslog(true);
  g_stderr = to_stderr && !(syslog_up && stderr_is_journal());
  if (to_syslog && !syslog_up && !g_said_no_syslog) {
    g_said_no_syslog = true;
    std::fprintf(stderr, "smime-milter: warning: no syslog socket at %s: logging to standard error\n",
                 kSyslogPath);
    std::fflush(stderr);
  }
}

void init_comments(conf::LogLevel level, std::FILE* out) {
  std::lock_guard lock(g_mutex);
  g_level = static_cast<int>(level);
  g_syslog = false;
  g_stderr = false;
  g_comments = out;
}

void set_level(conf::LogLevel level) { g_level = static_cast<int>(level); }

bool enabled(conf::LogLevel level) { return static_cast<int>(level) <= g_level.load(); }

void write(conf::LogLevel level, std::string_view id, std::string_view line) {
  if (!enabled(level)) return;
  const std::string text = one_line(id.empty() ? std::string_view("-") : id) + ": " + one_line(line);
  std::lock_guard lock(g_mutex);
  if (g_comments != nullptr) {
    std::fprintf(g_comments, "# %s\n", one_line(line).c_str());
    return;
  }
  const bool logged = g_syslog && send_syslog(level, text);
  // Without a syslog daemon every line still goes somewhere: standard error (said once, at init).
  if (g_stderr || (g_syslog && !logged)) write_stderr(level, text);
}

namespace {

bool is_plain(std::string_view value) {
  if (value.empty() || value.size() > kMaxValue) return false;
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (c == ' ' || c == '"' || c == '\\' || c == '=' || u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

void escape_into(std::string& out, char c) {
  static constexpr char hex[] = "0123456789abcdef";
  const auto u = static_cast<unsigned char>(c);
  switch (c) {
    case '"':
    case '\\':
      out.push_back('\\');
      out.push_back(c);
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    default:
      break;
  }
  if (u < 0x20 || u == 0x7f) {
    out += "\\x";
    out.push_back(hex[u >> 4]);
    out.push_back(hex[u & 0xf]);
  } else {
    out.push_back(c);
  }
}

}  // namespace

std::string quote(std::string_view value) {
  if (is_plain(value)) return std::string(value);
  const bool cut = value.size() > kMaxValue;
  if (cut) value = value.substr(0, kMaxValue);
  std::string out = "\"";
  for (char c : value) escape_into(out, c);
  if (cut) out += "...";
  out.push_back('"');
  return out;
}

Line& Line::raw(std::string_view key, std::string_view token) {
  if (!text_.empty()) text_.push_back(' ');
  text_.append(key);
  text_.push_back('=');
  text_.append(token);
  return *this;
}

Line& Line::add(std::string_view key, std::string_view value) { return raw(key, quote(value)); }

Line& Line::append(const Line& fragment) {
  if (fragment.text_.empty()) return *this;
  if (!text_.empty()) text_.push_back(' ');
  text_ += fragment.text_;
  return *this;
}

}  // namespace milter::logging
