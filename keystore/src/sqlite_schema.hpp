// The SQLite schema, as a list of forward migrations. Migration N takes the file from version N-1
// to N; migrate() applies the missing ones in one IMMEDIATE transaction.
#pragma once

#include "sqlite_db.hpp"

namespace keystore::sql {

int schema_version();         // the newest version this program knows
int current_version(Db& db);  // 0 for a new file
// Brings db to schema_version(); throws Error(store) if the file is newer than this program.
void migrate(Db& db);

}  // namespace keystore::sql
