#include "keystore_cache_store.hpp"

namespace test {

std::optional<revocation::StoredEntry> KeystoreCacheStore::load(const std::string& kind,
                                                                const std::string& key) {
  std::optional<keystore::RevocationEntry> e = pool_->lease()->revocation_entry(kind, key);
  if (!e) return std::nullopt;
  return revocation::StoredEntry{e->kind,       e->key,         e->url,         e->stored_at,
                                 e->expires_at, e->this_update, e->next_update, std::move(e->payload)};
}

void KeystoreCacheStore::save(const revocation::StoredEntry& e) {
  pool_->lease()->put_revocation_entry(keystore::RevocationEntry{
      e.kind, e.key, e.url, e.stored_at, e.expires_at, e.this_update, e.next_update, e.payload});
}

void KeystoreCacheStore::remove(const std::string& kind, const std::string& key,
                                std::optional<std::time_t> expired_by) {
  pool_->lease()->remove_revocation_entry(kind, key, expired_by);
}

std::optional<std::string> KeystoreCacheStore::claim(const std::string& flight, std::chrono::seconds bound) {
  return pool_->lease()->claim_revocation_fetch(flight, bound);
}

void KeystoreCacheStore::release(const std::string& flight, const std::string& token) {
  pool_->lease()->release_revocation_fetch(flight, token);
}

}  // namespace test
