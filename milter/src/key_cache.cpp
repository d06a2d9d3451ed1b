#include "milter/key_cache.hpp"

#include "smime/verify.hpp"

namespace milter {

void KeyCache::align(const From& from) {
  if (from.location == location_ && from.generation == generation_ && from.key_passphrase == passphrase_)
    return;
  location_ = from.location;
  generation_ = from.generation;
  passphrase_ = from.key_passphrase;
  anchors_.reset();
  identities_.clear();
  decryption_.reset();
  choices_.clear();
}

bool KeyCache::last_use_due(const std::string& fingerprint, const std::optional<keystore::Time>& stored,
                            keystore::Time now) {
  std::lock_guard lock(mutex_);
  std::optional<keystore::Time> latest = stored;
  if (auto it = written_.find(fingerprint); it != written_.end() && (!latest || it->second > *latest))
    latest = it->second;
  return keystore::last_use_stale(latest, now);
}

void KeyCache::last_use_written(const std::string& fingerprint, keystore::Time now) {
  std::lock_guard lock(mutex_);
  written_[fingerprint] = now;
}

void KeyCache::clear() {
  std::lock_guard lock(mutex_);
  generation_ = -1;
  anchors_.reset();
  identities_.clear();
  decryption_.reset();
  choices_.clear();
}

// Each getter decodes outside the lock (a slow store must not hold up other threads' cached reads) and
// keeps the result only if the cache is still aligned with what it was decoded from.
std::shared_ptr<const KeyCache::Anchors> KeyCache::anchors(const From& from) {
  {
    std::lock_guard lock(mutex_);
    align(from);
    if (anchors_) return anchors_;
  }
  auto made = std::make_shared<Anchors>();
  made->certs = keystore::trust_anchors(from.store);
  made->store = smime::make_trust_store(made->certs);
  std::lock_guard lock(mutex_);
  align(from);
  if (!anchors_) anchors_ = made;
  return anchors_;
}

std::shared_ptr<const keystore::Identity> KeyCache::identity(const From& from,
                                                             const std::string& fingerprint) {
  {
    std::lock_guard lock(mutex_);
    align(from);
    if (auto it = identities_.find(fingerprint); it != identities_.end()) return it->second;
  }
  auto made = std::make_shared<keystore::Identity>(
      keystore::load_identity(from.store, fingerprint, from.key_passphrase));
  std::lock_guard lock(mutex_);
  align(from);
  return identities_.emplace(fingerprint, made).first->second;
}

std::shared_ptr<const KeyCache::DecryptionKeys> KeyCache::decryption_keys(const From& from) {
  {
    std::lock_guard lock(mutex_);
    align(from);
    if (decryption_) return decryption_;
  }
  auto made = std::make_shared<DecryptionKeys>();
  for (keystore::Identity& id :
       keystore::decryption_identities(from.store, from.key_passphrase, &made->skipped)) {
    made->fingerprints.push_back(id.fingerprint);
    made->keys.push_back(smime::DecryptionKey{std::move(id.cert), std::move(id.key)});
  }
  std::lock_guard lock(mutex_);
  align(from);
  if (!decryption_) decryption_ = made;
  return decryption_;
}

std::shared_ptr<const KeyCache::Choice> KeyCache::signing_choice(const From& from, const std::string& key,
                                                                 std::time_t now) {
  {
    std::lock_guard lock(mutex_);
    align(from);
    if (auto it = choices_.find(key);
        it != choices_.end() && now >= it->second->made && now - it->second->made < kChoiceTtl)
      return it->second;
  }
  auto made = std::make_shared<Choice>();
  made->lookup = keystore::signing_certificate(from.store, key, static_cast<keystore::Time>(now));
  made->made = now;
  std::lock_guard lock(mutex_);
  align(from);
  choices_[key] = made;
  return made;
}

}  // namespace milter
