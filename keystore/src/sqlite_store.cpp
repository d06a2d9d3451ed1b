#include "keystore/sqlite_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "decoded_certs.hpp"
#include "keystore/error.hpp"
#include "random_token.hpp"
#include "smime/cert.hpp"
#include "sqlite_db.hpp"
#include "sqlite_schema.hpp"

namespace keystore {

namespace {

using sql::Blob;
using sql::Statement;

// Columns of a CertRecord, in the order read_record() expects.
constexpr const char* kSelectCert =
    "SELECT c.id, c.origin, c.der, c.first_seen, c.last_used, c.harvested_message_id, c.harvested_sender,"
    " c.capabilities, c.capabilities_time,"
    " EXISTS (SELECT 1 FROM private_keys k WHERE k.cert_id = c.id)"
    " FROM certificates c ";

CertRecord read_record(const Statement& s) {
  CertRecord r;
  r.id = s.integer(0);
  r.origin = origin_from_string(s.text(1)).value_or(Origin::imported);
  DecodedCert d = decode_stored_certificate(s.blob(2));
  r.cert = std::move(d.cert);
  r.facts = std::move(d.facts);
  r.first_seen = s.integer(3);
  if (!s.is_null(4)) r.last_used = s.integer(4);
  r.harvested_message_id = s.text(5);
  r.harvested_sender = s.text(6);
  if (!s.is_null(7)) r.capabilities = smime::Capabilities::from_der(s.blob(7));
  if (!s.is_null(8)) r.capabilities_time = s.integer(8);
  r.has_private_key = s.integer(9) != 0;
  return r;
}

constexpr const char* kSelectCrl =
    "SELECT issuer_fingerprint, issuer, der, this_update, next_update, imported FROM local_crls";

CrlRecord read_crl(const Statement& s) {
  CrlRecord c{s.text(0), s.text(1), s.blob(2), s.integer(3), {}, s.integer(5)};
  if (!s.is_null(4)) c.next_update = s.integer(4);
  return c;
}

constexpr const char* kSelectRevoked =
    "SELECT fingerprint, reason, revoked_at, added, comment FROM revoked_certificates";

RevokedRecord read_revoked(const Statement& s) {
  return RevokedRecord{s.text(0), s.text(1), s.integer(2), s.integer(3), s.text(4)};
}

std::vector<CertRecord> read_all(Statement& s) {
  std::vector<CertRecord> out;
  while (s.step()) out.push_back(read_record(s));
  return out;
}

// Creates the file 0600 if it does not exist (SQLite gives -wal and -shm the database file's mode).
void create_private_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, S_IRUSR | S_IWUSR);
  if (fd < 0) {
    if (errno == EEXIST) return;
    throw Error(ErrorKind::store, "cannot create " + path + ": " + std::strerror(errno));
  }
  const int rc = ::fchmod(fd, S_IRUSR | S_IWUSR);  // whatever the umask
  ::close(fd);
  if (rc != 0) throw Error(ErrorKind::store, "cannot set the mode of " + path + ": " + std::strerror(errno));
}

// Seconds since the epoch on the database's clock (here the host's), as the fetch claims count them.
constexpr const char* kDbNow = "((julianday('now') - 2440587.5) * 86400.0)";

class SqliteStore final : public Store {
 public:
  SqliteStore(const std::string& path, const SqliteOptions& o)
      : db_(path, o.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE), path_(path) {
    sqlite3_busy_timeout(db_.get(), static_cast<int>(o.busy_timeout.count()));
    db_.exec("PRAGMA foreign_keys = ON");
    if (o.read_only) {
      if (sql::current_version(db_) != sql::schema_version())
        throw Error(ErrorKind::store,
                    path + " has another schema version; open it read-write once to migrate");
      return;
    }
    {
      Statement wal = db_.prepare("PRAGMA journal_mode = WAL");  // finalized before the migration commits
      if (!wal.step() || wal.text(0) != "wal")
        throw Error(ErrorKind::store, path + ": cannot switch to WAL mode");
    }
    db_.exec("PRAGMA synchronous = FULL");
    sql::migrate(db_);
  }

  std::string describe() const override { return "SQLite file " + path_; }

  void in_transaction(const std::function<void()>& fn) override {
    if (depth_ > 0) {
      ++depth_;
      try {
        fn();
      } catch (...) {
        --depth_;
        throw;
      }
      --depth_;
      return;
    }
    db_.exec("BEGIN IMMEDIATE");
    depth_ = 1;
    try {
      fn();
      db_.exec("COMMIT");
      depth_ = 0;
    } catch (...) {
      depth_ = 0;
      db_.rollback();
      throw;
    }
  }

  std::optional<CertRecord> find(std::string_view fingerprint) override {
    Statement s = db_.prepare(std::string(kSelectCert) + "WHERE c.fingerprint = ?1");
    s.bind_all(fingerprint);
    if (!s.step()) return std::nullopt;
    return read_record(s);
  }

  std::vector<CertRecord> find_prefix(std::string_view hex_prefix) override {
    const std::optional<std::string> prefix = fingerprint_prefix(hex_prefix);
    if (!prefix) return {};
    const std::string& pattern = *prefix;
    Statement s = db_.prepare(std::string(kSelectCert) +
                              "WHERE substr(c.fingerprint, 1, length(?1)) = ?1 ORDER BY c.id");
    s.bind_all(std::string_view(pattern));
    return read_all(s);
  }

  std::vector<CertRecord> by_email(std::string_view address) override {
    Statement s =
        db_.prepare(std::string(kSelectCert) +
                    "WHERE c.id IN (SELECT cert_id FROM certificate_emails WHERE email = ?1) ORDER BY c.id");
    s.bind_all(address);
    return read_all(s);
  }

  std::vector<CertRecord> by_dns_name(std::string_view name) override {
    Statement s = db_.prepare(
        std::string(kSelectCert) +
        "WHERE c.id IN (SELECT cert_id FROM certificate_domains WHERE domain = ?1) ORDER BY c.id");
    s.bind_all(name);
    return read_all(s);
  }

  std::vector<CertRecord> list(const ListFilter& f) override {
    std::string domain = lower(f.domain);
    std::string wildcard;
    if (auto dot = domain.find('.'); dot != std::string::npos) wildcard = "*" + domain.substr(dot);
    std::string origin = f.origin ? to_string(*f.origin) : std::string();
    Statement s = db_.prepare(
        std::string(kSelectCert) +
        "WHERE (?1 = '' OR c.id IN (SELECT cert_id FROM certificate_emails WHERE email = ?1))"
        " AND (?2 = '' OR c.id IN (SELECT cert_id FROM certificate_emails"
        "        WHERE lower(substr(email, instr(email, '@') + 1)) = ?2)"
        "      OR c.id IN (SELECT cert_id FROM certificate_domains WHERE domain = ?2 OR domain = ?3))"
        " AND (?4 = '' OR c.origin = ?4)"
        " AND (?5 = 0 OR EXISTS (SELECT 1 FROM private_keys k WHERE k.cert_id = c.id))"
        " ORDER BY c.id");
    s.bind_all(std::string_view(f.address), std::string_view(domain), std::string_view(wildcard),
               std::string_view(origin), std::int64_t{f.identities_only ? 1 : 0});
    return read_all(s);
  }

  std::int64_t add(const NewCertificate& c) override {
    const CertFacts f = facts_of(c.cert);
    const std::string der = smime::to_der(c.cert);
    std::int64_t id = 0;
    in_transaction([&] {
      Statement s = db_.prepare(
          "INSERT INTO certificates (fingerprint, der, origin, subject, issuer, serial, key_usage, key_type,"
          " not_before, not_after, first_seen, last_used, harvested_message_id, harvested_sender, size)"
          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, NULL, ?12, ?13, ?14)");
      const bool harvested = c.origin == Origin::harvested;
      auto opt = [&](const std::string& v) {
        return harvested ? std::optional<std::string_view>(v) : std::nullopt;
      };
      s.bind_all(std::string_view(f.fingerprint), Blob{der}, std::string_view(to_string(c.origin)),
                 std::string_view(f.subject), std::string_view(f.issuer), std::string_view(f.serial),
                 f.key_usage ? std::optional<std::int64_t>(*f.key_usage) : std::nullopt,
                 std::string_view(to_string(f.key_type)), f.not_before, f.not_after, c.now, opt(c.message_id),
                 opt(c.sender), static_cast<std::int64_t>(der.size()));
      s.run();
      id = db_.last_insert_rowid();
      for (const auto& e : f.emails)
        db_.prepare("INSERT INTO certificate_emails (cert_id, email) VALUES (?1, ?2)")
            .bind_all(id, std::string_view(e))
            .run();
      for (const auto& d : f.domains)
        db_.prepare("INSERT INTO certificate_domains (cert_id, domain) VALUES (?1, ?2)")
            .bind_all(id, std::string_view(d))
            .run();
    });
    return id;
  }

  void set_origin(std::string_view fingerprint, Origin origin) override {
    db_.prepare("UPDATE certificates SET origin = ?2 WHERE fingerprint = ?1")
        .bind_all(fingerprint, std::string_view(to_string(origin)))
        .run();
  }

  bool remove(std::string_view fingerprint) override {
    db_.prepare("DELETE FROM certificates WHERE fingerprint = ?1").bind_all(fingerprint).run();
    return db_.changes() > 0;  // emails, domains and the key go by ON DELETE CASCADE, in the same statement
  }

  void mark_used(std::string_view fingerprint, Time when) override {
    db_.prepare("UPDATE certificates SET last_used = ?2 WHERE fingerprint = ?1")
        .bind_all(fingerprint, when)
        .run();
  }

  bool set_capabilities(std::string_view fingerprint, const smime::Capabilities& caps,
                        Time signing_time) override {
    const std::string der = caps.to_der();
    db_.prepare(
           "UPDATE certificates SET capabilities = ?2, capabilities_time = ?3"
           " WHERE fingerprint = ?1 AND (capabilities_time IS NULL OR capabilities_time < ?3)")
        .bind_all(fingerprint, Blob{der}, signing_time)
        .run();
    return db_.changes() > 0;
  }

  std::int64_t harvested_bytes() override {
    Statement s = db_.prepare("SELECT COALESCE(SUM(size), 0) FROM certificates WHERE origin = 'harvested'");
    s.step();
    return s.integer(0);
  }

  std::vector<std::string> evict_harvested(std::int64_t limit_bytes, std::string_view keep) override {
    std::vector<std::string> removed;
    in_transaction([&] {
      std::int64_t total = harvested_bytes();
      if (total <= limit_bytes) return;
      Statement s = db_.prepare(
          "SELECT fingerprint, size FROM certificates WHERE origin = 'harvested' AND fingerprint <> ?1"
          " ORDER BY COALESCE(last_used, first_seen), id");
      s.bind_all(keep);
      while (total > limit_bytes && s.step()) {
        removed.push_back(s.text(0));
        total -= s.integer(1);
      }
      for (const auto& fp : removed) remove(fp);
    });
    return removed;
  }

  void put_key(std::string_view fingerprint, const StoredKey& key) override {
    db_.prepare(
           "INSERT OR REPLACE INTO private_keys (cert_id, key_pem, encrypted, chain_pem)"
           " SELECT id, ?2, ?3, ?4 FROM certificates WHERE fingerprint = ?1")
        .bind_all(fingerprint, std::string_view(key.pkcs8_pem), std::int64_t{key.encrypted ? 1 : 0},
                  std::string_view(key.chain_pem))
        .run();
    if (db_.changes() == 0) throw Error(ErrorKind::not_found, "no certificate " + std::string(fingerprint));
  }

  std::optional<StoredKey> key(std::string_view fingerprint) override {
    Statement s = db_.prepare(
        "SELECT k.key_pem, k.encrypted, k.chain_pem FROM private_keys k JOIN certificates c ON c.id = "
        "k.cert_id"
        " WHERE c.fingerprint = ?1");
    s.bind_all(fingerprint);
    if (!s.step()) return std::nullopt;
    return StoredKey{s.text(0), s.integer(1) != 0, s.text(2)};
  }

  bool add_anchor(X509* cert, Time now) override {
    const CertFacts f = facts_of(cert);
    const std::string der = smime::to_der(cert);
    db_.prepare(
           "INSERT OR IGNORE INTO trust_anchors (fingerprint, der, subject, not_after, added)"
           " VALUES (?1, ?2, ?3, ?4, ?5)")
        .bind_all(std::string_view(f.fingerprint), Blob{der}, std::string_view(f.subject), f.not_after, now)
        .run();
    return db_.changes() > 0;
  }

  bool remove_anchor(std::string_view fingerprint) override {
    db_.prepare("DELETE FROM trust_anchors WHERE fingerprint = ?1").bind_all(fingerprint).run();
    return db_.changes() > 0;
  }

  std::vector<AnchorRecord> anchors() override {
    Statement s =
        db_.prepare("SELECT id, der, fingerprint, subject, not_after, added FROM trust_anchors ORDER BY id");
    std::vector<AnchorRecord> out;
    while (s.step())
      out.push_back(AnchorRecord{s.integer(0), decode_stored_certificate(s.blob(1)).cert, s.text(2),
                                 s.text(3), s.integer(4), s.integer(5)});
    return out;
  }

  void log_harvest(const HarvestEvent& e) override {
    db_.prepare(
           "INSERT INTO harvest_log (time, outcome, fingerprint, sender, domain, message_id, detail)"
           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
        .bind_all(e.time, std::string_view(e.outcome), std::string_view(e.fingerprint),
                  std::string_view(e.sender), std::string_view(e.domain), std::string_view(e.message_id),
                  std::string_view(e.detail))
        .run();
  }

  std::vector<HarvestEvent> harvests_since(Time since) override {
    Statement s = db_.prepare(
        "SELECT time, outcome, fingerprint, sender, domain, message_id, detail FROM harvest_log"
        " WHERE time >= ?1 ORDER BY time, id");
    s.bind_all(since);
    std::vector<HarvestEvent> out;
    while (s.step())
      out.push_back(
          HarvestEvent{s.integer(0), s.text(1), s.text(2), s.text(3), s.text(4), s.text(5), s.text(6)});
    return out;
  }

  int count_updates(std::string_view domain, Time since) override {
    Statement s = db_.prepare(
        "SELECT COUNT(*) FROM harvest_log WHERE domain = ?1 AND outcome = 'updated' AND time >= ?2");
    s.bind_all(domain, since);
    s.step();
    return static_cast<int>(s.integer(0));
  }

  void add_warning(const WarningRecord& w) override {
    db_.prepare("INSERT INTO warnings (time, domain, message) VALUES (?1, ?2, ?3)")
        .bind_all(w.time, std::string_view(w.domain), std::string_view(w.message))
        .run();
  }

  std::vector<WarningRecord> warnings_since(Time since) override {
    Statement s =
        db_.prepare("SELECT time, domain, message FROM warnings WHERE time >= ?1 ORDER BY time, id");
    s.bind_all(since);
    std::vector<WarningRecord> out;
    while (s.step()) out.push_back(WarningRecord{s.integer(0), s.text(1), s.text(2)});
    return out;
  }

  std::int64_t generation() override {
    Statement s = db_.prepare("SELECT generation FROM store_generation");
    return s.step() ? s.integer(0) : 0;
  }

  CrlPut put_crl(const CrlRecord& c) override {
    CrlPut outcome = CrlPut::stored;
    in_transaction([&] {
      outcome = crl_put_outcome(crl(c.issuer_fingerprint), c);
      if (outcome == CrlPut::unchanged || outcome == CrlPut::not_newer) return;
      db_.prepare(
             "INSERT OR REPLACE INTO local_crls (issuer_fingerprint, issuer, der, this_update, next_update,"
             " imported) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
          .bind_all(std::string_view(c.issuer_fingerprint), std::string_view(c.issuer), Blob{c.der},
                    c.this_update, c.next_update, c.imported)
          .run();
    });
    return outcome;
  }

  std::vector<CrlRecord> crls() override {
    Statement s = db_.prepare(std::string(kSelectCrl) + " ORDER BY issuer, issuer_fingerprint");
    std::vector<CrlRecord> out;
    while (s.step()) out.push_back(read_crl(s));
    return out;
  }

  std::optional<CrlRecord> crl(std::string_view issuer_fingerprint) override {
    Statement s = db_.prepare(std::string(kSelectCrl) + " WHERE issuer_fingerprint = ?1");
    s.bind_all(issuer_fingerprint);
    if (!s.step()) return std::nullopt;
    return read_crl(s);
  }

  bool remove_crl(std::string_view issuer_fingerprint) override {
    db_.prepare("DELETE FROM local_crls WHERE issuer_fingerprint = ?1").bind_all(issuer_fingerprint).run();
    return db_.changes() > 0;
  }

  bool revoke(const RevokedRecord& r) override {
    bool added = false;
    in_transaction([&] {
      added = !find_revoked(r.fingerprint);
      db_.prepare(
             "INSERT OR REPLACE INTO revoked_certificates (fingerprint, reason, revoked_at, added, comment)"
             " VALUES (?1, ?2, ?3, ?4, ?5)")
          .bind_all(std::string_view(r.fingerprint), std::string_view(r.reason), r.revoked_at, r.added,
                    std::string_view(r.comment))
          .run();
    });
    return added;
  }

  bool unrevoke(std::string_view fingerprint) override {
    db_.prepare("DELETE FROM revoked_certificates WHERE fingerprint = ?1").bind_all(fingerprint).run();
    return db_.changes() > 0;
  }

  std::vector<RevokedRecord> revoked() override {
    Statement s = db_.prepare(std::string(kSelectRevoked) + " ORDER BY fingerprint");
    std::vector<RevokedRecord> out;
    while (s.step()) out.push_back(read_revoked(s));
    return out;
  }

  std::optional<RevokedRecord> find_revoked(std::string_view fingerprint) override {
    Statement s = db_.prepare(std::string(kSelectRevoked) + " WHERE fingerprint = ?1");
    s.bind_all(fingerprint);
    if (!s.step()) return std::nullopt;
    return read_revoked(s);
  }

  std::optional<RevocationEntry> revocation_entry(std::string_view kind, std::string_view key) override {
    Statement s = db_.prepare(
        "SELECT url, stored_at, expires_at, this_update, next_update, payload FROM revocation_cache"
        " WHERE kind = ?1 AND key = ?2");
    s.bind_all(kind, key);
    if (!s.step()) return std::nullopt;
    RevocationEntry e{std::string(kind), std::string(key), s.text(0), s.integer(1), s.integer(2), {}, {},
                      s.blob(5)};
    if (!s.is_null(3)) e.this_update = s.integer(3);
    if (!s.is_null(4)) e.next_update = s.integer(4);
    return e;
  }

  void put_revocation_entry(const RevocationEntry& e) override {
    db_.prepare(
           "INSERT OR REPLACE INTO revocation_cache"
           " (kind, key, url, stored_at, expires_at, this_update, next_update, payload)"
           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
        .bind_all(std::string_view(e.kind), std::string_view(e.key), std::string_view(e.url), e.stored_at,
                  e.expires_at, e.this_update, e.next_update, Blob{e.payload})
        .run();
  }

  void remove_revocation_entry(std::string_view kind, std::string_view key,
                               std::optional<Time> expired_by) override {
    db_.prepare(
           "DELETE FROM revocation_cache WHERE kind = ?1 AND key = ?2 AND (?3 IS NULL OR expires_at <= ?3)")
        .bind_all(kind, key, expired_by)
        .run();
  }

  std::int64_t purge_revocation_entries(Time now) override {
    db_.prepare("DELETE FROM revocation_cache WHERE expires_at <= ?1").bind_all(now).run();
    const std::int64_t n = db_.changes();
    db_.exec(std::string("DELETE FROM revocation_fetches WHERE expires_at <= ") + kDbNow);
    return n;
  }

  std::optional<std::string> claim_revocation_fetch(std::string_view key,
                                                    std::chrono::seconds bound) override {
    const std::string token = random_token();
    db_.prepare(std::string("INSERT INTO revocation_fetches (key, token, expires_at) VALUES (?1, ?2, ") +
                kDbNow +
                " + ?3)"
                " ON CONFLICT (key) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at"
                " WHERE revocation_fetches.expires_at <= " +
                kDbNow)
        .bind_all(key, std::string_view(token), static_cast<std::int64_t>(bound.count()))
        .run();
    if (db_.changes() == 0) return std::nullopt;
    return token;
  }

  void release_revocation_fetch(std::string_view key, std::string_view token) override {
    db_.prepare("DELETE FROM revocation_fetches WHERE key = ?1 AND token = ?2").bind_all(key, token).run();
  }

 private:
  sql::Db db_;
  std::string path_;
  int depth_ = 0;  // nesting of in_transaction(); 0 outside any transaction
};

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const std::string& path, const SqliteOptions& options) {
  if (options.create && !options.read_only) create_private_file(path);
  return std::make_unique<SqliteStore>(path, options);
}

int sqlite_schema_version() { return sql::schema_version(); }

SqliteHealth sqlite_health(const std::string& path) {
  sql::Db db(path, SQLITE_OPEN_READONLY);
  sqlite3_busy_timeout(db.get(), 5000);  // a writer holding the file for a moment is not a problem
  SqliteHealth health;
  health.schema_version = sql::current_version(db);
  Statement check = db.prepare("PRAGMA quick_check");
  while (check.step()) {
    std::string line = check.text(0);
    if (line != "ok") health.problems.push_back(std::move(line));
  }
  return health;
}

}  // namespace keystore
