// See pid_file.hpp.
#include "milter/pid_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace milter {
namespace {

std::string holder_of(int fd) {
  char buf[32] = {};
  const ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  std::string pid = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() ? "unknown" : pid;
}

}  // namespace

PidFile::PidFile(std::filesystem::path path, pid_t pid) : path_(std::move(path)) {
  const std::string p = path_.string();
  fd_ = ::open(p.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0644);
  if (fd_ < 0) {
    const int e = errno;
    if (e == ELOOP) throw PidFileError("pid file " + p + " is a symbolic link: refused");
    throw PidFileError("cannot open pid file " + p + ": " + std::strerror(e) +
                       " (its directory must be writable by the daemon's user, e.g. /run/smime-milter)");
  }
  struct stat st {};
  if (fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    throw PidFileError("pid file " + p + " is not a regular file: refused");
  }
  if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const std::string holder = holder_of(fd_);
    ::close(fd_);
    throw PidFileError("pid file " + p + " is held by a running smime-milter (pid " + holder + ")");
  }
  device_ = st.st_dev;
  inode_ = st.st_ino;
  const std::string text = std::to_string(pid) + "\n";
  if (ftruncate(fd_, 0) != 0 ||
      pwrite(fd_, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    const int e = errno;
    ::close(fd_);
    throw PidFileError("cannot write pid file " + p + ": " + std::strerror(e));
  }
}

PidFile::~PidFile() {
  struct stat st {};
  if (lstat(path_.c_str(), &st) == 0 && st.st_dev == device_ && st.st_ino == inode_) ::unlink(path_.c_str());
  ::close(fd_);
}

}  // namespace milter
