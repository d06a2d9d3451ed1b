// DecodedCache: values decoded from bytes (certificates, mostly) kept per process, keyed by the bytes
// themselves, so that changed bytes can never get a stale value. Bounded in entries and in key bytes:
// when either bound would be passed it starts over rather than growing with what a sender or a store
// hands it. Thread-safe; a value is made outside the lock (other threads' hits do not wait for it),
// and a make() that throws leaves nothing behind.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace smime {

template <class Value>
class DecodedCache {
 public:
  DecodedCache(std::size_t max_entries, std::size_t max_bytes)
      : max_entries_(max_entries), max_bytes_(max_bytes) {}

  // copy(kept value) for bytes seen before, else the value make() returns, kept and copied.
  template <class Make, class Copy>
  Value get(std::string_view bytes, Make make, Copy copy) {
    std::string key(bytes);
    {
      std::lock_guard lock(mutex_);
      if (auto it = entries_.find(key); it != entries_.end()) return copy(it->second);
    }
    Value made = make();
    std::lock_guard lock(mutex_);
    if (entries_.size() >= max_entries_ || bytes_ + key.size() > max_bytes_) {
      entries_.clear();
      bytes_ = 0;
    }
    const std::size_t size = key.size();
    auto [it, added] = entries_.try_emplace(std::move(key), std::move(made));
    if (added) bytes_ += size;
    return copy(it->second);
  }

 private:
  std::size_t max_entries_;
  std::size_t max_bytes_;
  std::mutex mutex_;
  std::unordered_map<std::string, Value> entries_;
  std::size_t bytes_ = 0;
};

}  // namespace smime
