#include "cms_parse.hpp"

#include <openssl/asn1.h>
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

}  // namespace smime::detail
