// Thin RAII layer over libpq: one connection that reconnects by itself, statements prepared once per
// connection and run with typed parameters, and results read as text. Every failure throws
// pg::Failure (a keystore::Error(store)) with the server's message and SQLSTATE; the connection string
// itself (it may hold a password) never appears in a message, only "database DB on HOST:PORT".
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "keystore/error.hpp"

namespace keystore::pg {

struct ConnCloser {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
struct ResultClear {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnCloser>;
using ResultPtr = std::unique_ptr<PGresult, ResultClear>;

// A store failure from PostgreSQL: the SQLSTATE (empty when none) and whether the connection is gone.
class Failure : public Error {
 public:
  Failure(const std::string& message, std::string sqlstate, bool connection_lost)
      : Error(ErrorKind::store, message), sqlstate_(std::move(sqlstate)), lost_(connection_lost) {}
  const std::string& sqlstate() const noexcept { return sqlstate_; }
  bool connection_lost() const noexcept { return lost_; }

 private:
  std::string sqlstate_;
  bool lost_;
};

// A BYTEA parameter (a std::string_view binds as text).
struct Bytes {
  std::string_view bytes;
};

// Statement parameters, $1, $2, ... in the order added.
class Params {
 public:
  template <typename... Args>
  explicit Params(const Args&... args) {
    (add(args), ...);
  }
  Params& add(std::int64_t v);
  Params& add(int v) { return add(static_cast<std::int64_t>(v)); }
  Params& add(bool v);
  Params& add(std::string_view v);
  Params& add(const std::string& v) { return add(std::string_view(v)); }
  Params& add(const char* v) { return add(std::string_view(v)); }
  Params& add(Bytes v);
  Params& add(std::nullopt_t);
  template <typename T>
  Params& add(const std::optional<T>& v) {
    return v ? add(*v) : add(std::nullopt);
  }

  int size() const { return static_cast<int>(values_.size()); }
  const char* const* values() const { return pointers_.data(); }
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  void push(std::string value, bool binary, bool null);
  std::vector<std::string> values_;
  std::vector<const char*> pointers_;  // into values_ (rebuilt by push)
  std::vector<int> lengths_, formats_;
  std::vector<bool> nulls_;
};

class Result {
 public:
  explicit Result(ResultPtr r) : r_(std::move(r)) {}
  int rows() const { return PQntuples(r_.get()); }
  bool is_null(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string text(int row, int col) const;
  std::int64_t integer(int row, int col) const;  // 0 for NULL
  bool boolean(int row, int col) const;          // false for NULL
  std::string bytea(int row, int col) const;     // decoded from the hex output format
  std::optional<std::int64_t> opt_integer(int row, int col) const {
    return is_null(row, col) ? std::nullopt : std::optional<std::int64_t>(integer(row, col));
  }
  std::int64_t affected() const;  // rows changed by INSERT/UPDATE/DELETE
  std::string status() const { return PQcmdStatus(r_.get()); }

 private:
  ResultPtr r_;
};

struct ConnectOptions {
  std::chrono::seconds connect_timeout{10};  // unless the connection string sets connect_timeout
  std::chrono::milliseconds lock_timeout{10000};
  std::chrono::seconds idle_in_transaction_timeout{60};  // a stuck writer cannot hold the lock forever
  std::chrono::milliseconds reconnect_backoff{1000};     // after a failed attempt, fail fast this long
  std::string application_name = "smime-milter";
};

// "database DB on HOST:PORT as USER", from a connection string, without its password.
std::string describe_conninfo(const std::string& conninfo);

class Connection {
 public:
  Connection(std::string conninfo, ConnectOptions options);

  const std::string& label() const { return label_; }
  // Connects if not connected (at most once per reconnect_backoff after a failure). Throws Failure.
  void ensure();
  // Runs one statement, prepared once per connection by its text. Throws Failure.
  Result exec(const std::string& sql, const Params& params = Params());
  // Runs SQL without parameters (several statements allowed), e.g. BEGIN, COMMIT, migrations.
  Result exec_script(const std::string& sql);
  // ROLLBACK, ignoring failure (used while another exception propagates).
  void rollback() noexcept;
  bool idle() const;  // connected and not inside a transaction
  void disconnect() noexcept;

 private:
  [[noreturn]] void fail(const std::string& what, const PGresult* r);
  Result check(ResultPtr r, const std::string& what);
  void connect();

  std::string conninfo_;
  ConnectOptions options_;
  std::string label_;
  ConnPtr conn_;
  std::unordered_map<std::string, std::string> prepared_;  // SQL text -> statement name
  std::chrono::steady_clock::time_point last_failure_{};
  std::string last_failure_message_;
};

}  // namespace keystore::pg
