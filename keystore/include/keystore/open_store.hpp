// Opening a store by where it is: a SQLite file (keystore.path) or a PostgreSQL database
// (keystore.url, with an optional read replica keystore.read_url). The milter and smime-keystore open
// either the same way; nothing after opening depends on the backend.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "keystore/pg_store.hpp"
#include "keystore/sqlite_store.hpp"
#include "keystore/store.hpp"

namespace keystore {

struct StoreLocation {
  std::string path;      // SQLite file; used when url is empty
  std::string url;       // PostgreSQL: a postgresql:// URL or a libpq keyword string
  std::string read_url;  // PostgreSQL replica for lookups (optional; overrides pg.read_url)
  SqliteOptions sqlite;
  PgOptions pg;

  bool is_postgresql() const { return !url.empty(); }
  // For logs and messages: "SQLite file PATH" or "PostgreSQL database DB on HOST:PORT as USER"
  // (never a password).
  std::string describe() const;
};

// A location from one string (the CLI's --from / --to): a postgresql:// or postgres:// URL, or a libpq
// keyword string (it contains '='), is PostgreSQL; anything else is a SQLite path.
StoreLocation location_from_string(const std::string& text);
bool looks_like_database_url(std::string_view text);

// Opens (creating / migrating as each backend does). Throws Error(store).
std::unique_ptr<Store> open_store(const StoreLocation& where);

}  // namespace keystore
