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

struct Verdict {
  conf::Action action = conf::Action::accept;
  // reject / tempfail: the SMTP reply (e.g. "550", "5.7.1", "recipients without certificate: a@x, b@y").
  std::string reply_code;
  std::string reply_status;
  std::string reply_text;

  // Applied only with action accept, in this order: header edits, body replacement, recipient removal.
  std::vector<HeaderEdit> header_edits;
  std::optional<smime::Source> new_body;  // the whole new body (CRLF line ends), streamed to the MTA
  std::vector<std::string> remove_recipients;
  std::optional<SplitCopy> split;
  // With action accept: put the message on hold (smfi_quarantine; Postfix's hold queue) with this reason,
  // after the other changes.
  std::optional<std::string> quarantine;

  // What was decided and why, one "key=value ..." line each, for the log (never body or key material).
  std::vector<std::string> log;
};

}  // namespace milter
