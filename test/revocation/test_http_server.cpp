// revocation-test-server: a loopback HTTP/1.0 server for the revocation tests and shell e2e tests.
//
//   revocation-test-server --listen 127.0.0.1:PORT [--root DIR] [--mode serve|silent|trickle|close]
//                          [--respond-with FILE] [--count FILE] [--delay-ms N] [--max-seconds N]
//
//   serve    answer GET /PATH with DIR/PATH (404 when missing, 400 for ".."), or every request (POST
//            included) with the body of --respond-with FILE; one request per connection.
//   silent   accept, read, never answer (the connection stays open until exit).
//   trickle  answer like serve, but one byte per second.
//   close    accept and close at once.
// --delay-ms N waits N ms after reading a request before answering it (serve and trickle).
// --count FILE is written with "0" once the server listens (wait for it to exist before testing) and
// rewritten with the number of accepted connections after each accept. The server listens on 127.0.0.1
// only, exits 0 on SIGTERM/SIGINT and by itself after --max-seconds (default 120): it never outlives a
// test run by much. Exit 2 on usage errors, 1 when it cannot listen.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

struct Config {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string root = ".";
  std::string mode = "serve";
  std::string respond_with;
  std::string count_file;
  int max_seconds = 120;
  int delay_ms = 0;
};

std::mutex g_count_mutex;
long g_count = 0;

void write_count(const std::string& file, long n) {
  if (file.empty()) return;
  std::string tmp = file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << n << "\n";
  }
  std::rename(tmp.c_str(), file.c_str());
}

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

void send_all(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

// Reads the request head and a Content-Length body (bounded: 1 MiB, 10 s). Returns the request line.
std::string read_request(int fd) {
  std::string buf;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::size_t head_end = std::string::npos;
  std::size_t want = 0;
  char tmp[4096];
  while (buf.size() < (1u << 20) && std::chrono::steady_clock::now() < deadline && !g_stop) {
    if (head_end != std::string::npos && buf.size() >= head_end + 4 + want) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) break;
    buf.append(tmp, static_cast<std::size_t>(n));
    if (head_end == std::string::npos && (head_end = buf.find("\r\n\r\n")) != std::string::npos) {
      std::string head = buf.substr(0, head_end);
      for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::size_t cl = head.find("content-length:");
      if (cl != std::string::npos) want = std::strtoul(head.c_str() + cl + 15, nullptr, 10);
    }
  }
  return buf.substr(0, buf.find("\r\n"));
}

std::string response_for(const Config& cfg, const std::string& request_line) {
  std::string body;
  std::string status = "200 OK";
  if (!cfg.respond_with.empty()) {
    if (!read_file(cfg.respond_with, body)) status = "500 Internal Server Error";
  } else {
    std::istringstream rl(request_line);
    std::string method, target;
    rl >> method >> target;
    std::size_t q = target.find('?');
    if (q != std::string::npos) target.resize(q);
    if (target.empty() || target[0] != '/' || target.find("..") != std::string::npos) {
      status = "400 Bad Request";
    } else if (!read_file(cfg.root + target, body)) {
      status = "404 Not Found";
      body.clear();
    }
  }
  return "HTTP/1.0 " + status +
         "\r\nContent-Type: application/octet-stream\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

void handle(const Config& cfg, int fd) {
  if (cfg.mode == "close") {
    ::close(fd);
    return;
  }
  std::string request_line = read_request(fd);
  if (cfg.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(cfg.delay_ms));
  if (cfg.mode == "silent") {
    while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  } else if (cfg.mode == "trickle") {
    std::string resp = response_for(cfg, request_line);
    for (char c : resp) {
      if (g_stop) break;
      if (::send(fd, &c, 1, MSG_NOSIGNAL) != 1) break;
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  } else {
    send_all(fd, response_for(cfg, request_line));
    ::shutdown(fd, SHUT_WR);
    // Let the client read everything before the socket goes (bounded).
    char tmp[256];
    pollfd p{fd, POLLIN, 0};
    for (int i = 0; i < 20 && ::poll(&p, 1, 100) > 0 && ::recv(fd, tmp, sizeof tmp, 0) > 0; ++i) {
    }
  }
  ::close(fd);
}

[[noreturn]] void usage(const char* msg) {
  std::cerr << "revocation-test-server: " << msg
            << "\nusage: revocation-test-server --listen 127.0.0.1:PORT [--root DIR]"
               " [--mode serve|silent|trickle|close] [--respond-with FILE] [--count FILE] [--delay-ms N]"
               " [--max-seconds N]\n";
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) usage(("missing value for " + a).c_str());
    std::string v = argv[++i];
    if (a == "--listen") {
      std::size_t colon = v.rfind(':');
      if (colon == std::string::npos) usage("--listen wants 127.0.0.1:PORT");
      cfg.host = v.substr(0, colon);
      cfg.port = std::atoi(v.c_str() + colon + 1);
    } else if (a == "--root") {
      cfg.root = v;
    } else if (a == "--mode") {
      cfg.mode = v;
    } else if (a == "--respond-with") {
      cfg.respond_with = v;
    } else if (a == "--count") {
      cfg.count_file = v;
    } else if (a == "--delay-ms") {
      cfg.delay_ms = std::atoi(v.c_str());
    } else if (a == "--max-seconds") {
      cfg.max_seconds = std::atoi(v.c_str());
    } else {
      usage(("unknown option " + a).c_str());
    }
  }
  if (cfg.host != "127.0.0.1") usage("only 127.0.0.1 is served");
  if (cfg.port <= 0 || cfg.port > 65535) usage("bad port");
  if (cfg.mode != "serve" && cfg.mode != "silent" && cfg.mode != "trickle" && cfg.mode != "close")
    usage("bad --mode");
  if (cfg.max_seconds <= 0) usage("bad --max-seconds");

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  int ls = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(cfg.port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(ls, 64) != 0) {
    std::cerr << "revocation-test-server: cannot listen on 127.0.0.1:" << cfg.port << ": "
              << std::strerror(errno) << "\n";
    return 1;
  }
  write_count(cfg.count_file, 0);

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(cfg.max_seconds);
  while (!g_stop && std::chrono::steady_clock::now() < deadline) {
    pollfd p{ls, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    int fd = ::accept4(ls, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    {
      std::lock_guard<std::mutex> lock(g_count_mutex);
      write_count(cfg.count_file, ++g_count);
    }
    std::thread(handle, std::cref(cfg), fd).detach();
  }
  ::close(ls);
  // Detached handlers may still hold sockets; the process ends them.
  std::_Exit(0);
}
