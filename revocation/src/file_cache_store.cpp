// The default CacheStore: one file per entry under a private directory.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "internal.hpp"
#include "revocation/cache_store.hpp"
#include "smime/error.hpp"

namespace revocation {

std::optional<std::string> CacheStore::claim(const std::string&, std::chrono::seconds) {
  return std::string();
}
void CacheStore::release(const std::string&, const std::string&) {}
std::filesystem::path CacheStore::file_of(const std::string&, const std::string&) const { return {}; }

namespace {

constexpr std::string_view kMagic = "smime-milter-revocation-cache 1\n";

std::string one_line(std::string s) {
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return s;
}

bool parse_time(const std::string& text, std::time_t& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  out = static_cast<std::time_t>(v);
  return true;
}

std::string octal(unsigned mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
  return buf;
}

// Creates the directory 0700 when missing; refuses one that others could write into (they could plant
// or replace entries: payloads are verified again, but a planted negative entry would suppress checks).
void prepare_directory(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    if (!dir.parent_path().empty()) std::filesystem::create_directories(dir.parent_path(), ec);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
      throw smime::Error(smime::ErrorKind::io, "cannot create revocation cache directory " + dir.string() +
                                                   ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw smime::Error(smime::ErrorKind::io, "revocation cache " + dir.string() + " is not a directory");
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    throw smime::Error(smime::ErrorKind::io, "revocation cache directory " + dir.string() +
                                                 " is writable by its group or others (mode " +
                                                 octal(st.st_mode) + "); make it private: chmod 700 " +
                                                 dir.string());
}

class FileCacheStore final : public CacheStore {
 public:
  explicit FileCacheStore(std::filesystem::path dir) : dir_(std::move(dir)) { prepare_directory(dir_); }

  std::optional<StoredEntry> load(const std::string& kind, const std::string& key) override {
    return read_file(kind, key);
  }

  void save(const StoredEntry& entry) override { write_file(entry); }

  void remove(const std::string& kind, const std::string& key,
              std::optional<std::time_t> expired_by) override {
    if (expired_by) {
      std::optional<StoredEntry> e = read_file(kind, key);
      if (e && e->expires_at > *expired_by) return;
    }
    std::error_code ec;
    std::filesystem::remove(file_of(kind, key), ec);
  }

  std::filesystem::path file_of(const std::string& kind, const std::string& key) const override {
    return dir_ / (kind + "-" + detail::sha256_hex(key).substr(0, 40));
  }

 private:
  // File layout: kMagic, then "name: value" lines (kind, key, url, stored, expires, this-update,
  // next-update, length), an empty line, and `length` bytes of payload.
  std::optional<StoredEntry> read_file(const std::string& kind, const std::string& key) {
    const std::filesystem::path file = file_of(kind, key);
    std::ifstream in(file, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream ss;
    ss << in.rdbuf();
    const std::string data = ss.str();
    auto corrupt = [&]() -> std::optional<StoredEntry> {
      std::error_code ec;
      std::filesystem::remove(file, ec);
      return std::nullopt;
    };
    if (data.compare(0, kMagic.size(), kMagic) != 0) return corrupt();
    StoredEntry entry;
    std::size_t pos = kMagic.size();
    std::size_t length = 0;
    bool have_length = false, have_stored = false, have_expires = false;
    for (;;) {
      std::size_t eol = data.find('\n', pos);
      if (eol == std::string::npos) return corrupt();
      std::string line = data.substr(pos, eol - pos);
      pos = eol + 1;
      if (line.empty()) break;
      std::size_t colon = line.find(": ");
      if (colon == std::string::npos) return corrupt();
      std::string name = line.substr(0, colon), value = line.substr(colon + 2);
      std::time_t t = 0;
      if (name == "kind") {
        entry.kind = value;
      } else if (name == "key") {
        entry.key = value;
      } else if (name == "url") {
        entry.url = value;
      } else if (name == "stored") {
        if (!(have_stored = parse_time(value, entry.stored_at))) return corrupt();
      } else if (name == "expires") {
        if (!(have_expires = parse_time(value, entry.expires_at))) return corrupt();
      } else if (name == "this-update") {
        if (!parse_time(value, t)) return corrupt();
        entry.this_update = t;
      } else if (name == "next-update") {
        if (!parse_time(value, t)) return corrupt();
        entry.next_update = t;
      } else if (name == "length") {
        std::time_t n = 0;
        if (!parse_time(value, n) || n < 0) return corrupt();
        length = static_cast<std::size_t>(n);
        have_length = true;
      } else {
        return corrupt();
      }
    }
    if (entry.kind != kind || entry.key != one_line(key) || !have_length || !have_stored || !have_expires ||
        data.size() - pos != length)
      return corrupt();
    entry.key = key;  // the file holds it on one line; the caller asked for exactly this one
    entry.payload = data.substr(pos);
    return entry;
  }

  void write_file(const StoredEntry& entry) {
    std::ostringstream head;
    head << kMagic << "kind: " << entry.kind << "\nkey: " << one_line(entry.key)
         << "\nurl: " << one_line(entry.url) << "\nstored: " << entry.stored_at
         << "\nexpires: " << entry.expires_at << "\n";
    if (entry.this_update) head << "this-update: " << *entry.this_update << "\n";
    if (entry.next_update) head << "next-update: " << *entry.next_update << "\n";
    head << "length: " << entry.payload.size() << "\n\n";
    const std::string text = head.str() + entry.payload;

    const std::filesystem::path file = file_of(entry.kind, entry.key);
    std::string tmp = (dir_ / ("." + file.filename().string() + ".XXXXXX")).string();
    int fd = ::mkstemp(tmp.data());
    if (fd < 0) throw smime::Error(smime::ErrorKind::io, "cannot create a file in " + dir_.string());
    bool ok = true;
    for (std::size_t off = 0; ok && off < text.size();) {
      ssize_t n = ::write(fd, text.data() + off, text.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        ok = false;
      else
        off += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) ok = false;
    if (::close(fd) != 0) ok = false;
    if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0) {
      ::unlink(tmp.c_str());
      throw smime::Error(smime::ErrorKind::io, "cannot write " + file.string());
    }
  }

  std::filesystem::path dir_;
};

}  // namespace

std::shared_ptr<CacheStore> make_file_cache_store(const std::filesystem::path& directory) {
  return std::make_shared<FileCacheStore>(directory);
}

}  // namespace revocation
