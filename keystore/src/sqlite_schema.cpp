#include "sqlite_schema.hpp"

#include <array>
#include <string>

#include "keystore/error.hpp"

namespace keystore::sql {

namespace {

// Never edit a released migration; append a new one.
constexpr std::array<const char*, 3> kMigrations = {
    // 1: the first schema.
    R"sql(
CREATE TABLE certificates (
  id                   INTEGER PRIMARY KEY,
  fingerprint          TEXT    NOT NULL UNIQUE,   -- SHA-256, upper-case hex, colon separated
  der                  BLOB    NOT NULL,
  origin               TEXT    NOT NULL CHECK (origin IN ('imported', 'harvested')),
  subject              TEXT    NOT NULL,
  issuer               TEXT    NOT NULL,
  serial               TEXT    NOT NULL,
  key_usage            INTEGER,                   -- OpenSSL KU_* bits; NULL: no keyUsage extension
  key_type             TEXT    NOT NULL,
  not_before           INTEGER NOT NULL,
  not_after            INTEGER NOT NULL,
  first_seen           INTEGER NOT NULL,
  last_used            INTEGER,
  harvested_message_id TEXT,
  harvested_sender     TEXT,
  capabilities         BLOB,                      -- DER SMIMECapabilities
  capabilities_time    INTEGER,                   -- signingTime they were announced with
  size                 INTEGER NOT NULL           -- DER length, for the harvest size limit
);
CREATE INDEX certificates_lru ON certificates (origin, last_used, first_seen);
CREATE TABLE certificate_emails (
  cert_id INTEGER NOT NULL REFERENCES certificates (id) ON DELETE CASCADE,
  email   TEXT    NOT NULL COLLATE NOCASE
);
CREATE INDEX certificate_emails_email ON certificate_emails (email);
CREATE INDEX certificate_emails_cert ON certificate_emails (cert_id);
CREATE TABLE certificate_domains (
  cert_id INTEGER NOT NULL REFERENCES certificates (id) ON DELETE CASCADE,
  domain  TEXT    NOT NULL COLLATE NOCASE
);
CREATE INDEX certificate_domains_domain ON certificate_domains (domain);
CREATE INDEX certificate_domains_cert ON certificate_domains (cert_id);
CREATE TABLE private_keys (
  cert_id   INTEGER PRIMARY KEY REFERENCES certificates (id) ON DELETE CASCADE,
  key_pem   TEXT    NOT NULL,                     -- PKCS#8, encrypted when 'encrypted'
  encrypted INTEGER NOT NULL,
  chain_pem TEXT    NOT NULL DEFAULT ''
);
CREATE TABLE trust_anchors (
  id          INTEGER PRIMARY KEY,
  fingerprint TEXT    NOT NULL UNIQUE,
  der         BLOB    NOT NULL,
  subject     TEXT    NOT NULL,
  not_after   INTEGER NOT NULL,
  added       INTEGER NOT NULL
);
CREATE TABLE harvest_log (
  id          INTEGER PRIMARY KEY,
  time        INTEGER NOT NULL,
  outcome     TEXT    NOT NULL,
  fingerprint TEXT    NOT NULL,
  sender      TEXT    NOT NULL,
  domain      TEXT    NOT NULL COLLATE NOCASE,
  message_id  TEXT    NOT NULL,
  detail      TEXT    NOT NULL
);
CREATE INDEX harvest_log_time ON harvest_log (time);
CREATE INDEX harvest_log_domain ON harvest_log (domain, outcome, time);
CREATE TABLE warnings (
  id      INTEGER PRIMARY KEY,
  time    INTEGER NOT NULL,
  domain  TEXT    NOT NULL,
  message TEXT    NOT NULL
);
CREATE INDEX warnings_time ON warnings (time);
)sql",
    // 2: the change counter (bumped by triggers, so that every writer counts, the CLI included; a
    // certificate's last use does not count), and the shared revocation cache with its fetch claims.
    R"sql(
CREATE TABLE store_generation (generation INTEGER NOT NULL);
INSERT INTO store_generation (generation) VALUES (0);
CREATE TRIGGER certificates_generation_insert AFTER INSERT ON certificates
  BEGIN UPDATE store_generation SET generation = generation + 1; END;
CREATE TRIGGER certificates_generation_delete AFTER DELETE ON certificates
  BEGIN UPDATE store_generation SET generation = generation + 1; END;
CREATE TRIGGER certificates_generation_update
  AFTER UPDATE OF origin, der, capabilities, capabilities_time ON certificates
  BEGIN UPDATE store_generation SET generation = generation + 1; END;
CREATE TRIGGER private_keys_generation_insert AFTER INSERT ON private_keys
  BEGIN UPDATE store_generation SET generation = generation + 1; END;
CREATE TRIGGER private_keys_generation_update AFTER UPDATE ON private_keys
  BEGIN UPDATE store_generation SET generation = generation + 1; END;
CREATE TRIGGER private_keys_generation_delete AFTER DELETE ON private_keys
  BEGIN UPDATE store_generation SET generation = generation + 1; END;
CREATE TRIGGER trust_anchors_generation_insert AFTER INSERT ON trust_anchors
  BEGIN UPDATE store_generation SET generation = generation + 1; END;
CREATE TRIGGER trust_anchors_generation_update AFTER UPDATE ON trust_anchors
  BEGIN UPDATE store_generation SET generation = generation + 1; END;
CREATE TRIGGER trust_anchors_generation_delete AFTER DELETE ON trust_anchors
  BEGIN UPDATE store_generation SET generation = generation + 1; END;
CREATE TABLE revocation_cache (
  kind        TEXT    NOT NULL,
  key         TEXT    NOT NULL,
  url         TEXT    NOT NULL,
  stored_at   INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  this_update INTEGER,
  next_update INTEGER,
  payload     BLOB    NOT NULL,
  PRIMARY KEY (kind, key)
);
CREATE INDEX revocation_cache_expires ON revocation_cache (expires_at);
CREATE TABLE revocation_fetches (
  key        TEXT PRIMARY KEY,
  token      TEXT NOT NULL,
  expires_at REAL NOT NULL                        -- seconds since the epoch, the database's clock
);
)sql",
    // 3: local revocation data, which the checker consults before the network: CRLs imported by hand
    // (one per issuer certificate) and certificates revoked by hand; both count in the change counter.
    R"sql(
CREATE TABLE local_crls (
  issuer_fingerprint TEXT    PRIMARY KEY,         -- the certificate whose key verified it at import
  issuer             TEXT    NOT NULL,            -- the CRL's issuer name, RFC 2253
  der                BLOB    NOT NULL,
  this_update        INTEGER NOT NULL,
  next_update        INTEGER,
  imported           INTEGER NOT NULL
);
CREATE TABLE revoked_certificates (
  fingerprint TEXT    PRIMARY KEY,                -- need not be in certificates
  reason      TEXT    NOT NULL CHECK (reason IN ('unspecified', 'keyCompromise', 'cACompromise',
                'affiliationChanged', 'superseded', 'cessationOfOperation', 'certificateHold',
                'privilegeWithdrawn', 'aACompromise')),   -- RFC 5280 CRLReason names
  revoked_at  INTEGER NOT NULL,
  added       INTEGER NOT NULL,
  comment     TEXT    NOT NULL DEFAULT ''
);
CREATE TRIGGER local_crls_generation_insert AFTER INSERT ON local_crls
  BEGIN UPDATE store_generation SET generation = generation + 1; END;
CREATE TRIGGER local_crls_generation_update AFTER UPDATE ON local_crls
  BEGIN UPDATE store_generation SET generation = generation + 1; END;
CREATE TRIGGER local_crls_generation_delete AFTER DELETE ON local_crls
  BEGIN UPDATE store_generation SET generation = generation + 1; END;
CREATE TRIGGER revoked_certificates_generation_insert AFTER INSERT ON revoked_certificates
  BEGIN UPDATE store_generation SET generation = generation + 1; END;
CREATE TRIGGER revoked_certificates_generation_update AFTER UPDATE ON revoked_certificates
  BEGIN UPDATE store_generation SET generation = generation + 1; END;
CREATE TRIGGER revoked_certificates_generation_delete AFTER DELETE ON revoked_certificates
  BEGIN UPDATE store_generation SET generation = generation + 1; END;
)sql",
};

bool has_version_table(Db& db) {
  Statement s = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
  return s.step();
}

}  // namespace

int schema_version() { return static_cast<int>(kMigrations.size()); }

int current_version(Db& db) {
  if (!has_version_table(db)) return 0;
  Statement s = db.prepare("SELECT version FROM schema_version");
  return s.step() ? static_cast<int>(s.integer(0)) : 0;
}

void migrate(Db& db) {
  db.exec("BEGIN IMMEDIATE");
  try {
    if (!has_version_table(db)) db.exec("CREATE TABLE schema_version (version INTEGER NOT NULL)");
    const int have = current_version(db);
    if (have > schema_version())
      throw Error(ErrorKind::store, "the store has schema version " + std::to_string(have) +
                                        ", newer than this program knows (" +
                                        std::to_string(schema_version()) + "); upgrade smime-milter");
    for (int v = have; v < schema_version(); ++v) db.exec(kMigrations[static_cast<std::size_t>(v)]);
    if (have < schema_version()) {
      db.exec("DELETE FROM schema_version");
      db.prepare("INSERT INTO schema_version (version) VALUES (?1)")
          .bind_all(std::int64_t{schema_version()})
          .run();
    }
    db.exec("COMMIT");
  } catch (...) {
    db.rollback();
    throw;
  }
}

}  // namespace keystore::sql
