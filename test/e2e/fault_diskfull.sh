#!/usr/bin/env bash
# shellcheck disable=SC2317  # check functions are called indirectly through check
# Fault test: the milter's spool directory on a small file system (a 2 MiB tmpfs, mounted in a mount
# namespace of our own when we can, else mounted here and unmounted on exit). spool.memory_limit is
# 64 KiB: smaller messages stay in memory, larger ones are spooled.
#  - a small (4 KiB) and a medium (300 KiB, spooled) message are signed;
#  - a big one (4 MiB) cannot be spooled: 451 with the queue id in the reply, nothing delivered; while it
#    is being refused, small messages in other sessions are signed (they keep flowing);
#  - after it the spool has its space back (the medium one is signed again);
#  - the file system filled up by another file: the medium message gets 451, small ones are still
#    signed; the file removed, the medium one is signed again;
#  - at the end the spool directory is empty (no spool file left behind), the milter is the process
#    started at the beginning, and every delivered message verifies with openssl against the test root.
#   fault_diskfull.sh SMIME_MILTER SMIME_KEYSTORE SMIME_TOOL PKI_DIR
# Needs root (a mount), postfix and openssl (exit 77 = skipped). Bounded: every wait has a limit.
MILTER=$1 KEYSTORE=$2 TOOL=$3 PKI=$4
command -v openssl > /dev/null || { echo "SKIP: openssl missing"; exit 77; }
E2E_UNSHARE="net mount"
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
cp -r "$PKI" "$D/pki" || fatal "copy the PKI"
PKI=$D/pki

# ---- the small spool file system
mkdir -p "$D/spool"
mount -t tmpfs -o size=2m,mode=0700 tmpfs "$D/spool" || fatal "mount a 2 MiB tmpfs on the spool directory"
case ${E2E_UNSHARED:-} in *mount*) echo "# spool: 2 MiB tmpfs in a mount namespace of our own" ;;
  *) at_exit "umount $D/spool"; echo "# spool: 2 MiB tmpfs (no mount namespace: unmounted on exit)" ;; esac
spool_used_kib() { df -k --output=used "$D/spool" | tail -n 1 | tr -d ' '; }

# ---- keystore, milter, Postfix
cat "$PKI/gw-new.pem" "$PKI/inter.pem" > "$D/gw-bundle.pem"
"$KEYSTORE" --store "$D/keystore.db" import "$D/gw-bundle.pem" --key "$PKI/gw-new.key" > "$D/ks.log" 2>&1 \
  || fatal "keystore import gw-new"
cat > "$D/milter.json" <<JSON
{
  "listen": "unix:$D/milter.sock",
  "daemon": { "allow_root": true, "socket_group": "postfix", "comment": "the test runs as root; smtpd (group postfix) connects" },
  "spool": { "directory": "$D/spool", "memory_limit": "64K" },
  "keystore": { "path": "$D/keystore.db" },
  "log": { "level": "info" },
  "revocation": { "enabled": false },
  "profiles": { "sign": { "mode": "sign", "sign_mode": "detached" } },
  "outbound": { "default_profile": "sign" }
}
JSON
start_milter "$D/milter.json"
first_milter=$milter_pid
start_sink
start_postfix --size-limit 52428800

# ---- messages: NAME SIZE — $D/NAME.wire, base64 lines, a subject naming it
make_message() {
  {
    printf 'From: User <user@example.com>\nTo: bob@example.org\nSubject: disk full test %s\n' "$1"
    printf 'MIME-Version: 1.0\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n'
    head -c "$2" /dev/urandom | base64 -w 76
  } > "$D/$1.msg"
  wire "$D/$1.msg" "$D/$1.wire"
}
make_message small 3000
make_message medium 230000
make_message big 3000000
declare -A REPLY_OF
n_delivered=0
# send TAG NAME WANT — NAME.wire in its own session; the reply kept as REPLY_OF[TAG], checked against WANT
send() {
  local r
  r=$(smtp_send "$D/$2.wire" bob@example.org)
  REPLY_OF[$1]=$r
  case $r in "$3"*) ok "$1: $2 message answered $3 ($r)" ;; *) notok "$1: $2 message answered $3 (got: $r)" ;; esac
  case $r in 250*) n_delivered=$((n_delivered + 1)) ;; esac
}
has_queue_id() { echo "${REPLY_OF[$1]}"; [[ ${REPLY_OF[$1]} == *"queue id "[0-9A-F]* ]]; }

smtp_open; exec 3<&-  # Postfix listens
send "before" small 250
send "before" medium 250
check "before: the medium message was spooled (the milter logged spooled=yes)" grep -q 'spooled=yes' "$D/milter.log"

# the big message, and small ones in other sessions meanwhile
(smtp_send "$D/big.wire" bob@example.org > "$D/big.reply") &
big_pid=$!
for i in 1 2 3 4 5; do send "during big #$i" small 250; done
wait "$big_pid"
REPLY_OF[big]=$(cat "$D/big.reply")
case ${REPLY_OF[big]} in 451*) ok "big: 451 (${REPLY_OF[big]})" ;; *) notok "big: 451 wanted (got: ${REPLY_OF[big]})" ;; esac
check "big: the reply names the queue id" has_queue_id big
check "big: the milter logged why (spool)" grep -q -i -E 'spool|No space' "$D/milter.log"
check "after big: nothing is left in the spool ($(spool_used_kib) KiB used)" test "$(spool_used_kib)" -lt 64
send "after big" medium 250
send "after big" small 250

# another file fills the spool's file system
dd if=/dev/zero of="$D/spool/filler" bs=64k > /dev/null 2>&1  # until ENOSPC
check "filler: the spool file system is full ($(spool_used_kib) KiB used)" test "$(spool_used_kib)" -ge 1900
send "full" medium 451
check "full: the medium message's reply names the queue id" has_queue_id "full"
send "full" small 250
rm -f "$D/spool/filler"
send "freed" medium 250
send "freed" small 250

# ---- delivered: every accepted message, each signed and verified by openssl; the big one and the
# refused medium one not at all
wait_sink "$n_delivered" 60
check "$n_delivered messages delivered" test "$(sink_count)" -eq "$n_delivered"
all_verified() {
  local f n=0
  for f in "$D"/sink/*; do
    [ -f "$f" ] || continue
    grep -q '^Subject: disk full test big' "$f" && { echo "the big message was delivered: $f"; return 1; }
    timeout 30 openssl cms -verify -in "$f" -CAfile "$PKI/root.pem" -out "$D/content" > /dev/null 2> "$D/v.err" \
      || { echo "$f: $(cat "$D/v.err")"; return 1; }
    n=$((n + 1))
  done
  echo "$n verified"
}
check "every delivered message signed and verified by openssl (none of them the big one)" all_verified
check "the spool directory is empty at the end" test -z "$(ls -A "$D/spool")"
check "the milter is still the process started first (pid $first_milter)" test "$milter_pid" = "$first_milter"
check "the milter runs" milter_alive
[ "$FAILED" -eq 0 ] || show_logs
echo "# run time: $SECONDS s"
finish
