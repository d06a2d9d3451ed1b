// Test helpers for conf::parse: the issues a text gives, and looking one up by path and message fragment.
#pragma once

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "conf/config.hpp"

namespace test {

// The issues parse() reports for `text`; fails the test if it accepted the text.
inline std::vector<conf::Issue> errors_of(const std::string& text) {
  try {
    conf::parse(text, "test.json");
  } catch (const conf::ConfigError& e) {
    return e.errors();
  }
  FAIL("parse accepted: " << text);
  return {};
}

inline std::string dump(const std::vector<conf::Issue>& issues) {
  std::string s;
  for (const auto& i : issues) s += "  " + i.path + ": " + i.message + "\n";
  return s;
}

inline bool has(const std::vector<conf::Issue>& issues, const std::string& path,
                const std::string& fragment) {
  for (const auto& i : issues)
    if (i.path == path && i.message.find(fragment) != std::string::npos) return true;
  return false;
}

}  // namespace test
