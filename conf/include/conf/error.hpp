// conf::ConfigError: the one exception of the configuration module.
//
// Contract: parse() and load() validate the whole file in one pass and throw a single ConfigError
// carrying every problem found, each named by its JSON path ("$.outbound.rules[2].profile").
// what() is one line per problem, "origin: $.path: message", ready for `smime-milter -n` and the log.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace conf {

struct Issue {
  std::string path;     // JSONPath-ish: "$", "$.spool.memory_limit", "$.profiles[\"my profile\"].mode"
  std::string message;  // "unknown key; did you mean 'memory_limit'?"
};

class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string origin, std::vector<Issue> issues);
  const std::string& origin() const noexcept { return origin_; }
  const std::vector<Issue>& errors() const noexcept { return issues_; }

 private:
  std::string origin_;
  std::vector<Issue> issues_;
};

}  // namespace conf
