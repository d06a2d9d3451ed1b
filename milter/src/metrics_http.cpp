// See metrics_http.hpp.
#include "milter/metrics_http.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "milter/logging.hpp"
#include "milter/metrics.hpp"

namespace milter {
namespace {

using Clock = std::chrono::steady_clock;

struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family = AF_INET;
};

Address address_of(const conf::Endpoint& where) {
  Address a;
  if (inet_pton(AF_INET, where.host.c_str(), &reinterpret_cast<sockaddr_in*>(&a.storage)->sin_addr) == 1) {
    auto* in = reinterpret_cast<sockaddr_in*>(&a.storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(where.port);
    a.length = sizeof(sockaddr_in);
    a.family = AF_INET;
    return a;
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  if (inet_pton(AF_INET6, where.host.c_str(), &in6->sin6_addr) != 1)
    throw MetricsError("metrics.listen " + where.to_string() + ": not an IP address");
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(where.port);
  a.length = sizeof(sockaddr_in6);
  a.family = AF_INET6;
  return a;
}

// Closes the descriptor whatever happens.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Waits for `events` on fd until the deadline; false at the deadline or on an error.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    const int r = poll(&p, 1, remaining_ms(deadline));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return false;
  }
}

bool send_all(int fd, std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    if (!wait_for(fd, POLLOUT, deadline)) return false;
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string response(std::string_view status, std::string_view type, const std::string& body, bool head) {
  std::string out = "HTTP/1.0 ";
  out.append(status);
  out += "\r\nContent-Type: ";
  out.append(type);
  out += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  if (!head) out += body;
  return out;
}

std::string plain(std::string_view status, std::string_view text) {
  return response(status, "text/plain; charset=utf-8", std::string(text) + "\n", false);
}

}  // namespace

MetricsServer::MetricsServer(const conf::Endpoint& where, std::function<std::string()> body)
    : body_(body ? std::move(body) : std::function<std::string()>(metrics::exposition)) {
  const Address a = address_of(where);
  listener_ = ::socket(a.family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listener_ < 0) throw MetricsError("metrics endpoint: socket: " + std::string(std::strerror(errno)));
  const int one = 1;
  setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listener_, reinterpret_cast<const sockaddr*>(&a.storage), a.length) != 0 ||
      ::listen(listener_, 16) != 0) {
    const int e = errno;
    ::close(listener_);
    throw MetricsError("cannot listen on metrics.listen " + where.to_string() + ": " + std::strerror(e));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  getsockname(listener_, reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                           : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  if (::pipe2(wake_, O_CLOEXEC) != 0) {
    ::close(listener_);
    throw MetricsError("metrics endpoint: pipe: " + std::string(std::strerror(errno)));
  }
}

MetricsServer::~MetricsServer() {
  if (thread_.joinable()) {
    const char byte = 0;
    while (::write(wake_[1], &byte, 1) < 0 && errno == EINTR) {
    }
    thread_.join();
  }
  ::close(wake_[0]);
  ::close(wake_[1]);
  ::close(listener_);
}

void MetricsServer::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { serve(); });
}

void MetricsServer::serve() {
  for (;;) {
    pollfd fds[2] = {{listener_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    const int r = poll(fds, 2, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 || (fds[1].revents & POLLIN) != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    const int connection = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (connection < 0) continue;  // the client left, or a transient shortage: the next one
    Fd closer{connection};
    try {
      answer(connection);
    } catch (const std::exception& e) {
      logging::debug("smime-milter", logging::Line("metrics-request-failed").add("error", e.what()));
    }
  }
}

void MetricsServer::answer(int connection) {
  const Clock::time_point deadline = Clock::now() + kRequestTime;
  std::string request;
  char buf[1024];
  while (request.find("\r\n\r\n") == std::string::npos && request.find("\n\n") == std::string::npos) {
    if (request.size() > kMaxRequest) {
      send_all(connection, plain("431 Request Header Fields Too Large", "request too large"), deadline);
      return;
    }
    if (!wait_for(connection, POLLIN, deadline)) return;  // too slow: dropped
    const ssize_t n = ::recv(connection, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return;
    request.append(buf, static_cast<std::size_t>(n));
  }
  const std::string line = request.substr(0, request.find_first_of("\r\n"));
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string::npos ? std::string::npos : line.find(' ', sp1 + 1);
  if (sp2 == std::string::npos || line.compare(sp2 + 1, 5, "HTTP/") != 0) {
    send_all(connection, plain("400 Bad Request", "bad request"), deadline);
    return;
  }
  const std::string method = line.substr(0, sp1);
  std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  target = target.substr(0, target.find('?'));
  if (method != "GET" && method != "HEAD") {
    send_all(connection, plain("405 Method Not Allowed", "only GET /metrics"), deadline);
    return;
  }
  if (target != "/metrics") {
    send_all(connection, plain("404 Not Found", "not found: the counters are at /metrics"), deadline);
    return;
  }
  send_all(connection,
           response("200 OK", "text/plain; version=0.0.4; charset=utf-8", body_(), method == "HEAD"),
           deadline);
}

std::string fetch_metrics(const conf::Endpoint& where, std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  const Address a = address_of(where);
  const std::string name = "the metrics endpoint " + where.to_string();
  Fd s{::socket(a.family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)};
  if (s.fd < 0) throw MetricsError(name + ": socket: " + std::strerror(errno));
  if (::connect(s.fd, reinterpret_cast<const sockaddr*>(&a.storage), a.length) != 0) {
    if (errno != EINPROGRESS) throw MetricsError("cannot connect to " + name + ": " + std::strerror(errno));
    if (!wait_for(s.fd, POLLOUT, deadline)) throw MetricsError("cannot connect to " + name + ": timed out");
    int error = 0;
    socklen_t len = sizeof error;
    getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &error, &len);
    if (error != 0) throw MetricsError("cannot connect to " + name + ": " + std::strerror(error));
  }
  const std::string request = "GET /metrics HTTP/1.0\r\nHost: " + where.to_string() + "\r\n\r\n";
  if (!send_all(s.fd, request, deadline)) throw MetricsError(name + ": cannot send the request");
  constexpr std::size_t kMaxAnswer = 16 * 1024 * 1024;
  std::string answer;
  char buf[16 * 1024];
  for (;;) {
    if (!wait_for(s.fd, POLLIN, deadline)) throw MetricsError(name + ": no complete answer in time");
    const ssize_t n = ::recv(s.fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) throw MetricsError(name + ": " + std::strerror(errno));
    if (n == 0) break;
    answer.append(buf, static_cast<std::size_t>(n));
    if (answer.size() > kMaxAnswer) throw MetricsError(name + ": the answer is too large");
  }
  const std::size_t head_end = answer.find("\r\n\r\n");
  if (answer.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos)
    throw MetricsError(name + ": not an HTTP answer");
  const std::string status = answer.substr(9, answer.find("\r\n") - 9);
  if (status.rfind("200", 0) != 0) throw MetricsError(name + " answered " + status);
  return answer.substr(head_end + 4);
}

}  // namespace milter
