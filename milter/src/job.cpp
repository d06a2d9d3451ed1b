#include "milter/job.hpp"

#include "keystore/lookup.hpp"

namespace milter {

const std::vector<smime::X509Ptr>& Job::trust_anchors() {
  if (!anchors_) anchors_ = keystore::trust_anchors(store);
  return *anchors_;
}

}  // namespace milter
