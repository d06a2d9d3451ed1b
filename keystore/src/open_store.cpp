#include "keystore/open_store.hpp"

#include "pg_conn.hpp"

namespace keystore {

bool looks_like_database_url(std::string_view text) {
  return text.rfind("postgresql://", 0) == 0 || text.rfind("postgres://", 0) == 0 ||
         text.find('=') != std::string_view::npos;
}

StoreLocation location_from_string(const std::string& text) {
  StoreLocation where;
  if (looks_like_database_url(text))
    where.url = text;
  else
    where.path = text;
  return where;
}

std::string StoreLocation::describe() const {
  return is_postgresql() ? pg::describe_conninfo(url) : "SQLite file " + path;
}

std::unique_ptr<Store> open_store(const StoreLocation& where) {
  if (!where.is_postgresql()) {
    if (where.path.empty()) throw Error(ErrorKind::store, "no keystore given (neither a path nor a URL)");
    return open_sqlite_store(where.path, where.sqlite);
  }
  PgOptions options = where.pg;
  if (!where.read_url.empty()) options.read_url = where.read_url;
  return open_pg_store(where.url, options);
}

}  // namespace keystore
