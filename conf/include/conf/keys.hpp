// conf::keys(): every configuration key as the parser knows it, read-only.
//
// Contract: one entry per key, in the order of man/smime-milter.json.5, built from the same table the
// parser reads the keys through (conf/src/table.cpp), so the list cannot drift from what is accepted.
// Paths are JSONPath without the "$.": "spool.memory_limit"; `*` stands for any profile name
// ("profiles.*.mode") and `[*]` for each element of an array ("outbound.rules[*].match.sender").
// Valid for the life of the program; safe to call from many threads.
#pragma once

#include <iosfwd>
#include <span>
#include <string>

namespace conf {

struct KeySpec {
  std::string path;      // "spool.memory_limit"
  std::string type;      // "size", "duration", "integer", "boolean", "string", "path", "enum", "object", ...
  std::string fallback;  // what an absent key means: its default as JSON ("\"4M\"", "32", "true"), or a
                         // note ("none", "the host name", "required")
  bool has_default = false;  // fallback is a JSON value the parser uses for an absent key
  bool required = false;     // an absent key is an error (where its object is given)
  std::string bounds;        // "0..1G", "error | warning | info | debug"; "" when any value of the type goes
  std::string help;          // one line
};

std::span<const KeySpec> keys();

// The key list as text, two lines a key: the path with type, bounds and default (a JSON value after
// "default ", a note after "default: "), then the help:
//   spool.memory_limit (size, 0..1G, default "4M")
//       Body bytes kept in memory; a larger body is written to spool.directory.
//   daemon.pid_file (path, default: none)
void write_keys(std::ostream& out);

}  // namespace conf
