// The counters (metrics.hpp) in the Prometheus text format, and the endpoint (metrics_http.hpp) on
// loopback: GET /metrics, the answers to anything else, bounded requests, and the --stats client.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "milter/metrics.hpp"
#include "milter/metrics_http.hpp"

namespace {

conf::Endpoint loopback(std::uint16_t port) { return conf::Endpoint{"127.0.0.1", port}; }

// Sends `request` to 127.0.0.1:port and reads the whole answer (the server closes the connection).
std::string exchange(std::uint16_t port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may close early (a request too large)
    sent += static_cast<std::size_t>(n);
  }
  std::string answer;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) answer.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return answer;
}

}  // namespace

TEST_CASE("metrics: counters and the histogram in the text format", "[metrics]") {
  milter::metrics::reset();
  milter::metrics::count("smime_messages_total", {{"direction", "outbound"}, {"action", "accept"}});
  milter::metrics::count("smime_messages_total", {{"direction", "outbound"}, {"action", "accept"}});
  milter::metrics::count("smime_verify_total", {{"result", "fail \"quoted\"\n"}});
  milter::metrics::observe_latency(0.02);
  milter::metrics::observe_latency(3);
  const std::string text = milter::metrics::exposition();
  CHECK(text.find("# HELP smime_messages_total ") != std::string::npos);
  CHECK(text.find("# TYPE smime_messages_total counter\n") != std::string::npos);
  CHECK(text.find("smime_messages_total{direction=\"outbound\",action=\"accept\"} 2\n") != std::string::npos);
  // a label value is escaped
  CHECK(text.find("smime_verify_total{result=\"fail \\\"quoted\\\"\\n\"} 1\n") != std::string::npos);
  // known families without labels show 0 before anything is counted
  CHECK(text.find("smime_messages_signed_total 0\n") != std::string::npos);
  CHECK(text.find("# TYPE smime_eom_duration_seconds histogram\n") != std::string::npos);
  CHECK(text.find("smime_eom_duration_seconds_bucket{le=\"0.01\"} 0\n") != std::string::npos);
  CHECK(text.find("smime_eom_duration_seconds_bucket{le=\"0.025\"} 1\n") != std::string::npos);
  CHECK(text.find("smime_eom_duration_seconds_bucket{le=\"2.5\"} 1\n") != std::string::npos);
  CHECK(text.find("smime_eom_duration_seconds_bucket{le=\"5\"} 2\n") != std::string::npos);
  CHECK(text.find("smime_eom_duration_seconds_bucket{le=\"+Inf\"} 2\n") != std::string::npos);
  CHECK(text.find("smime_eom_duration_seconds_count 2\n") != std::string::npos);
  CHECK(text.find("smime_eom_duration_seconds_sum 3.02\n") != std::string::npos);
  CHECK(milter::metrics::value("smime_messages_total", {{"direction", "outbound"}, {"action", "accept"}}) ==
        2);
  CHECK(milter::metrics::value("smime_messages_total", {{"direction", "inbound"}, {"action", "accept"}}) ==
        0);
}

TEST_CASE("metrics: the endpoint answers GET /metrics on loopback", "[metrics]") {
  milter::MetricsServer server(loopback(0), [] { return std::string("smime_test_total 7\n"); });
  server.start();
  REQUIRE(server.port() != 0);

  const std::string ok = exchange(server.port(), "GET /metrics HTTP/1.0\r\n\r\n");
  CHECK(ok.rfind("HTTP/1.0 200 OK\r\n", 0) == 0);
  CHECK(ok.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
  CHECK(ok.find("Content-Length: 19\r\n") != std::string::npos);
  CHECK(ok.substr(ok.size() - 19) == "smime_test_total 7\n");

  CHECK(exchange(server.port(), "GET /other HTTP/1.1\r\nHost: x\r\n\r\n").rfind("HTTP/1.0 404 ", 0) == 0);
  CHECK(exchange(server.port(), "POST /metrics HTTP/1.0\r\n\r\n").rfind("HTTP/1.0 405 ", 0) == 0);
  CHECK(exchange(server.port(), "nonsense\r\n\r\n").rfind("HTTP/1.0 400 ", 0) == 0);
  const std::string huge = "GET /metrics HTTP/1.0\r\nX-Pad: " + std::string(20000, 'a');
  CHECK(exchange(server.port(), huge).rfind("HTTP/1.0 431 ", 0) == 0);
  const std::string head = exchange(server.port(), "HEAD /metrics HTTP/1.0\r\n\r\n");
  CHECK(head.rfind("HTTP/1.0 200 OK\r\n", 0) == 0);
  CHECK(head.find("smime_test_total") == std::string::npos);

  CHECK(milter::fetch_metrics(loopback(server.port()), std::chrono::seconds(5)) == "smime_test_total 7\n");
}

TEST_CASE("metrics: a client that sends nothing is dropped at the time limit, then others are served",
          "[metrics]") {
  milter::MetricsServer server(loopback(0), [] { return std::string("x 1\n"); });
  server.start();
  const int idle = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(server.port());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(idle, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  // the served one waits at most kRequestTime behind the idle one
  CHECK(milter::fetch_metrics(loopback(server.port()),
                              milter::MetricsServer::kRequestTime + std::chrono::seconds(5)) == "x 1\n");
  ::close(idle);
}

TEST_CASE("metrics: the client names the endpoint it cannot reach", "[metrics]") {
  std::uint16_t port = 0;
  {
    milter::MetricsServer closed(loopback(0));  // a port that was free a moment ago
    port = closed.port();
  }
  CHECK_THROWS_WITH(
      milter::fetch_metrics(loopback(port), std::chrono::seconds(2)),
      Catch::Contains("cannot connect to the metrics endpoint 127.0.0.1:" + std::to_string(port)));
}

TEST_CASE("metrics: a port in use is an error naming metrics.listen", "[metrics]") {
  milter::MetricsServer first(loopback(0));
  CHECK_THROWS_WITH(milter::MetricsServer(loopback(first.port())),
                    Catch::Contains("metrics.listen 127.0.0.1:"));
}
