#include "keystore/chain.hpp"

#include <openssl/x509_vfy.h>

namespace keystore {

std::optional<std::string> chain_error(X509* cert, const std::vector<smime::X509Ptr>& anchors,
                                       const std::vector<smime::X509Ptr>& untrusted, Time at) {
  smime::StorePtr store = smime::take<smime::StorePtr>(X509_STORE_new(), "creating a certificate store");
  for (const auto& a : anchors)
    smime::check(X509_STORE_add_cert(store.get(), a.get()), "adding a trust anchor");
  // An anchor that is not self-signed (an intermediate CA, a partner's own certificate) ends a chain, as
  // smime::verify accepts it.
  smime::check(X509_STORE_set_flags(store.get(), X509_V_FLAG_PARTIAL_CHAIN), "allowing partial chains");
  return chain_error(cert, store.get(), untrusted, at);
}

std::optional<std::string> chain_error(X509* cert, X509_STORE* anchors,
                                       const std::vector<smime::X509Ptr>& untrusted, Time at) {
  const STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(anchors);
  if (objects == nullptr || sk_X509_OBJECT_num(objects) == 0)
    return std::string("no trust anchors in the store");
  smime::X509StackPtr chain = smime::make_stack(untrusted);
  smime::StoreCtxPtr ctx =
      smime::take<smime::StoreCtxPtr>(X509_STORE_CTX_new(), "creating a verification context");
  smime::check(X509_STORE_CTX_init(ctx.get(), anchors, cert, chain.get()), "starting chain verification");
  smime::check(X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SMIME_SIGN), "setting the purpose");
  X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(at));
  if (X509_verify_cert(ctx.get()) == 1) return std::nullopt;
  const int err = X509_STORE_CTX_get_error(ctx.get());
  return std::string(X509_verify_cert_error_string(err));
}

}  // namespace keystore
