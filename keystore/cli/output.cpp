#include "output.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "smime/error.hpp"

namespace cli {

namespace {

std::string open_error(const std::string& path, int err) {
  std::string why = std::strerror(err);
  if (err == ELOOP) why = "it is a symbolic link (refused)";
  if (err == EEXIST) why += " (will not overwrite a key file)";
  return "cannot create " + path + ": " + why;
}

void write_all(int fd, const std::string& path, const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  const bool ok = done == bytes.size() && ::fsync(fd) == 0;
  if (::close(fd) != 0 || !ok) throw smime::Error(smime::ErrorKind::io, "cannot write " + path);
}

}  // namespace

void write_private_file(const std::string& path, const std::string& bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, S_IRUSR | S_IWUSR);
  if (fd < 0) throw smime::Error(smime::ErrorKind::io, open_error(path, errno));
  if (::fchmod(fd, S_IRUSR | S_IWUSR) != 0) {  // whatever the umask
    ::close(fd);
    throw smime::Error(smime::ErrorKind::io, "cannot set the mode of " + path + ": " + std::strerror(errno));
  }
  write_all(fd, path, bytes);
}

void write_public_output(const std::optional<std::string>& path, const std::string& bytes) {
  if (!path || path->empty()) {
    std::cout << bytes;
    return;
  }
  int fd = ::open(path->c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) throw smime::Error(smime::ErrorKind::io, open_error(*path, errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw smime::Error(smime::ErrorKind::io, "cannot write " + *path + ": not a regular file");
  }
  if (::ftruncate(fd, 0) != 0) {  // only once it is known to be a regular file of ours to replace
    ::close(fd);
    throw smime::Error(smime::ErrorKind::io, "cannot truncate " + *path + ": " + std::strerror(errno));
  }
  write_all(fd, *path, bytes);
}

}  // namespace cli
