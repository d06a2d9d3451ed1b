#include "smime/ossl.hpp"

namespace smime {

X509Ptr share(X509* cert) {
  if (cert == nullptr) return nullptr;
  X509_up_ref(cert);
  return X509Ptr(cert);
}

PkeyPtr share(EVP_PKEY* key) {
  if (key == nullptr) return nullptr;
  EVP_PKEY_up_ref(key);
  return PkeyPtr(key);
}

X509StackPtr make_stack(const std::vector<X509Ptr>& certs) {
  X509StackPtr stack = take<X509StackPtr>(sk_X509_new_null(), "allocating a certificate stack");
  for (const auto& c : certs) {
    X509Ptr ref = share(c.get());
    check(sk_X509_push(stack.get(), ref.get()), "adding a certificate to a stack");
    ref.release();  // the stack owns this reference now
  }
  return stack;
}

}  // namespace smime
