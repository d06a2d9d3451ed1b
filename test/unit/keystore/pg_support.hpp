// The PostgreSQL test server of the keystore tests, as libpq sees it: the fixture `pg` starts it with
// test/pg/pg-server.sh into SMIME_TEST_PG (compiled in as SMIME_TEST_PG_DEFAULT, the environment
// overrides), whose `conninfo` file names it. Each test makes a schema of its own and drops it.
#pragma once

#include <string>

namespace pgt {

std::string fixture_dir();    // the directory given to pg-server.sh
std::string conninfo();       // the server's database "keystore", as superuser postgres
std::string create_schema();  // a new, empty schema with a random name
void drop_schema(const std::string& schema);
// A connection string whose search path is `schema` (and optional extra keywords, e.g. "user=x").
std::string conninfo_for(const std::string& schema, const std::string& extra = "");
// Runs SQL as postgres (with `schema` first in the search path when given); throws on failure.
void exec(const std::string& sql, const std::string& schema = "");
// The first column of the first row of a query, as text ("" for none).
std::string query(const std::string& sql, const std::string& schema = "");

}  // namespace pgt
