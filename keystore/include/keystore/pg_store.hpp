// PgStore: the Store in a PostgreSQL database, shared by several gateways and the CLI.
//
// - The connection string is a postgresql:// URL or a libpq keyword string ("host=db dbname=keystore
//   user=smime sslmode=verify-full"); libpq reads the password from the passfile keyword, PGPASSFILE or
//   ~/.pgpass, and the service file. Messages name "database DB on HOST:PORT", never the string itself.
// - The tables live in the first schema of the search path (options=-csearch_path=NAME selects one).
//   The schema is versioned like the SQLite one (same versions, same tables); opening migrates forward
//   in one transaction under an advisory lock (gateways starting together do not race); a database
//   newer than this program is refused; a current one is opened without DDL.
// - Every change runs in one transaction that first takes the store's writer lock (a transaction-level
//   advisory lock): writers, on every host, run one at a time as SQLite's BEGIN IMMEDIATE makes them,
//   so the harvesting rules (one certificate per address unless updates are on, the 48-hour warning,
//   the size cap) hold when two gateways harvest at once. Reads take no lock and no transaction.
//   Waiting for the lock is bounded by lock_timeout; then Error(store).
// - Connection loss: the call throws Error(store); the next call connects again by itself (a read on a
//   connection found dead is retried once on a new one). A transaction cut by it is rolled back by the
//   server: nothing half-done remains.
// - read_url: a replica (hot standby) serves reads outside transactions; writes and reads inside a
//   transaction go to the primary. While the replica cannot be reached, reads go to the primary.
// - Private keys are stored as the SQLite store stores them (PKCS#8 PEM, encrypted under the key
//   passphrase when one is configured), in their own table private_keys, so that a role without SELECT
//   on its key columns can use everything else (see smime-keystore(1), "DATABASE ROLES").
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "keystore/store.hpp"

namespace keystore {

struct PgOptions {
  std::string read_url;                               // a replica for lookups; empty: the primary serves them
  std::chrono::seconds connect_timeout{10};           // unless the connection string sets connect_timeout
  std::chrono::milliseconds lock_timeout{10000};      // waiting for the writer lock
  std::chrono::milliseconds reconnect_backoff{1000};  // after a failed connect, fail fast this long
  std::chrono::seconds replica_retry{30};             // after the replica failed, use the primary
  std::string application_name = "smime-milter";
};

// Connects and migrates. Throws Error(store) naming the database and PostgreSQL's message.
std::unique_ptr<Store> open_pg_store(const std::string& conninfo, const PgOptions& options = {});

int pg_schema_version();  // the version this program writes (equal to sqlite_schema_version())

}  // namespace keystore
