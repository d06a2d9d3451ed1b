#include "milter/job.hpp"

namespace milter {

void Job::use_cache(KeyCache& cache, std::string location, std::int64_t generation) {
  cache_ = &cache;
  own_cache_.reset();
  location_ = std::move(location);
  generation_ = generation;
}

KeyCache::From Job::source() {
  if (!generation_) generation_ = store.generation();
  return KeyCache::From{store, location_, *generation_, key_passphrase};
}

const std::vector<smime::X509Ptr>& Job::trust_anchors() {
  if (!anchors_) anchors_ = cache_->anchors(source());
  return anchors_->certs;
}

std::shared_ptr<X509_STORE> Job::trust_store() {
  if (!anchors_) anchors_ = cache_->anchors(source());
  return anchors_->store;
}

std::shared_ptr<const keystore::Identity> Job::identity(const std::string& fingerprint) {
  return cache_->identity(source(), fingerprint);
}

std::shared_ptr<const KeyCache::DecryptionKeys> Job::decryption_keys() {
  return cache_->decryption_keys(source());
}

std::shared_ptr<const KeyCache::Choice> Job::signing_choice(const std::string& address_or_domain) {
  return cache_->signing_choice(source(), address_or_domain, now);
}

}  // namespace milter
