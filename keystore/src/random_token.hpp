// A random token (128 bits, hex) that names one holder of a revocation fetch claim.
#pragma once

#include <string>

namespace keystore {
std::string random_token();  // Error(store) if the random generator fails
}  // namespace keystore
