#include "milter/local_revocation.hpp"

#include <string>
#include <unordered_map>
#include <vector>

#include "smime/cert.hpp"

namespace milter {

struct KeystoreLocalSource::Snapshot {
  std::int64_t generation = 0;  // read before the tables: a change after it shows as a newer counter
  std::unordered_map<std::string, revocation::LocalRevocation> revoked;  // by fingerprint
  std::vector<std::shared_ptr<X509_CRL>> crls;
};

KeystoreLocalSource::KeystoreLocalSource(std::shared_ptr<keystore::StorePool> pool)
    : pool_(std::move(pool)) {}
KeystoreLocalSource::~KeystoreLocalSource() = default;

std::uint64_t KeystoreLocalSource::loads() const {
  std::lock_guard lock(mutex_);
  return loads_;
}

std::shared_ptr<const KeystoreLocalSource::Snapshot> KeystoreLocalSource::loaded() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

std::shared_ptr<const KeystoreLocalSource::Snapshot> KeystoreLocalSource::load() {
  auto snap = std::make_shared<Snapshot>();
  {
    keystore::StorePool::Lease store = pool_->lease();
    snap->generation = store->generation();
    for (keystore::RevokedRecord& r : store->revoked())
      snap->revoked[r.fingerprint] = {std::move(r.reason), static_cast<std::time_t>(r.revoked_at),
                                      std::move(r.comment)};
    for (const keystore::CrlRecord& c : store->crls())
      if (std::shared_ptr<X509_CRL> crl = revocation::read_crl(c.der)) snap->crls.push_back(std::move(crl));
  }
  std::lock_guard lock(mutex_);
  snapshot_ = snap;
  ++loads_;
  return snap;
}

std::shared_ptr<const KeystoreLocalSource::Snapshot> KeystoreLocalSource::current() {
  std::int64_t generation = 0;
  try {
    generation = pool_->lease()->generation();
  } catch (const std::exception&) {
    if (auto last = loaded()) return last;
    throw;
  }
  if (auto last = loaded(); last && last->generation == generation) return last;
  std::lock_guard reload(reload_);
  if (auto last = loaded(); last && last->generation >= generation) return last;  // another thread did
  try {
    return load();
  } catch (const std::exception&) {
    if (auto last = loaded()) return last;
    throw;
  }
}

revocation::LocalData KeystoreLocalSource::lookup(X509* cert, X509* issuer) {
  std::shared_ptr<const Snapshot> snap = current();
  revocation::LocalData data;
  if (auto it = snap->revoked.find(smime::fingerprint_sha256(cert)); it != snap->revoked.end())
    data.revoked = it->second;
  if (issuer != nullptr)
    for (const auto& crl : snap->crls)
      if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(issuer)) == 0)
        data.crls.push_back(crl);
  return data;
}

}  // namespace milter
