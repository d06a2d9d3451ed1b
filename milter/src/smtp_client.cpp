// See smtp_client.hpp.
#include "milter/smtp_client.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace milter {
namespace {

class Connection {
 public:
  Connection(const SmtpTarget& target) : timeout_ms_(static_cast<int>(target.timeout.count() * 1000)) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* result = nullptr;
    std::string port = std::to_string(target.port);
    int rc = getaddrinfo(target.host.c_str(), port.c_str(), &hints, &result);
    if (rc != 0) throw SmtpError("resolve " + target.host + ": " + gai_strerror(rc));
    std::string last_error = "no address";
    for (addrinfo* ai = result; ai != nullptr && fd_ < 0; ai = ai->ai_next) {
      int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
      if (fd < 0) {
        last_error = std::strerror(errno);
        continue;
      }
      if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || (errno == EINPROGRESS && wait(fd, POLLOUT))) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err == 0) {
          fd_ = fd;
          break;
        }
        last_error = std::strerror(err);
      } else {
        last_error = errno == EINPROGRESS ? "connect timed out" : std::strerror(errno);
      }
      ::close(fd);
    }
    freeaddrinfo(result);
    if (fd_ < 0) throw SmtpError("connect " + target.host + ":" + port + ": " + last_error);
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~Connection() {
    if (fd_ >= 0) ::close(fd_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!wait(fd_, POLLOUT)) throw SmtpError("write timed out");
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw SmtpError(std::string("write: ") + std::strerror(errno));
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  // One reply (all its lines); returns the code and the text of the last line.
  std::pair<int, std::string> reply() {
    std::string all;
    for (;;) {
      std::string line = read_line();
      all += line;
      if (line.size() < 3) throw SmtpError("malformed reply: " + line);
      if (line.size() == 3 || line[3] != '-') {
        return {std::atoi(line.substr(0, 3).c_str()), line};
      }
    }
  }

 private:
  bool wait(int fd, short events) {
    pollfd p{fd, events, 0};
    for (;;) {
      int rc = poll(&p, 1, timeout_ms_);
      if (rc < 0 && errno == EINTR) continue;
      return rc > 0;
    }
  }

  std::string read_line() {
    for (;;) {
      auto eol = in_.find("\r\n");
      if (eol != std::string::npos) {
        std::string line = in_.substr(0, eol);
        in_.erase(0, eol + 2);
        return line;
      }
      if (in_.size() > 64 * 1024) throw SmtpError("reply line too long");
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!wait(fd_, POLLIN)) throw SmtpError("read timed out");
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw SmtpError(std::string("read: ") + std::strerror(errno));
      if (n == 0) throw SmtpError("connection closed by server");
      in_.append(buf, static_cast<std::size_t>(n));
    }
  }

  int fd_ = -1;
  int timeout_ms_;
  std::string in_;
};

void expect(Connection& c, std::string_view step, int want_class) {
  auto [code, text] = c.reply();
  if (code / 100 != want_class) throw SmtpError(std::string(step) + ": " + text);
}

void command(Connection& c, const std::string& line, std::string_view step, int want_class) {
  c.send(line + "\r\n");
  expect(c, step, want_class);
}

}  // namespace

void smtp_send(const SmtpTarget& target, const std::string& sender,
               const std::vector<std::string>& recipients, const smime::Source& message) {
  if (recipients.empty()) throw SmtpError("no recipients");
  Connection c(target);
  expect(c, "greeting", 2);
  command(c, "EHLO " + target.helo_name, "EHLO", 2);
  command(c, "MAIL FROM:<" + sender + ">", "MAIL FROM", 2);
  for (const std::string& r : recipients) command(c, "RCPT TO:<" + r + ">", "RCPT TO " + r, 2);
  command(c, "DATA", "DATA", 3);

  // Stream the message: bare LF becomes CRLF, a line starting with '.' gets another '.'.
  constexpr std::size_t chunk = 64 * 1024;
  std::string in(chunk, '\0');
  std::string out;
  bool at_line_start = true;
  char prev = '\0';
  for (std::uint64_t offset = 0;;) {
    std::size_t n = message.read(offset, in.data(), chunk);
    if (n == 0) break;
    offset += n;
    out.clear();
    for (std::size_t i = 0; i < n; ++i) {
      char ch = in[i];
      if (at_line_start && ch == '.') out.push_back('.');
      if (ch == '\n' && prev != '\r') out.push_back('\r');
      out.push_back(ch);
      at_line_start = ch == '\n';
      prev = ch;
    }
    c.send(out);
  }
  c.send(at_line_start ? ".\r\n" : "\r\n.\r\n");
  expect(c, "end of data", 2);
  try {
    c.send("QUIT\r\n");
    c.reply();
  } catch (const SmtpError&) {
    // the message is accepted; a lost QUIT reply does not matter
  }
}

}  // namespace milter
