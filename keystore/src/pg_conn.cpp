#include "pg_conn.hpp"

#include <cstdlib>
#include <cstring>

namespace keystore::pg {

namespace {

struct ConninfoFree {
  void operator()(PQconninfoOption* o) const noexcept { PQconninfoFree(o); }
};
using ConninfoPtr = std::unique_ptr<PQconninfoOption, ConninfoFree>;

// libpq messages end with a newline and may span lines; ours are one line.
std::string one_line(const char* text) {
  std::string s = text == nullptr ? std::string() : std::string(text);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (std::size_t p = s.find('\n'); p != std::string::npos; p = s.find('\n', p)) s.replace(p, 1, "; ");
  return s;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// SQLSTATE classes that mean the session is gone: connection exceptions, the server shutting down.
bool is_connection_state(const std::string& state) {
  return state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" || state == "57P03";
}

}  // namespace

// --- Params ----------------------------------------------------------------------------------------

void Params::push(std::string value, bool binary, bool null) {
  values_.push_back(std::move(value));
  nulls_.push_back(null);
  formats_.push_back(binary ? 1 : 0);
  lengths_.push_back(static_cast<int>(values_.back().size()));
  pointers_.clear();  // values_ may have moved: point again at every value
  for (std::size_t i = 0; i < values_.size(); ++i)
    pointers_.push_back(nulls_[i] ? nullptr : values_[i].c_str());
}

Params& Params::add(std::int64_t v) {
  push(std::to_string(v), false, false);
  return *this;
}
Params& Params::add(bool v) {
  push(v ? "t" : "f", false, false);
  return *this;
}
Params& Params::add(std::string_view v) {
  push(std::string(v), false, false);
  return *this;
}
Params& Params::add(Bytes v) {
  push(std::string(v.bytes), true, false);
  return *this;
}
Params& Params::add(std::nullopt_t) {
  push(std::string(), false, true);
  return *this;
}

// --- Result ----------------------------------------------------------------------------------------

std::string Result::text(int row, int col) const {
  const char* p = PQgetvalue(r_.get(), row, col);
  return std::string(p, static_cast<std::size_t>(PQgetlength(r_.get(), row, col)));
}

std::int64_t Result::integer(int row, int col) const {
  if (is_null(row, col)) return 0;
  return std::strtoll(PQgetvalue(r_.get(), row, col), nullptr, 10);
}

bool Result::boolean(int row, int col) const {
  return !is_null(row, col) && PQgetvalue(r_.get(), row, col)[0] == 't';
}

std::string Result::bytea(int row, int col) const {
  const char* p = PQgetvalue(r_.get(), row, col);
  const std::size_t n = static_cast<std::size_t>(PQgetlength(r_.get(), row, col));
  if (n < 2 || p[0] != '\\' || p[1] != 'x')
    throw Failure("unexpected bytea output format (bytea_output must be hex)", "", false);
  std::string out;
  out.reserve((n - 2) / 2);
  for (std::size_t i = 2; i + 1 < n; i += 2) {
    const int hi = hex_value(p[i]), lo = hex_value(p[i + 1]);
    if (hi < 0 || lo < 0) throw Failure("malformed bytea value from the server", "", false);
    out.push_back(static_cast<char>((hi << 4) | lo));
  }
  return out;
}

std::int64_t Result::affected() const {
  const char* n = PQcmdTuples(r_.get());
  return n == nullptr || *n == '\0' ? 0 : std::strtoll(n, nullptr, 10);
}

// --- Connection ------------------------------------------------------------------------------------

std::string describe_conninfo(const std::string& conninfo) {
  char* err = nullptr;
  ConninfoPtr opts(PQconninfoParse(conninfo.c_str(), &err));
  if (err != nullptr) PQfreemem(err);
  std::string db, host, port, user;
  for (const PQconninfoOption* o = opts.get(); o != nullptr && o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    if (std::strcmp(o->keyword, "dbname") == 0) db = o->val;
    if (std::strcmp(o->keyword, "host") == 0 || (host.empty() && std::strcmp(o->keyword, "hostaddr") == 0))
      host = o->val;
    if (std::strcmp(o->keyword, "port") == 0) port = o->val;
    if (std::strcmp(o->keyword, "user") == 0) user = o->val;
  }
  if (!opts) return "PostgreSQL database (unparsable connection string)";
  std::string s = "PostgreSQL database " + (db.empty() ? std::string("(default)") : db) + " on " +
                  (host.empty() ? std::string("the default host") : host);
  if (!port.empty()) s += ":" + port;
  if (!user.empty()) s += " as " + user;
  return s;
}

Connection::Connection(std::string conninfo, ConnectOptions options)
    : conninfo_(std::move(conninfo)), options_(std::move(options)), label_(describe_conninfo(conninfo_)) {}

void Connection::connect() {
  const auto now = std::chrono::steady_clock::now();
  if (!last_failure_message_.empty() && now - last_failure_ < options_.reconnect_backoff)
    throw Failure(label_ + ": not connected (" + last_failure_message_ + ")", "", true);
  const std::string timeout = std::to_string(options_.connect_timeout.count());
  // Ours first: a later keyword wins, so everything in the connection string (expanded from dbname)
  // overrides these defaults.
  const char* keys[] = {"connect_timeout",  "application_name", "client_encoding",
                        "keepalives",       "keepalives_idle",  "keepalives_interval",
                        "keepalives_count", "dbname",           nullptr};
  const char* values[] = {
      timeout.c_str(), options_.application_name.c_str(), "UTF8", "1", "30", "10", "3", conninfo_.c_str(),
      nullptr};
  ConnPtr c(PQconnectdbParams(keys, values, 1));
  if (!c || PQstatus(c.get()) != CONNECTION_OK) {
    last_failure_ = now;
    last_failure_message_ = c ? one_line(PQerrorMessage(c.get())) : std::string("out of memory");
    throw Failure(label_ + ": cannot connect: " + last_failure_message_, "", true);
  }
  // Notices ("relation already exists, skipping") would go to standard error: not ours to print.
  PQsetNoticeProcessor(
      c.get(), [](void*, const char*) {}, nullptr);
  conn_ = std::move(c);
  prepared_.clear();
  last_failure_message_.clear();
  exec_script("SET lock_timeout = " + std::to_string(options_.lock_timeout.count()) +
              "; SET idle_in_transaction_session_timeout = " +
              std::to_string(options_.idle_in_transaction_timeout.count() * 1000) +
              "; SET bytea_output = 'hex'");
}

void Connection::ensure() {
  if (conn_ && PQstatus(conn_.get()) == CONNECTION_OK) return;
  disconnect();
  connect();
}

void Connection::disconnect() noexcept {
  conn_.reset();
  prepared_.clear();
}

bool Connection::idle() const {
  return conn_ && PQstatus(conn_.get()) == CONNECTION_OK && PQtransactionStatus(conn_.get()) == PQTRANS_IDLE;
}

void Connection::fail(const std::string& what, const PGresult* r) {
  std::string state;
  if (r != nullptr)
    if (const char* s = PQresultErrorField(r, PG_DIAG_SQLSTATE)) state = s;
  std::string message = r != nullptr ? one_line(PQresultErrorMessage(r)) : std::string();
  if (message.empty()) message = one_line(PQerrorMessage(conn_.get()));
  // The server gives every error of its own a SQLSTATE; one without is libpq's, about the connection
  // ("server closed the connection unexpectedly", while PQstatus may still say OK).
  const bool lost = PQstatus(conn_.get()) != CONNECTION_OK || is_connection_state(state) || state.empty();
  if (lost) disconnect();  // the next call connects again
  throw Failure(label_ + ": " + what + (lost ? " (connection lost)" : "") + ": " + message, state, lost);
}

Result Connection::check(ResultPtr r, const std::string& what) {
  const ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) fail(what, r.get());
  return Result(std::move(r));
}

Result Connection::exec(const std::string& sql, const Params& params) {
  ensure();
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = "ks" + std::to_string(prepared_.size() + 1);
    check(ResultPtr(PQprepare(conn_.get(), name.c_str(), sql.c_str(), params.size(), nullptr)),
          "preparing a statement");
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  return check(ResultPtr(PQexecPrepared(conn_.get(), it->second.c_str(), params.size(), params.values(),
                                        params.lengths(), params.formats(), 0)),
               "running a statement");
}

Result Connection::exec_script(const std::string& sql) {
  ensure();
  return check(ResultPtr(PQexec(conn_.get(), sql.c_str())), "running SQL");
}

void Connection::rollback() noexcept {
  if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) return;
  if (PQtransactionStatus(conn_.get()) == PQTRANS_IDLE) return;
  ResultPtr r(PQexec(conn_.get(), "ROLLBACK"));
}

}  // namespace keystore::pg
