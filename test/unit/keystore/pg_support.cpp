#include "pg_support.hpp"

#include <libpq-fe.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <stdexcept>

namespace pgt {

namespace {

struct ConnCloser {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
struct ResultClear {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};

std::unique_ptr<PGconn, ConnCloser> connect(const std::string& schema) {
  std::unique_ptr<PGconn, ConnCloser> c(
      PQconnectdb(schema.empty() ? conninfo().c_str() : conninfo_for(schema).c_str()));
  if (PQstatus(c.get()) != CONNECTION_OK)
    throw std::runtime_error("cannot connect to the test PostgreSQL: " +
                             std::string(PQerrorMessage(c.get())));
  PQsetNoticeProcessor(
      c.get(), [](void*, const char*) {}, nullptr);  // "drop cascades to ..."
  return c;
}

std::unique_ptr<PGresult, ResultClear> run(const std::string& sql, const std::string& schema) {
  auto c = connect(schema);
  std::unique_ptr<PGresult, ResultClear> r(PQexec(c.get(), sql.c_str()));
  const ExecStatusType st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
    throw std::runtime_error("SQL failed: " + sql + ": " + PQresultErrorMessage(r.get()));
  return r;
}

}  // namespace

std::string fixture_dir() {
  if (const char* env = std::getenv("SMIME_TEST_PG"); env != nullptr && *env != '\0') return env;
#ifdef SMIME_TEST_PG_DEFAULT
  return SMIME_TEST_PG_DEFAULT;
#else
  throw std::runtime_error("SMIME_TEST_PG is not set (run the tests through ctest)");
#endif
}

std::string conninfo() {
  std::ifstream in(fixture_dir() + "/conninfo");
  std::string line;
  if (!std::getline(in, line) || line.empty())
    throw std::runtime_error("no test PostgreSQL: " + fixture_dir() + "/conninfo is missing (fixture pg)");
  return line;
}

std::string conninfo_for(const std::string& schema, const std::string& extra) {
  return conninfo() + " options='-csearch_path=" + schema + "'" + (extra.empty() ? "" : " " + extra);
}

std::string create_schema() {
  static std::mt19937_64 rng(std::random_device{}());
  const std::string name = "t_" + std::to_string(rng() % 1000000000000ULL);
  exec("CREATE SCHEMA " + name);
  return name;
}

void drop_schema(const std::string& schema) {
  try {
    exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
  } catch (const std::exception&) {
    // the server may be gone already (a test that stops it); nothing to clean up then
  }
}

void exec(const std::string& sql, const std::string& schema) { run(sql, schema); }

std::string query(const std::string& sql, const std::string& schema) {
  auto r = run(sql, schema);
  if (PQntuples(r.get()) == 0 || PQgetisnull(r.get(), 0, 0)) return {};
  return PQgetvalue(r.get(), 0, 0);
}

}  // namespace pgt
