// Log lines are built by logging::Line only: a hostile value (a SASL user name, a recipient address, a
// certificate's subject, an exception text) can never add a field, end the line or break the quoting.
// Each line is read back by a strict key=value parser, the way a log analyser would.
#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "../smime/test_support.hpp"
#include "conf/config.hpp"
#include "keystore/sqlite_store.hpp"
#include "milter/direction.hpp"
#include "milter/failure.hpp"
#include "milter/logging.hpp"
#include "milter/pipeline.hpp"
#include "milter/revocation_service.hpp"
#include "temp_dir.hpp"

namespace {

using milter::logging::Line;

struct Field {
  std::string key;
  std::string value;
};

// Reads "event key=value key="quoted \" value" ..." strictly; nullopt when the line is not well formed.
std::optional<std::vector<Field>> parse_line(const std::string& line, std::string* event) {
  std::vector<Field> out;
  std::size_t i = 0;
  auto word_end = [&](std::size_t from) {
    std::size_t j = from;
    while (j < line.size() && line[j] != ' ' && line[j] != '=') ++j;
    return j;
  };
  if (event != nullptr) {
    const std::size_t j = word_end(0);
    if (j < line.size() && line[j] == '=') return std::nullopt;  // no event word
    *event = line.substr(0, j);
    i = j;
  }
  const bool leading_word = event != nullptr;
  while (i < line.size()) {
    if (leading_word || !out.empty()) {
      if (line[i] != ' ') return std::nullopt;
      ++i;
    }
    const std::size_t k = word_end(i);
    if (k >= line.size() || line[k] != '=' || k == i) return std::nullopt;
    Field f{line.substr(i, k - i), {}};
    i = k + 1;
    if (i < line.size() && line[i] == '"') {
      ++i;
      for (;;) {
        if (i >= line.size()) return std::nullopt;  // unterminated
        const char c = line[i++];
        if (c == '"') break;
        if (c == '\\') {
          if (i >= line.size()) return std::nullopt;
          const char e = line[i++];
          if (e == 'n')
            f.value += '\n';
          else if (e == 'r')
            f.value += '\r';
          else if (e == 't')
            f.value += '\t';
          else if (e == 'x') {
            if (i + 2 > line.size()) return std::nullopt;
            f.value += static_cast<char>(std::stoi(line.substr(i, 2), nullptr, 16));
            i += 2;
          } else if (e == '"' || e == '\\')
            f.value += e;
          else
            return std::nullopt;
        } else {
          if (static_cast<unsigned char>(c) < 0x20) return std::nullopt;
          f.value += c;
        }
      }
    } else {
      const std::size_t end = line.find(' ', i);
      f.value = line.substr(i, end == std::string::npos ? std::string::npos : end - i);
      if (f.value.find_first_of("\"\\=") != std::string::npos) return std::nullopt;
      i = end == std::string::npos ? line.size() : end;
    }
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<std::string> keys_of(const std::vector<Field>& fields) {
  std::vector<std::string> k;
  for (const auto& f : fields) k.push_back(f.key);
  return k;
}

std::string value_of(const std::vector<Field>& fields, const std::string& key) {
  for (const auto& f : fields)
    if (f.key == key) return f.value;
  return "<absent>";
}

const std::vector<std::string> kHostile = {
    "\" result=pass",
    "alice\" result=pass x=\"",
    "back\\slash\\\" result=pass",
    "line\nnext: forged=1",
    "cr\rreturn",
    std::string("nul\0byte", 8),
    "tab\there",
    "a=b",
    "two words",
    "",
    "\x1b[31mred\x7f",
    "caf\xc3\xa9 \xe2\x80\x8e",
};

}  // namespace

TEST_CASE("log: every hostile value stays one field of one line", "[logging]") {
  for (const std::string& hostile : kHostile) {
    INFO("value: " << hostile);
    const std::string line = Line("event").add("before", 1).add("value", hostile).add("after", true).str();
    CHECK(line.find('\n') == std::string::npos);
    CHECK(line.find('\r') == std::string::npos);
    CHECK(line.find('\0') == std::string::npos);
    std::string event;
    const auto fields = parse_line(line, &event);
    REQUIRE(fields.has_value());
    CHECK(event == "event");
    CHECK(keys_of(*fields) == std::vector<std::string>{"before", "value", "after"});
    CHECK(value_of(*fields, "value") == hostile);  // read back exactly
    CHECK(value_of(*fields, "after") == "yes");
  }
}

TEST_CASE("log: a huge value is cut, not the line", "[logging]") {
  const std::string big(100000, 'x');
  const std::string line = Line().add("big", big).add("next", "n").str();
  CHECK(line.size() < milter::logging::kMaxValue + 64);
  const auto fields = parse_line(line, nullptr);
  REQUIRE(fields.has_value());
  CHECK(keys_of(*fields) == std::vector<std::string>{"big", "next"});
  CHECK(value_of(*fields, "big") == std::string(milter::logging::kMaxValue, 'x') + "...");
}

TEST_CASE("log: plain tokens stay unquoted (today's format)", "[logging]") {
  CHECK(Line("verdict").add("action", "accept").add("header_edits", 3).add("new_body", false).str() ==
        "verdict action=accept header_edits=3 new_body=no");
  CHECK(Line().add("recipient", "bob@example.org").add("why", "no certificate").str() ==
        "recipient=bob@example.org why=\"no certificate\"");
}

TEST_CASE("log: hostile values through the real producers", "[logging]") {
  const conf::Config config = conf::parse(
      R"({"revocation": {"enabled": false}, "direction": {"authenticated_is_outbound": true}})", "test");
  for (const std::string& hostile : kHostile) {
    INFO("value: " << hostile);
    SECTION("the SASL user name in the direction") {
      milter::Envelope e;
      e.authenticated = true;
      e.auth_user = hostile.empty() ? "x" : hostile;
      const auto fields = parse_line(milter::explain_direction(config, e).reason.str(), nullptr);
      REQUIRE(fields.has_value());
      CHECK(keys_of(*fields) == std::vector<std::string>{"reason", "user"});
      CHECK(value_of(*fields, "user") == e.auth_user);
    }
    SECTION("an exception text in a failure") {
      const milter::Verdict v =
          milter::failure_verdict(config, milter::FailureClass::internal, hostile, {}, "Q1");
      REQUIRE(v.log.size() == 1);
      const auto fields = parse_line(v.log.front().text, nullptr);
      REQUIRE(fields.has_value());
      CHECK(keys_of(*fields) == std::vector<std::string>{"failure", "action", "reason"});
      CHECK(value_of(*fields, "reason") == hostile);
      CHECK(v.reply.text == "temporary failure, queue id Q1");  // the detail never reaches the reply
    }
    SECTION("a recipient's certificate subject in a revocation decision") {
      revocation::Decision d;
      d.answer.status = revocation::Status::undetermined;
      d.answer.why = revocation::Why::timeout;
      d.answer.url = "http://127.0.0.1/" + hostile;
      d.reason = hostile;
      const std::string line =
          milter::revocation_line(revocation::Operation::encrypt, hostile, test::cert("alice").get(), d)
              .str();
      std::string event;
      const auto fields = parse_line(line, &event);
      REQUIRE(fields.has_value());
      CHECK(event == "revocation");
      CHECK(keys_of(*fields) == std::vector<std::string>{"op", "subject", "certificate", "status", "why",
                                                         "source", "url", "cached", "decision", "reason"});
      CHECK(value_of(*fields, "subject") == hostile);
      CHECK(value_of(*fields, "reason") == hostile);
    }
  }
}

TEST_CASE("log: a hostile envelope recipient through the outbound pipeline", "[logging][pki]") {
  test::TempDir dir;
  auto store = keystore::open_sqlite_store(dir.path("ks.db"));
  const conf::Config config = conf::parse(R"({"revocation": {"enabled": false},
      "profiles": {"p": {"mode": "encrypt", "missing_certificate": "plain"}},
      "outbound": {"default_profile": "p"}})",
                                          "test");
  milter::Message m;
  m.envelope.queue_id = "Q2";
  m.envelope.client_address = "127.0.0.1";
  m.envelope.sender = "user@example.com";
  m.envelope.recipients = {"bob@example.org\" certificate=forged result=pass"};
  m.headers.add("From", "user@example.com");
  m.body = smime::Source::from_string("hello\r\n");
  const milter::Verdict v = milter::process_message(config, *store, nullptr, m, std::time(nullptr));
  bool seen = false;
  for (const milter::LogEntry& e : v.log) {
    INFO(e.text);
    std::string event;
    auto fields = parse_line(e.text, nullptr);  // "key=value ..." or "event key=value ..."
    if (!fields) fields = parse_line(e.text, &event);
    REQUIRE(fields.has_value());
    if (value_of(*fields, "recipient") == m.envelope.recipients.front()) {
      seen = true;
      CHECK(value_of(*fields, "certificate") == "none");  // not the forged value
    }
  }
  CHECK(seen);
}
