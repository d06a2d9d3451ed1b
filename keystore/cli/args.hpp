// Command-line parsing for smime-keystore: per-subcommand option tables, so an unknown or misspelled
// option is a usage error instead of being ignored.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace cli {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct OptSpec {
  std::string name;  // without "--"
  bool takes_value = false;
};

struct Args {
  std::string command;
  std::multimap<std::string, std::string> options;
  std::vector<std::string> positional;

  bool flag(const std::string& name) const { return options.count(name) > 0; }
  std::vector<std::string> all(const std::string& name) const;
  std::optional<std::string> one(const std::string& name) const;  // UsageError if given twice
  std::string one_or(const std::string& name, const std::string& fallback) const;
  int number(const std::string& name, int fallback, int min, int max) const;
  void positional_count(std::size_t min, std::size_t max) const;
};

// Parses argv after the command word; options may come before or after positional arguments; "--"
// ends options; "--name=value" and "--name value" are both accepted.
Args parse(const std::string& command, const std::vector<std::string>& words,
           const std::vector<OptSpec>& specs);

}  // namespace cli
