// `generate`: a new key and a self-signed S/MIME certificate or a CSR. The key goes to a new file
// created 0600 (--key-out, optionally encrypted), or straight into the store (--import); never to
// standard output.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "context.hpp"
#include "keystore/generate.hpp"
#include "keystore/identity.hpp"
#include "secret.hpp"
#include "smime/cert.hpp"

namespace cli {

namespace {

// Writes a new file with mode 0600; refuses to overwrite.
void write_private_file(const std::string& path, const std::string& bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, S_IRUSR | S_IWUSR);
  if (fd < 0)
    throw smime::Error(smime::ErrorKind::io, "cannot create " + path + ": " + std::strerror(errno) +
                                                 (errno == EEXIST ? " (will not overwrite a key file)" : ""));
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) break;
    done += static_cast<std::size_t>(n);
  }
  const bool ok = done == bytes.size() && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) throw smime::Error(smime::ErrorKind::io, "cannot write " + path);
}

void write_public(const std::optional<std::string>& path, const std::string& bytes) {
  if (!path) {
    std::cout << bytes;
    return;
  }
  int fd = ::open(path->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw smime::Error(smime::ErrorKind::io, "cannot create " + *path + ": " + std::strerror(errno));
  ssize_t n = ::write(fd, bytes.data(), bytes.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(bytes.size()))
    throw smime::Error(smime::ErrorKind::io, "cannot write " + *path);
}

keystore::Purpose usage_from(const std::string& s) {
  if (s == "sign") return keystore::Purpose::sign;
  if (s == "encrypt") return keystore::Purpose::encrypt;
  if (s == "both") return keystore::Purpose::both;
  throw UsageError("--usage is sign, encrypt or both");
}

}  // namespace

int cmd_generate(Context& c) {
  const Args& a = c.args;
  a.positional_count(0, 0);
  keystore::GenerateRequest r;
  r.common_name = a.one_or("cn", "");
  r.organization = a.one_or("org", "");
  r.unit = a.one_or("unit", "");
  r.locality = a.one_or("locality", "");
  r.state = a.one_or("state", "");
  r.country = a.one_or("country", "");
  r.emails = a.all("email");
  r.domains = a.all("dns");
  auto digest = smime::digest_from_string(a.one_or("digest", "sha256"));
  if (!digest) throw UsageError("--digest is sha256, sha384 or sha512");
  r.digest = *digest;
  r.days = a.number("days", 365, 1, 36500);
  r.key_type = a.one_or("key-type", "rsa");
  r.key_bits = a.number("key-size", 3072, 2048, 16384);
  r.curve = a.one_or("curve", "P-256");
  r.usage = usage_from(a.one_or("usage", "both"));
  r.csr = a.flag("csr");
  const bool import = a.flag("import");
  const auto key_out = a.one("key-out");
  if (r.csr && import) throw UsageError("--import stores a self-signed certificate; a CSR has none yet");
  if (!key_out && !import) throw UsageError("give --key-out FILE (created 0600) or --import");

  keystore::Generated g = keystore::generate(r);
  if (key_out) {
    std::string pass;
    if (auto src = a.one("key-out-pass")) pass = read_secret(*src, "passphrase for " + *key_out);
    write_private_file(*key_out, keystore::pkcs8_pem(g.key.get(), pass));
  }
  if (r.csr) {
    write_public(a.one("out"), g.csr_pem);
    return kOk;
  }
  write_public(a.one("out"), smime::to_pem(g.cert.get()));
  if (import) {
    std::string kek;
    if (auto src = a.one("key-pass")) kek = read_secret(*src, "key passphrase of the store");
    keystore::put_identity(c.open(), g.cert.get(), g.key.get(), {}, kek, now());
    std::cerr << "smime-keystore: stored identity " << smime::fingerprint_sha256(g.cert.get()) << "\n";
  }
  return kOk;
}

}  // namespace cli
