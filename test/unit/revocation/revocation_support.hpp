// Helpers of the revocation tests: the revocation test PKI (SMIME_TEST_REVOCATION_PKI or the build's, made by
// test/revocation/make-revocation-pki.sh), and the servers a test runs on the fixed loopback ports:
//   HttpServer    revocation-test-server (CRLs on 28480, misbehaving servers on 28480 or 28481)
//   OcspResponder `openssl ocsp -port 28481` on the PKI's index.txt
// Both are started with fork/exec, waited for (bounded), and stopped with SIGTERM (then SIGKILL) when
// the object goes; they also end by themselves after a bounded time if the test process dies.
// Each test process holds the port lock (kPortLockFile) for its whole life.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "revocation/revocation.hpp"
#include "smime/ossl.hpp"

namespace test {

constexpr int kCrlPort = 28480;
constexpr int kOcspPort = 28481;
constexpr const char* kCrlUrl = "http://127.0.0.1:28480/inter.crl";
constexpr const char* kOcspUrl = "http://127.0.0.1:28481/";
// Held (flock, exclusive) by every test_revocation process while it runs; other users of the ports (the
// Postfix end-to-end test) should take it too: exec 9> FILE; flock -w 300 9.
constexpr const char* kPortLockFile = "/tmp/smime-revocation-ports.lock";

std::string rev_pki_file(const std::string& name);
smime::X509Ptr rev_cert(const std::string& name);  // rev-good, rev-revoked, ... (NAME.pem)
smime::X509Ptr inter();

// A child process, stopped (SIGTERM, SIGKILL after 5 s) and reaped when the object goes.
class Process {
 public:
  explicit Process(const std::vector<std::string>& argv);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  void stop();
  bool alive();  // false once it exited (reaped)

 private:
  pid_t pid_ = -1;
};

// True when a socket listens on `port` (read from /proc/net/tcp and tcp6, without connecting: a bare
// connection that sends nothing wedges `openssl ocsp` of OpenSSL 3.0, which then waits on it for ever).
bool port_listening(int port);
// Throws unless nothing listens on `port` within 5 s (the previous test's server is gone).
void wait_port_free(int port);

struct HttpServerOptions {
  int port = kCrlPort;
  std::string root;  // directory served (e.g. rev_pki_file("crl/fresh"))
  std::string mode = "serve";
  std::string respond_with;
  int delay_ms = 0;
};

class HttpServer {
 public:
  explicit HttpServer(const HttpServerOptions& options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  long count() const;  // connections accepted so far
  void stop() { process_.stop(); }

 private:
  std::string count_file_;
  Process process_;
};

class OcspResponder {
 public:
  OcspResponder();
  void stop() { process_.stop(); }

 private:
  Process process_;
};

// Options with short timeouts for tests.
revocation::Options fast_options(std::vector<revocation::Method> order = {revocation::Method::ocsp,
                                                                          revocation::Method::crl});

}  // namespace test
