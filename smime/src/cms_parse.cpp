#include "cms_parse.hpp"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include "smime/algorithms.hpp"

namespace smime::detail {

CmsPtr parse_cms(std::string_view der) {
  // Parsed in place: d2i_CMS_bio would first copy the whole input into a buffer of its own.
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  return take<CmsPtr>(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())), "not a CMS structure",
                      ErrorKind::bad_input);
}

namespace {

// A cursor over BER: each step reads one header; indefinite lengths are followed to their end.
struct Ber {
  const unsigned char* p;
  const unsigned char* end;

  struct Tlv {
    int tag = 0;
    int cls = 0;
    bool constructed = false;
    bool indefinite = false;
    const unsigned char* content = nullptr;
    long length = 0;
  };

  bool next(Tlv& t) {
    if (p >= end) return false;
    const unsigned char* q = p;
    long len = 0;
    int ret = ASN1_get_object(&q, &len, &t.tag, &t.cls, end - p);
    if (ret & 0x80) return false;
    t.constructed = (ret & V_ASN1_CONSTRUCTED) != 0;
    t.indefinite = ret == 0x21;
    t.content = q;
    t.length = len;
    return true;
  }
  // Moves past the element whose header is at p. Each nested indefinite length is one more level of
  // recursion: past kMaxNesting (OpenSSL's own decoder allows 30) the walk gives up, or a message of
  // nested "A0 80" headers would overflow the stack.
  static constexpr int kMaxNesting = 32;
  bool skip(int depth = 0) {
    Tlv t;
    if (!next(t)) return false;
    if (!t.indefinite) {
      p = t.content + t.length;
      return p <= end;
    }
    if (depth >= kMaxNesting) return false;
    p = t.content;
    while (p + 2 <= end && !(p[0] == 0 && p[1] == 0))
      if (!skip(depth + 1)) return false;
    p += 2;
    return p <= end;
  }
  // Enters the constructed element at p (its content becomes the cursor's range, approximately for
  // indefinite lengths: up to the outer end).
  bool enter() {
    Tlv t;
    if (!next(t) || !t.constructed) return false;
    p = t.content;
    if (!t.indefinite) end = t.content + t.length;
    return true;
  }
};

}  // namespace

std::optional<std::size_t> element_end(std::string_view s, std::size_t pos) {
  if (pos >= s.size()) return std::nullopt;
  const auto* start = reinterpret_cast<const unsigned char*>(s.data());
  Ber b{start + pos, start + s.size()};
  if (!b.skip()) return std::nullopt;
  return static_cast<std::size_t>(b.p - start);
}

std::string content_encryption_algorithm(std::string_view der) {
  const auto* start = reinterpret_cast<const unsigned char*>(der.data());
  Ber b{start, start + der.size()};
  // ContentInfo SEQUENCE { contentType OID, [0] EXPLICIT content }
  if (!b.enter() || !b.skip() || !b.enter()) return "unknown";
  // (Auth)EnvelopedData SEQUENCE { version, originatorInfo [0] OPTIONAL, recipientInfos SET,
  // encryptedContentInfo ... }
  if (!b.enter() || !b.skip()) return "unknown";
  Ber::Tlv t;
  if (!b.next(t)) return "unknown";
  if (t.cls == V_ASN1_CONTEXT_SPECIFIC && !b.skip()) return "unknown";  // originatorInfo
  if (!b.skip()) return "unknown";                                      // recipientInfos
  // EncryptedContentInfo SEQUENCE { contentType OID, contentEncryptionAlgorithm SEQUENCE { OID, ... } }
  if (!b.enter() || !b.skip() || !b.enter()) return "unknown";
  const unsigned char* q = b.p;
  using ObjPtr = Asn1ObjectPtr;
  ObjPtr obj(d2i_ASN1_OBJECT(nullptr, &q, b.end - b.p));
  if (!obj) return "unknown";
  int nid = OBJ_obj2nid(obj.get());
  if (auto known = cipher_from_nid(nid)) return std::string(to_string(*known));
  if (nid != NID_undef) return OBJ_nid2sn(nid);
  char buf[128];
  OBJ_obj2txt(buf, sizeof buf, obj.get(), 1);
  return buf;
}

std::optional<Head> head_at(std::string_view s, std::size_t pos) {
  if (pos + 2 > s.size()) return std::nullopt;
  Head h;
  h.tag = static_cast<unsigned char>(s[pos]);
  if ((h.tag & 0x1F) == 0x1F) return std::nullopt;  // high tag numbers do not occur in these layers
  const auto first = static_cast<unsigned char>(s[pos + 1]);
  h.size = 2;
  if (first == 0x80) {
    h.indefinite = true;
    if ((h.tag & 0x20) == 0) return std::nullopt;  // only constructed encodings may be indefinite
  } else if (first < 0x80) {
    h.length = first;
  } else {
    const std::size_t n = first & 0x7F;
    if (n > 8 || pos + 2 + n > s.size()) return std::nullopt;
    for (std::size_t i = 0; i < n; ++i)
      h.length = (h.length << 8) | static_cast<unsigned char>(s[pos + 2 + i]);
    h.size += n;
  }
  return h;
}

std::optional<CmsOutline> cms_outline(std::string_view s) {
  constexpr unsigned char kSequence = 0x30, kSet = 0x31, kOid = 0x06, kInteger = 0x02, kExplicit0 = 0xA0;
  std::size_t pos = 0;
  auto h = head_at(s, pos);  // ContentInfo
  if (!h || h->tag != kSequence) return std::nullopt;
  pos += h->size;
  h = head_at(s, pos);  // contentType
  if (!h || h->tag != kOid || h->indefinite || h->length == 0 || h->length > 64 ||
      pos + h->size + h->length > s.size())
    return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data() + pos);
  Asn1ObjectPtr oid(d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(h->size + h->length)));
  if (!oid) {
    ERR_clear_error();
    return std::nullopt;
  }
  CmsOutline out;
  out.type = OBJ_obj2nid(oid.get());
  char buf[128];
  OBJ_obj2txt(buf, sizeof buf, oid.get(), 0);
  out.type_name = buf;
  if (out.type != NID_pkcs7_signed) return out;

  // SignedData ::= SEQUENCE { version, digestAlgorithms SET, encapContentInfo SEQUENCE {
  //   eContentType OID, eContent [0] EXPLICIT OPTIONAL }, ... }
  pos += h->size + h->length;
  auto enter = [&](unsigned char tag) {
    auto e = head_at(s, pos);
    if (!e || e->tag != tag) return std::optional<Head>();
    pos += e->size;
    return e;
  };
  auto skip = [&](unsigned char tag) {
    auto e = head_at(s, pos);
    if (!e || e->tag != tag || e->indefinite || e->length > s.size() - pos - e->size) return false;
    pos += e->size + e->length;
    return true;
  };
  if (!enter(kExplicit0) || !enter(kSequence) || !skip(kInteger) || !skip(kSet)) return out;
  auto encap = enter(kSequence);
  if (!encap) return out;
  const std::size_t encap_end = pos + encap->length;  // definite lengths only
  if (!skip(kOid)) return out;
  if (!encap->indefinite && pos == encap_end)
    out.has_content = false;
  else if (pos < s.size() && static_cast<unsigned char>(s[pos]) == kExplicit0)
    out.has_content = true;
  else if (encap->indefinite && pos + 2 <= s.size() && s[pos] == 0 && s[pos + 1] == 0)
    out.has_content = false;  // end-of-contents right after the OID
  return out;
}

}  // namespace smime::detail
