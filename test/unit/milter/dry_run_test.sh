#!/usr/bin/env bash
# smime-milter's command line without an MTA: -n (configuration check), --process (dry run) and the
# exit codes of man/smime-milter.8. The signed dry-run output is verified with smime-tool.
#   dry_run_test.sh SMIME_MILTER SMIME_KEYSTORE SMIME_TOOL PKI_DIR
set -uo pipefail
milter=$1 keystore=$2 tool=$3 pki=$4
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
failures=0
check() {  # check NAME WANT GOT
  if [ "$2" != "$3" ]; then echo "FAIL $1: want: $2, got: $3"; failures=$((failures + 1)); else echo "ok   $1"; fi
}

cat "$pki/gw-new.pem" "$pki/inter.pem" > "$D/gw.pem"
"$keystore" --store "$D/ks.db" import "$D/gw.pem" --key "$pki/gw-new.key" >/dev/null 2>&1 || { echo "import failed"; exit 1; }
cat > "$D/good.json" <<JSON
{
  "listen": "unix:$D/milter.sock",
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
"$milter" -c "$D/bad.json" -n 2> "$D/err"; check "-n on an invalid file" 1 $?
grep -q '\$.listen' "$D/err"; check "-n names \$.listen" 0 $?
grep -q '\$.spool.memory_limt' "$D/err"; check "-n names \$.spool.memory_limt" 0 $?
"$milter" -n >/dev/null; check "-n on the built-in default" 0 $?
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

[ "$failures" -eq 0 ]
