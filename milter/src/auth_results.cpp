#include "milter/auth_results.hpp"

#include <cctype>

#include "conf/config.hpp"

namespace milter::auth_results {

namespace {

// RFC 5322 atext.
bool is_atext(unsigned char c) {
  if (std::isalnum(c) != 0 && c < 0x80) return true;
  static constexpr std::string_view specials = "!#$%&'*+-/=?^_`{|}~";
  return specials.find(static_cast<char>(c)) != std::string_view::npos;
}

// RFC 5322 dot-atom-text: atext runs separated by single dots.
bool is_dot_atom(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  char prev = 0;
  for (char c : s) {
    if (c == '.') {
      if (prev == '.') return false;
    } else if (!is_atext(static_cast<unsigned char>(c))) {
      return false;
    }
    prev = c;
  }
  return true;
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      out += ' ';
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Skips white space and (nested) comments from pos; returns the new position.
std::size_t skip_cfws(std::string_view s, std::size_t pos) {
  int depth = 0;
  while (pos < s.size()) {
    const char c = s[pos];
    if (depth > 0) {
      if (c == '\\')
        ++pos;
      else if (c == '(')
        ++depth;
      else if (c == ')')
        --depth;
      ++pos;
    } else if (c == '(') {
      depth = 1;
      ++pos;
    } else if (is_space(c)) {
      ++pos;
    } else {
      break;
    }
  }
  return pos;
}

}  // namespace

std::string_view to_string(Result r) {
  switch (r) {
    case Result::none:
      return "none";
    case Result::pass:
      return "pass";
    case Result::neutral:
      return "neutral";
    case Result::temperror:
      return "temperror";
    case Result::permerror:
      return "permerror";
    case Result::fail:
      return "fail";
  }
  return "none";
}

int severity(Result r) {
  switch (r) {
    case Result::pass:
      return 0;
    case Result::none:
      return 1;
    case Result::neutral:
      return 2;
    case Result::temperror:
      return 3;
    case Result::permerror:
      return 4;
    case Result::fail:
      return 5;
  }
  return 5;
}

std::string property_value(std::string_view value) {
  const auto at = value.rfind('@');
  if (at != std::string_view::npos && at + 1 < value.size()) {
    const std::string_view local = value.substr(0, at);
    const std::string_view domain = value.substr(at + 1);
    if (is_dot_atom(domain))
      return (is_dot_atom(local) ? std::string(local) : quoted(local)) + "@" + std::string(domain);
  }
  if (is_dot_atom(value)) return std::string(value);
  return quoted(value);
}

std::string comment(std::string_view text, std::size_t max) {
  // Balanced parentheses are nested comments (RFC 5322 ccontent) and stay; otherwise every one is escaped.
  int depth = 0;
  bool balanced = true;
  for (std::size_t i = 0; i < text.size() && i < max; ++i) {
    if (text[i] == '(')
      ++depth;
    else if (text[i] == ')' && --depth < 0)
      balanced = false;
  }
  balanced = balanced && depth == 0;
  std::string out = "(";
  std::size_t n = 0;
  for (char c : text) {
    if (n++ >= max) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      out += ' ';
      continue;
    }
    if (u >= 0x80) {
      out += '?';
      continue;
    }
    if (((c == '(' || c == ')') && !balanced) || c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out + ")";
}

std::string header_value(std::string_view authserv_id, Result result, std::string_view identifier,
                         std::string_view reason) {
  std::string v = std::string(authserv_id) + ";";
  if (result == Result::none && identifier.empty() && reason.empty()) return v + " none";
  v += " smime=" + std::string(to_string(result));
  if (!identifier.empty()) v += " body.smime-identifier=" + property_value(identifier);
  if (!reason.empty()) v += " " + comment(reason);
  return v;
}

std::optional<std::string> authserv_id_of(std::string_view s) {
  std::size_t pos = skip_cfws(s, 0);
  if (pos >= s.size()) return std::nullopt;
  std::string id;
  if (s[pos] == '"') {
    for (++pos; pos < s.size() && s[pos] != '"'; ++pos) {
      if (s[pos] == '\\' && pos + 1 < s.size()) ++pos;
      id += s[pos];
    }
  } else {
    for (; pos < s.size() && !is_space(s[pos]) && s[pos] != ';' && s[pos] != '(' && s[pos] != '"'; ++pos)
      id += s[pos];
  }
  if (id.empty()) return std::nullopt;
  return id;
}

bool is_ours(std::string_view field_value, std::string_view ours) {
  if (ours.empty()) return false;
  const auto id = authserv_id_of(field_value);
  return id && conf::iequals(*id, ours);
}

}  // namespace milter::auth_results
