// Verification of an arbitrary message, with the test PKI's root as the only trust anchor and its
// intermediate CA as a known certificate.
//
// The message is parsed and its root verified as smime-tool and the milter do; the signed content,
// when it is itself signed (an opaque signature inside a detached one, ...), is verified in turn,
// a few layers deep. Properties:
//  - a verdict is returned; the only exception is smime::Error(bad_input) for an entity whose
//    signature cannot even be decoded (undecodable base64), which the milter takes as permerror;
//  - `valid` only with at least one signer, each with its certificate and a good chain.
#include <cstdint>
#include <ctime>

#include "fuzz_support.hpp"
#include "smime/error.hpp"
#include "smime/mime.hpp"
#include "smime/verify.hpp"

namespace {

constexpr int kMaxLayers = 3;

const smime::VerifyOptions& options() {
  static const smime::VerifyOptions opts = [] {
    smime::VerifyOptions o;
    o.anchors.push_back(fuzz::pki_certificate("root.pem"));
    o.intermediates.push_back(fuzz::pki_certificate("inter.pem"));  // as the milter adds known certificates
    o.at_time = std::time(nullptr);  // fixed for the run: an input's verdict does not drift
    return o;
  }();
  return opts;
}

void check_result(const smime::VerifyResult& r) {
  if (!r.ok()) return;
  fuzz::require(!r.signers.empty(), "valid with a signer");
  for (const auto& s : r.signers) fuzz::require(s.cert && s.chain_ok, "valid only with good chains");
}

void verify_layers(const smime::Source& src, const smime::mime::Entity& entity, int layer) {
  smime::StringSink content;
  smime::VerifyResult r;
  try {
    r = smime::verify(src, entity, options(), &content);
  } catch (const smime::Error& err) {
    fuzz::require(err.kind() == smime::ErrorKind::bad_input, "verify throws only bad_input");
    return;
  }
  check_result(r);
  if (layer + 1 >= kMaxLayers || content.str().empty()) return;
  smime::Source inner = smime::Source::from_string(content.take());
  try {
    smime::mime::Entity e = smime::mime::parse(inner, inner.all());
    verify_layers(inner, e, layer + 1);
  } catch (const smime::Error& err) {
    fuzz::require(err.kind() == smime::ErrorKind::bad_input, "signed content fails to parse as bad_input");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  smime::Source src = smime::Source::from_string(std::string(fuzz::as_text(data, size)));
  smime::mime::Entity root;
  try {
    root = smime::mime::parse(src, src.all());
  } catch (const smime::Error& err) {
    fuzz::require(err.kind() == smime::ErrorKind::bad_input, "malformed MIME fails only as bad_input");
    return 0;
  }
  verify_layers(src, root, 0);
  return 0;
}
