#!/bin/bash
# concurrency_test.sh SMIME_KEYSTORE_BIN PKI_DIR — one process imports and removes certificates in a loop
# while another looks up addresses in the same store. Every lookup must answer (0 or 1, never 5 "store
# error"/"database is locked"), and every import and removal must succeed.
set -uo pipefail
BIN=$1 PKI=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/ks-conc.XXXXXX")
trap 'rm -rf -- "$T"' EXIT
export SMIME_KEYSTORE=$T/ks.db
"$BIN" import "$PKI/alice.pem" > /dev/null || { echo "FAIL: initial import" >&2; exit 1; }
BOB=$(openssl x509 -in "$PKI/bob.pem" -noout -fingerprint -sha256 | cut -d= -f2)
ROUNDS=40

writer() {
  for _ in $(seq $ROUNDS); do
    "$BIN" import "$PKI/bob.pem" "$PKI/carol.pem" "$PKI/domain.pem" > /dev/null 2>> "$T/writer.err" || echo import >> "$T/writer.fail"
    "$BIN" remove "${BOB:0:11}" > /dev/null 2>> "$T/writer.err" || echo remove >> "$T/writer.fail"
    "$BIN" remove "$(openssl x509 -in "$PKI/carol.pem" -noout -fingerprint -sha256 | cut -d= -f2)" \
      "$(openssl x509 -in "$PKI/domain.pem" -noout -fingerprint -sha256 | cut -d= -f2)" > /dev/null 2>> "$T/writer.err" \
      || echo remove2 >> "$T/writer.fail"
  done
}
reader() {
  local n=0
  while [ ! -e "$T/writer.done" ]; do
    "$BIN" lookup alice@example.org > /dev/null 2>> "$T/reader.err" || echo "alice rc=$?" >> "$T/reader.fail"
    "$BIN" lookup bob@example.org > /dev/null 2>> "$T/reader.err"
    rc=$?
    [ $rc -eq 0 ] || [ $rc -eq 1 ] || echo "bob rc=$rc" >> "$T/reader.fail"
    n=$((n + 1))
  done
  echo $n > "$T/reader.count"
}

reader &
RPID=$!
writer
touch "$T/writer.done"
wait $RPID

status=0
if [ -s "$T/writer.fail" ]; then echo "FAIL: writer: $(sort "$T/writer.fail" | uniq -c | tr '\n' ' '): $(head -3 "$T/writer.err")" >&2; status=1; fi
if [ -s "$T/reader.fail" ]; then echo "FAIL: reader: $(sort "$T/reader.fail" | uniq -c | tr '\n' ' '): $(head -3 "$T/reader.err")" >&2; status=1; fi
lookups=$(cat "$T/reader.count" 2>/dev/null || echo 0)
if [ "$lookups" -lt 5 ]; then echo "FAIL: the reader ran only $lookups rounds: no real overlap" >&2; status=1; fi
[ $status -eq 0 ] && echo "concurrency: $ROUNDS write rounds, $lookups lookup rounds, no failures"
exit $status
