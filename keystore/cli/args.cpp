#include "args.hpp"

#include <algorithm>

namespace cli {

std::vector<std::string> Args::all(const std::string& name) const {
  std::vector<std::string> out;
  for (auto [it, end] = options.equal_range(name); it != end; ++it) out.push_back(it->second);
  return out;
}

std::optional<std::string> Args::one(const std::string& name) const {
  auto v = all(name);
  if (v.size() > 1) throw UsageError("--" + name + " given more than once");
  if (v.empty()) return std::nullopt;
  return v.front();
}

std::string Args::one_or(const std::string& name, const std::string& fallback) const {
  return one(name).value_or(fallback);
}

int Args::number(const std::string& name, int fallback, int min, int max) const {
  auto v = one(name);
  if (!v) return fallback;
  std::size_t used = 0;
  int n = 0;
  try {
    n = std::stoi(*v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != v->size() || used == 0 || n < min || n > max)
    throw UsageError("--" + name + " must be a number from " + std::to_string(min) + " to " +
                     std::to_string(max));
  return n;
}

void Args::positional_count(std::size_t min, std::size_t max) const {
  if (positional.size() < min) throw UsageError(command + ": missing argument");
  if (positional.size() > max) throw UsageError(command + ": too many arguments");
}

Args parse(const std::string& command, const std::vector<std::string>& words,
           const std::vector<OptSpec>& specs) {
  Args a;
  a.command = command;
  bool options_done = false;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (options_done || w.size() < 3 || w.rfind("--", 0) != 0) {
      if (w == "--")
        options_done = true;
      else
        a.positional.push_back(w);
      continue;
    }
    std::string name = w.substr(2);
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name.resize(eq);
    }
    auto spec = std::find_if(specs.begin(), specs.end(), [&](const OptSpec& s) { return s.name == name; });
    if (spec == specs.end()) throw UsageError(command + ": unknown option --" + name);
    if (!spec->takes_value) {
      if (inline_value) throw UsageError("--" + name + " takes no value");
      a.options.emplace(name, "");
    } else if (inline_value) {
      a.options.emplace(name, *inline_value);
    } else {
      if (i + 1 >= words.size()) throw UsageError("--" + name + " needs a value");
      a.options.emplace(name, words[++i]);
    }
  }
  return a;
}

}  // namespace cli
