#!/usr/bin/env bash
# The real daemon started as an administrator starts it, without an MTA:
#  - started as root with -u nobody: it runs as nobody with no capability (/proc/PID/status), its socket
#    and pid file are nobody's, -n says the same, and root without --allow-root is refused (exit 78);
#  - its counters on metrics.listen (loopback): HTTP GET /metrics, and smime-milter --stats;
#  - a second daemon on the same socket, or with the same pid file, is refused (exit 3);
#  - SIGTERM stops it within 1 s, and it removes its socket and its pid file; a message in flight at
#    the stop (milter_client.pl, the MTA's side of the protocol) is finished first;
#  - start-up refuses a missing keystore with the same line as -n (exit 78);
#  - without -c it reads /etc/smime-milter/smime-milter.json and, started from /, makes nothing in ./var;
#  - --keys lists the configuration keys.
#   daemon_test.sh SMIME_MILTER SMIME_KEYSTORE PKI_DIR
set -uo pipefail
milter=$(readlink -f "$1") keystore=$(readlink -f "$2") pki=$3
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (the switch to another account)"; exit 77; }
D=$(mktemp -d /tmp/smime-daemon.XXXXXX)
chmod 755 "$D"
started=()
cleanup() {
  local p
  for p in "${started[@]}"; do kill "$p" 2> /dev/null; done
  wait 2> /dev/null
  if [ "$failures" -ne 0 ] && [ -f "$D/milter.log" ]; then echo "# --- the daemon's log"; sed 's/^/#   /' "$D/milter.log"; fi
  [ -n "${KEEP:-}" ] && echo "kept $D" || rm -rf "$D"
}
failures=0
trap cleanup EXIT
check() {  # check NAME WANT GOT
  if [ "$2" != "$3" ]; then echo "FAIL $1: want: $2, got: $3"; failures=$((failures + 1)); else echo "ok   $1"; fi
}
wait_for_socket() {  # wait_for_socket PATH PID: 0 once it is there, 1 when the daemon died or 10 s passed
  local _
  for _ in $(seq 100); do
    [ -S "$1" ] && return 0
    kill -0 "$2" 2> /dev/null || return 1
    sleep 0.1
  done
  return 1
}

# The state of the service account nobody: keystore with the gateway identity, spool, socket directory.
mkdir -p "$D/state" "$D/spool" "$D/run"
cat "$pki/gw-new.pem" "$pki/inter.pem" > "$D/gw.pem"
"$keystore" --store "$D/state/ks.db" import "$D/gw.pem" --key "$pki/gw-new.key" > /dev/null 2>&1 || { echo "import failed"; exit 1; }
chown -R nobody:nogroup "$D/state" "$D/spool" "$D/run"
chmod 700 "$D/state" "$D/spool"
chmod 755 "$D/run"
metrics_port=$((30000 + $$ % 20000))
socket_group=""
if getent group postfix > /dev/null; then socket_group='"socket_group": "postfix",'; fi
cat > "$D/milter.json" << JSON
{
  "listen": "unix:$D/run/milter.sock",
  "daemon": { $socket_group "socket_mode": "0660" },
  "spool": { "directory": "$D/spool" },
  "keystore": { "path": "$D/state/ks.db" },
  "revocation": { "enabled": false, "comment": "no network in this test" },
  "metrics": { "listen": "127.0.0.1:$metrics_port" },
  "profiles": { "sign": { "mode": "sign" } },
  "outbound": { "default_profile": "sign" }
}
JSON

# ---- -n
"$milter" -c "$D/milter.json" -u nobody -n > "$D/n.out" 2> "$D/n.err"
check "-n -u nobody: exit 0" 0 $?
grep -q 'configuration OK (runs as nobody)' "$D/n.out"; check "-n says it runs as nobody" 0 $?
"$milter" -c "$D/milter.json" -n > /dev/null 2> "$D/n-root.err"
check "-n as root without -u or --allow-root: exit 78" 78 $?
grep -q 'error: refusing to run as root' "$D/n-root.err"; check "-n names the root refusal" 0 $?
"$milter" -c "$D/milter.json" -f > /dev/null 2> "$D/root.err"
check "start as root without -u or --allow-root: exit 78" 78 $?
grep -q 'refusing to run as root' "$D/root.err"; check "the start names the root refusal" 0 $?

# ---- the daemon as nobody
"$milter" -c "$D/milter.json" -f -u nobody -P "$D/run/milter.pid" > "$D/milter.log" 2>&1 &
pid=$!
started+=("$pid")
if ! wait_for_socket "$D/run/milter.sock" "$pid"; then
  echo "FAIL: the daemon did not start"; sed 's/^/#   /' "$D/milter.log"; exit 1
fi
uid=$(id -u nobody)
check "runs as nobody (real, effective, saved, fs uid)" "$uid $uid $uid $uid" "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$pid/status")"
check "no effective capability" 0000000000000000 "$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status")"
check "no permitted capability" 0000000000000000 "$(awk '/^CapPrm:/ { print $2 }' "/proc/$pid/status")"
check "no capability in the bounding set" 0000000000000000 "$(awk '/^CapBnd:/ { print $2 }' "/proc/$pid/status")"
check "no_new_privs" 1 "$(awk '/^NoNewPrivs:/ { print $2 }' "/proc/$pid/status")"
want_group=nogroup
[ -n "$socket_group" ] && want_group=postfix
check "socket: mode 660, owner nobody, group $want_group" "660 nobody $want_group" "$(stat -c '%a %U %G' "$D/run/milter.sock")"
for _ in $(seq 50); do [ -s "$D/run/milter.pid" ] && break; sleep 0.1; done
check "pid file holds the daemon's pid" "$pid" "$(cat "$D/run/milter.pid" 2> /dev/null)"
check "pid file is nobody's" nobody "$(stat -c '%U' "$D/run/milter.pid")"

# ---- the counters
{
  exec 3<> "/dev/tcp/127.0.0.1/$metrics_port" && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 && timeout 5 cat <&3 > "$D/get.out"
  exec 3<&-
} 2> /dev/null
check "GET /metrics: 200" "HTTP/1.0 200 OK" "$(head -n 1 "$D/get.out" | tr -d '\r')"
grep -q '^# TYPE smime_messages_total counter' "$D/get.out"; check "GET /metrics: smime_messages_total" 0 $?
grep -q '^smime_eom_duration_seconds_count 0' "$D/get.out"; check "GET /metrics: the latency histogram" 0 $?
"$milter" -c "$D/milter.json" --stats > "$D/stats.out"
check "--stats: exit 0" 0 $?
grep -q '^smime_messages_signed_total 0$' "$D/stats.out"; check "--stats prints the counters" 0 $?

# ---- a second daemon
"$milter" -c "$D/milter.json" -f -u nobody > /dev/null 2> "$D/second.err"
check "a second daemon on the same socket: exit 3" 3 $?
grep -q 'already listening on' "$D/second.err"; check "it says the socket is in use" 0 $?
sed "s|$D/run/milter.sock|$D/run/other.sock|; s|127.0.0.1:$metrics_port|127.0.0.1:$((metrics_port + 1))|" "$D/milter.json" > "$D/other.json"
"$milter" -c "$D/other.json" -f -u nobody -P "$D/run/milter.pid" > /dev/null 2> "$D/third.err"
check "a second daemon with the same pid file: exit 3" 3 $?
grep -q "held by a running smime-milter (pid $pid)" "$D/third.err"; check "it names the running daemon" 0 $?
[ -S "$D/run/milter.sock" ]; check "the first daemon's socket is still there" 0 $?

# ---- SIGTERM
t0=$(date +%s%N)
kill -TERM "$pid"
wait "$pid"
rc=$?
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
echo "#    stopped in $ms ms"
check "SIGTERM: exit 0" 0 "$rc"
check "SIGTERM: stopped within 1 s" yes "$([ "$ms" -lt 1000 ] && echo yes || echo "no ($ms ms)")"
[ -e "$D/run/milter.sock" ]; check "the socket is removed" 1 $?
[ -e "$D/run/milter.pid" ]; check "the pid file is removed" 1 $?
grep -q 'stopping signal=SIGTERM messages_in_flight=0' "$D/milter.log"; check "the stop is logged" 0 $?

# ---- SIGTERM while a message is in flight: it finishes (signed), then the daemon stops
"$milter" -c "$D/milter.json" -f -u nobody -P "$D/run/milter.pid" > "$D/milter2.log" 2>&1 &
pid=$!
started+=("$pid")
wait_for_socket "$D/run/milter.sock" "$pid" || { echo "FAIL: the daemon did not start again"; exit 1; }
perl "$(dirname "$0")/milter_client.pl" "$D/run/milter.sock" "$D/go" > "$D/client.out" 2>&1 &
client=$!
for _ in $(seq 100); do grep -q '^begun' "$D/client.out" && break; sleep 0.1; done
grep -q '^begun' "$D/client.out"; check "a message is in flight (before end of body)" 0 $?
kill -TERM "$pid"
sleep 0.5
kill -0 "$pid" 2> /dev/null; check "SIGTERM with a message in flight: the daemon waits for it" 0 $?
grep -q 'stopping signal=SIGTERM messages_in_flight=1' "$D/milter2.log"; check "... and says so" 0 $?
t0=$(date +%s%N)
touch "$D/go"
wait "$client"; check "the message in flight got its verdict" 0 $?
grep -q '^reply b' "$D/client.out"; check "... with the signed body (replbody)" 0 $?
grep -q '^reply c' "$D/client.out"; check "... accepted (continue)" 0 $?
wait "$pid"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
echo "#    stopped $ms ms after the message's end of body"
check "then it exits 0" 0 "$rc"
check "within 1 s of the message's end" yes "$([ "$ms" -lt 1000 ] && echo yes || echo "no ($ms ms)")"
[ -e "$D/run/milter.pid" ]; check "the pid file is removed" 1 $?
cat "$D/milter2.log" >> "$D/milter.log"

# ---- start-up refuses a missing keystore, with the line of -n
sed "s|$D/state/ks.db|$D/state/missing.db|" "$D/milter.json" > "$D/missing.json"
"$milter" -c "$D/missing.json" -u nobody -n > /dev/null 2> "$D/missing-n.err"
check "-n on a missing keystore: exit 78" 78 $?
"$milter" -c "$D/missing.json" -u nobody > /dev/null 2> "$D/missing-start.err"
check "start on a missing keystore: exit 78" 78 $?
line=$(sed -n 's/^.*: error: //p' "$D/missing-n.err" | head -n 1)
grep -qF "$line" "$D/missing-start.err"; check "start names the same problem as -n ($line)" 0 $?
[ -e "$D/run/milter.sock" ]; check "no socket left by a refused start" 1 $?

# ---- no -c: /etc/smime-milter/smime-milter.json; nothing made in ./var
if [ ! -e /etc/smime-milter/smime-milter.json ]; then
  (cd / && "$milter" -n > /dev/null 2> "$D/default.err")
  check "no -c: exit 78 without /etc/smime-milter/smime-milter.json" 78 $?
  grep -q '/etc/smime-milter/smime-milter.json' "$D/default.err"; check "no -c: names /etc/smime-milter/smime-milter.json" 0 $?
  [ -e /var/spool/milter.sock ] || [ -e /var/run/milter.sock ] || [ -d /var/keystore.db ]
  check "started from /: nothing made under /var" 1 $?
else
  echo "#    /etc/smime-milter/smime-milter.json exists here: the no -c case is not checked"
fi

"$milter" --keys > "$D/keys.out"
check "--keys: exit 0" 0 $?
grep -q '^daemon.pid_file' "$D/keys.out"; check "--keys lists daemon.pid_file" 0 $?

[ "$failures" -eq 0 ]
