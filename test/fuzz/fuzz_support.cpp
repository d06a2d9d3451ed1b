#include "fuzz_support.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "smime/cert.hpp"

namespace fuzz {
namespace {

std::string directory(const char* variable, const char* fallback) {
  const char* env = std::getenv(variable);
  return env != nullptr && *env != '\0' ? env : fallback;
}

std::string read_or_abort(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "fuzz target: cannot read %s (set SMIME_TEST_PKI / SMIME_TEST_REVOCATION_PKI)\n",
                 path.c_str());
    std::abort();
  }
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

std::string pki_file(std::string_view file) {
  return read_or_abort(directory("SMIME_TEST_PKI", SMIME_FUZZ_PKI_DEFAULT) + "/" + std::string(file));
}

std::string revocation_pki_file(std::string_view file) {
  return read_or_abort(directory("SMIME_TEST_REVOCATION_PKI", SMIME_FUZZ_REVOCATION_PKI_DEFAULT) + "/" +
                       std::string(file));
}

smime::X509Ptr pki_certificate(std::string_view file) { return smime::load_certificate(pki_file(file)); }

smime::PkeyPtr pki_private_key(std::string_view file) { return smime::load_private_key(pki_file(file)); }

smime::X509Ptr revocation_pki_certificate(std::string_view file) {
  return smime::load_certificate(revocation_pki_file(file));
}

smime::PkeyPtr revocation_pki_private_key(std::string_view file) {
  return smime::load_private_key(revocation_pki_file(file));
}

void require(bool ok, std::string_view what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz target: property broken: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

}  // namespace fuzz
