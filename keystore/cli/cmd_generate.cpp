// `generate`: a new key and a self-signed S/MIME certificate or a CSR. The key goes to a new file
// created 0600 (--key-out, optionally encrypted), or straight into the store (--import); never to
// standard output. The certificate or CSR goes to --out (0644) or standard output. No file is written
// through a symbolic link.
#include <iostream>

#include "context.hpp"
#include "keystore/generate.hpp"
#include "keystore/identity.hpp"
#include "output.hpp"
#include "secret.hpp"
#include "smime/cert.hpp"

namespace cli {

namespace {

keystore::Purpose usage_from(const std::string& s) {
  if (s == "sign") return keystore::Purpose::sign;
  if (s == "encrypt") return keystore::Purpose::encrypt;
  if (s == "both") return keystore::Purpose::both;
  throw UsageError("--usage is sign, encrypt or both");
}

}  // namespace

int cmd_generate(Context& c) {
  const Args& a = c.args;
  a.positional_count(0, 0);
  keystore::GenerateRequest r;
  r.common_name = a.one_or("cn", "");
  r.organization = a.one_or("org", "");
  r.unit = a.one_or("unit", "");
  r.locality = a.one_or("locality", "");
  r.state = a.one_or("state", "");
  r.country = a.one_or("country", "");
  r.emails = a.all("email");
  r.domains = a.all("dns");
  auto digest = smime::digest_from_string(a.one_or("digest", "sha256"));
  if (!digest) throw UsageError("--digest is sha256, sha384 or sha512");
  r.digest = *digest;
  r.days = a.number("days", 365, 1, 36500);
  r.key_type = a.one_or("key-type", "rsa");
  r.key_bits = a.number("key-size", 3072, 2048, 16384);
  r.curve = a.one_or("curve", "P-256");
  r.usage = usage_from(a.one_or("usage", "both"));
  r.csr = a.flag("csr");
  const bool import = a.flag("import");
  const auto key_out = a.one("key-out");
  if (r.csr && import) throw UsageError("--import stores a self-signed certificate; a CSR has none yet");
  if (!key_out && !import) throw UsageError("give --key-out FILE (created 0600) or --import");

  keystore::Generated g = keystore::generate(r);
  if (key_out) {
    std::string pass;
    if (auto src = a.one("key-out-pass")) pass = read_secret(*src, "passphrase for " + *key_out);
    write_private_file(*key_out, keystore::pkcs8_pem(g.key.get(), pass));
  }
  if (r.csr) {
    write_public_output(a.one("out"), g.csr_pem);
    return kOk;
  }
  write_public_output(a.one("out"), smime::to_pem(g.cert.get()));
  if (import) {
    keystore::put_identity(c.open(), g.cert.get(), g.key.get(), {}, c.key_passphrase(), now());
    std::cerr << "smime-keystore: stored identity " << smime::fingerprint_sha256(g.cert.get()) << "\n";
  }
  return kOk;
}

}  // namespace cli
