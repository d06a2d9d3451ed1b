// parse_signed_cms: a SignedData decoded with its certificates from a cache (see cms_parse.hpp).
#include <openssl/err.h>
#include <openssl/x509.h>

#include <array>

#include "cms_parse.hpp"
#include "smime/decoded_cache.hpp"
#include "smime/error.hpp"

namespace smime::detail {

namespace {

constexpr unsigned char kSequence = 0x30, kSet = 0x31, kInteger = 0x02, kContext0 = 0xA0;
// The DER of the OID 1.2.840.113549.1.7.2 (id-signedData), tag and length included.
constexpr std::string_view kSignedDataOid("\x06\x09\x2A\x86\x48\x86\xF7\x0D\x01\x07\x02", 11);
// Larger inputs carry their content (opaque signatures): copying it to take the certificates out
// would cost more than decoding them.
constexpr std::size_t kMaxStrippedInput = 1024 * 1024;

// The header h again, its definite length shorter by `removed` (minimal length octets).
void append_header(std::string& out, const Head& h, std::size_t removed) {
  out.push_back(static_cast<char>(h.tag));
  if (h.indefinite) {
    out.push_back('\x80');
    return;
  }
  std::size_t len = h.length - removed;
  if (len < 0x80) {
    out.push_back(static_cast<char>(len));
    return;
  }
  std::array<char, sizeof len> bytes{};
  std::size_t n = 0;
  for (; len > 0; len >>= 8) bytes[n++] = static_cast<char>(len & 0xFF);
  out.push_back(static_cast<char>(0x80 | n));
  while (n > 0) out.push_back(bytes[--n]);
}

struct Stripped {
  std::string skeleton;                        // the ContentInfo without its certificates field
  std::vector<std::string_view> certificates;  // each certificate's DER, into the input
};

// The certificates field of a SignedData taken out, nullopt when the structure is not the expected
// one (then the caller decodes it whole).
std::optional<Stripped> strip_certificates(std::string_view s) {
  struct Outer {
    std::size_t pos;
    Head head;
  };
  std::array<Outer, 3> outer{};  // ContentInfo, its [0] EXPLICIT content, SignedData
  std::size_t pos = 0;
  auto h = head_at(s, pos);
  if (!h || h->tag != kSequence) return std::nullopt;
  outer[0] = {pos, *h};
  pos += h->size;
  if (s.substr(pos, kSignedDataOid.size()) != kSignedDataOid) return std::nullopt;
  pos += kSignedDataOid.size();
  for (std::size_t i = 1; i < 3; ++i) {
    h = head_at(s, pos);
    if (!h || h->tag != (i == 1 ? kContext0 : kSequence)) return std::nullopt;
    outer[i] = {pos, *h};
    pos += h->size;
  }
  const std::size_t fields = pos;  // version, digestAlgorithms, encapContentInfo
  for (unsigned char tag : {kInteger, kSet, kSequence}) {
    h = head_at(s, pos);
    if (!h || h->tag != tag) return std::nullopt;
    auto e = element_end(s, pos);
    if (!e) return std::nullopt;
    pos = *e;
  }
  h = head_at(s, pos);  // certificates [0] IMPLICIT SET OF CertificateChoices
  if (!h || h->tag != kContext0 || h->indefinite || h->length > s.size() - pos - h->size) return std::nullopt;
  const std::size_t certs_begin = pos, certs_end = pos + h->size + h->length;
  for (const Outer& o : outer)  // each definite length must hold the certificates field
    if (!o.head.indefinite && (o.head.length > s.size() || o.pos + o.head.size + o.head.length < certs_end))
      return std::nullopt;

  Stripped out;
  for (std::size_t c = pos + h->size; c < certs_end;) {
    auto e = head_at(s, c);  // a Certificate; the other choices have context tags
    if (!e || e->tag != kSequence || e->indefinite || e->length > certs_end - c - e->size)
      return std::nullopt;
    out.certificates.push_back(s.substr(c, e->size + e->length));
    c += e->size + e->length;
  }
  const std::size_t removed = certs_end - certs_begin;
  std::string& k = out.skeleton;
  k.reserve(s.size() - removed);
  append_header(k, outer[0].head, removed);
  k.append(kSignedDataOid);
  append_header(k, outer[1].head, removed);
  append_header(k, outer[2].head, removed);
  k.append(s.substr(fields, certs_begin - fields));
  k.append(s.substr(certs_end));
  return out;
}

// A certificate of a received SignedData decoded alone; throws Error(bad_input) when it does not
// decode or does not fill its bytes exactly.
X509Ptr decode_carried(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size())
    throw Error(ErrorKind::bad_input, "a carried certificate does not decode");
  return cert;
}

// Certificates over 16 KiB are decoded but not kept (no sender's certificate is that large).
X509Ptr carried_certificate(std::string_view der) {
  constexpr std::size_t kMaxCachedSize = 16 * 1024;
  if (der.size() > kMaxCachedSize) return decode_carried(der);
  // Never destroyed: its X509 objects must not be freed after OpenSSL's own exit-time clean-up.
  static auto* cache = new DecodedCache<X509Ptr>(1024, 4 * 1024 * 1024);
  return cache->get(
      der, [&] { return decode_carried(der); }, [](const X509Ptr& c) { return share(c.get()); });
}

// The structure with its certificates taken out and decoded through the cache; nullopt when that
// does not apply or any step of it fails (the whole input is then decoded, errors and all).
std::optional<SignedCms> parse_with_cached_certificates(std::string_view der) {
  if (der.size() > kMaxStrippedInput) return std::nullopt;
  auto stripped = strip_certificates(der);
  if (!stripped) return std::nullopt;
  SignedCms out;
  try {
    for (std::string_view c : stripped->certificates) out.certificates.push_back(carried_certificate(c));
  } catch (const Error&) {
    ERR_clear_error();
    return std::nullopt;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(stripped->skeleton.data());
  out.cms.reset(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(stripped->skeleton.size())));
  if (!out.cms) {
    ERR_clear_error();
    return std::nullopt;
  }
  return out;
}

}  // namespace

SignedCms parse_signed_cms(std::string_view der) {
  if (auto cached = parse_with_cached_certificates(der)) return std::move(*cached);
  SignedCms out{parse_cms(der), {}};
  X509StackPtr carried(CMS_get1_certs(out.cms.get()));
  ERR_clear_error();  // no certificates is no error
  for (int i = 0; carried && i < sk_X509_num(carried.get()); ++i)
    out.certificates.push_back(share(sk_X509_value(carried.get(), i)));
  return out;
}

}  // namespace smime::detail
