// test_keystore: the store tests run on SQLite.
#include "keystore_support.hpp"

kt::Backend kt::backend() { return kt::Backend::sqlite; }
