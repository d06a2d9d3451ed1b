// The contract between the libmilter layer (callbacks, contexts) and the decision pipeline
// (direction, policy, outbound processing): what a message is at end-of-message, and the verdict —
// every change the MTA must make, decided in full before any of it is applied, so that a failure
// half-way leaves the message untouched.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "smime/io.hpp"
#include "smime/mime.hpp"

namespace milter {

struct Envelope {
  std::string queue_id;                 // the MTA's queue id ("-" in a dry run)
  std::string sender;                   // MAIL FROM address without angle brackets; "" = null sender
  std::vector<std::string> recipients;  // RCPT TO addresses without angle brackets, in order
  std::string client_address;           // connecting client's IP ("" when unknown / dry run)
  bool authenticated = false;           // SMTP AUTH succeeded ({auth_authen} set)
  std::string auth_user;
};

// One message at end-of-message: headers in arrival order with their values as the MTA gave them
// (leading white space kept, folding as "\n\t" or "\r\n\t"), and the body (CRLF line ends, as Postfix
// sends it to milters) from the MessageBuffer.
struct Message {
  Envelope envelope;
  smime::mime::HeaderList headers;
  smime::Source body = smime::Source::from_string({});
};

enum class Direction { outbound, inbound };

// A header change, in libmilter's terms. `index` is 1-based among the headers of that name
// (smfi_chgheader); a change with an empty value deletes that header.
struct HeaderEdit {
  enum class Kind { change, add, insert_first };
  Kind kind = Kind::add;
  std::string name;
  int index = 1;
  std::string value;  // without the leading space
};

// The copy for recipients without a usable certificate under missing_certificate = split: a whole
// RFC 5322 message (headers, blank line, body) to be sent through the re-injection address.
struct SplitCopy {
  std::string sender;
  std::vector<std::string> recipients;
  smime::Source message = smime::Source::from_string({});
};

// An SMTP reply the milter asks the MTA to give: code, enhanced status and a public text. Built only by
// failure.hpp's functions, which keep the detail out of it.
struct Reply {
  std::string code;    // "550", "451"
  std::string status;  // the enhanced status code, e.g. "5.7.7"
  std::string text;    // generic, with the queue id
  bool empty() const { return code.empty(); }
};

// One line of a verdict's log (built with logging::Line) and its level.
struct LogEntry {
  conf::LogLevel level = conf::LogLevel::info;
  std::string text;
  bool operator==(const LogEntry&) const = default;
};

struct Verdict {
  conf::Action action = conf::Action::accept;
  Reply reply;  // reject / tempfail: the SMTP reply (empty: the MTA's default)

  // Applied only with action accept, in this order: header edits, body replacement, recipient removal.
  std::vector<HeaderEdit> header_edits;
  std::optional<smime::Source> new_body;  // the whole new body (CRLF line ends), streamed to the MTA
  std::vector<std::string> remove_recipients;
  std::optional<SplitCopy> split;
  // With action accept: put the message on hold (smfi_quarantine; Postfix's hold queue) with this reason,
  // after the other changes.
  std::optional<std::string> quarantine;

  // What was decided and why, one line each, for the log (never body or key material).
  std::vector<LogEntry> log;
};

}  // namespace milter
