#!/usr/bin/env bash
# smime-milter's command line without an MTA: -n (configuration check), --process (dry run) and the
# exit codes of man/smime-milter.8. The signed dry-run output is verified with smime-tool. The dry run
# writes nothing to the keystore (no harvested certificate, no last-use mark) unless --commit: counted
# in the SQLite file with sqlite3.
#   dry_run_test.sh SMIME_MILTER SMIME_KEYSTORE SMIME_TOOL PKI_DIR
set -uo pipefail
milter=$1 keystore=$2 tool=$3 pki=$4
D=$(mktemp -d)
chmod 755 "$D"  # the MTA's user (postfix) must be able to reach a socket below it
trap 'rm -rf "$D"' EXIT
failures=0
check() {  # check NAME WANT GOT
  if [ "$2" != "$3" ]; then echo "FAIL $1: want: $2, got: $3"; failures=$((failures + 1)); else echo "ok   $1"; fi
}

cat "$pki/gw-new.pem" "$pki/inter.pem" > "$D/gw.pem"
"$keystore" --store "$D/ks.db" import "$D/gw.pem" --key "$pki/gw-new.key" >/dev/null 2>&1 || { echo "import failed"; exit 1; }
cat > "$D/good.json" <<JSON
{
  "listen": "inet:$((20000 + $$ % 20000))@127.0.0.1",
  "daemon": { "allow_root": true, "comment": "the test runs as root" },
  "spool": { "directory": "$D" },
  "keystore": { "path": "$D/ks.db" },
  "revocation": { "enabled": false, "comment": "the test PKI has no OCSP/CRL; revocation has its own tests" },
  "profiles": {
    "sign": { "mode": "sign" },
    "enc": { "mode": "encrypt", "missing_certificate": "bounce" }
  },
  "outbound": {
    "rules": [ { "match": { "header": [ { "name": "Subject", "contains": "[encrypt]" } ] }, "profile": "enc" } ],
    "default_profile": "sign"
  }
}
JSON
printf '{ "listen": "nowhere", "spool": { "memory_limt": "1M" } }\n' > "$D/bad.json"
printf 'From: u <user@example.com>\nTo: bob@example.org\nSubject: hello\n\nline one\n.dot line\n' > "$D/plain.eml"
printf 'From: u <user@example.com>\nTo: bob@example.org\nSubject: [encrypt] secret\n\nsecret\n' > "$D/secret.eml"

"$milter" --version >/dev/null; check "--version exits 0" 0 $?
"$milter" -c "$D/good.json" -n >/dev/null; check "-n on a valid file" 0 $?
"$milter" -c "$D/bad.json" -n 2> "$D/err"; check "-n on an invalid file: 78 (EX_CONFIG)" 78 $?
grep -q '\$.listen' "$D/err"; check "-n names \$.listen" 0 $?
grep -q '\$.spool.memory_limt' "$D/err"; check "-n names \$.spool.memory_limt" 0 $?
"$milter" -c "$D/good.json" --builtin-config -n 2>/dev/null; check "-c and --builtin-config together" 2 $?

# The built-in configuration (scripts/run): state under ./var, which must hold a keystore.
mkdir "$D/dev"
(cd "$D/dev" && "$milter" --builtin-config --allow-root -n) > /dev/null 2> "$D/builtin.err"
check "--builtin-config -n without ./var/keystore.db: 78" 78 $?
grep -q 'error: keystore ./var/keystore.db does not exist' "$D/builtin.err"; check "-n names the missing keystore" 0 $?
mkdir -p "$D/dev/var/run"
if getent group postfix > /dev/null; then chgrp postfix "$D/dev/var/run"; fi
chmod 2750 "$D/dev/var/run"  # as scripts/run makes it
"$keystore" --store "$D/dev/var/keystore.db" list > /dev/null 2>&1
(cd "$D/dev" && "$milter" --builtin-config --allow-root -n) > /dev/null 2> "$D/builtin.err"
check "--builtin-config -n on the layout of scripts/run" 0 $?
cat "$D/builtin.err"
"$milter" --bogus 2>/dev/null; check "unknown option" 2 $?
"$milter" --process "$D/plain.eml" 2>/dev/null; check "--process without --from/--rcpt" 2 $?
"$milter" -c "$D/good.json" --process "$D/missing.eml" --from user@example.com --rcpt bob@example.org 2>/dev/null
check "--process on a missing file" 7 $?

"$milter" -c "$D/good.json" --process "$D/plain.eml" --from user@example.com --rcpt bob@example.org \
  --client 127.0.0.1 > "$D/out" --out "$D/signed.eml"
check "--process signs: exit 0" 0 $?
grep -q '^# action=accept' "$D/out"; check "decision lines on stdout" 0 $?
"$tool" verify --ca "$pki/root.pem" "$D/signed.eml" "$D/content" 2>/dev/null; check "signed output verifies" 0 $?
grep -q '^\.dot line' "$D/content"; check "content kept" 0 $?

"$milter" -c "$D/good.json" --process "$D/secret.eml" --from user@example.com --rcpt bob@example.org \
  --client 127.0.0.1 > "$D/out2"
check "--process bounce: exit 4" 4 $?
grep -q '^# reply="550 5.7.1' "$D/out2"; check "the reply is printed" 0 $?
grep -q 'secret' "$D/out2"; check "no message printed for a reject" 1 $?

# ---- no side effects without --commit
"$keystore" --store "$D/ks.db" trust add "$pki/root.pem" > /dev/null 2>&1 || { echo "trust add failed"; exit 1; }
printf 'From: Alice <alice@example.org>\nTo: user@example.com\nSubject: signed by alice\n\nhello\n' > "$D/alice.eml"
"$tool" sign --cert "$pki/alice.pem" --key "$pki/alice.key" --chain "$pki/inter.pem" "$D/alice.eml" "$D/alice-signed.eml" 2>/dev/null \
  || { echo "smime-tool sign failed"; exit 1; }
harvested() { sqlite3 "$D/ks.db" "SELECT count(*) FROM certificates WHERE origin = 'harvested'"; }
used() { sqlite3 "$D/ks.db" "SELECT count(*) FROM certificates WHERE origin = 'imported' AND last_used IS NOT NULL"; }  # the gateway's
inbound() { "$milter" -c "$D/good.json" --process "$D/alice-signed.eml" --from alice@example.org --rcpt user@example.com --client 203.0.113.9 "$@"; }
outbound() { "$milter" -c "$D/good.json" --process "$D/plain.eml" --from user@example.com --rcpt bob@example.org --client 127.0.0.1 "$@"; }

inbound > "$D/in.out"; check "inbound dry run: exit 0" 0 $?
grep -q 'smime=pass' "$D/in.out"; check "inbound dry run: the signature verifies" 0 $?
check "inbound dry run: nothing harvested" 0 "$(harvested)"
inbound --commit > /dev/null; check "inbound dry run --commit: exit 0" 0 $?
check "inbound dry run --commit: alice's certificate harvested" 1 "$(harvested)"

check "before the outbound dry runs: the gateway certificate not marked used" 0 "$(used)"
outbound > /dev/null; check "outbound dry run: exit 0" 0 $?
check "outbound dry run: no last-use mark" 0 "$(used)"
outbound --commit > /dev/null; check "outbound dry run --commit: exit 0" 0 $?
check "outbound dry run --commit: the signing certificate is marked used" 1 "$(used)"
"$milter" -c "$D/good.json" -n --commit 2>/dev/null; check "--commit goes with --process only" 2 $?

[ "$failures" -eq 0 ]
