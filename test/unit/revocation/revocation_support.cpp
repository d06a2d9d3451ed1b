#include "revocation_support.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "smime/cert.hpp"

namespace test {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) throw std::runtime_error(std::string(name) + " is not set (run the tests through ctest)");
  return v;
}

std::string count_file_name(int port) {
  const char* base = std::getenv("TMPDIR");
  return std::string(base ? base : "/tmp") + "/revocation-test-count." + std::to_string(::getpid()) + "." +
         std::to_string(port);
}

// The fixed ports are shared with every other user of the revocation test PKI on this machine (other
// build directories, the Postfix end-to-end test): each test process holds an exclusive flock on
// kPortLockFile from start-up to exit (CTest's RESOURCE_LOCK only orders the tests of one ctest run).
struct PortLock {
  PortLock() {
    fd = ::open(kPortLockFile, O_CREAT | O_RDWR | O_CLOEXEC, 0666);
    if (fd < 0) return;  // no lock available: run anyway, wait_port_free() still guards
    for (int i = 0; i < 3000 && ::flock(fd, LOCK_EX | LOCK_NB) != 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // at most 5 minutes
  }
  ~PortLock() {
    if (fd >= 0) ::close(fd);
  }
  int fd = -1;
};
const PortLock g_port_lock;

}  // namespace

std::string rev_pki_file(const std::string& name) {
  const char* dir = std::getenv("SMIME_TEST_REVOCATION_PKI");
  return std::string(dir != nullptr ? dir : SMIME_TEST_REVOCATION_PKI_DEFAULT) + "/" + name;
}
smime::X509Ptr rev_cert(const std::string& name) {
  return smime::load_certificate(smime::read_file(rev_pki_file(name + ".pem")));
}
smime::X509Ptr inter() {
  return smime::load_certificate(smime::read_file(env("SMIME_TEST_PKI") + "/inter.pem"));
}

Process::Process(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);
    }
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
}

Process::~Process() { stop(); }

bool Process::alive() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

void Process::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 100; ++i) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

bool port_listening(int port) {
  // /proc/net/tcp{,6}: "sl local_address rem_address st ...", local as HEXADDR:HEXPORT, st 0A = LISTEN.
  char want[8];
  std::snprintf(want, sizeof want, ":%04X", static_cast<unsigned>(port));
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string sl, local, remote, state;
      fields >> sl >> local >> remote >> state;
      if (state == "0A" && local.size() > 5 && local.compare(local.size() - 5, 5, want) == 0) return true;
    }
  }
  return false;
}

void wait_port_free(int port) {
  for (int i = 0; i < 100; ++i) {
    if (!port_listening(port)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("something still listens on port " + std::to_string(port));
}

HttpServer::HttpServer(const HttpServerOptions& o)
    : count_file_(count_file_name(o.port)), process_([&] {
        wait_port_free(o.port);
        std::filesystem::remove(count_file_name(o.port));
        std::vector<std::string> argv = {SMIME_REVOCATION_TEST_SERVER,
                                         "--listen",
                                         "127.0.0.1:" + std::to_string(o.port),
                                         "--mode",
                                         o.mode,
                                         "--count",
                                         count_file_name(o.port),
                                         "--max-seconds",
                                         "60"};
        if (!o.root.empty()) argv.insert(argv.end(), {"--root", o.root});
        if (!o.respond_with.empty()) argv.insert(argv.end(), {"--respond-with", o.respond_with});
        if (o.delay_ms > 0) argv.insert(argv.end(), {"--delay-ms", std::to_string(o.delay_ms)});
        return argv;
      }()) {
  // The server writes its count file once it listens.
  for (int i = 0; i < 200 && process_.alive(); ++i) {
    if (std::filesystem::exists(count_file_)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("revocation-test-server did not start on port " + std::to_string(o.port));
}

HttpServer::~HttpServer() {
  process_.stop();
  std::error_code ec;
  std::filesystem::remove(count_file_, ec);
}

long HttpServer::count() const {
  std::ifstream in(count_file_);
  long n = -1;
  in >> n;
  return n;
}

OcspResponder::OcspResponder()
    : process_([] {
        wait_port_free(kOcspPort);
        // `timeout` bounds the responder's life (it forwards SIGTERM to openssl when we stop it).
        return std::vector<std::string>{"timeout",
                                        "-k",
                                        "5",
                                        "120",
                                        SMIME_OPENSSL_EXECUTABLE,
                                        "ocsp",
                                        "-index",
                                        rev_pki_file("index.txt"),
                                        "-port",
                                        std::to_string(kOcspPort),
                                        "-rsigner",
                                        rev_pki_file("ocsp.pem"),
                                        "-rkey",
                                        rev_pki_file("ocsp.key"),
                                        "-CA",
                                        rev_pki_file("inter.pem"),
                                        "-ndays",
                                        "1",
                                        "-nrequest",
                                        "1000",
                                        "-ignore_err"};
      }()) {
  for (int i = 0; i < 200; ++i) {
    if (!process_.alive())
      throw std::runtime_error("openssl ocsp exited (port " + std::to_string(kOcspPort) + " taken?)");
    if (port_listening(kOcspPort)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("openssl ocsp did not start on port " + std::to_string(kOcspPort));
}

revocation::Options fast_options(std::vector<revocation::Method> order) {
  revocation::Options o;
  o.order = std::move(order);
  o.connect_timeout = std::chrono::milliseconds(2000);
  o.timeout = std::chrono::milliseconds(3000);
  return o;
}

}  // namespace test
