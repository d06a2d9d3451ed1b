// Decryption of an arbitrary message with the gateway's two keys of a rollover (gw-new, gw-old of the
// test PKI), as the inbound milter holds them. Properties:
//  - failures are smime::Error of kind bad_input (malformed, corrupt, failed tag) or wrong_key (not
//    for us); never usage (our keys do belong to their certificates) or anything else;
//  - success names one of the given keys and the content cipher; the decrypted entity is parsed as
//    the milter would parse it next.
// A triple-wrapped message is opened as the milter opens it: the outer signature's content (the first
// part of multipart/signed, or an opaque signature's content) is what gets decrypted.
#include <cctype>
#include <cstdint>
#include <vector>

#include "fuzz_support.hpp"
#include "smime/decrypt.hpp"
#include "smime/error.hpp"
#include "smime/mime.hpp"
#include "smime/verify.hpp"

namespace {

const std::vector<smime::DecryptionKey>& keys() {
  static const std::vector<smime::DecryptionKey> k = [] {
    std::vector<smime::DecryptionKey> v;
    for (const char* name : {"gw-new", "gw-old"})
      v.push_back({fuzz::pki_certificate(std::string(name) + ".pem"),
                   fuzz::pki_private_key(std::string(name) + ".key")});
    return v;
  }();
  return k;
}

bool expected_failure(smime::ErrorKind kind) {
  return kind == smime::ErrorKind::bad_input || kind == smime::ErrorKind::wrong_key;
}

void parse_decrypted(std::string plain) {
  smime::Source src = smime::Source::from_string(std::move(plain));
  try {
    (void)smime::mime::parse(src, src.all());
  } catch (const smime::Error& err) {
    fuzz::require(err.kind() == smime::ErrorKind::bad_input, "decrypted entity fails to parse as bad_input");
  }
}

// Decrypts `e`, or what an outer signature of e signed; the decrypted entity goes to `plain`.
smime::DecryptResult decrypt_layer(const smime::Source& src, const smime::mime::Entity& e,
                                   smime::Sink& plain) {
  if (e.content_type.is("multipart", "signed") && !e.children.empty())
    return smime::decrypt(src, e.children.front(), keys(), plain);
  std::string type = e.content_type.param("smime-type");
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (type != "signed-data") return smime::decrypt(src, e, keys(), plain);
  smime::StringSink content;
  (void)smime::verify(src, e, smime::VerifyOptions{}, &content);
  smime::Source inner = smime::Source::from_string(content.take());
  return smime::decrypt(inner, smime::mime::parse(inner, inner.all()), keys(), plain);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  smime::Source src = smime::Source::from_string(std::string(fuzz::as_text(data, size)));
  smime::StringSink plain;
  try {
    smime::mime::Entity root = smime::mime::parse(src, src.all());
    smime::DecryptResult r = decrypt_layer(src, root, plain);
    fuzz::require(r.key_index < keys().size(), "the opening key is one of ours");
    fuzz::require(!r.cipher.empty(), "the content cipher is named");
  } catch (const smime::Error& err) {
    fuzz::require(expected_failure(err.kind()), "decrypt fails only as bad_input or wrong_key");
    return 0;
  }
  parse_decrypted(plain.take());
  return 0;
}
