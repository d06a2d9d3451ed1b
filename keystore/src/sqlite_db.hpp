// Thin RAII layer over the SQLite C API: a connection and prepared statements, each owned by a
// unique_ptr with a stateless deleter. Every failure throws keystore::Error(store) with SQLite's message.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace keystore::sql {

struct DbCloser {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// A BLOB parameter (a std::string_view binds as TEXT).
struct Blob {
  std::string_view bytes;
};

[[noreturn]] void throw_error(sqlite3* db, std::string_view what);

class Db;

// A prepared statement. One from Db::prepare() goes back to its connection's cache when it ends (reset,
// bindings cleared), so the SQL of a store method is compiled once per connection, not once per call.
class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);  // prepared now, finalized at the end
  Statement(Db* home, std::string sql, StmtPtr stmt);
  ~Statement();
  Statement(Statement&& other) noexcept = default;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::int64_t v);
  Statement& bind(int index, std::string_view v);
  Statement& bind(int index, Blob v);
  Statement& bind(int index, std::nullopt_t);
  template <typename T>
  Statement& bind(int index, const std::optional<T>& v) {
    return v ? bind(index, *v) : bind(index, std::nullopt);
  }
  // Binds the arguments to ?1, ?2, ... in order.
  template <typename... Args>
  Statement& bind_all(const Args&... args) {
    int i = 0;
    (bind(++i, args), ...);
    return *this;
  }

  bool step();  // true when a row is available
  void run();   // steps to completion
  std::int64_t integer(int col) const;
  std::string text(int col) const;
  std::string blob(int col) const;
  bool is_null(int col) const;

 private:
  friend class Db;
  sqlite3* db_;
  StmtPtr stmt_;
  Db* home_ = nullptr;  // the connection whose cache takes the statement back; null: finalize
  std::string sql_;
};

class Db {
 public:
  Db(const std::string& path, int flags);  // sqlite3_open_v2
  sqlite3* get() const { return db_.get(); }
  void exec(std::string_view sql);
  void rollback() noexcept;  // ROLLBACK, ignoring failure (used while another exception propagates)
  // A statement for sql, from the cache when one is idle there.
  Statement prepare(std::string_view sql);
  std::int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_.get()); }
  int changes() const { return sqlite3_changes(db_.get()); }

 private:
  friend class Statement;
  void give_back(std::string sql, StmtPtr stmt) noexcept;

  DbPtr db_;
  std::unordered_map<std::string, StmtPtr> idle_;  // declared after db_: finalized before it closes
};

}  // namespace keystore::sql
