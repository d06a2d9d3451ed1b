// A small SMTP client for the split copy: delivers one message to the re-injection address (a Postfix
// smtpd without milters, e.g. 127.0.0.1:10026). EHLO, MAIL FROM, RCPT TO for each recipient, DATA with
// dot-stuffing (bare LF sent as CRLF), QUIT. Every connect, read and write is bounded by `timeout`.
//
// Contract: returns normally only when the server accepted the message (250 after the final dot) for
// every recipient; otherwise throws SmtpError naming the step and the server's reply, and the caller
// tempfails the whole transaction so that nothing is lost.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "smime/io.hpp"

namespace milter {

class SmtpError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SmtpTarget {
  std::string host;
  std::uint16_t port = 25;
  std::chrono::seconds timeout{30};
  std::string helo_name = "localhost";
};

void smtp_send(const SmtpTarget& target, const std::string& sender,
               const std::vector<std::string>& recipients, const smime::Source& message);

}  // namespace milter
