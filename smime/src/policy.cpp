#include "policy.hpp"

#include <openssl/objects.h>

#include <algorithm>
#include <cctype>

#include "smime/cert.hpp"

namespace smime {

std::string_view to_string(Sha1Policy p) { return p == Sha1Policy::accept ? "accept" : "refuse"; }

std::optional<Sha1Policy> sha1_policy_from_string(std::string_view name) {
  if (name == "refuse") return Sha1Policy::refuse;
  if (name == "accept") return Sha1Policy::accept;
  return std::nullopt;
}

namespace detail {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

std::optional<std::string> weak_digest(int md_nid, const AlgorithmPolicy& policy) {
  const bool weak = md_nid == NID_md5 || md_nid == NID_md4 || md_nid == NID_md2 ||
                    (md_nid == NID_sha1 && policy.sha1 == Sha1Policy::refuse);
  if (!weak) return std::nullopt;
  return "weak digest: " + lower(OBJ_nid2sn(md_nid));
}

std::optional<std::string> weak_key(EVP_PKEY* key, const AlgorithmPolicy& policy) {
  if (key == nullptr) return std::nullopt;
  const int bits = EVP_PKEY_get_security_bits(key);
  if (bits >= policy.min_security_bits) return std::nullopt;
  const char* type = EVP_PKEY_get0_type_name(key);
  return "weak key: " + std::string(type ? type : "unknown") + " " + std::to_string(EVP_PKEY_get_bits(key)) +
         " bits (minimum " + std::to_string(policy.min_security_bits) + "-bit security)";
}

std::optional<std::string> weak_chain(STACK_OF(X509) * chain, const AlgorithmPolicy& policy) {
  const int n = sk_X509_num(chain);
  for (int i = 0; i < n; ++i) {
    X509* cert = sk_X509_value(chain, i);
    if (auto weak = weak_key(X509_get0_pubkey(cert), policy))
      return *weak + " in certificate " + subject_name(cert);
    if (i == n - 1) break;  // the anchor's own signature is not relied on
    int md_nid = NID_undef;
    if (X509_get_signature_info(cert, &md_nid, nullptr, nullptr, nullptr) != 1) continue;
    if (auto weak = weak_digest(md_nid, policy))
      return *weak + " in the signature of certificate " + subject_name(cert);
  }
  return std::nullopt;
}

}  // namespace detail
}  // namespace smime
