// The PostgreSQL schema: the same tables and versions as the SQLite one (sqlite_schema.cpp), in
// PostgreSQL's types, as forward migrations. migrate() brings the database to schema_version() in one
// transaction under an advisory lock, so that gateways starting together do not race; a database
// newer than this program is refused. A database already current is opened without any DDL (and so
// by a role that may not create tables).
#pragma once

#include <cstdint>
#include <string>

#include "pg_conn.hpp"

namespace keystore::pg {

int schema_version();
// The schema (namespace) the tables live in: the first existing schema of the search path.
std::string current_schema(Connection& c);
// A stable 64-bit advisory lock key for `purpose` in `schema`, the same on every host.
std::int64_t lock_key(const std::string& schema, const std::string& purpose);
int current_version(Connection& c);  // 0 for an empty schema
void migrate(Connection& c, const std::string& schema);

}  // namespace keystore::pg
