// Shared by the fuzz targets: the test PKIs they load once, and the checks that make a broken
// contract a crash libFuzzer reports (with the input that caused it).
//
// The PKI directories come from SMIME_TEST_PKI / SMIME_TEST_REVOCATION_PKI, as for the unit tests,
// else from the build tree's defaults compiled in. A missing file aborts at the first input: a target
// that silently ran without its keys would fuzz nothing of what it claims.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "smime/ossl.hpp"

namespace fuzz {

// The contents of FILE in the test PKI (test/pki/make-pki.sh) or the revocation test PKI.
std::string pki_file(std::string_view file);
std::string revocation_pki_file(std::string_view file);

smime::X509Ptr pki_certificate(std::string_view file);
smime::PkeyPtr pki_private_key(std::string_view file);
smime::X509Ptr revocation_pki_certificate(std::string_view file);
smime::PkeyPtr revocation_pki_private_key(std::string_view file);

// Aborts with `what` on standard error when `ok` is false: a property every input must keep.
void require(bool ok, std::string_view what);

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace fuzz
