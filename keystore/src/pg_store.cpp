#include "keystore/pg_store.hpp"

#include <cctype>

#include "decoded_certs.hpp"
#include "keystore/error.hpp"
#include "pg_conn.hpp"
#include "pg_schema.hpp"
#include "random_token.hpp"
#include "smime/cert.hpp"

namespace keystore {

namespace {

using pg::Bytes;
using pg::Connection;
using pg::Failure;
using pg::Params;
using pg::Result;

// Columns of a CertRecord, in the order read_record() expects.
const std::string kSelectCert =
    "SELECT c.id, c.origin, c.der, c.first_seen, c.last_used, c.harvested_message_id, c.harvested_sender,"
    " c.capabilities, c.capabilities_time,"
    " EXISTS (SELECT 1 FROM private_keys k WHERE k.cert_id = c.id)"
    " FROM certificates c ";

CertRecord read_record(const Result& r, int row) {
  CertRecord rec;
  rec.id = r.integer(row, 0);
  rec.origin = origin_from_string(r.text(row, 1)).value_or(Origin::imported);
  DecodedCert d = decode_stored_certificate(r.bytea(row, 2));
  rec.cert = std::move(d.cert);
  rec.facts = std::move(d.facts);
  rec.first_seen = r.integer(row, 3);
  rec.last_used = r.opt_integer(row, 4);
  rec.harvested_message_id = r.text(row, 5);
  rec.harvested_sender = r.text(row, 6);
  if (!r.is_null(row, 7)) rec.capabilities = smime::Capabilities::from_der(r.bytea(row, 7));
  rec.capabilities_time = r.opt_integer(row, 8);
  rec.has_private_key = r.boolean(row, 9);
  return rec;
}

std::vector<CertRecord> read_all(const Result& r) {
  std::vector<CertRecord> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) out.push_back(read_record(r, i));
  return out;
}

const std::string kSelectCrl =
    "SELECT issuer_fingerprint, issuer, der, this_update, next_update, imported FROM local_crls";

CrlRecord read_crl(const Result& r, int row) {
  return CrlRecord{r.text(row, 0),    r.text(row, 1),        r.bytea(row, 2),
                   r.integer(row, 3), r.opt_integer(row, 4), r.integer(row, 5)};
}

const std::string kSelectRevoked =
    "SELECT fingerprint, reason, revoked_at, added, comment FROM revoked_certificates";

RevokedRecord read_revoked(const Result& r, int row) {
  return RevokedRecord{r.text(row, 0), r.text(row, 1), r.integer(row, 2), r.integer(row, 3), r.text(row, 4)};
}

// ASCII lower case, as the "C"-collation lower() the queries compare with (SQLite's NOCASE).
std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// A text[] literal: {"a","b"} with " and \ escaped.
std::string text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.push_back('"');
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  return out + "}";
}

pg::ConnectOptions connect_options(const PgOptions& o) {
  pg::ConnectOptions c;
  c.connect_timeout = o.connect_timeout;
  c.lock_timeout = o.lock_timeout;
  c.reconnect_backoff = o.reconnect_backoff;
  c.application_name = o.application_name;
  return c;
}

class PgStore final : public Store {
 public:
  PgStore(const std::string& conninfo, const PgOptions& o)
      : options_(o), primary_(conninfo, connect_options(o)) {
    if (!o.read_url.empty()) replica_ = std::make_unique<Connection>(o.read_url, connect_options(o));
    schema_ = pg::current_schema(primary_);
    writer_lock_ = pg::lock_key(schema_, "writer");
    pg::migrate(primary_, schema_);
  }

  std::string describe() const override { return primary_.label(); }

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
    begin_locked();
    depth_ = 1;
    try {
      fn();
      Result r = primary_.exec_script("COMMIT");
      depth_ = 0;
      // A statement that failed inside (and whose exception the caller swallowed) aborted the
      // transaction: COMMIT then rolls back. Say so instead of pretending it was stored.
      if (r.status() != "COMMIT")
        throw Failure(primary_.label() + ": the transaction was rolled back (a statement in it failed)", "",
                      false);
    } catch (...) {
      depth_ = 0;
      primary_.rollback();
      throw;
    }
  }

  std::optional<CertRecord> find(std::string_view fingerprint) override {
    auto recs = read_all(read(kSelectCert + "WHERE c.fingerprint = $1", Params(fingerprint)));
    if (recs.empty()) return std::nullopt;
    return std::move(recs.front());
  }

  std::vector<CertRecord> find_prefix(std::string_view hex_prefix) override {
    const std::optional<std::string> prefix = fingerprint_prefix(hex_prefix);
    if (!prefix) return {};
    const std::string& pattern = *prefix;
    return read_all(
        read(kSelectCert + "WHERE starts_with(c.fingerprint, $1::text) ORDER BY c.id", Params(pattern)));
  }

  std::vector<CertRecord> by_email(std::string_view address) override {
    return read_all(read(kSelectCert + "WHERE c.id IN (SELECT cert_id FROM certificate_emails"
                                       " WHERE lower(email COLLATE \"C\") = $1::text) ORDER BY c.id",
                         Params(ascii_lower(address))));
  }

  std::vector<CertRecord> by_dns_name(std::string_view name) override {
    return read_all(read(kSelectCert + "WHERE c.id IN (SELECT cert_id FROM certificate_domains"
                                       " WHERE lower(domain COLLATE \"C\") = $1::text) ORDER BY c.id",
                         Params(ascii_lower(name))));
  }

  std::vector<CertRecord> list(const ListFilter& f) override {
    const std::string domain = ascii_lower(f.domain);
    std::string wildcard;
    if (auto dot = domain.find('.'); dot != std::string::npos) wildcard = "*" + domain.substr(dot);
    const std::string origin = f.origin ? to_string(*f.origin) : std::string();
    return read_all(read(
        kSelectCert +
            "WHERE ($1::text = '' OR c.id IN (SELECT cert_id FROM certificate_emails"
            "        WHERE lower(email COLLATE \"C\") = $1::text))"
            " AND ($2::text = '' OR c.id IN (SELECT cert_id FROM certificate_emails"
            "        WHERE lower(substring(email COLLATE \"C\" from position('@' in email) + 1)) = $2::text)"
            "      OR c.id IN (SELECT cert_id FROM certificate_domains"
            "        WHERE lower(domain COLLATE \"C\") = $2::text OR lower(domain COLLATE \"C\") = $3::text))"
            " AND ($4::text = '' OR c.origin = $4::text)"
            " AND (NOT $5::boolean OR EXISTS (SELECT 1 FROM private_keys k WHERE k.cert_id = c.id))"
            " ORDER BY c.id",
        Params(ascii_lower(f.address), domain, wildcard, origin, f.identities_only)));
  }

  std::int64_t add(const NewCertificate& c) override {
    const CertFacts f = facts_of(c.cert);
    const std::string der = smime::to_der(c.cert);
    const bool harvested = c.origin == Origin::harvested;
    auto opt = [&](const std::string& v) { return harvested ? std::optional<std::string>(v) : std::nullopt; };
    std::int64_t id = 0;
    write([&] {
      // One round trip: the certificate, its addresses and its names.
      Result r = primary_.exec(
          "WITH c AS (INSERT INTO certificates (fingerprint, der, origin, subject, issuer, serial, key_usage,"
          "   key_type, not_before, not_after, first_seen, last_used, harvested_message_id, harvested_sender,"
          "   size)"
          "  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, $12, $13, $14) RETURNING id),"
          " e AS (INSERT INTO certificate_emails (cert_id, email) SELECT c.id, unnest($15::text[]) FROM c),"
          " d AS (INSERT INTO certificate_domains (cert_id, domain) SELECT c.id, unnest($16::text[]) FROM c)"
          " SELECT id FROM c",
          Params(f.fingerprint, Bytes{der}, to_string(c.origin), f.subject, f.issuer, f.serial,
                 f.key_usage ? std::optional<std::int64_t>(*f.key_usage) : std::nullopt,
                 to_string(f.key_type), f.not_before, f.not_after, c.now, opt(c.message_id), opt(c.sender),
                 static_cast<std::int64_t>(der.size()), text_array(f.emails), text_array(f.domains)));
      id = r.integer(0, 0);
    });
    return id;
  }

  void set_origin(std::string_view fingerprint, Origin origin) override {
    write([&] {
      primary_.exec("UPDATE certificates SET origin = $2 WHERE fingerprint = $1",
                    Params(fingerprint, to_string(origin)));
    });
  }

  bool remove(std::string_view fingerprint) override {
    std::int64_t n = 0;
    write([&] {
      // Addresses, names and the key go by ON DELETE CASCADE, in the same statement.
      n = primary_.exec("DELETE FROM certificates WHERE fingerprint = $1", Params(fingerprint)).affected();
    });
    return n > 0;
  }

  void mark_used(std::string_view fingerprint, Time when) override {
    write([&] {
      primary_.exec("UPDATE certificates SET last_used = $2 WHERE fingerprint = $1",
                    Params(fingerprint, when));
    });
  }

  bool set_capabilities(std::string_view fingerprint, const smime::Capabilities& caps,
                        Time signing_time) override {
    const std::string der = caps.to_der();
    std::int64_t n = 0;
    write([&] {
      n = primary_
              .exec(
                  "UPDATE certificates SET capabilities = $2, capabilities_time = $3"
                  " WHERE fingerprint = $1 AND (capabilities_time IS NULL OR capabilities_time < $3)",
                  Params(fingerprint, Bytes{der}, signing_time))
              .affected();
    });
    return n > 0;
  }

  std::int64_t harvested_bytes() override {
    return read("SELECT COALESCE(SUM(size), 0) FROM certificates WHERE origin = 'harvested'").integer(0, 0);
  }

  std::vector<std::string> evict_harvested(std::int64_t limit_bytes, std::string_view keep) override {
    std::vector<std::string> removed;
    write([&] {
      const std::int64_t excess = harvested_bytes() - limit_bytes;
      if (excess <= 0) return;
      // The least recently used first, as many as it takes to remove `excess` bytes: the rows whose
      // running total before them is still short of it.
      Result r = primary_.exec(
          "WITH ranked AS (SELECT id, fingerprint, size,"
          "   sum(size) OVER (ORDER BY COALESCE(last_used, first_seen), id"
          "                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running,"
          "   row_number() OVER (ORDER BY COALESCE(last_used, first_seen), id) AS ord"
          "   FROM certificates WHERE origin = 'harvested' AND fingerprint <> $1),"
          " doomed AS (SELECT id, fingerprint, ord FROM ranked WHERE running - size < $2::bigint),"
          " gone AS (DELETE FROM certificates WHERE id IN (SELECT id FROM doomed) RETURNING id)"
          " SELECT fingerprint FROM doomed WHERE id IN (SELECT id FROM gone) ORDER BY ord",
          Params(keep, excess));
      for (int i = 0; i < r.rows(); ++i) removed.push_back(r.text(i, 0));
    });
    return removed;
  }

  void put_key(std::string_view fingerprint, const StoredKey& key) override {
    std::int64_t n = 0;
    write([&] {
      // Update, else insert (under the writer lock: no race between the two). Not INSERT ... ON
      // CONFLICT DO UPDATE: that needs SELECT on the key columns, which a role that may write keys but
      // not read them (smime-keystore(1), DATABASE ROLES) lacks.
      n = primary_
              .exec(
                  "WITH u AS (UPDATE private_keys SET key_pem = $2, encrypted = $3::boolean, chain_pem = $4"
                  "   WHERE cert_id = (SELECT id FROM certificates WHERE fingerprint = $1) RETURNING "
                  "cert_id),"
                  " i AS (INSERT INTO private_keys (cert_id, key_pem, encrypted, chain_pem)"
                  "   SELECT id, $2, $3::boolean, $4 FROM certificates"
                  "   WHERE fingerprint = $1 AND NOT EXISTS (SELECT 1 FROM u) RETURNING cert_id)"
                  " SELECT (SELECT count(*) FROM u) + (SELECT count(*) FROM i)",
                  Params(fingerprint, key.pkcs8_pem, key.encrypted, key.chain_pem))
              .integer(0, 0);
    });
    if (n == 0) throw Error(ErrorKind::not_found, "no certificate " + std::string(fingerprint));
  }

  std::optional<StoredKey> key(std::string_view fingerprint) override {
    Result r = read(
        "SELECT k.key_pem, k.encrypted, k.chain_pem FROM private_keys k JOIN certificates c ON c.id = "
        "k.cert_id"
        " WHERE c.fingerprint = $1",
        Params(fingerprint));
    if (r.rows() == 0) return std::nullopt;
    return StoredKey{r.text(0, 0), r.boolean(0, 1), r.text(0, 2)};
  }

  bool add_anchor(X509* cert, Time now) override {
    const CertFacts f = facts_of(cert);
    const std::string der = smime::to_der(cert);
    std::int64_t n = 0;
    write([&] {
      n = primary_
              .exec(
                  "INSERT INTO trust_anchors (fingerprint, der, subject, not_after, added)"
                  " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (fingerprint) DO NOTHING",
                  Params(f.fingerprint, Bytes{der}, f.subject, f.not_after, now))
              .affected();
    });
    return n > 0;
  }

  bool remove_anchor(std::string_view fingerprint) override {
    std::int64_t n = 0;
    write([&] {
      n = primary_.exec("DELETE FROM trust_anchors WHERE fingerprint = $1", Params(fingerprint)).affected();
    });
    return n > 0;
  }

  std::vector<AnchorRecord> anchors() override {
    Result r = read("SELECT id, der, fingerprint, subject, not_after, added FROM trust_anchors ORDER BY id");
    std::vector<AnchorRecord> out;
    for (int i = 0; i < r.rows(); ++i)
      out.push_back(AnchorRecord{r.integer(i, 0), decode_stored_certificate(r.bytea(i, 1)).cert, r.text(i, 2),
                                 r.text(i, 3), r.integer(i, 4), r.integer(i, 5)});
    return out;
  }

  void log_harvest(const HarvestEvent& e) override {
    write([&] {
      primary_.exec(
          "INSERT INTO harvest_log (time, outcome, fingerprint, sender, domain, message_id, detail)"
          " VALUES ($1, $2, $3, $4, $5, $6, $7)",
          Params(e.time, e.outcome, e.fingerprint, e.sender, e.domain, e.message_id, e.detail));
    });
  }

  std::vector<HarvestEvent> harvests_since(Time since) override {
    Result r = read(
        "SELECT time, outcome, fingerprint, sender, domain, message_id, detail FROM harvest_log"
        " WHERE time >= $1 ORDER BY time, id",
        Params(since));
    std::vector<HarvestEvent> out;
    for (int i = 0; i < r.rows(); ++i)
      out.push_back(HarvestEvent{r.integer(i, 0), r.text(i, 1), r.text(i, 2), r.text(i, 3), r.text(i, 4),
                                 r.text(i, 5), r.text(i, 6)});
    return out;
  }

  int count_updates(std::string_view domain, Time since) override {
    return static_cast<int>(
        read("SELECT COUNT(*) FROM harvest_log WHERE lower(domain COLLATE \"C\") = $1::text"
             " AND outcome = 'updated' AND time >= $2",
             Params(ascii_lower(domain), since))
            .integer(0, 0));
  }

  void add_warning(const WarningRecord& w) override {
    write([&] {
      primary_.exec("INSERT INTO warnings (time, domain, message) VALUES ($1, $2, $3)",
                    Params(w.time, w.domain, w.message));
    });
  }

  std::vector<WarningRecord> warnings_since(Time since) override {
    Result r =
        read("SELECT time, domain, message FROM warnings WHERE time >= $1 ORDER BY time, id", Params(since));
    std::vector<WarningRecord> out;
    for (int i = 0; i < r.rows(); ++i)
      out.push_back(WarningRecord{r.integer(i, 0), r.text(i, 1), r.text(i, 2)});
    return out;
  }

  CrlPut put_crl(const CrlRecord& c) override {
    CrlPut outcome = CrlPut::stored;
    write([&] {
      // Under the writer lock: nothing changes the row between this read and the write.
      outcome = crl_put_outcome(crl(c.issuer_fingerprint), c);
      if (outcome == CrlPut::unchanged || outcome == CrlPut::not_newer) return;
      primary_.exec(
          "INSERT INTO local_crls (issuer_fingerprint, issuer, der, this_update, next_update, imported)"
          " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (issuer_fingerprint) DO UPDATE SET"
          "   issuer = EXCLUDED.issuer, der = EXCLUDED.der, this_update = EXCLUDED.this_update,"
          "   next_update = EXCLUDED.next_update, imported = EXCLUDED.imported",
          Params(c.issuer_fingerprint, c.issuer, Bytes{c.der}, c.this_update, c.next_update, c.imported));
    });
    return outcome;
  }

  std::vector<CrlRecord> crls() override {
    Result r = read(kSelectCrl + " ORDER BY issuer, issuer_fingerprint");
    std::vector<CrlRecord> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(read_crl(r, i));
    return out;
  }

  std::optional<CrlRecord> crl(std::string_view issuer_fingerprint) override {
    Result r = read(kSelectCrl + " WHERE issuer_fingerprint = $1", Params(issuer_fingerprint));
    if (r.rows() == 0) return std::nullopt;
    return read_crl(r, 0);
  }

  bool remove_crl(std::string_view issuer_fingerprint) override {
    std::int64_t n = 0;
    write([&] {
      n = primary_.exec("DELETE FROM local_crls WHERE issuer_fingerprint = $1", Params(issuer_fingerprint))
              .affected();
    });
    return n > 0;
  }

  bool revoke(const RevokedRecord& r) override {
    bool added = false;
    write([&] {
      added = !find_revoked(r.fingerprint);  // under the writer lock: still so at the write
      primary_.exec(
          "INSERT INTO revoked_certificates (fingerprint, reason, revoked_at, added, comment)"
          " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (fingerprint) DO UPDATE SET"
          "   reason = EXCLUDED.reason, revoked_at = EXCLUDED.revoked_at,"
          "   added = EXCLUDED.added, comment = EXCLUDED.comment",
          Params(r.fingerprint, r.reason, r.revoked_at, r.added, r.comment));
    });
    return added;
  }

  bool unrevoke(std::string_view fingerprint) override {
    std::int64_t n = 0;
    write([&] {
      n = primary_.exec("DELETE FROM revoked_certificates WHERE fingerprint = $1", Params(fingerprint))
              .affected();
    });
    return n > 0;
  }

  std::vector<RevokedRecord> revoked() override {
    Result r = read(kSelectRevoked + " ORDER BY fingerprint");
    std::vector<RevokedRecord> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(read_revoked(r, i));
    return out;
  }

  std::optional<RevokedRecord> find_revoked(std::string_view fingerprint) override {
    Result r = read(kSelectRevoked + " WHERE fingerprint = $1", Params(fingerprint));
    if (r.rows() == 0) return std::nullopt;
    return read_revoked(r, 0);
  }

  std::int64_t generation() override { return read("SELECT generation FROM store_generation").integer(0, 0); }

  // --- revocation cache: on the primary (a claim and the entry it waits for must be seen at once),
  // without the writer lock (each statement stands alone; nothing here is a harvesting rule).
  std::optional<RevocationEntry> revocation_entry(std::string_view kind, std::string_view key) override {
    Result r = on_primary(
        "SELECT url, stored_at, expires_at, this_update, next_update, payload"
        " FROM revocation_cache WHERE kind = $1 AND key = $2",
        Params(kind, key), true);
    if (r.rows() == 0) return std::nullopt;
    return RevocationEntry{std::string(kind), std::string(key),    r.text(0, 0),        r.integer(0, 1),
                           r.integer(0, 2),   r.opt_integer(0, 3), r.opt_integer(0, 4), r.bytea(0, 5)};
  }

  void put_revocation_entry(const RevocationEntry& e) override {
    on_primary(
        "INSERT INTO revocation_cache (kind, key, url, stored_at, expires_at, this_update, next_update, "
        "payload)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (kind, key) DO UPDATE SET url = EXCLUDED.url,"
        "   stored_at = EXCLUDED.stored_at, expires_at = EXCLUDED.expires_at,"
        "   this_update = EXCLUDED.this_update, next_update = EXCLUDED.next_update, payload = "
        "EXCLUDED.payload",
        Params(e.kind, e.key, e.url, e.stored_at, e.expires_at, e.this_update, e.next_update,
               Bytes{e.payload}),
        true);
  }

  void remove_revocation_entry(std::string_view kind, std::string_view key,
                               std::optional<Time> expired_by) override {
    on_primary(
        "DELETE FROM revocation_cache WHERE kind = $1 AND key = $2"
        " AND ($3::bigint IS NULL OR expires_at <= $3::bigint)",
        Params(kind, key, expired_by), true);
  }

  std::int64_t purge_revocation_entries(Time now) override {
    std::int64_t n =
        on_primary("DELETE FROM revocation_cache WHERE expires_at <= $1", Params(now), true).affected();
    on_primary("DELETE FROM revocation_fetches WHERE expires_at <= extract(epoch FROM clock_timestamp())",
               Params(), true);
    return n;
  }

  std::optional<std::string> claim_revocation_fetch(std::string_view key,
                                                    std::chrono::seconds bound) override {
    const std::string token = random_token();
    // Not retried on a lost connection: a claim that reached the server would then block ourselves.
    Result r = on_primary(
        "INSERT INTO revocation_fetches (key, token, expires_at)"
        " VALUES ($1, $2, extract(epoch FROM clock_timestamp()) + $3::bigint)"
        " ON CONFLICT (key) DO UPDATE SET token = EXCLUDED.token, expires_at = EXCLUDED.expires_at"
        "   WHERE revocation_fetches.expires_at <= extract(epoch FROM clock_timestamp())"
        " RETURNING token",
        Params(key, token, static_cast<std::int64_t>(bound.count())), false);
    if (r.rows() == 0) return std::nullopt;
    return token;
  }

  void release_revocation_fetch(std::string_view key, std::string_view token) override {
    on_primary("DELETE FROM revocation_fetches WHERE key = $1 AND token = $2", Params(key, token), true);
  }

 private:
  // BEGIN and the writer lock in one round trip. A connection found dead at BEGIN (the server closed
  // an idle session) is replaced once: nothing of the transaction has run yet.
  void begin_locked() {
    const std::string sql = "BEGIN; SELECT pg_advisory_xact_lock(" + std::to_string(writer_lock_) + ")";
    const bool was_idle = primary_.idle();
    try {
      primary_.exec_script(sql);
    } catch (const Failure& e) {
      primary_.rollback();
      if (!(e.connection_lost() && was_idle)) throw;
      primary_.exec_script(sql);
    }
  }

  // Runs fn in a transaction holding the writer lock (joining the caller's transaction if any).
  template <typename Fn>
  void write(Fn&& fn) {
    in_transaction(std::function<void()>(std::forward<Fn>(fn)));
  }

  // A read: inside a transaction on the primary; outside it on the replica when there is one and it
  // answers, else on the primary, retried once on a new connection when the old one was found dead.
  Result read(const std::string& sql, const Params& params = Params()) {
    if (depth_ > 0) return primary_.exec(sql, params);
    if (replica_ && std::chrono::steady_clock::now() >= replica_down_until_) {
      try {
        if (!replica_checked_) check_replica();
        return replica_->exec(sql, params);
      } catch (const Failure& e) {
        if (!e.connection_lost() && replica_checked_) throw;
        replica_down_until_ = std::chrono::steady_clock::now() + options_.replica_retry;
      }
    }
    return on_primary(sql, params, true);
  }

  Result on_primary(const std::string& sql, const Params& params, bool retry_when_idle_lost) {
    const bool was_idle = primary_.idle();
    try {
      return primary_.exec(sql, params);
    } catch (const Failure& e) {
      if (!(retry_when_idle_lost && was_idle && depth_ == 0 && e.connection_lost())) throw;
    }
    return primary_.exec(sql, params);
  }

  // The replica must hold the schema this program reads (a lagging standby may not, after an upgrade).
  void check_replica() {
    const int v = pg::current_version(*replica_);
    if (v != pg::schema_version())
      throw Failure(replica_->label() + ": the read replica has schema version " + std::to_string(v) +
                        ", not " + std::to_string(pg::schema_version()) + "; reading from the primary",
                    "", true);
    replica_checked_ = true;
  }

  PgOptions options_;
  Connection primary_;
  std::unique_ptr<Connection> replica_;
  bool replica_checked_ = false;
  std::chrono::steady_clock::time_point replica_down_until_{};
  std::string schema_;
  std::int64_t writer_lock_ = 0;
  int depth_ = 0;  // nesting of in_transaction(); 0 outside any transaction
};

}  // namespace

std::unique_ptr<Store> open_pg_store(const std::string& conninfo, const PgOptions& options) {
  return std::make_unique<PgStore>(conninfo, options);
}

int pg_schema_version() { return pg::schema_version(); }

}  // namespace keystore
