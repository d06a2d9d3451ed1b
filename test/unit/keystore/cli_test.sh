#!/bin/bash
# cli_test.sh SMIME_KEYSTORE_BIN PKI_DIR — runs the real smime-keystore on a temporary store and checks
# outputs, exit codes and what ends up in the store. Table-style: each check says want/got.
set -uo pipefail
BIN=$1 PKI=$2
command -v sqlite3 > /dev/null || { echo "this test needs the sqlite3 command (apt install sqlite3)" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/ks-cli.XXXXXX")
trap 'rm -rf -- "$T"' EXIT
export SMIME_KEYSTORE=$T/ks.db
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
[ "$(stat -c %a "$SMIME_KEYSTORE")" = 600 ] || fail "store mode want 600 got $(stat -c %a "$SMIME_KEYSTORE")"
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
[ "$(sqlite3 "$SMIME_KEYSTORE" "SELECT COUNT(*) FROM private_keys WHERE encrypted = 1 AND key_pem LIKE '%ENCRYPTED PRIVATE KEY%'")" = 1 ] \
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
n_stored=$(sqlite3 "$SMIME_KEYSTORE" "SELECT COUNT(*) FROM certificates")
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

if [ "$failures" -ne 0 ]; then echo "$failures check(s) failed" >&2; exit 1; fi
echo "all CLI checks passed"
