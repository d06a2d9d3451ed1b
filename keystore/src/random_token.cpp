#include "random_token.hpp"

#include <openssl/rand.h>

#include "keystore/error.hpp"

namespace keystore {

std::string random_token() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1)
    throw Error(ErrorKind::store, "cannot make a random token for a revocation fetch claim");
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

}  // namespace keystore
