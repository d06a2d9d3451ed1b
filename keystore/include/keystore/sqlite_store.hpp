// SqliteStore: the Store in one SQLite file, shared by the milter and the CLI.
//
// - WAL journal, synchronous=FULL, a busy timeout so that writers wait for each other instead of
//   failing; every change runs in a BEGIN IMMEDIATE transaction, so a process killed at any point
//   leaves the old or the new state.
// - The file (and its -wal/-shm companions, which SQLite creates with the database's mode) is created
//   0600; an existing file keeps its mode.
// - The schema is versioned (table schema_version) and migrated forward on open, in one transaction.
//   A file whose version is newer than this program knows is refused (Error(store)).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "keystore/store.hpp"

namespace keystore {

struct SqliteOptions {
  std::chrono::milliseconds busy_timeout{10000};
  bool create = true;      // create the file if missing
  bool read_only = false;  // open read-only (no migration; the file must be current)
};

// Opens (creating when allowed) and migrates. Throws Error(store) with the path and SQLite's message.
std::unique_ptr<Store> open_sqlite_store(const std::string& path, const SqliteOptions& options = {});

int sqlite_schema_version();  // the version this program writes

// What `smime-milter -n` checks of a SQLite file without changing it: opened read-only, the schema
// version it holds (0: no schema, a new or foreign file) and the problems PRAGMA quick_check reports
// (empty when it says ok). Throws Error(store) when the file cannot be opened or is not a database.
struct SqliteHealth {
  int schema_version = 0;
  std::vector<std::string> problems;
};
SqliteHealth sqlite_health(const std::string& path);

}  // namespace keystore
