// test_keystore_pg: the same store tests run on PostgreSQL (the test server of test/pg/pg-server.sh).
#include "keystore_support.hpp"

kt::Backend kt::backend() { return kt::Backend::postgresql; }
