// Shared helpers of the smime unit tests: the test PKI (made by test/pki/make-pki.sh, found through
// SMIME_TEST_PKI) and messages held in memory.
#pragma once

#include <cstdlib>
#include <string>

#include "smime/smime.hpp"

namespace test {

inline std::string pki_dir() {
  const char* dir = std::getenv("SMIME_TEST_PKI");
  if (dir == nullptr) throw std::runtime_error("SMIME_TEST_PKI is not set (run the tests through ctest)");
  return dir;
}
inline std::string pki_file(const std::string& name) { return pki_dir() + "/" + name; }
inline smime::X509Ptr cert(const std::string& name) {
  return smime::load_certificate(smime::read_file(pki_file(name + ".pem")));
}
inline smime::PkeyPtr key(const std::string& name) {
  return smime::load_private_key(smime::read_file(pki_file(name + ".key")));
}
inline smime::SigningIdentity identity(const std::string& name) {
  smime::SigningIdentity id;
  id.cert = cert(name);
  id.key = key(name);
  id.chain.push_back(cert("inter"));
  return id;
}
inline smime::Recipient recipient(const std::string& name) {
  smime::Recipient r;
  r.cert = cert(name);
  return r;
}
inline smime::DecryptionKey decryption_key(const std::string& name) { return {cert(name), key(name)}; }
inline smime::VerifyOptions trust_root() {
  smime::VerifyOptions o;
  o.anchors.push_back(cert("root"));
  return o;
}

// A message or entity held in memory and parsed.
struct Parsed {
  smime::Source src;
  smime::mime::Entity root;
};
inline Parsed parse(std::string text) {
  smime::Source src = smime::Source::from_string(std::move(text));
  smime::mime::Entity root = smime::mime::parse(src, src.all());
  return Parsed{src, std::move(root)};
}

inline std::string canonical(const Parsed& p) {
  smime::StringSink out;
  smime::mime::write_canonical(p.src, p.root, out);
  return out.take();
}

// The base64 of bytes, in lines as our signatures carry it.
inline std::string base64(const std::string& bytes) {
  smime::StringSink out;
  smime::Base64Sink b(out);
  b.write(bytes);
  b.finish();
  return out.take();
}
inline std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
    s.replace(pos, from.size(), to);
  return s;
}

}  // namespace test
