// RAII ownership of OpenSSL objects: a unique_ptr with a stateless deleter per type.
// Nothing in this project calls an OpenSSL *_free function by hand. take() adopts a pointer an
// OpenSSL call returned and throws with the error queue when that pointer is null.
#pragma once

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string_view>
#include <vector>

#include "smime/error.hpp"

namespace smime {

template <auto FreeFn>
struct OsslDeleter {
  template <typename T>
  void operator()(T* p) const noexcept {
    FreeFn(p);
  }
};

using BioPtr = std::unique_ptr<BIO, OsslDeleter<BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, OsslDeleter<X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, OsslDeleter<EVP_PKEY_free>>;
using CmsPtr = std::unique_ptr<CMS_ContentInfo, OsslDeleter<CMS_ContentInfo_free>>;
using StorePtr = std::unique_ptr<X509_STORE, OsslDeleter<X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OsslDeleter<X509_STORE_CTX_free>>;
using CipherPtr = std::unique_ptr<EVP_CIPHER, OsslDeleter<EVP_CIPHER_free>>;
using MdPtr = std::unique_ptr<EVP_MD, OsslDeleter<EVP_MD_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, OsslDeleter<EVP_MD_CTX_free>>;
using AlgorPtr = std::unique_ptr<X509_ALGOR, OsslDeleter<X509_ALGOR_free>>;
using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, OsslDeleter<ASN1_OBJECT_free>>;

namespace detail {
inline void free_x509_stack(STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }
inline void free_gens(GENERAL_NAMES* g) { GENERAL_NAMES_free(g); }
inline void free_algor_stack(STACK_OF(X509_ALGOR) * s) { sk_X509_ALGOR_pop_free(s, X509_ALGOR_free); }
inline void free_string(char* s) { OPENSSL_free(s); }
}  // namespace detail

using X509StackPtr = std::unique_ptr<STACK_OF(X509), OsslDeleter<detail::free_x509_stack>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OsslDeleter<detail::free_gens>>;
using AlgorStackPtr = std::unique_ptr<STACK_OF(X509_ALGOR), OsslDeleter<detail::free_algor_stack>>;
using OsslStringPtr = std::unique_ptr<char, OsslDeleter<detail::free_string>>;

// Adopts p; throws Error(kind, what + OpenSSL queue) if p is null.
template <typename Ptr, typename Raw>
Ptr take(Raw* p, std::string_view what, ErrorKind kind = ErrorKind::crypto) {
  if (p == nullptr) throw_openssl(kind, what);
  return Ptr(p);
}

// Throws unless an OpenSSL int return signals success (> 0).
inline void check(int rc, std::string_view what, ErrorKind kind = ErrorKind::crypto) {
  if (rc <= 0) throw_openssl(kind, what);
}

// A new reference to an X509 (X509_up_ref), owned.
X509Ptr share(X509* cert);
// A new reference to a key (EVP_PKEY_up_ref), owned: the same key object, so OpenSSL's per-key state
// (RSA blinding) is set up once for all its users.
PkeyPtr share(EVP_PKEY* key);
// A new stack holding new references to certs.
X509StackPtr make_stack(const std::vector<X509Ptr>& certs);

}  // namespace smime
