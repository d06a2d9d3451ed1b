#!/usr/bin/env bash
# shellcheck disable=SC2317  # check functions are called indirectly through check
# Fault test: the SQLite keystore fails under a running milter. The milter's smtpd is a relay hop (lib.sh
# start_postfix --entry): messages come in through an entry smtpd without milters and are relayed to it,
# so that what the milter tempfails stays queued in Postfix. failure_actions.keystore is the default
# (tempfail). Signing reads the store and takes no write transaction, so a writer's lock or a read-only
# file system does not stop outbound mail; a store that is gone does:
#  locked     another writer (the sqlite3 shell) holds BEGIN EXCLUSIVE longer than the store's busy
#             timeout (10 s): messages through the hop and direct ones are signed and delivered at once;
#  read-only  the keystore's directory mounted read-only (root ignores file modes): the same;
#  deleted    the database files removed (a copy put back afterwards): a message through the hop is
#             deferred with "451 4.7.0 certificate store unavailable" (Postfix keeps it), one sent to the
#             milter's smtpd directly gets that reply with the queue id; with failure_actions.keystore
#             reloaded (SIGHUP) to reject, the direct message gets 550 5.7.1 instead; the copy put back,
#             a flush delivers the queued message signed.
# At the end every message the entry accepted was delivered exactly once, signed, verified by openssl
# against the test root; the milter is the process started first.
#   fault_keystore.sh SMIME_MILTER SMIME_KEYSTORE SMIME_TOOL PKI_DIR
# Needs root, postfix, openssl and sqlite3 (exit 77 = skipped). Bounded: every wait has a limit.
MILTER=$1 KEYSTORE=$2 TOOL=$3 PKI=$4
for c in openssl sqlite3; do command -v $c > /dev/null || { echo "SKIP: $c missing"; exit 77; }; done
E2E_UNSHARE="net mount"
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
cp -r "$PKI" "$D/pki" || fatal "copy the PKI"
PKI=$D/pki
KS=$D/ks/keystore.db
mkdir -p "$D/ks" "$D/spool"
cat "$PKI/gw-new.pem" "$PKI/inter.pem" > "$D/gw-bundle.pem"
"$KEYSTORE" --store "$KS" import "$D/gw-bundle.pem" --key "$PKI/gw-new.key" > "$D/ks.log" 2>&1 || fatal "keystore import gw-new"
config() {  # config KEYSTORE-ACTION
  cat > "$D/milter.json.tmp" <<JSON
{
  "listen": "unix:$D/milter.sock",
  "daemon": { "allow_root": true, "socket_group": "postfix", "comment": "the test runs as root; smtpd (group postfix) connects" },
  "spool": { "directory": "$D/spool" },
  "keystore": { "path": "$KS" },
  "log": { "level": "info" },
  "revocation": { "enabled": false },
  "failure_actions": { "keystore": "$1" },
  "profiles": { "sign": { "mode": "sign", "sign_mode": "detached" } },
  "outbound": { "default_profile": "sign" }
}
JSON
  mv "$D/milter.json.tmp" "$D/milter.json"
}
reload() {  # reload KEYSTORE-ACTION — SIGHUP, wait for the milter to say so
  local n _
  n=$(grep -c 'reloaded config=' "$D/milter.log")
  config "$1"
  kill -HUP "$milter_pid"
  for _ in $(seq 100); do [ "$(grep -c 'reloaded config=' "$D/milter.log")" -gt "$n" ] && return 0; sleep 0.1; done
  fatal "the milter did not reload its configuration"
}
config tempfail
start_milter "$D/milter.json"
first_milter=$milter_pid
start_sink
start_postfix --entry
smtp_open; exec 3<&-

# ---- messages: through the hop (hop TAG: accepted by the entry, its queue id kept) or direct
declare -A QID
accepted=0
make_message() {  # make_message TAG — $D/TAG.wire
  printf 'From: User <user@example.com>\nTo: bob@example.org\nSubject: keystore fault %s\nMIME-Version: 1.0\nContent-Type: text/plain\n\nThe body of %s.\n' \
    "$1" "$1" > "$D/$1.msg"
  wire "$D/$1.msg" "$D/$1.wire"
}
hop() {
  local r
  make_message "$1"
  r=$(SEND_PORT=$entry_port smtp_send "$D/$1.wire" bob@example.org)
  case $r in
    "250 "*"queued as "*) QID[$1]=${r##* }; accepted=$((accepted + 1)); ok "$1: accepted by the entry (${QID[$1]})" ;;
    *) fatal "$1: the entry smtpd answered $r" ;;
  esac
}
# direct TAG WANT [MIN-SECONDS MAX-SECONDS] — to the milter's smtpd: the reply, and how long it took; a
# refusal names the queue id, an acceptance counts as accepted
direct() {
  local r t0 secs
  make_message "$1"
  t0=$(now_ms)
  r=$(SEND_TIMEOUT=45 smtp_send "$D/$1.wire" bob@example.org)
  secs=$((($(now_ms) - t0) / 1000))
  case $r in "$2"*) ok "$1: direct message answered $2 in $secs s ($r)" ;; *) notok "$1: direct message answered $2 (got: $r, $secs s)" ;; esac
  case $r in
    "250 "*) accepted=$((accepted + 1)) ;;
    *"queue id "[0-9A-F]*) ok "$1: the reply names the queue id" ;;
    *) notok "$1: the reply names the queue id ($r)" ;;
  esac
  if [ -n "${3:-}" ]; then
    check "$1: the reply came within $3..$4 s ($secs s)" test "$secs" -ge "$3" -a "$secs" -le "$4"
  fi
}
# wait_deferred TAG SECONDS — the hop deferred TAG's message with the keystore's 451
wait_deferred() {
  local q=${QID[$1]} i
  for i in $(seq $(($2 * 5))); do
    grep -q -E "postfix/smtp\[[0-9]+\]: $q: .*status=deferred .*451 4\.7\.0 certificate store unavailable" "$D/maillog" && break
    sleep 0.2
  done
  check "$1: the hop deferred it: 451 4.7.0 certificate store unavailable, kept in the queue" \
    sh -c "grep -E 'postfix/smtp\[[0-9]+\]: $q: .*status=deferred' '$D/maillog' | tail -n 1; [ -n \"\$(find '$D/queue' -name '$q' -type f)\" ]"
}
delivered() { grep -l -E "^Subject: keystore fault $1\r?$" "$D"/sink/* 2> /dev/null; }
wait_delivered() {  # wait_delivered TAG SECONDS
  local i
  for i in $(seq $(($2 * 5))); do [ -n "$(delivered "$1")" ] && break; sleep 0.2; done
  sleep 0.5
  check "$1: delivered once" test "$(delivered "$1" | wc -l)" -eq 1
}
recover() {  # recover TAG... — flush (bounded); each TAG delivered
  local t
  check "recovery: the queue empties after a flush" flush_queue_wait 60
  for t in "$@"; do wait_delivered "$t" 20; done
}

# ---- baseline
hop baseline
wait_delivered baseline 30

# ---- locked by another writer past the busy timeout
mkfifo "$D/lock.in"
sqlite3 "$KS" < "$D/lock.in" > "$D/lock.out" 2>&1 &
lock_pid=$!
at_exit "kill $lock_pid"
exec 5> "$D/lock.in"
echo "BEGIN EXCLUSIVE; SELECT 'locked';" >&5
for _ in $(seq 50); do grep -q locked "$D/lock.out" && break; sleep 0.1; done
check "locked: the sqlite3 shell holds BEGIN EXCLUSIVE" grep -q locked "$D/lock.out"
hop locked
direct locked-direct "250 " 0 5
wait_delivered locked 30
wait_delivered locked-direct 30
echo "COMMIT;" >&5
exec 5>&-
wait "$lock_pid"

# ---- read-only: the keystore's directory mounted read-only
if mount --bind "$D/ks" "$D/ks" && mount -o remount,bind,ro "$D/ks"; then
  case ${E2E_UNSHARED:-} in *mount*) ;; *) at_exit "umount $D/ks" ;; esac
  touch "$D/ks/probe" 2> /dev/null && notok "read-only: the directory is still writable"
  hop read-only
  direct read-only-direct "250 "
  wait_delivered read-only 30
  wait_delivered read-only-direct 30
  umount "$D/ks" || fatal "umount the read-only keystore directory"
else
  notok "read-only: cannot bind-mount the keystore directory read-only"
fi

# ---- deleted while running; the configured action (reject) honoured; back from a copy
sqlite3 "$KS" ".backup '$D/keystore.copy'" || fatal "copy the keystore"
rm -f "$KS" "$KS-wal" "$KS-shm"
reload reject
direct deleted-reject "550 5.7.1"
reload tempfail
hop deleted
direct deleted-direct "451 4.7.0"
wait_deferred deleted 30
cp "$D/keystore.copy" "$KS"
recover deleted

# ---- nothing lost: every accepted message delivered once, signed
check "the queue is empty" test "$(queue_count)" -eq 0
check "$accepted messages delivered (the accepted ones, nothing else)" test "$(sink_count)" -eq "$accepted"
all_verified() {
  local f n=0
  for f in "$D"/sink/*; do
    timeout 30 openssl cms -verify -in "$f" -CAfile "$PKI/root.pem" -out "$D/content" > /dev/null 2> "$D/v.err" \
      || { echo "$f: $(cat "$D/v.err")"; return 1; }
    grep -q '^The body of ' "$D/content" || { echo "$f: the signed content lacks the body"; return 1; }
    n=$((n + 1))
  done
  echo "$n verified"
}
check "every delivered message signed, verified by openssl, body intact" all_verified
check "the milter is still the process started first" test "$milter_pid" = "$first_milter"
check "the milter runs" milter_alive
check "the milter logged the keystore failures (class=keystore)" grep -q 'class=keystore' "$D/milter.log"
[ "$FAILED" -eq 0 ] || show_logs
echo "# run time: $SECONDS s"
finish
