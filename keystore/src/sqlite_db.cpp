#include "sqlite_db.hpp"

#include "keystore/error.hpp"

namespace keystore::sql {

namespace {
struct SqliteFree {
  void operator()(char* p) const noexcept { sqlite3_free(p); }
};
}  // namespace

void throw_error(sqlite3* db, std::string_view what) {
  std::string msg(what);
  if (db != nullptr) msg += ": " + std::string(sqlite3_errmsg(db));
  throw Error(ErrorKind::store, msg);
}

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &s, nullptr) != SQLITE_OK)
    throw_error(db, "preparing a statement");
  stmt_.reset(s);
}

Statement::Statement(Db* home, std::string sql, StmtPtr stmt)
    : db_(home->get()), stmt_(std::move(stmt)), home_(home), sql_(std::move(sql)) {}

Statement::~Statement() {
  if (home_ != nullptr && stmt_) home_->give_back(std::move(sql_), std::move(stmt_));
}

Statement& Statement::bind(int index, std::int64_t v) {
  if (sqlite3_bind_int64(stmt_.get(), index, v) != SQLITE_OK) throw_error(db_, "binding a parameter");
  return *this;
}

Statement& Statement::bind(int index, std::string_view v) {
  if (sqlite3_bind_text(stmt_.get(), index, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT) !=
      SQLITE_OK)
    throw_error(db_, "binding a parameter");
  return *this;
}

Statement& Statement::bind(int index, Blob v) {
  if (sqlite3_bind_blob(stmt_.get(), index, v.bytes.data(), static_cast<int>(v.bytes.size()),
                        SQLITE_TRANSIENT) != SQLITE_OK)
    throw_error(db_, "binding a parameter");
  return *this;
}

Statement& Statement::bind(int index, std::nullopt_t) {
  if (sqlite3_bind_null(stmt_.get(), index) != SQLITE_OK) throw_error(db_, "binding a parameter");
  return *this;
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw_error(db_, "running a statement");
}

void Statement::run() {
  while (step()) {
  }
}

std::int64_t Statement::integer(int col) const { return sqlite3_column_int64(stmt_.get(), col); }

std::string Statement::text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_.get(), col);
  int n = sqlite3_column_bytes(stmt_.get(), col);
  return p == nullptr ? std::string()
                      : std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
}

std::string Statement::blob(int col) const {
  const void* p = sqlite3_column_blob(stmt_.get(), col);
  int n = sqlite3_column_bytes(stmt_.get(), col);
  return p == nullptr ? std::string() : std::string(static_cast<const char*>(p), static_cast<std::size_t>(n));
}

bool Statement::is_null(int col) const { return sqlite3_column_type(stmt_.get(), col) == SQLITE_NULL; }

Db::Db(const std::string& path, int flags) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  db_.reset(db);  // sqlite3_open_v2 may return a handle even on failure; it must be closed
  if (rc != SQLITE_OK) throw_error(db, "opening " + path);
  sqlite3_extended_result_codes(db, 1);
}

Statement Db::prepare(std::string_view sql) {
  std::string text(sql);
  if (auto it = idle_.find(text); it != idle_.end()) {
    StmtPtr stmt = std::move(it->second);
    idle_.erase(it);
    return Statement(this, std::move(text), std::move(stmt));
  }
  Statement fresh(db_.get(), sql);
  return Statement(this, std::move(text), std::move(fresh.stmt_));
}

void Db::give_back(std::string sql, StmtPtr stmt) noexcept {
  sqlite3_reset(stmt.get());  // ends its read of the database (a WAL snapshot) now
  sqlite3_clear_bindings(stmt.get());
  try {
    idle_.emplace(std::move(sql), std::move(stmt));  // a second one of the same SQL is finalized
  } catch (...) {
  }
}

void Db::exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  if (sqlite3_exec(db_.get(), s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::unique_ptr<char, SqliteFree> owned(err);
    throw Error(ErrorKind::store, std::string("running SQL: ") + (owned ? owned.get() : "unknown error"));
  }
}

}  // namespace keystore::sql

namespace keystore::sql {
void Db::rollback() noexcept { sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr); }
}  // namespace keystore::sql
