#include "cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

namespace revocation::detail {
namespace {

constexpr std::string_view kMagic = "smime-milter-revocation-cache 1\n";

std::string one_line(std::string s) {
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return s;
}

std::string memory_key(const std::string& kind, const std::string& key) { return kind + '\n' + key; }

bool parse_time(const std::string& text, std::time_t& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  out = static_cast<std::time_t>(v);
  return true;
}

}  // namespace

Cache::Cache(std::filesystem::path directory) : dir_(std::move(directory)) {
  if (dir_.empty()) return;
  std::error_code ec;
  if (!std::filesystem::exists(dir_, ec)) {
    if (!dir_.parent_path().empty()) std::filesystem::create_directories(dir_.parent_path(), ec);
    if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST)
      throw smime::Error(smime::ErrorKind::io, "cannot create revocation cache directory " + dir_.string() +
                                                   ": " + std::strerror(errno));
  }
  if (!std::filesystem::is_directory(dir_, ec))
    throw smime::Error(smime::ErrorKind::io, "revocation cache " + dir_.string() + " is not a directory");
}

std::filesystem::path Cache::file_for(const std::string& kind, const std::string& key) const {
  return dir_ / (kind + "-" + sha256_hex(key).substr(0, 40));
}

EntryPtr Cache::get(const std::string& kind, const std::string& key, std::time_t now) {
  EntryPtr entry;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = memory_.find(memory_key(kind, key));
    if (it != memory_.end()) entry = it->second;
  }
  if (!entry && !dir_.empty()) entry = read_file(kind, key);
  if (entry && entry->expires_at <= now) {
    erase(kind, key);  // memory and file: an expired entry is never used again
    return nullptr;
  }
  return entry;
}

void Cache::put(Entry entry, bool persist) {
  if (persist && !dir_.empty()) write_file(entry);
  if (entry.kind == "crl" && entry.crl) entry.payload.clear();  // the parsed CRL is kept instead
  auto ptr = std::make_shared<const Entry>(std::move(entry));
  const std::time_t now = ptr->stored_at;
  std::lock_guard<std::mutex> lock(mutex_);
  memory_[memory_key(ptr->kind, ptr->key)] = std::move(ptr);
  // Now and then, drop what has expired from memory (files go when they are next looked up).
  if (++puts_ % 256 == 0) {
    for (auto it = memory_.begin(); it != memory_.end();)
      it = it->second->expires_at <= now ? memory_.erase(it) : std::next(it);
  }
}

void Cache::erase(const std::string& kind, const std::string& key) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    memory_.erase(memory_key(kind, key));
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove(file_for(kind, key), ec);
  }
}

std::optional<CacheEntry> Cache::describe(const std::string& kind, const std::string& key) {
  EntryPtr entry;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = memory_.find(memory_key(kind, key));
    if (it != memory_.end()) entry = it->second;
  }
  if (!entry && !dir_.empty()) entry = read_file(kind, key);
  if (!entry) return std::nullopt;
  CacheEntry out;
  out.kind = entry->kind;
  out.key = entry->key;
  out.url = entry->url;
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::path file = file_for(kind, key);
    if (std::filesystem::exists(file, ec)) out.file = file;
  }
  out.stored_at = entry->stored_at;
  out.expires_at = entry->expires_at;
  out.this_update = entry->this_update;
  out.next_update = entry->next_update;
  return out;
}

// File layout: kMagic, then "name: value" lines (kind, key, url, stored, expires, this-update,
// next-update, length), an empty line, and `length` bytes of payload.
EntryPtr Cache::read_file(const std::string& kind, const std::string& key) {
  const std::filesystem::path file = file_for(kind, key);
  std::ifstream in(file, std::ios::binary);
  if (!in) return nullptr;
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string data = ss.str();
  auto corrupt = [&]() -> EntryPtr {
    std::error_code ec;
    std::filesystem::remove(file, ec);
    return nullptr;
  };
  if (data.compare(0, kMagic.size(), kMagic) != 0) return corrupt();
  auto entry = std::make_shared<Entry>();
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
      entry->kind = value;
    } else if (name == "key") {
      entry->key = value;
    } else if (name == "url") {
      entry->url = value;
    } else if (name == "stored") {
      if (!(have_stored = parse_time(value, entry->stored_at))) return corrupt();
    } else if (name == "expires") {
      if (!(have_expires = parse_time(value, entry->expires_at))) return corrupt();
    } else if (name == "this-update") {
      if (!parse_time(value, t)) return corrupt();
      entry->this_update = t;
    } else if (name == "next-update") {
      if (!parse_time(value, t)) return corrupt();
      entry->next_update = t;
    } else if (name == "length") {
      std::time_t n = 0;
      if (!parse_time(value, n) || n < 0) return corrupt();
      length = static_cast<std::size_t>(n);
      have_length = true;
    } else {
      return corrupt();
    }
  }
  if (entry->kind != kind || entry->key != one_line(key) || !have_length || !have_stored || !have_expires ||
      data.size() - pos != length)
    return corrupt();
  entry->payload = data.substr(pos);
  return entry;
}

void Cache::write_file(const Entry& entry) {
  std::ostringstream head;
  head << kMagic << "kind: " << entry.kind << "\nkey: " << one_line(entry.key)
       << "\nurl: " << one_line(entry.url) << "\nstored: " << entry.stored_at
       << "\nexpires: " << entry.expires_at << "\n";
  if (entry.this_update) head << "this-update: " << *entry.this_update << "\n";
  if (entry.next_update) head << "next-update: " << *entry.next_update << "\n";
  head << "length: " << entry.payload.size() << "\n\n";
  const std::string text = head.str() + entry.payload;

  const std::filesystem::path file = file_for(entry.kind, entry.key);
  std::string tmp = (dir_ / ("." + file.filename().string() + ".XXXXXX")).string();
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) return;  // memory only
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
  if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0) ::unlink(tmp.c_str());
}

}  // namespace revocation::detail
