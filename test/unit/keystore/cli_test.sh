#!/bin/bash
# cli_test.sh SMIME_KEYSTORE_BIN PKI_DIR [PG_FIXTURE_DIR] — runs the real smime-keystore on a temporary
# store and checks outputs, exit codes and what ends up in the store. Table-style: each check says
# want/got. With PG_FIXTURE_DIR (the test server of test/pg/pg-server.sh), the store is a new
# PostgreSQL database given by $SMIME_KEYSTORE_URL, and `copy` both ways and the database roles of
# smime-keystore(1) are checked too.
set -uo pipefail
BIN=$1 PKI=$2 PG=${3:-}
command -v sqlite3 > /dev/null || { echo "this test needs the sqlite3 command (apt install sqlite3)" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/ks-cli.XXXXXX")
umask 022
if [ -n "$PG" ]; then
  ADMIN=$(cat "$PG/conninfo") || { echo "no test PostgreSQL in $PG" >&2; exit 1; }
  DB=ks_cli_$$_$RANDOM
  psql -X -q "$ADMIN" -c "CREATE DATABASE $DB" > /dev/null || exit 1
  URL="$ADMIN dbname=$DB"
  export SMIME_KEYSTORE_URL=$URL
  unset SMIME_KEYSTORE
  cleanup() {
    psql -X -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB" -c "DROP DATABASE IF EXISTS ${DB}_back" \
      -c "DROP ROLE IF EXISTS ${DB}_milter" -c "DROP ROLE IF EXISTS ${DB}_admin" > /dev/null 2>&1
    rm -rf -- "$T"
  }
  trap cleanup EXIT
  q() { psql -X -qtA "$URL" -c "$1"; }  # one query on the store
else
  trap 'rm -rf -- "$T"' EXIT
  export SMIME_KEYSTORE=$T/ks.db
  unset SMIME_KEYSTORE_URL
  q() { sqlite3 "$SMIME_KEYSTORE" "$1"; }
fi
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
# expect CODE CMD... : runs the command, keeps stdout in $T/out and stderr in $T/err
expect() {
  local want=$1; shift
  "$@" > "$T/out" 2> "$T/err"
  local got=$?
  [ "$got" -eq "$want" ] || fail "$* -> exit want $want got $got; stderr: $(cat "$T/err")"
}
contains() { grep -qF -- "$2" "$1" || fail "$1 does not contain '$2': $(head -c 600 "$1")"; }
one_line_stderr() { [ "$(wc -l < "$T/err")" -eq 1 ] || fail "stderr is not one line: $(cat "$T/err")"; }
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }

# --- usage and exit codes
expect 2 "$BIN"
expect 2 "$BIN" frobnicate;               one_line_stderr; contains "$T/err" "unknown command"
expect 2 "$BIN" list --no-such-option;    one_line_stderr
expect 0 "$BIN" --help;                   contains "$T/out" "lookup"
expect 5 "$BIN" --store /nonexistent-dir/ks.db list; one_line_stderr

# --- import: PEM chain (CA skipped), DER, PKCS#7, refusal, force, PKCS#12 with passphrase
expect 0 "$BIN" import "$PKI/alice.chain.pem";  contains "$T/out" "imported"; contains "$T/err" "skipped CA"
if [ -z "$PG" ]; then
  [ "$(stat -c %a "$SMIME_KEYSTORE")" = 600 ] || fail "store mode want 600 got $(stat -c %a "$SMIME_KEYSTORE")"
fi
openssl x509 -in "$PKI/bob.pem" -outform DER -out "$T/bob.der"
expect 0 "$BIN" import "$T/bob.der"
openssl crl2pkcs7 -nocrl -certfile "$PKI/carol.pem" -out "$T/carol.p7b"
expect 0 "$BIN" import "$T/carol.p7b"
expect 0 "$BIN" import "$PKI/alice.pem";        contains "$T/out" "known"
expect 4 "$BIN" import "$PKI/expired.pem";      one_line_stderr; contains "$T/err" "expired"
expect 1 "$BIN" lookup expired@example.org
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/so.key" -subj "/CN=Sign Only" -days 30 \
  -addext "subjectAltName=email:signonly@example.org" -addext "keyUsage=critical,digitalSignature" \
  -addext "extendedKeyUsage=emailProtection" -addext "basicConstraints=critical,CA:FALSE" -out "$T/so.pem" 2>/dev/null
expect 4 "$BIN" import "$T/so.pem";             contains "$T/err" "keyEncipherment"
expect 0 "$BIN" import --purpose sign "$T/so.pem"
expect 1 "$BIN" lookup signonly@example.org;    contains "$T/out" "wrong-key-usage"
# all or nothing: one refused certificate keeps the others out too
expect 4 "$BIN" import "$PKI/domain.pem" "$PKI/expired.pem"
expect 1 "$BIN" lookup someone@example.net
expect 0 "$BIN" import --force "$PKI/expired.pem"; contains "$T/err" "despite"
expect 2 "$BIN" import "$PKI/gw-new.p12" < /dev/null;  one_line_stderr; contains "$T/err" "passphrase"
expect 3 env PW=wrong "$BIN" import --pass env:PW "$PKI/gw-new.p12"; one_line_stderr
echo secret > "$T/pw"
expect 0 "$BIN" import --pass "file:$T/pw" "$PKI/gw-new.p12"; contains "$T/out" "identity"
expect 0 "$BIN" import --key "$PKI/gw-old.key" "$PKI/gw-old.pem"
echo kek > "$T/kek"
expect 0 "$BIN" import --key-pass "file:$T/kek" --key "$PKI/carol.key" "$PKI/carol.pem"
[ "$(q "SELECT COUNT(*) FROM private_keys WHERE encrypted AND key_pem LIKE '%ENCRYPTED PRIVATE KEY%'")" = 1 ] \
  || fail "carol's key is not stored encrypted"

# --- list, show, lookup
expect 0 "$BIN" list;                           contains "$T/out" "alice@example.org"
expect 0 "$BIN" list --json --origin imported;  contains "$T/out" '"origin": "imported"'
[ "$(grep -c '"fingerprint"' "$T/out")" -ge 5 ] || fail "list --json: want at least 5 certificates"
expect 0 "$BIN" list --identities;              contains "$T/out" "gateway@example.com"
expect 0 "$BIN" list --domain example.org;      contains "$T/out" "bob@example.org"
ALICE=$(fp "$PKI/alice.pem")
expect 0 "$BIN" show "${ALICE:0:11}";           contains "$T/out" "keyEncipherment"; contains "$T/out" "CN=Alice"
expect 0 "$BIN" show --json "$ALICE";           contains "$T/out" '"fingerprint"'
expect 1 "$BIN" show DEADBEEF
expect 2 "$BIN" show AB
expect 0 "$BIN" lookup alice@example.org;       contains "$T/out" "$ALICE"
expect 0 "$BIN" lookup --json carol@example.org; contains "$T/out" '"found": true'
expect 1 "$BIN" lookup nobody@example.org;      contains "$T/out" "none"
expect 0 "$BIN" lookup --sign gateway@example.com
expect 1 "$BIN" lookup --sign alice@example.org; contains "$T/out" "no-private-key"
# no key material, ever
for cmd in "list" "list --json" "show ${ALICE:0:11}" "lookup --sign gateway@example.com" "export --all"; do
  # shellcheck disable=SC2086
  "$BIN" $cmd > "$T/scan" 2>&1
  if grep -q "PRIVATE KEY" "$T/scan"; then fail "'$cmd' printed key material"; fi
done

# --- export and import back
expect 0 "$BIN" export --all --out "$T/all.pem"
n_exported=$(grep -c "BEGIN CERTIFICATE" "$T/all.pem")
n_stored=$(q "SELECT COUNT(*) FROM certificates")
[ "$n_exported" = "$n_stored" ] || fail "export --all: want $n_stored certificates got $n_exported"
expect 0 "$BIN" export "$ALICE";                contains "$T/out" "BEGIN CERTIFICATE"
expect 2 "$BIN" export
expect 0 "$BIN" --store "$T/copy.db" import --force "$T/all.pem"
[ "$(sqlite3 "$T/copy.db" "SELECT COUNT(*) FROM certificates")" = "$n_stored" ] || fail "re-import of export"

# --- remove
expect 0 "$BIN" remove "${ALICE:0:11}"
expect 1 "$BIN" lookup alice@example.org
expect 1 "$BIN" remove "${ALICE:0:11}"

# --- trust
expect 0 "$BIN" trust add "$PKI/root.pem";      contains "$T/out" "trusted"
expect 0 "$BIN" trust add "$PKI/root.pem";      contains "$T/out" "known"
expect 4 "$BIN" trust add "$PKI/bob.pem"
expect 0 "$BIN" trust list;                     contains "$T/out" "Test Root CA"
ROOT=$(fp "$PKI/root.pem")
expect 0 "$BIN" trust remove "${ROOT:0:8}"
expect 0 "$BIN" trust list --json;              contains "$T/out" "[]"
expect 1 "$BIN" trust remove "${ROOT:0:8}"

# --- harvested (empty store of harvests) prints and exits 0
expect 0 "$BIN" harvested;                      contains "$T/out" "no harvests"
expect 0 "$BIN" harvested --json --hours 48;    contains "$T/out" '"warnings"'

# --- trust add names the kind of anchor; all three kinds are anchors
expect 0 "$BIN" trust add "$PKI/root.pem";      contains "$T/out" "(self-signed root CA)"
expect 0 "$BIN" trust add "$PKI/inter.pem";     contains "$T/out" "(intermediate CA)"
expect 0 "$BIN" trust add --force "$PKI/carol.pem"; contains "$T/out" "(end-entity certificate)"
CAROL=$(fp "$PKI/carol.pem")
expect 0 "$BIN" trust remove "${CAROL:0:11}"

# --- local CRLs: import (verified against a trust anchor or --issuer), a newer one replaces, list, remove
# mkcrl OUT LASTUPDATE NEXTUPDATE: an empty CRL signed by the test intermediate
mkcrl() {
  local d=$T/ca.$RANDOM
  mkdir -p "$d" && : > "$d/index.txt" && echo 01 > "$d/crlnumber"
  printf '[ca]\ndefault_ca = x\n[x]\ndatabase = %s/index.txt\ncrlnumber = %s/crlnumber\ndefault_md = sha256\n' \
    "$d" "$d" > "$d/cnf"
  openssl ca -config "$d/cnf" -gencrl -cert "$PKI/inter.pem" -keyfile "$PKI/inter.key" \
    -crl_lastupdate "$2" -crl_nextupdate "$3" -out "$1" 2> "$d/log" || { cat "$d/log" >&2; return 1; }
}
INTER=$(fp "$PKI/inter.pem")
expect 0 "$BIN" trust remove "${INTER:0:11}"
expect 4 "$BIN" crl import "$PKI/crl.pem";      one_line_stderr; contains "$T/err" "--issuer FILE"
expect 4 "$BIN" crl import --issuer "$PKI/root.pem" "$PKI/crl.pem"; contains "$T/err" "no certificate of that name"
expect 0 "$BIN" crl import --issuer "$PKI/inter.pem" "$PKI/crl.der"
contains "$T/out" "imported CRL of CN=smime-milter Test Intermediate CA"; contains "$T/out" "1 entry"
contains "$T/out" "$INTER"; contains "$T/out" "nextUpdate 20"
g0=$(q "SELECT generation FROM store_generation")
expect 0 "$BIN" trust add "$PKI/inter.pem"     # from here on the anchor verifies it
expect 0 "$BIN" crl import "$PKI/crl.pem";      contains "$T/out" "known CRL of"   # the same CRL in PEM
mkcrl "$T/old.crl" 20200101000000Z 20200201000000Z
expect 4 "$BIN" crl import "$T/old.crl";        one_line_stderr; contains "$T/err" "as new or newer"
mkcrl "$T/new.crl" "$(date -u -d '+1 minute' +%Y%m%d%H%M%SZ)" "$(date -u -d '+30 days' +%Y%m%d%H%M%SZ)"
expect 0 "$BIN" crl import - < "$T/new.crl";    contains "$T/out" "replaced CRL of"; contains "$T/out" "0 entries"
contains "$T/out" "(was thisUpdate"
[ "$(q "SELECT generation FROM store_generation")" -gt "$g0" ] || fail "crl import: the change counter did not move"
expect 3 "$BIN" crl import "$PKI/alice.pem";    one_line_stderr; contains "$T/err" "not a CRL"
expect 3 "$BIN" crl import "$T/missing.crl";    one_line_stderr
expect 0 "$BIN" crl list;                       contains "$T/out" "$INTER"; contains "$T/out" "0 entries"
expect 0 "$BIN" crl list --json;                contains "$T/out" '"entries": 0'; contains "$T/out" '"issuer_fingerprint"'
[ "$(q "SELECT COUNT(*) FROM local_crls")" = 1 ] || fail "local_crls: want 1 row"
expect 2 "$BIN" crl frobnicate
expect 2 "$BIN" crl list --issuer "$PKI/inter.pem"
expect 1 "$BIN" crl remove DEADBEEF;            one_line_stderr; contains "$T/err" "crl list"
expect 0 "$BIN" crl remove "${INTER:0:11}";     contains "$T/out" "removed the CRL of issuer $INTER"
expect 0 "$BIN" crl list --json;                contains "$T/out" "[]"

# --- certificates revoked by hand: revoke FILE|FINGERPRINT, again, unrevoke, revoked; seen by `revocation`
BOB=$(fp "$PKI/bob.pem") DAVE=$(fp "$PKI/dave.pem")
expect 2 "$BIN" revoke "$PKI/bob.pem";          one_line_stderr; contains "$T/err" "keyCompromise"
expect 2 "$BIN" revoke "$PKI/bob.pem" --reason stolen
expect 2 "$BIN" revoke "$PKI/bob.pem" --reason keyCompromise --comment "$(printf 'two\nlines')"
expect 0 "$BIN" revoke "$PKI/bob.pem" --reason keyCompromise --comment "key on a lost laptop"
contains "$T/out" "revoked $BOB CN=Bob"; contains "$T/out" "(keyCompromise)"
expect 0 "$BIN" revoke "${BOB:0:11}" --reason superseded;  contains "$T/out" "updated $BOB"
expect 0 "$BIN" revoke "$(echo "$DAVE" | tr -d :)" --reason unspecified   # a fingerprint not in the store
contains "$T/out" "revoked $DAVE (unspecified)"
expect 1 "$BIN" revoke ABCDEF12 --reason unspecified    # a prefix must name a stored certificate
expect 3 "$BIN" revoke "$T/missing.pem" --reason unspecified
expect 0 "$BIN" revoked;                        contains "$T/out" "$BOB  superseded"; contains "$T/out" "(not in the store)"
expect 0 "$BIN" revoked --json;                 contains "$T/out" '"reason": "unspecified"'; contains "$T/out" '"comment": ""'
[ "$(q "SELECT COUNT(*) FROM revoked_certificates")" = 2 ] || fail "revoked_certificates: want 2 rows"
# the milter's configuration names the store too (--config: the store's location, as -c)
if [ -n "$PG" ]; then where="\"url\": \"$URL\""; else where="\"path\": \"$SMIME_KEYSTORE\""; fi
echo "{\"keystore\": {$where}, \"revocation\": {\"cache_directory\": \"$T/revcache\", \"connect_timeout\": \"1s\", \"timeout\": \"2s\"}}" \
  > "$T/milter.json"
expect 6 "$BIN" revocation --config "$T/milter.json" "$PKI/bob.pem"
contains "$T/out" "source  local"; contains "$T/out" "revoked locally (superseded)"; contains "$T/out" "refused: revoked"
expect 6 "$BIN" revocation --config "$T/milter.json" --cached "$PKI/dave.pem"; contains "$T/out" "revoked locally"
expect 0 "$BIN" unrevoke "${BOB:0:11}" "$PKI/dave.pem"; contains "$T/out" "unrevoked $BOB"; contains "$T/out" "unrevoked $DAVE"
expect 1 "$BIN" unrevoke "${BOB:0:11}";        one_line_stderr; contains "$T/err" "smime-keystore revoked"
expect 0 "$BIN" revoked --json;                 contains "$T/out" "[]"
# ...and a local CRL answers for certificates that name no distribution point
expect 0 "$BIN" crl import "$PKI/crl.der"
expect 6 "$BIN" revocation --config "$T/milter.json" "$PKI/revoked.pem"
contains "$T/out" "by the local CRL of CN=smime-milter Test Intermediate CA"
expect 0 "$BIN" revocation --config "$T/milter.json" "$PKI/bob.pem"; contains "$T/out" "good by the local CRL"
expect 0 "$BIN" crl remove "${INTER:0:11}"
expect 0 "$BIN" trust remove "${INTER:0:11}"
expect 0 "$BIN" trust remove "$(fp "$PKI/root.pem" | cut -c1-11)"

# --- generate
expect 0 "$BIN" generate --cn "GW" --org Example --country DE --email gw@example.org --dns example.org \
  --key-type ec --usage both --days 10 --key-out "$T/gw.key" --out "$T/gw.pem"
[ "$(stat -c %a "$T/gw.key")" = 600 ] || fail "generated key mode want 600"
openssl x509 -in "$T/gw.pem" -noout -ext keyUsage,extendedKeyUsage > "$T/ext" 2>&1
contains "$T/ext" "Key Agreement"; contains "$T/ext" "Digital Signature"; contains "$T/ext" "E-mail Protection"
expect 0 "$BIN" generate --cn Enc --email enc@example.org --usage encrypt --key-size 2048 --key-out "$T/enc.key" --out "$T/enc.pem"
openssl x509 -in "$T/enc.pem" -noout -ext keyUsage > "$T/ext" 2>&1
contains "$T/ext" "Key Encipherment"
if grep -q "Digital Signature" "$T/ext"; then fail "encryption-only cert has digitalSignature"; fi
expect 0 "$BIN" generate --csr --cn Req --email req@example.org --key-type ec --key-out "$T/req.key" --out "$T/req.csr"
openssl req -in "$T/req.csr" -noout -verify > /dev/null 2>&1 || fail "CSR does not verify"
expect 3 "$BIN" generate --cn X --key-out "$T/gw.key";  contains "$T/err" "will not overwrite"
expect 0 "$BIN" generate --cn Self --email self-gen@example.org --key-size 2048 --import --out "$T/self.pem"
expect 0 "$BIN" lookup --sign self-gen@example.org
expect 2 "$BIN" generate --cn X --country Germany --key-out "$T/x.key"
expect 2 "$BIN" generate --cn X
[ "$(stat -c %a "$T/gw.pem")" = 644 ] || fail "generated certificate mode want 644 got $(stat -c %a "$T/gw.pem")"
# No output file is written through a symbolic link (one planted where the output goes).
ln -s "$T/planted-target" "$T/link.pem"
expect 3 "$BIN" generate --cn L --email l@example.org --key-type ec --key-out "$T/l.key" --out "$T/link.pem"
contains "$T/err" "symbolic link"
ln -s "$T/planted-key" "$T/link.key"
expect 3 "$BIN" generate --cn L --email l@example.org --key-type ec --key-out "$T/link.key" --out "$T/l2.pem"
expect 3 "$BIN" export --all --out "$T/link.pem"; contains "$T/err" "symbolic link"
[ ! -e "$T/planted-target" ] && [ ! -e "$T/planted-key" ] || fail "a file was written through a symbolic link"
expect 0 "$BIN" export --all --out "$T/all.pem"  # an existing regular file is replaced
[ "$(grep -c "BEGIN CERTIFICATE" "$T/all.pem")" = "$(q "SELECT COUNT(*) FROM certificates")" ] \
  || fail "export --all over an existing file"

# --- copy: the whole store to a new SQLite file (and, on PostgreSQL, back to a new database), verified
n_certs=$(q "SELECT COUNT(*) FROM certificates")
n_keys=$(q "SELECT COUNT(*) FROM private_keys")
src=${SMIME_KEYSTORE_URL:-${SMIME_KEYSTORE:-}}
expect 0 "$BIN" copy --from "$src" --to "$T/copied.db"; contains "$T/out" "verified"
contains "$T/out" "$n_certs certificates ($n_keys with private keys)"
[ "$(sqlite3 "$T/copied.db" "SELECT COUNT(*) FROM certificates")" = "$n_certs" ] || fail "copy: certificate count"
[ "$(sqlite3 "$T/copied.db" "SELECT group_concat(fingerprint) FROM (SELECT fingerprint FROM certificates ORDER BY fingerprint)")" \
  = "$(q "SELECT string_agg(fingerprint, ',') FROM (SELECT fingerprint FROM certificates ORDER BY fingerprint) f" 2>/dev/null \
       || q "SELECT group_concat(fingerprint) FROM (SELECT fingerprint FROM certificates ORDER BY fingerprint)")" ] \
  || fail "copy: fingerprints differ"
[ "$(stat -c %a "$T/copied.db")" = 600 ] || fail "copy: new SQLite file mode want 600"
expect 0 "$BIN" --store "$T/copied.db" lookup --sign gateway@example.com
expect 5 "$BIN" copy --from "$src" --to "$T/copied.db"; contains "$T/err" "not empty"
expect 5 "$BIN" copy --from "$T/missing.db" --to "$T/new.db"
expect 2 "$BIN" copy --from "$T/copied.db"
if [ -n "$PG" ]; then
  psql -X -q "$ADMIN" -c "CREATE DATABASE ${DB}_back" > /dev/null
  expect 0 "$BIN" copy --from "$T/copied.db" --to "postgresql://postgres@/${DB}_back?host=$(sed 's/.*host=\([^ ]*\).*/\1/' "$PG/conninfo")&port=$(cat "$PG/port")"
  contains "$T/out" "verified"
  [ "$(psql -X -qtA "$ADMIN dbname=${DB}_back" -c "SELECT COUNT(*) FROM private_keys WHERE encrypted")" = 1 ] \
    || fail "copy back: the encrypted key is not stored encrypted"
  expect 0 "$BIN" --url "$ADMIN dbname=${DB}_back" lookup --sign gateway@example.com
fi

# --- database roles (smime-keystore(1), DATABASE ROLES): the milter's role reads keys, the admin's not
if [ -n "$PG" ]; then
  M=${DB}_milter A=${DB}_admin
  psql -X -q -v ON_ERROR_STOP=1 "$URL" > "$T/grants.out" 2>&1 <<SQL || fail "GRANTs: $(cat "$T/grants.out")"
CREATE ROLE $M LOGIN;
CREATE ROLE $A LOGIN;
GRANT USAGE ON SCHEMA public TO $M, $A;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO $M;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO $M, $A;
GRANT SELECT, INSERT, UPDATE, DELETE ON certificates, certificate_emails, certificate_domains,
  trust_anchors, harvest_log, warnings, store_generation, revocation_cache, revocation_fetches,
  local_crls, revoked_certificates TO $A;
GRANT SELECT ON schema_version TO $A;
GRANT SELECT (cert_id), INSERT, UPDATE, DELETE ON private_keys TO $A;
SQL
  expect 0 "$BIN" --url "$URL user=$A" list --identities;   contains "$T/out" "gateway@example.com"
  expect 0 "$BIN" --url "$URL user=$A" lookup --sign gateway@example.com
  expect 0 "$BIN" --url "$URL user=$A" import "$PKI/alice.pem"
  expect 0 "$BIN" --url "$URL user=$A" trust add "$PKI/root.pem"
  expect 0 "$BIN" --url "$URL user=$A" import --key "$PKI/bob.key" "$PKI/bob.pem"   # writes a key, blind
  expect 0 "$BIN" --url "$URL user=$A" harvested
  expect 0 "$BIN" --url "$URL user=$A" crl import --issuer "$PKI/inter.pem" "$PKI/crl.der"
  expect 0 "$BIN" --url "$URL user=$A" revoke "$PKI/bob.pem" --reason keyCompromise
  expect 0 "$BIN" --url "$URL user=$A" revoked;    contains "$T/out" "keyCompromise"
  expect 0 "$BIN" --url "$URL user=$M" crl list;   contains "$T/out" "1 entry"
  if psql -X -qtA "$URL user=$A" -c "SELECT key_pem FROM private_keys" > "$T/keys" 2>&1; then
    fail "the admin role can read private keys"
  fi
  contains "$T/keys" "permission denied"
  [ "$(psql -X -qtA "$URL user=$M" -c "SELECT COUNT(*) FROM private_keys")" -ge 3 ] || fail "the milter role cannot read keys"
  expect 0 "$BIN" --url "$URL user=$M" lookup --sign gateway@example.com
fi

# --- -c/--config: the store and the key passphrase from the milter's configuration (no environment)
echo milter-kek > "$T/milter.kek"
chmod 600 "$T/milter.kek"
printf '{ "keystore": { %s, "key_passphrase_file": "%s" } }\n' "$where" "$T/milter.kek" > "$T/gw.json"
printf '{ "keystore": { %s, "key_passphrase_file": "%s" } }\n' "$where" "$T/missing.kek" > "$T/nokek.json"
noenv=(env -u SMIME_KEYSTORE -u SMIME_KEYSTORE_URL -u SMIME_KEYSTORE_KEY_PASS_FILE)
expect 0 "${noenv[@]}" "$BIN" -c "$T/gw.json" lookup carol@example.org; contains "$T/out" "$(fp "$PKI/carol.pem")"
expect 0 "${noenv[@]}" "$BIN" lookup carol@example.org --config "$T/gw.json"
expect 0 "${noenv[@]}" "$BIN" --config="$T/gw.json" list; contains "$T/out" "carol@example.org"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/cfg.key" -subj "/CN=Config" -days 30 \
  -addext "subjectAltName=email:config@example.org" -addext "keyUsage=critical,digitalSignature,keyEncipherment" \
  -addext "extendedKeyUsage=emailProtection" -addext "basicConstraints=critical,CA:FALSE" -out "$T/cfg.pem" 2>/dev/null
encrypted_keys() { q "SELECT COUNT(*) FROM private_keys WHERE encrypted AND key_pem LIKE '%ENCRYPTED PRIVATE KEY%'"; }
before=$(encrypted_keys)
# the milter's passphrase file is read only when a key is stored
expect 0 "${noenv[@]}" "$BIN" -c "$T/nokek.json" import --purpose sign "$PKI/dave.pem"
expect 3 "${noenv[@]}" "$BIN" -c "$T/nokek.json" import --key "$T/cfg.key" "$T/cfg.pem"; one_line_stderr
contains "$T/err" "missing.kek"
expect 0 "${noenv[@]}" "$BIN" -c "$T/gw.json" import --key "$T/cfg.key" "$T/cfg.pem"
[ "$(encrypted_keys)" = $((before + 1)) ] || fail "-c: the identity's key is not stored encrypted with the milter's passphrase"
[ -z "$(grep -F 'unencrypted' "$T/err")" ] || fail "-c: a note says the key was stored unencrypted"
printf '{ "keystore": { "path": 5 } }\n' > "$T/bad.json"
expect 3 "${noenv[@]}" "$BIN" -c "$T/bad.json" list; one_line_stderr; contains "$T/err" "keystore.path"
expect 2 "$BIN" -c "$T/gw.json" list --config "$T/bad.json"; one_line_stderr

if [ "$failures" -ne 0 ]; then echo "$failures check(s) failed" >&2; exit 1; fi
echo "all CLI checks passed"
