// See key_passphrase.hpp.
#include "milter/key_passphrase.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace milter {
namespace {

constexpr std::size_t kMaxPassphraseFile = 64 * 1024;  // a passphrase file is one short line

std::string mode_text(mode_t mode) {
  std::array<char, 8> buf{};
  std::snprintf(buf.data(), buf.size(), "%04o", static_cast<unsigned>(mode & 07777));
  return buf.data();
}

// Closes the descriptor whatever happens.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::optional<std::string> key_passphrase_path(const conf::Keystore& keystore,
                                               const char* credentials_directory) {
  if (!keystore.key_passphrase_file.empty()) return keystore.key_passphrase_file.string();
  if (keystore.key_passphrase_credential.empty()) return std::nullopt;
  const std::string& name = keystore.key_passphrase_credential;
  if (name.find('/') != std::string::npos || name == "." || name == "..")
    throw PassphraseError("keystore.key_passphrase_credential '" + name + "' is not a credential name");
  if (credentials_directory == nullptr || *credentials_directory == '\0')
    throw PassphraseError("keystore.key_passphrase_credential " + name +
                          ": $CREDENTIALS_DIRECTORY is not set (start the daemon from its systemd unit, "
                          "with LoadCredential=" +
                          name + ")");
  return std::string(credentials_directory) + "/" + name;
}

std::optional<std::string> read_key_passphrase(const conf::Keystore& keystore,
                                               const char* credentials_directory) {
  const std::optional<std::string> path = key_passphrase_path(keystore, credentials_directory);
  if (!path) return std::nullopt;
  Fd file{::open(path->c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY)};
  if (file.fd < 0) {
    const int e = errno;
    throw PassphraseError("cannot read the key passphrase file " + *path + ": " +
                          (e == ELOOP ? std::string("a symbolic link, refused") : std::strerror(e)));
  }
  struct stat st {};
  if (fstat(file.fd, &st) != 0 || !S_ISREG(st.st_mode))
    throw PassphraseError("the key passphrase file " + *path + " is not a regular file");
  if ((st.st_mode & 077) != 0)
    throw PassphraseError("the key passphrase file " + *path + " is accessible by group or others (mode " +
                          mode_text(st.st_mode) + "): chmod 0600 " + *path);
  std::string text;
  std::array<char, 4096> chunk{};
  for (;;) {
    const ssize_t n = ::read(file.fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw PassphraseError("cannot read the key passphrase file " + *path + ": " + std::strerror(errno));
    if (n == 0) break;
    text.append(chunk.data(), static_cast<std::size_t>(n));
    if (text.find('\n') != std::string::npos) break;
    if (text.size() > kMaxPassphraseFile)
      throw PassphraseError("the key passphrase file " + *path + " has no line end in its first " +
                            std::to_string(kMaxPassphraseFile) + " bytes");
  }
  if (const std::size_t nl = text.find('\n'); nl != std::string::npos) text.resize(nl);
  if (text.empty())
    throw PassphraseError("the key passphrase file " + *path + " is empty: its first line is the passphrase");
  return text;
}

}  // namespace milter
