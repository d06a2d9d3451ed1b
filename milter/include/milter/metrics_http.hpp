// The metrics endpoint: a tiny HTTP/1.0 server of our own on metrics.listen (a loopback address, checked
// by conf), answering GET /metrics with metrics::exposition(), and the client of `smime-milter --stats`.
//
// Contract: the server binds in its constructor (before the daemon leaves root, so any port works) and
// serves from one thread of its own once start() is called (after the switch: no thread exists before).
// One request at a time, each bounded: at most kMaxRequest bytes of request head and kRequestTime to
// receive it and send the answer; anything else is answered 400, 404, 405 or 431 (or dropped at the
// time limit) and the connection closed. The destructor stops the thread and closes the socket.
// Failures to bind and of the client throw MetricsError.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>

#include "conf/config.hpp"

namespace milter {

class MetricsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class MetricsServer {
 public:
  static constexpr std::size_t kMaxRequest = 8 * 1024;
  static constexpr std::chrono::milliseconds kRequestTime{2000};

  // Port 0 (tests): any free port, see port().
  explicit MetricsServer(const conf::Endpoint& where, std::function<std::string()> body = {});
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  void start();
  std::uint16_t port() const { return port_; }

 private:
  void serve();
  void answer(int connection);

  std::function<std::string()> body_;
  int listener_ = -1;
  int wake_[2] = {-1, -1};  // a byte written to wake_[1] stops the thread
  std::uint16_t port_ = 0;
  std::thread thread_;
};

// GET /metrics from `where` and the body of a 200 answer. Throws MetricsError (cannot connect, time out,
// another status) with the endpoint named.
std::string fetch_metrics(const conf::Endpoint& where, std::chrono::milliseconds timeout);

}  // namespace milter
