#include "milter/keystore_cache_store.hpp"

namespace milter {

KeystoreCacheStore::KeystoreCacheStore(std::shared_ptr<keystore::StorePool> pool,
                                       std::chrono::seconds purge_every)
    : pool_(std::move(pool)), purge_every_(purge_every) {}

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

std::int64_t KeystoreCacheStore::purge_if_due(std::time_t now) {
  std::time_t due = next_purge_.load();
  // Whoever moves the next purge time on purges; a failure leaves it moved (retried next period), so a
  // database that is down costs one failed statement per period, not one per message.
  if (now < due || !next_purge_.compare_exchange_strong(due, now + purge_every_.count())) return -1;
  return pool_->lease()->purge_revocation_entries(static_cast<keystore::Time>(now));
}

}  // namespace milter
