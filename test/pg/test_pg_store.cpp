// PgStore beyond the Store contract (which test_keystore_pg runs): connection loss and recovery on a
// server of the test's own, the read replica, gateways migrating together, the database roles of
// smime-keystore(1), and what messages say about the connection string.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <thread>

#include "keystore/error.hpp"
#include "keystore/identity.hpp"
#include "keystore/lookup.hpp"
#include "keystore/open_store.hpp"
#include "keystore_support.hpp"
#include "pg_support.hpp"

using namespace keystore;

namespace {

std::string fp(X509* c) { return smime::fingerprint_sha256(c); }
void add(Store& s, X509* c) { s.add(NewCertificate{c, Origin::imported, kt::now(), {}, {}}); }

// A PostgreSQL server of this test alone (so that stopping it disturbs no other test), stopped by PID
// when the object goes.
class OwnServer {
 public:
  OwnServer() { script("start"); }
  ~OwnServer() {
    std::system((std::string(SMIME_PG_SERVER_SCRIPT) + " stop " + dir_.root().string()).c_str());
  }
  OwnServer(const OwnServer&) = delete;
  OwnServer& operator=(const OwnServer&) = delete;
  void script(const std::string& action) {
    const std::string cmd = std::string(SMIME_PG_SERVER_SCRIPT) + " " + action + " " + dir_.root().string();
    REQUIRE(std::system(cmd.c_str()) == 0);
  }
  std::string conninfo() const {
    std::ifstream in(dir_.path("conninfo"));
    std::string line;
    std::getline(in, line);
    return line;
  }

 private:
  kt::TempDir dir_{"pg-own"};
};

}  // namespace

TEST_CASE("connection loss: Error(store), nothing half-done, recovery without reopening", "[pg][outage]") {
  OwnServer server;
  StoreLocation where;
  // A password in the string: trust authentication ignores it; no message may show it.
  where.url = server.conninfo() + " password=Sekrit-4711";
  where.pg.reconnect_backoff = std::chrono::milliseconds(0);
  auto store = open_store(where);
  auto alice = kt::pki_cert("alice");
  auto bob = kt::pki_cert("bob");
  auto carol = kt::pki_cert("carol");
  add(*store, alice.get());

  // The server dies in the middle of a transaction: the call fails, the transaction is gone.
  std::string in_txn;
  try {
    store->in_transaction([&] {
      add(*store, bob.get());
      server.script("crash");  // pg_ctl stop -m immediate
      add(*store, carol.get());
    });
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::store);
    in_txn = e.what();
  }
  INFO(in_txn);
  CHECK_THAT(in_txn, Catch::Contains("PostgreSQL database keystore"));
  CHECK_THAT(in_txn, !Catch::Contains("Sekrit"));

  // While it is down: every call is Error(store), reads and writes alike.
  for (int i = 0; i < 2; ++i) {
    try {
      store->find(fp(alice.get()));
      FAIL("a read succeeded with the server down");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::store);
      CHECK_THAT(e.what(), !Catch::Contains("Sekrit"));
    }
  }
  CHECK_THROWS_AS(store->generation(), Error);
  CHECK_THROWS_AS(store->mark_used(fp(alice.get()), 1), Error);
  CHECK_THROWS_AS(encryption_certificate(*store, "alice@example.org", kt::now()), Error);

  // Back up: the same Store object reconnects by itself; what was committed is there, the cut
  // transaction left nothing.
  server.script("resume");
  CHECK(store->find(fp(alice.get())).has_value());
  CHECK_FALSE(store->find(fp(bob.get())).has_value());
  CHECK_FALSE(store->find(fp(carol.get())).has_value());
  add(*store, bob.get());
  CHECK(store->by_email("bob@example.org").size() == 1);

  // A connection the server dropped while idle (a restart between two messages) costs no failure: the
  // read is retried once on a new connection.
  server.script("crash");
  server.script("resume");
  CHECK(store->find(fp(bob.get())).has_value());
  CHECK(encryption_certificate(*store, "alice@example.org", kt::now()).found());
}

TEST_CASE("opening an unreachable database is Error(store) naming it, without its password", "[pg]") {
  StoreLocation where;
  where.url = "postgresql://smime:Sekrit-4711@127.0.0.1:1/keystore?connect_timeout=2";
  try {
    open_store(where);
    FAIL("opened a database on port 1");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::store);
    CHECK_THAT(e.what(), Catch::Contains("keystore on 127.0.0.1:1"));
    CHECK_THAT(e.what(), !Catch::Contains("Sekrit"));
  }
  CHECK(where.describe() == "PostgreSQL database keystore on 127.0.0.1:1 as smime");
}

TEST_CASE("a read replica serves lookups outside transactions; writes and transactions use the primary",
          "[pg][replica]") {
  // A second schema stands in for the standby: what each one holds shows who answered.
  kt::TempStore primary;
  kt::TempStore replica;
  auto alice = kt::pki_cert("alice");
  auto bob = kt::pki_cert("bob");
  StoreLocation where = primary.where;
  where.read_url = replica.where.url;
  auto store = open_store(where);
  add(*store, alice.get());               // a write: to the primary
  CHECK(primary->find(fp(alice.get())));  // there it is
  CHECK_FALSE(replica->find(fp(alice.get())));
  CHECK_FALSE(store->find(fp(alice.get())));  // a read outside a transaction: from the replica
  add(*replica, bob.get());
  CHECK(store->find(fp(bob.get())));
  CHECK(store->generation() == replica->generation());
  bool seen_in_txn = false;
  store->in_transaction([&] { seen_in_txn = store->find(fp(alice.get())).has_value(); });
  CHECK(seen_in_txn);  // inside a transaction: the primary

  // A replica that cannot be reached: reads go to the primary.
  StoreLocation down = primary.where;
  down.read_url = pgt::conninfo() + " port=1 host=127.0.0.1 connect_timeout=2";
  auto fallback = open_store(down);
  CHECK(fallback->find(fp(alice.get())));
  CHECK(fallback->find(fp(alice.get())));  // and stays there for a while, without new attempts
}

TEST_CASE("gateways opening a new database at the same moment migrate it once", "[pg][migrate]") {
  const std::string schema = pgt::create_schema();
  const std::string url = pgt::conninfo_for(schema);
  std::vector<pid_t> pids;
  int go[2];
  REQUIRE(::pipe(go) == 0);
  for (int i = 0; i < 4; ++i) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(go[1]);
      char c;
      int status = 1;
      if (::read(go[0], &c, 1) == 0) {
        try {
          StoreLocation where;
          where.url = url;
          status = open_store(where)->list({}).empty() ? 0 : 2;
        } catch (...) {
          status = 3;
        }
      }
      ::_exit(status);
    }
    pids.push_back(pid);
  }
  ::close(go[0]);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ::close(go[1]);  // all of them at once
  for (pid_t pid : pids) {
    int st = 0;
    ::waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 0);
  }
  CHECK(pgt::query("SELECT count(*) FROM schema_version", schema) == "1");
  CHECK(pgt::query("SELECT version FROM schema_version", schema) == std::to_string(pg_schema_version()));
  CHECK(pgt::query("SELECT count(*) FROM store_generation", schema) == "1");
  pgt::drop_schema(schema);
}

namespace {

// The GRANTs of smime-keystore(1), "DATABASE ROLES", for schema S: MILTER reads keys, ADMIN does not.
void grant_roles(const std::string& s, const std::string& milter, const std::string& admin) {
  pgt::exec("CREATE ROLE " + milter + " LOGIN; CREATE ROLE " + admin + " LOGIN;" + "GRANT USAGE ON SCHEMA " +
            s + " TO " + milter + ", " + admin + ";" +
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " + s + " TO " + milter + ";" +
            "GRANT USAGE ON ALL SEQUENCES IN SCHEMA " + s + " TO " + milter + ", " + admin + ";" +
            "GRANT SELECT, INSERT, UPDATE, DELETE ON " + s + ".certificates, " + s + ".certificate_emails, " +
            s + ".certificate_domains, " + s + ".trust_anchors, " + s + ".harvest_log, " + s + ".warnings, " +
            s + ".store_generation, " + s + ".revocation_cache, " + s + ".revocation_fetches, " + s +
            ".local_crls, " + s + ".revoked_certificates TO " + admin + ";" + "GRANT SELECT ON " + s +
            ".schema_version TO " + admin + ";" + "GRANT SELECT (cert_id), INSERT, UPDATE, DELETE ON " + s +
            ".private_keys TO " + admin + ";");
}

}  // namespace

TEST_CASE("database roles: a role without the key columns uses everything else", "[pg][roles]") {
  kt::TempStore ts;
  const std::string milter = ts.schema + "_milter", admin = ts.schema + "_admin";
  grant_roles(ts.schema, milter, admin);
  struct DropRoles {
    std::string schema, a, b;
    ~DropRoles() {
      try {
        pgt::exec("DROP OWNED BY " + a + ", " + b + "; DROP ROLE " + a + "; DROP ROLE " + b);
      } catch (const std::exception&) {
      }
    }
  } drop{ts.schema, milter, admin};
  auto gw = kt::pki_cert("gw-new");
  auto alice = kt::pki_cert("alice");
  put_identity(*ts, gw.get(), kt::pki_key("gw-new").get(), {}, "", kt::now());

  StoreLocation as_admin, as_milter;
  as_admin.url = pgt::conninfo_for(ts.schema, "user=" + admin);
  as_milter.url = pgt::conninfo_for(ts.schema, "user=" + milter);
  auto a = open_store(as_admin);
  auto m = open_store(as_milter);

  // The admin role: certificates, anchors, lookups, identities listed (not read), even a key written.
  add(*a, alice.get());
  CHECK(a->add_anchor(kt::pki_cert("root").get(), kt::now()));
  CHECK(encryption_certificate(*a, "alice@example.org", kt::now()).found());
  CHECK(signing_certificate(*a, "gateway@example.com", kt::now()).found());
  ListFilter identities;
  identities.identities_only = true;
  CHECK(a->list(identities).size() == 1);
  a->generation();
  a->put_key(fp(alice.get()), StoredKey{"-----BEGIN PRIVATE KEY-----...", false, ""});
  try {
    a->key(fp(gw.get()));
    FAIL("the admin role read a private key");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::store);
    CHECK_THAT(e.what(), Catch::Contains("permission denied"));
  }
  CHECK(a->remove(fp(alice.get())));  // its key goes with it (the cascade runs as the owner)
  CHECK(a->put_crl(CrlRecord{"AA:01", "CN=CA", "crl", 1, 2, 3}) == CrlPut::stored);
  CHECK(a->revoke(RevokedRecord{fp(alice.get()), "keyCompromise", 1, 2, ""}));

  // The milter role reads keys.
  CHECK(load_identity(*m, fp(gw.get()), "").key);
  m->put_revocation_entry(RevocationEntry{"ocsp", "id", "u", 1, 2, {}, {}, "p"});
  CHECK(m->claim_revocation_fetch("f", std::chrono::seconds(5)).has_value());
  CHECK(m->crls().size() == 1);
  CHECK(m->find_revoked(fp(alice.get())).has_value());
}
