#include "cache.hpp"

namespace revocation::detail {
namespace {

std::string memory_key(const std::string& kind, const std::string& key) { return kind + '\n' + key; }

}  // namespace

Cache::Cache(std::shared_ptr<CacheStore> store) : store_(std::move(store)) {}

EntryPtr Cache::load(const std::string& kind, const std::string& key) noexcept {
  if (!store_) return nullptr;
  try {
    std::optional<StoredEntry> s = store_->load(kind, key);
    if (!s || s->kind != kind || s->key != key) return nullptr;
    auto e = std::make_shared<Entry>();
    e->kind = std::move(s->kind);
    e->key = std::move(s->key);
    e->url = std::move(s->url);
    e->stored_at = s->stored_at;
    e->expires_at = s->expires_at;
    e->this_update = s->this_update;
    e->next_update = s->next_update;
    e->payload = std::move(s->payload);
    return e;
  } catch (...) {
    return nullptr;  // unavailable: a miss
  }
}

void Cache::remove_stored(const std::string& kind, const std::string& key,
                          std::optional<std::time_t> expired_by) noexcept {
  if (!store_) return;
  try {
    store_->remove(kind, key, expired_by);
  } catch (...) {
    // unavailable: the entry expires there by itself
  }
}

EntryPtr Cache::get(const std::string& kind, const std::string& key, std::time_t now) {
  EntryPtr entry;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = memory_.find(memory_key(kind, key));
    if (it != memory_.end()) {
      if (it->second->expires_at > now) return it->second;
      memory_.erase(it);  // expired here; the store may hold a renewed one
    }
  }
  entry = load(kind, key);
  if (entry && entry->expires_at <= now) {
    remove_stored(kind, key, now);  // never used again (a renewed one, written meanwhile, stays)
    return nullptr;
  }
  return entry;
}

EntryPtr Cache::reload(const std::string& kind, const std::string& key, std::time_t now) {
  EntryPtr entry = load(kind, key);
  if (!entry || entry->expires_at <= now) return nullptr;
  return entry;
}

void Cache::put(Entry entry, bool persist) {
  if (persist && store_) {
    try {
      store_->save(StoredEntry{entry.kind, entry.key, entry.url, entry.stored_at, entry.expires_at,
                               entry.this_update, entry.next_update, entry.payload});
    } catch (...) {
      // unavailable: memory only
    }
  }
  if (entry.kind == "crl" && entry.crl) entry.payload.clear();  // the parsed CRL is kept instead
  auto ptr = std::make_shared<const Entry>(std::move(entry));
  const std::time_t now = ptr->stored_at;
  std::lock_guard<std::mutex> lock(mutex_);
  memory_[memory_key(ptr->kind, ptr->key)] = std::move(ptr);
  // Now and then, drop what has expired from memory (stored entries go when they are next looked up).
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
  remove_stored(kind, key, std::nullopt);
}

std::optional<CacheEntry> Cache::describe(const std::string& kind, const std::string& key) {
  EntryPtr entry;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = memory_.find(memory_key(kind, key));
    if (it != memory_.end()) entry = it->second;
  }
  if (!entry) entry = load(kind, key);
  if (!entry) return std::nullopt;
  CacheEntry out;
  out.kind = entry->kind;
  out.key = entry->key;
  out.url = entry->url;
  if (store_) {
    try {
      std::error_code ec;
      std::filesystem::path file = store_->file_of(kind, key);
      if (!file.empty() && std::filesystem::exists(file, ec)) out.file = file;
    } catch (...) {
    }
  }
  out.stored_at = entry->stored_at;
  out.expires_at = entry->expires_at;
  out.this_update = entry->this_update;
  out.next_update = entry->next_update;
  return out;
}

std::optional<std::string> Cache::claim(const std::string& flight, std::chrono::seconds bound) {
  if (!shared()) return std::string();
  try {
    return store_->claim(flight, bound);
  } catch (...) {
    return std::string();  // the store is unavailable: nobody can share a result through it; fetch
  }
}

void Cache::release(const std::string& flight, const std::string& token) noexcept {
  if (!shared()) return;
  try {
    store_->release(flight, token);
  } catch (...) {
    // unavailable: the claim expires by its bound
  }
}

}  // namespace revocation::detail
