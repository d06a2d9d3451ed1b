#include "smime/io.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace smime {

namespace {
constexpr std::size_t kChunk = 64 * 1024;

std::string errno_text(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}
}  // namespace

// ---- Source ----

class Source::Impl {
 public:
  virtual ~Impl() = default;
  virtual std::uint64_t size() const = 0;
  virtual std::size_t read(std::uint64_t offset, char* buf, std::size_t len) const = 0;
};

namespace {
class StringSource final : public Source::Impl {
 public:
  explicit StringSource(std::string s) : data_(std::move(s)) {}
  std::uint64_t size() const override { return data_.size(); }
  std::size_t read(std::uint64_t offset, char* buf, std::size_t len) const override {
    if (offset >= data_.size()) return 0;
    std::size_t n = std::min<std::uint64_t>(len, data_.size() - offset);
    std::memcpy(buf, data_.data() + offset, n);
    return n;
  }

 private:
  std::string data_;
};

class FileSource final : public Source::Impl {
 public:
  explicit FileSource(const std::filesystem::path& path) : path_(path.string()) {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw Error(ErrorKind::io, errno_text("cannot open", path_));
    init_size();
  }
  FileSource(int fd, std::string name) : path_(std::move(name)) {
    fd_ = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (fd_ < 0) throw Error(ErrorKind::io, errno_text("cannot duplicate the descriptor of", path_));
    init_size();
  }
  ~FileSource() override { ::close(fd_); }
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;
  std::uint64_t size() const override { return size_; }
  std::size_t read(std::uint64_t offset, char* buf, std::size_t len) const override {
    if (offset >= size_) return 0;
    len = std::min<std::uint64_t>(len, size_ - offset);
    for (;;) {
      ssize_t n = ::pread(fd_, buf, len, static_cast<off_t>(offset));
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno != EINTR) throw Error(ErrorKind::io, errno_text("cannot read", path_));
    }
  }

 private:
  void init_size() {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
      int saved = errno;
      ::close(fd_);
      errno = saved;
      throw Error(ErrorKind::io, errno_text("cannot stat", path_));
    }
    size_ = static_cast<std::uint64_t>(st.st_size);
  }

  std::string path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};
}  // namespace

Source Source::from_string(std::string bytes) {
  return Source(std::make_shared<const StringSource>(std::move(bytes)));
}
Source Source::from_file(const std::filesystem::path& path) {
  return Source(std::make_shared<const FileSource>(path));
}
Source Source::from_fd(int fd, const std::string& name) {
  return Source(std::make_shared<const FileSource>(fd, name));
}
std::uint64_t Source::size() const { return impl_->size(); }
std::size_t Source::read(std::uint64_t offset, char* buf, std::size_t len) const {
  return impl_->read(offset, buf, len);
}
std::string Source::slice(Range r) const {
  std::string out;
  if (r.offset >= size()) return out;
  r.length = std::min(r.length, size() - r.offset);
  out.resize(r.length);
  std::size_t done = 0;
  while (done < r.length) {
    std::size_t n = read(r.offset + done, out.data() + done, r.length - done);
    if (n == 0) break;
    done += n;
  }
  out.resize(done);
  return out;
}

void copy(const Source& src, Range r, Sink& out) {
  std::string buf(kChunk, '\0');
  std::uint64_t pos = r.offset;
  while (pos < r.end()) {
    std::size_t want = std::min<std::uint64_t>(kChunk, r.end() - pos);
    std::size_t n = src.read(pos, buf.data(), want);
    if (n == 0) break;
    out.write(std::string_view(buf.data(), n));
    pos += n;
  }
}

// ---- FileSink ----

FileSink::FileSink(const std::filesystem::path& path) : path_(path.string()) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd_ < 0) throw Error(ErrorKind::io, errno_text("cannot create", path_));
  buffer_.reserve(kChunk);
}

FileSink::FileSink(int fd, const std::string& name) : path_(name) {
  fd_ = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (fd_ < 0) throw Error(ErrorKind::io, errno_text("cannot duplicate the descriptor of", path_));
  buffer_.reserve(kChunk);
}

FileSink::~FileSink() {
  if (fd_ >= 0) ::close(fd_);
}

void FileSink::write(std::string_view bytes) {
  if (buffer_.size() + bytes.size() > kChunk) flush_buffer();
  if (bytes.size() >= kChunk) {
    buffer_.assign(bytes);
    flush_buffer();
  } else {
    buffer_.append(bytes);
  }
}

void FileSink::flush_buffer() {
  std::size_t done = 0;
  while (done < buffer_.size()) {
    ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorKind::io, errno_text("cannot write", path_));
    }
    done += static_cast<std::size_t>(n);
  }
  buffer_.clear();
}

void FileSink::finish() { flush_buffer(); }

// ---- Base64Sink ----

namespace {
constexpr std::size_t kB64LineBytes = 57;  // 57 input bytes = 76 base64 characters
}

void Base64Sink::write(std::string_view bytes) {
  pending_.append(bytes);
  std::size_t whole = pending_.size() / kB64LineBytes * kB64LineBytes;
  if (whole == 0) return;
  std::string out;
  out.reserve(whole / kB64LineBytes * 78);
  unsigned char line[80];
  for (std::size_t i = 0; i < whole; i += kB64LineBytes) {
    int n = EVP_EncodeBlock(line, reinterpret_cast<const unsigned char*>(pending_.data() + i),
                            static_cast<int>(kB64LineBytes));
    out.append(reinterpret_cast<const char*>(line), static_cast<std::size_t>(n));
    out.append("\r\n");
  }
  pending_.erase(0, whole);
  next_.write(out);
}

void Base64Sink::finish() {
  if (!pending_.empty()) {
    unsigned char line[80];
    int n = EVP_EncodeBlock(line, reinterpret_cast<const unsigned char*>(pending_.data()),
                            static_cast<int>(pending_.size()));
    std::string out(reinterpret_cast<const char*>(line), static_cast<std::size_t>(n));
    out.append("\r\n");
    pending_.clear();
    next_.write(out);
  }
  next_.finish();
}

// ---- CrlfSink ----

void CrlfSink::write(std::string_view bytes) {
  if (bytes.empty()) return;
  // Whole spans between line feeds are copied at once; one write downstream per call.
  buffer_.clear();
  std::size_t start = 0;
  while (start < bytes.size()) {
    const void* hit = std::memchr(bytes.data() + start, '\n', bytes.size() - start);
    if (hit == nullptr) {
      buffer_.append(bytes.substr(start));
      break;
    }
    const std::size_t lf = static_cast<std::size_t>(static_cast<const char*>(hit) - bytes.data());
    const bool cr_before = lf > 0 ? bytes[lf - 1] == '\r' : last_was_cr_;
    buffer_.append(bytes.substr(start, lf - start));
    buffer_.append(cr_before ? "\n" : "\r\n");
    start = lf + 1;
  }
  last_was_cr_ = bytes.back() == '\r';
  next_.write(buffer_);
}

}  // namespace smime
