#!/bin/bash
# kill9_test.sh SMIME_KEYSTORE_BIN PKI_DIR — kills `smime-keystore import` with SIGKILL in the middle of its
# transaction; the store must then open, pass SQLite's integrity check, and hold exactly the old state
# (or, for kills at random moments, the old or the new state — never anything in between).
set -uo pipefail
BIN=$1 PKI=$2
command -v sqlite3 > /dev/null || { echo "this test needs the sqlite3 command (apt install sqlite3)" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/ks-kill.XXXXXX")
trap 'rm -rf -- "$T"' EXIT
export SMIME_KEYSTORE=$T/ks.db
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# A bundle of N distinct certificates (one EC key, different names), and the old state: alice only.
N=30
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/k.pem" 2> /dev/null
for i in $(seq $N); do
  openssl req -x509 -key "$T/k.pem" -subj "/CN=bulk $i" -days 30 -addext "subjectAltName=email:bulk$i@example.org" \
    -addext "keyUsage=critical,digitalSignature,keyAgreement" -addext "extendedKeyUsage=emailProtection" \
    -addext "basicConstraints=critical,CA:FALSE" 2> /dev/null
done > "$T/bulk.pem"
[ "$(grep -c 'BEGIN CERTIFICATE' "$T/bulk.pem")" -eq $N ] || { echo "FAIL: could not make the bundle" >&2; exit 1; }
"$BIN" import "$PKI/alice.pem" > /dev/null || { echo "FAIL: initial import" >&2; exit 1; }

count() { sqlite3 "$SMIME_KEYSTORE" "SELECT COUNT(*) FROM certificates"; }
check_store() { # WANT... (acceptable certificate counts)
  local integrity got
  integrity=$(sqlite3 "$SMIME_KEYSTORE" "PRAGMA integrity_check")
  [ "$integrity" = ok ] || fail "integrity_check: $integrity"
  "$BIN" lookup alice@example.org > /dev/null 2>&1 || fail "lookup after kill does not work"
  got=$(count)
  for want in "$@"; do [ "$got" = "$want" ] && return 0; done
  fail "after kill: $got certificates, want one of: $*"
}

# 1. A kill surely inside the transaction: 100 ms pause after each certificate, killed after ~1 s.
SMIME_KEYSTORE_TEST_DELAY_MS=100 "$BIN" import "$T/bulk.pem" > "$T/out" 2>&1 &
PID=$!
sleep 1
grep -q "pausing inside the import transaction" "$T/out" || fail "the import had not started its transaction after 1 s"
kill -9 $PID
wait $PID 2> /dev/null
check_store 1

# 2. Kills at random moments of undelayed imports: old or new state, never a part.
for _ in $(seq 10); do
  "$BIN" import "$T/bulk.pem" > /dev/null 2>&1 &
  PID=$!
  sleep "0.0$((RANDOM % 10))"
  kill -9 $PID 2> /dev/null
  wait $PID 2> /dev/null
  check_store 1 $((N + 1))
  if [ "$(count)" != 1 ]; then  # back to the old state for the next round
    sqlite3 "$SMIME_KEYSTORE" "DELETE FROM certificates WHERE id IN (SELECT cert_id FROM certificate_emails WHERE email LIKE 'bulk%')"
  fi
done

# 3. Uninterrupted, the import lands whole.
"$BIN" import "$T/bulk.pem" > /dev/null || fail "import after the kills"
check_store $((N + 1))

if [ "$failures" -ne 0 ]; then echo "$failures check(s) failed" >&2; exit 1; fi
echo "kill -9: store intact, old or new state only"
