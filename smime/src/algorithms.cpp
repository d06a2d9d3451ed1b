#include "smime/algorithms.hpp"

#include <openssl/evp.h>
#include <openssl/objects.h>

#include <array>

#include "smime/error.hpp"
#include "smime/ossl.hpp"

namespace smime {

namespace {
struct CipherInfo {
  Cipher cipher;
  std::string_view name;
  int nid;
};
constexpr std::array<CipherInfo, 4> kCiphers{{
    {Cipher::aes256_cbc, "aes256-cbc", NID_aes_256_cbc},
    {Cipher::aes128_cbc, "aes128-cbc", NID_aes_128_cbc},
    {Cipher::aes128_gcm, "aes128-gcm", NID_aes_128_gcm},
    {Cipher::aes256_gcm, "aes256-gcm", NID_aes_256_gcm},
}};

const CipherInfo& info(Cipher c) {
  for (const auto& i : kCiphers)
    if (i.cipher == c) return i;
  throw Error(ErrorKind::usage, "unknown cipher");
}

std::string dotted(const ASN1_OBJECT* obj) {
  char buf[128];
  int n = OBJ_obj2txt(buf, sizeof buf, obj, 1);
  return n > 0 ? std::string(buf, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof buf - 1))
               : std::string();
}
}  // namespace

std::string_view to_string(Cipher c) { return info(c).name; }

std::optional<Cipher> cipher_from_string(std::string_view name) {
  for (const auto& i : kCiphers)
    if (i.name == name) return i.cipher;
  return std::nullopt;
}

std::optional<Cipher> cipher_from_nid(int nid) {
  for (const auto& i : kCiphers)
    if (i.nid == nid) return i.cipher;
  return std::nullopt;
}

bool is_aead(Cipher c) { return c == Cipher::aes128_gcm || c == Cipher::aes256_gcm; }

const EVP_CIPHER* evp_cipher(Cipher c) { return EVP_get_cipherbynid(info(c).nid); }

std::string oid_of(Cipher c) {
  Asn1ObjectPtr obj(OBJ_nid2obj(info(c).nid));
  return dotted(obj.get());
}

std::string_view to_string(Digest d) {
  switch (d) {
    case Digest::sha256:
      return "sha256";
    case Digest::sha384:
      return "sha384";
    case Digest::sha512:
      return "sha512";
  }
  return "sha256";
}

std::string_view micalg_name(Digest d) {
  switch (d) {
    case Digest::sha256:
      return "sha-256";
    case Digest::sha384:
      return "sha-384";
    case Digest::sha512:
      return "sha-512";
  }
  return "sha-256";
}

std::optional<Digest> digest_from_string(std::string_view name) {
  for (Digest d : {Digest::sha256, Digest::sha384, Digest::sha512})
    if (name == to_string(d) || name == micalg_name(d)) return d;
  return std::nullopt;
}

const EVP_MD* evp_md(Digest d) {
  switch (d) {
    case Digest::sha256:
      return EVP_sha256();
    case Digest::sha384:
      return EVP_sha384();
    case Digest::sha512:
      return EVP_sha512();
  }
  return EVP_sha256();
}

bool Capabilities::supports(Cipher c) const {
  std::string oid = oid_of(c);
  for (const auto& o : oids)
    if (o == oid) return true;
  return false;
}

std::optional<Cipher> Capabilities::best_aead() const {
  for (Cipher c : {Cipher::aes256_gcm, Cipher::aes128_gcm})
    if (supports(c)) return c;
  return std::nullopt;
}

Capabilities Capabilities::from_der(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  AlgorStackPtr algs(d2i_X509_ALGORS(nullptr, &p, static_cast<long>(der.size())));
  if (!algs) throw_openssl(ErrorKind::bad_input, "parsing SMIMECapabilities");
  Capabilities caps;
  caps.present = true;
  for (int i = 0; i < sk_X509_ALGOR_num(algs.get()); ++i) {
    const ASN1_OBJECT* obj = nullptr;
    X509_ALGOR_get0(&obj, nullptr, nullptr, sk_X509_ALGOR_value(algs.get(), i));
    caps.oids.push_back(dotted(obj));
  }
  return caps;
}

Capabilities Capabilities::of(const std::vector<Cipher>& ciphers) {
  Capabilities caps;
  caps.present = true;
  for (Cipher c : ciphers) caps.oids.push_back(oid_of(c));
  return caps;
}

AlgorStackPtr Capabilities::to_algors() const {
  AlgorStackPtr algs = take<AlgorStackPtr>(sk_X509_ALGOR_new_null(), "allocating capabilities");
  for (const auto& oid : oids) {
    Asn1ObjectPtr obj =
        take<Asn1ObjectPtr>(OBJ_txt2obj(oid.c_str(), 1), "parsing the OID " + oid, ErrorKind::usage);
    AlgorPtr alg = take<AlgorPtr>(X509_ALGOR_new(), "allocating an algorithm identifier");
    check(X509_ALGOR_set0(alg.get(), obj.get(), V_ASN1_UNDEF, nullptr), "setting a capability");
    obj.release();  // owned by alg now
    check(sk_X509_ALGOR_push(algs.get(), alg.get()), "adding a capability");
    alg.release();  // owned by the stack now
  }
  return algs;
}

std::string Capabilities::to_der() const {
  AlgorStackPtr algs = to_algors();
  unsigned char* der = nullptr;
  int len = i2d_X509_ALGORS(algs.get(), &der);
  if (len <= 0) throw_openssl(ErrorKind::crypto, "encoding SMIMECapabilities");
  OsslStringPtr owned(reinterpret_cast<char*>(der));
  return std::string(owned.get(), static_cast<std::size_t>(len));
}

}  // namespace smime
