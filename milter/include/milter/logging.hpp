// Logging of the milter: syslog (facility mail, ident "smime-milter") and, in the foreground, stderr.
// One line per event: "<queue-id>: <event> key=value ...". Never message bodies or key material.
// Thread safe; the level can change at run time (SIGHUP reload).
#pragma once

#include <string_view>

#include "conf/config.hpp"

namespace milter::logging {

// Opens syslog. `to_stderr`: also write each line to stderr (foreground with log.foreground_stderr).
// `to_syslog` false (the dry run, tests) writes nothing to syslog.
void init(conf::LogLevel level, bool to_stderr, bool to_syslog = true);
void set_level(conf::LogLevel level);
bool enabled(conf::LogLevel level);

// `id` is the queue id ("-" before one is known, "smime-milter" for daemon events).
void write(conf::LogLevel level, std::string_view id, std::string_view line);
inline void error(std::string_view id, std::string_view line) { write(conf::LogLevel::error, id, line); }
inline void warning(std::string_view id, std::string_view line) { write(conf::LogLevel::warning, id, line); }
inline void info(std::string_view id, std::string_view line) { write(conf::LogLevel::info, id, line); }
inline void debug(std::string_view id, std::string_view line) { write(conf::LogLevel::debug, id, line); }

// A value for key=value: quoted with "..." when it holds spaces, quotes or control characters (which
// are escaped), so that one log entry stays one line.
std::string quote(std::string_view value);

}  // namespace milter::logging
