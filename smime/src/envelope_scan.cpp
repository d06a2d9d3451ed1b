#include "envelope_scan.hpp"

#include <openssl/asn1.h>
#include <openssl/objects.h>

#include "smime/error.hpp"
#include "smime/ossl.hpp"

namespace smime::detail {

namespace {

constexpr std::uint32_t kTagOid = 6;
constexpr std::uint32_t kTagSequence = 16;
constexpr std::uint32_t kTagSet = 17;

[[noreturn]] void malformed(const std::string& what) {
  throw Error(ErrorKind::bad_input, "malformed CMS: " + what);
}

// A constructed element on the way down to the encrypted content. What comes before and after the
// next level down is copied; the level's own header is written anew, its length being the copy's.
struct Level {
  BerHeader header;
  std::uint64_t end = kNoBerLimit;  // definite: the position after its content; else its parent's
  std::string before;
  std::string after;
};

std::string wrap(const Level& l, const std::string& inner) {
  std::string content = l.before + inner + l.after;
  std::string out(l.header.identifier());
  if (l.header.indefinite) return out + '\x80' + content + std::string(2, '\0');
  return out + der_length(content.size()) + content;
}

int nid_of(const std::string& oid_der) {
  const auto* p = reinterpret_cast<const unsigned char*>(oid_der.data());
  Asn1ObjectPtr obj(d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(oid_der.size())));
  if (!obj) {
    drain_openssl_errors();
    malformed("the content type is not an OBJECT IDENTIFIER");
  }
  return OBJ_obj2nid(obj.get());
}

bool is_sequence(const BerHeader& h) { return h.is(kUniversal, kTagSequence) && h.constructed; }

class Scanner {
 public:
  explicit Scanner(DecodedReader& r) : r_(r) {}

  Envelope run() {
    Envelope env;
    const BerHeader top = read_ber_header(r_, "the ContentInfo");
    if (!is_sequence(top)) malformed("not a CMS structure (no ContentInfo SEQUENCE)");
    Level info = open(top, kNoBerLimit);
    const auto type = next_child(info, "the ContentInfo");
    if (!type || !type->is(kUniversal, kTagOid)) malformed("the ContentInfo has no content type");
    copy(*type, info.before, "the content type");
    const int nid = nid_of(info.before);
    if (nid != NID_pkcs7_enveloped && nid != NID_id_smime_ct_authEnvelopedData)
      throw Error(ErrorKind::bad_input, std::string("not enveloped-data but ") + OBJ_nid2sn(nid));

    const auto wrapper = next_child(info, "the ContentInfo");
    if (!wrapper || !wrapper->is(kContextSpecific, 0) || !wrapper->constructed)
      malformed("the ContentInfo has no content");
    Level explicit_content = open(*wrapper, info.end);
    const auto data = next_child(explicit_content, "the content");
    if (!data || !is_sequence(*data)) malformed("the enveloped data is not a SEQUENCE");
    Level enveloped = open(*data, explicit_content.end);
    Level encrypted_info = encrypted_content_info(enveloped);
    env.content_offset = encrypted_content(encrypted_info);

    copy_rest(enveloped, enveloped.after, "the enveloped data");  // unprotectedAttrs; or authAttrs, mac, ...
    copy_rest(explicit_content, explicit_content.after, "the content");
    copy_rest(info, info.after, "the ContentInfo");
    r_.skip_to_end();  // what follows the structure is ignored, as OpenSSL's parser does
    env.skeleton = wrap(info, wrap(explicit_content, wrap(enveloped, wrap(encrypted_info, {}))));
    return env;
  }

 private:
  Level open(const BerHeader& h, std::uint64_t parent_end) {
    Level l;
    l.header = h;
    l.end = h.indefinite ? parent_end : r_.position() + h.length;
    return l;
  }

  // The header of the level's next element, or none at its end (an end-of-contents is consumed).
  std::optional<BerHeader> next_child(const Level& l, std::string_view what) {
    if (!l.header.indefinite && r_.position() == l.end) return std::nullopt;
    if (r_.position() >= l.end) malformed("an element overruns " + std::string(what));
    BerHeader h = read_ber_header(r_, what);
    if (r_.position() > l.end || (!h.indefinite && h.length > l.end - r_.position()))
      malformed("an element overruns " + std::string(what));
    if (h.is_end_of_contents()) {
      if (!l.header.indefinite) malformed("end-of-contents inside the definite-length " + std::string(what));
      return std::nullopt;
    }
    return h;
  }

  void copy(const BerHeader& h, std::string& out, std::string_view what) {
    copy_ber_element(r_, h, out, budget_, what);
  }

  void copy_rest(const Level& l, std::string& out, std::string_view what) {
    while (const auto h = next_child(l, what)) copy(*h, out, what);
  }

  // version, originatorInfo, recipientInfos are copied; the first SEQUENCE after the SET of
  // recipient infos is the (auth)encryptedContentInfo, returned as the next level down.
  Level encrypted_content_info(Level& enveloped) {
    bool recipients_seen = false;
    while (const auto h = next_child(enveloped, "the enveloped data")) {
      if (recipients_seen && is_sequence(*h)) return open(*h, enveloped.end);
      if (h->is(kUniversal, kTagSet)) recipients_seen = true;
      copy(*h, enveloped.before, "the enveloped data");
    }
    malformed("the enveloped data has no encrypted content info");
  }

  // contentType and contentEncryptionAlgorithm are copied, encryptedContent [0] is checked and
  // skipped; returns where its header starts.
  std::optional<std::uint64_t> encrypted_content(Level& info) {
    std::optional<std::uint64_t> offset;
    while (const auto h = next_child(info, "the encrypted content info")) {
      if (!offset && h->is(kContextSpecific, 0)) {
        offset = r_.position() - h->raw.size();
        OctetStringReader(r_, *h, info.end).skip_all();
        continue;
      }
      copy(*h, offset ? info.after : info.before, "the encrypted content info");
    }
    return offset;
  }

  DecodedReader& r_;
  std::size_t budget_ = kMaxEnvelopeBytes;
};

}  // namespace

Envelope scan_envelope(DecodedReader& r) { return Scanner(r).run(); }

int scan_content_type(DecodedReader& r) {
  if (!is_sequence(read_ber_header(r, "the ContentInfo")))
    malformed("not a CMS structure (no ContentInfo SEQUENCE)");
  const BerHeader type = read_ber_header(r, "the content type");
  if (!type.is(kUniversal, kTagOid) || type.constructed) malformed("the ContentInfo has no content type");
  std::string oid;
  std::size_t budget = 256;  // an OID longer than this is no content type of ours
  copy_ber_element(r, type, oid, budget, "the content type");
  return nid_of(oid);
}

}  // namespace smime::detail
