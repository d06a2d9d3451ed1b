#include "milter/policy.hpp"

#include <algorithm>

namespace milter {

namespace {

std::string trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

// Drops (comments), nested, and the contents of "quoted strings" are kept as they are.
std::string strip_comments(std::string_view v) {
  std::string out;
  int depth = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (quoted) {
      out += c;
      if (c == '\\' && i + 1 < v.size())
        out += v[++i];
      else if (c == '"')
        quoted = false;
    } else if (depth > 0) {
      if (c == '\\')
        ++i;
      else if (c == '(')
        ++depth;
      else if (c == ')')
        --depth;
    } else if (c == '(') {
      depth = 1;
    } else {
      if (c == '"') quoted = true;
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string header_address(std::string_view value) {
  const std::string v = strip_comments(value);
  // Outside quoted strings: the first <...> holding an '@'.
  bool quoted = false;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '"') quoted = !quoted;
    if (quoted || v[i] != '<') continue;
    auto close = v.find('>', i);
    if (close == std::string::npos) break;
    std::string inner = trim(std::string_view(v).substr(i + 1, close - i - 1));
    if (inner.find('@') != std::string::npos) return inner;
  }
  // A bare addr-spec: the first white-space or comma separated word with an '@'.
  std::size_t i = 0;
  while (i < v.size()) {
    auto start = v.find_first_not_of(" \t\r\n,", i);
    if (start == std::string::npos) break;
    auto end = v.find_first_of(" \t\r\n,", start);
    if (end == std::string::npos) end = v.size();
    std::string word = v.substr(start, end - start);
    if (word.find('@') != std::string::npos && word.front() != '"') return word;
    i = end;
  }
  return {};
}

std::string policy_sender(const Message& message) {
  if (!message.envelope.sender.empty()) return message.envelope.sender;
  const smime::mime::Header* from = message.headers.find("From");
  return from != nullptr ? header_address(from->value) : std::string();
}

bool rule_matches(const conf::RuleMatch& match, const Message& message) {
  if (!match.sender.empty()) {
    const std::string sender = policy_sender(message);
    if (std::none_of(match.sender.begin(), match.sender.end(),
                     [&](const conf::AddressPattern& p) { return p.matches(sender); }))
      return false;
  }
  if (!match.recipient.empty()) {
    const auto& rcpts = message.envelope.recipients;
    bool any = std::any_of(rcpts.begin(), rcpts.end(), [&](const std::string& r) {
      return std::any_of(match.recipient.begin(), match.recipient.end(),
                         [&](const conf::AddressPattern& p) { return p.matches(r); });
    });
    if (!any) return false;
  }
  for (const conf::HeaderCondition& cond : match.header) {
    const auto& items = message.headers.items;
    if (std::none_of(items.begin(), items.end(),
                     [&](const smime::mime::Header& h) { return cond.matches(h.name, h.value); }))
      return false;
  }
  if (match.size_min || match.size_max) {
    const std::uint64_t size = message.body.size();
    if (match.size_min && size < *match.size_min) return false;
    if (match.size_max && size > *match.size_max) return false;
  }
  return true;
}

PolicyChoice select_profile(const conf::Config& config, const Message& message) {
  for (const conf::Rule& rule : config.outbound.rules) {
    if (rule_matches(rule.match, message)) return {rule.profile, rule.name};
  }
  return {config.outbound.default_profile, "default"};
}

}  // namespace milter
