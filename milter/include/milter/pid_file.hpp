// The pid file (-P FILE, daemon.pid_file): the daemon's process id and a newline, held locked while the
// daemon runs and removed when it stops.
//
// Contract: the file is opened with O_NOFOLLOW (a symbolic link is refused, so nobody can point it at
// another file), must be a regular file, is locked with flock (a second daemon finds it locked and is
// refused, naming the pid inside), then truncated and written. It is written by the account the daemon
// runs as (after the switch from root), so that the daemon can remove it again: its directory must be
// writable by that account (/run/smime-milter, the unit's RuntimeDirectory=). The destructor removes the
// file when it is still the one written (the same inode). Every failure throws PidFileError.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <stdexcept>

namespace milter {

class PidFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class PidFile {
 public:
  explicit PidFile(std::filesystem::path path, pid_t pid);
  ~PidFile();
  PidFile(const PidFile&) = delete;
  PidFile& operator=(const PidFile&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  dev_t device_ = 0;
  ino_t inode_ = 0;
};

}  // namespace milter
