#include "milter/spool_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "smime/error.hpp"

namespace milter {

namespace {

int open_anonymous(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) return -1;
  std::string tmpl = (dir / "spool.XXXXXX").string();
  fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd >= 0) ::unlink(tmpl.c_str());
  return fd;
}

}  // namespace

SpoolFile::SpoolFile(const std::filesystem::path& directory) : name_((directory / "(spool file)").string()) {
  fd_ = open_anonymous(directory);
  if (fd_ < 0)
    throw smime::Error(smime::ErrorKind::io,
                       "cannot create a spool file in " + directory.string() + ": " + std::strerror(errno));
  sink_ = std::make_unique<smime::FileSink>(fd_, name_);
}

SpoolFile::~SpoolFile() {
  sink_.reset();
  ::close(fd_);
}

smime::Source SpoolFile::source() const { return smime::Source::from_fd(fd_, name_); }

}  // namespace milter
