// Logging of the milter: syslog (facility mail, ident "smime-milter") and, in the foreground, stderr.
// One line per event: "<queue-id>: <event> key=value ...". Never message bodies or key material.
// Thread safe; the level can change at run time (SIGHUP reload).
//
// Every line is built with Line, whose values all go through quote(): a value can never end the line,
// start a new field or close a quoted value early, so a certificate whose subject holds
// `" result=pass` cannot forge a field.
#pragma once

#include <concepts>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "conf/config.hpp"

namespace milter::logging {

// Where lines go. `to_syslog`: the syslog socket /dev/log (facility mail), connected once and again
// after the syslog daemon restarts; where there is none, standard error instead (said once).
// `to_stderr`: standard error as well (the foreground with log.foreground_stderr), except when standard
// error is the systemd journal and syslog works (the journal gets syslog already).
// Neither (tests): nothing is written.
void init(conf::LogLevel level, bool to_stderr, bool to_syslog = true);
// The dry run: each line as "# <line>" (without the queue id) to `out`, nothing to syslog.
void init_comments(conf::LogLevel level, std::FILE* out);
void set_level(conf::LogLevel level);
bool enabled(conf::LogLevel level);

// `id` is the queue id ("-" before one is known, "smime-milter" for daemon events).
void write(conf::LogLevel level, std::string_view id, std::string_view line);
inline void error(std::string_view id, std::string_view line) { write(conf::LogLevel::error, id, line); }
inline void warning(std::string_view id, std::string_view line) { write(conf::LogLevel::warning, id, line); }
inline void info(std::string_view id, std::string_view line) { write(conf::LogLevel::info, id, line); }
inline void debug(std::string_view id, std::string_view line) { write(conf::LogLevel::debug, id, line); }

// A value for key=value: as it is when it is a plain token (no space, quote, backslash, '=' or control
// character, not empty), else in double quotes with '"' and '\' escaped by a backslash and control
// characters written as \n, \r, \t or \xNN. At most kMaxValue bytes of the value are kept ("..." marks
// the cut), so one hostile value cannot flood the log.
inline constexpr std::size_t kMaxValue = 400;
std::string quote(std::string_view value);

// One log line: an optional event word, then key=value fields in the order added.
//   Line("verdict").add("action", "accept").add("header_edits", 3).str() == "verdict action=accept
//   header_edits=3"
// Keys are the program's own literals; values may be anything.
class Line {
 public:
  Line() = default;
  explicit Line(std::string_view event) : text_(event) {}

  Line& add(std::string_view key, std::string_view value);
  Line& add(std::string_view key, const std::string& value) { return add(key, std::string_view(value)); }
  Line& add(std::string_view key, const char* value) { return add(key, std::string_view(value)); }
  Line& add(std::string_view key, bool value) { return add(key, std::string_view(value ? "yes" : "no")); }
  template <std::integral T>
  requires(!std::same_as<T, bool> && !std::same_as<T, char>) Line& add(std::string_view key, T value) {
    return raw(key, std::to_string(value));
  }
  // Adds the field only when the value is present.
  template <typename T>
  Line& add(std::string_view key, const std::optional<T>& value) {
    return value ? add(key, *value) : *this;
  }
  // The fields of another line (a fragment built elsewhere), after these.
  Line& append(const Line& fragment);

  const std::string& str() const { return text_; }
  operator const std::string&() const { return text_; }  // NOLINT: a Line is a log line

 private:
  Line& raw(std::string_view key, std::string_view token);
  std::string text_;
};

inline void write(conf::LogLevel level, std::string_view id, const Line& line) {
  write(level, id, std::string_view(line.str()));
}
inline void error(std::string_view id, const Line& line) { write(conf::LogLevel::error, id, line); }
inline void warning(std::string_view id, const Line& line) { write(conf::LogLevel::warning, id, line); }
inline void info(std::string_view id, const Line& line) { write(conf::LogLevel::info, id, line); }
inline void debug(std::string_view id, const Line& line) { write(conf::LogLevel::debug, id, line); }

}  // namespace milter::logging
