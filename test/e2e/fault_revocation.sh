#!/usr/bin/env bash
# shellcheck disable=SC2317  # check functions are called indirectly through check
# Fault test: misbehaving OCSP and CRL responders under a running milter, through a private Postfix.
# The revocation test PKI's certificates name fixed ports (OCSP http://127.0.0.1:28481/, CRL
# http://127.0.0.1:28480/inter.crl), so the script runs in a network namespace of its own when it can
# (ctest's RESOURCE_LOCK revocation_ports covers the shared one). Policy: encrypt, revocation.encrypt
# fail-closed, no_distribution_point good, connect_timeout 1 s, timeout 5 s, missing_certificate split.
# Recipients: good@revocation.test (rev-good: OCSP and CRL), revoked@revocation.test (rev-revoked,
# keyCompromise), alice@example.org (the test PKI: no revocation data, never fetched for).
# Phases, each with a fresh milter and cache: servers up (the real `openssl ocsp` and the CRL); silent
# (accept, never answer); refused (nothing listens); closing (accept and close); trickling (one byte a
# second); garbage (HTTP 200 with random bytes). In each:
#  - "before": messages to alice alone (the unaffected ones) are sent and timed;
#  - an affected message (alice + good, + revoked in the quick phases) is sent, and while the milter
#    waits on the responder (it has connected) more messages to alice are sent in other sessions and
#    timed: "during". Printed side by side. Asserted: not stalled behind the responder (each
#    unaffected message answered well within the responder's timeout, all of them before the affected
#    one in the slow phases) — a bound on blocking, not a speed test;
#  - the affected message: servers up: one copy encrypted to alice and good, a plain copy for revoked;
#    faults: good (and revoked) undetermined, so under fail-closed an encrypted copy for alice only and
#    a plain copy for the others; its time (the stall) is printed and bounded.
# At the end every delivered message is checked: every encrypted one's RecipientInfos (openssl cms
# -cmsout -print) never name rev-revoked, name rev-good only in the servers-up phase, and alice's key
# decrypts it; nothing is lost (every accepted recipient got exactly one copy).
#   fault_revocation.sh SMIME_MILTER SMIME_KEYSTORE SMIME_TOOL REVOCATION_TEST_SERVER PKI_DIR REV_PKI_DIR
# Needs root, postfix and openssl (exit 77 = skipped). About 80 s.
MILTER=$1 KEYSTORE=$2 TOOL=$3 SERVER=$4 PKI=$5 RPKI=$6
command -v openssl > /dev/null || { echo "SKIP: openssl missing"; exit 77; }
E2E_UNSHARE=net
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
cp -r "$PKI" "$D/pki" || fatal "copy the PKI"
cp -r "$RPKI" "$D/rpki" || fatal "copy the revocation PKI"
PKI=$D/pki RPKI=$D/rpki
CRL_PORT=28480 OCSP_PORT=28481 TIMEOUT_S=5
GOOD=good@revocation.test REVOKED=revoked@revocation.test ALICE=alice@example.org

# ---- the responders (stopped by PID)
ocsp_pid="" crl_pid=""
wait_port() {  # wait_port PORT free|listening
  local _
  for _ in $(seq 150); do
    if port_listening "$1"; then [ "$2" = listening ] && return 0; else [ "$2" = free ] && return 0; fi
    sleep 0.1
  done
  fatal "port $1 is not $2"
}
stop_servers() {
  local p
  for p in $ocsp_pid $crl_pid; do kill "$p" 2> /dev/null; done
  for p in $ocsp_pid $crl_pid; do wait "$p" 2> /dev/null; done
  ocsp_pid="" crl_pid=""
  wait_port $OCSP_PORT free
  wait_port $CRL_PORT free
}
at_exit stop_servers
test_server() {  # test_server PORT NAME ARGS... — its PID in $server_pid, its connection count in $D/NAME.count
  local port=$1 name=$2 _
  shift 2
  rm -f "$D/$name.count"
  "$SERVER" --listen "127.0.0.1:$port" --count "$D/$name.count" --max-seconds 280 "$@" > "$D/$name.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do [ -f "$D/$name.count" ] && return 0; sleep 0.1; done
  fatal "revocation-test-server $name did not start on $port: $(cat "$D/$name.log")"
}
head -c 3000 /dev/urandom > "$D/garbage.bin"
servers() {  # servers MODE
  stop_servers
  case $1 in
    up)
      test_server $CRL_PORT crl --root "$RPKI/crl/fresh" --mode serve; crl_pid=$server_pid
      timeout -k 5 280 openssl ocsp -index "$RPKI/index.txt" -port $OCSP_PORT -rsigner "$RPKI/ocsp.pem" \
        -rkey "$RPKI/ocsp.key" -CA "$RPKI/inter.pem" -ndays 1 -nrequest 1000 -ignore_err > "$D/ocsp.log" 2>&1 &
      ocsp_pid=$!
      wait_port $OCSP_PORT listening ;;
    silent | trickle | close)
      test_server $OCSP_PORT ocsp-$1 --mode "$1" --root "$RPKI/crl/fresh"; ocsp_pid=$server_pid
      test_server $CRL_PORT crl-$1 --mode "$1" --root "$RPKI/crl/fresh"; crl_pid=$server_pid ;;
    garbage)
      test_server $OCSP_PORT ocsp-garbage --mode serve --respond-with "$D/garbage.bin"; ocsp_pid=$server_pid
      test_server $CRL_PORT crl-garbage --mode serve --respond-with "$D/garbage.bin"; crl_pid=$server_pid ;;
    refused) ;;
  esac
}
# connections the faulty responders accepted so far (0 when nothing listens)
conns() { cat "$D"/ocsp-*.count "$D"/crl-*.count 2> /dev/null | awk '{ n += $1 } END { print n + 0 }'; }

# ---- keystore: the roots of trust and the recipients' certificates
KS=("$KEYSTORE" --store "$D/keystore.db")
{
  "${KS[@]}" trust add "$PKI/root.pem" && { "${KS[@]}" trust add "$RPKI/inter.pem" || "${KS[@]}" trust add --force "$RPKI/inter.pem"; } \
    && "${KS[@]}" import "$RPKI/rev-good.pem" && "${KS[@]}" import "$RPKI/rev-revoked.pem" && "${KS[@]}" import "$PKI/alice.pem"
} > "$D/ks.log" 2>&1 || { cat "$D/ks.log"; fatal "keystore setup"; }
serial() { openssl x509 -in "$1" -noout -serial | sed 's/.*=//; s/^0*//' | tr a-f A-F; }
S_GOOD=$(serial "$RPKI/rev-good.pem") S_REVOKED=$(serial "$RPKI/rev-revoked.pem") S_ALICE=$(serial "$PKI/alice.pem")

mkdir -p "$D/spool"
config() {  # config FILE CACHE-DIRECTORY
  cat > "$1" <<JSON
{
  "listen": "unix:$D/milter.sock",
  "daemon": { "allow_root": true, "socket_group": "postfix", "comment": "the test runs as root; smtpd (group postfix) connects" },
  "spool": { "directory": "$D/spool" },
  "keystore": { "path": "$D/keystore.db" },
  "log": { "level": "info" },
  "reinjection": { "host": "127.0.0.1", "port": $reinject_port, "timeout": "30s" },
  "revocation": { "enabled": true, "order": ["ocsp", "crl"], "encrypt": "fail-closed", "verify": "fail-closed",
                  "no_distribution_point": "good", "connect_timeout": "1s", "timeout": "${TIMEOUT_S}s",
                  "negative_cache": "5m", "cache_directory": "$2" },
  "profiles": { "split": { "mode": "encrypt", "missing_certificate": "split" } },
  "outbound": { "default_profile": "split" }
}
JSON
}
phase_milter() {  # phase_milter NAME — a fresh milter with a fresh cache
  stop_milter
  [ -f "$D/milter.log" ] && cat "$D/milter.log" >> "$D/milter-all.log"
  config "$D/$1.json" "$D/cache-$1"
  start_milter "$D/$1.json"
}
phase_milter first
start_sink
start_postfix --reinject
smtp_open; exec 3<&-

# ---- messages: msg TAG RCPT... — $D/TAG.wire; each recipient's copy is recognised by the subject
expected=0  # copies the sink must hold
msg() {
  local tag=$1
  shift
  printf 'From: User <user@example.com>\nTo: %s\nSubject: revocation fault %s\nMIME-Version: 1.0\nContent-Type: text/plain\n\nThe body of %s.\n' \
    "$(printf '<%s>, ' "$@" | sed 's/, $//')" "$tag" "$tag" > "$D/$tag.msg"
  wire "$D/$tag.msg" "$D/$tag.wire"
}
# timed TAG RCPT... — send, print "MS REPLY"; counts the copies of an accepted message
timed() {
  local tag=$1 t0 r
  shift
  msg "$tag" "$@"
  t0=$(now_ms)
  r=$(SEND_TIMEOUT=60 smtp_send "$D/$tag.wire" "$@")
  echo "$(($(now_ms) - t0)) $r"
}
unaffected() {  # unaffected PHASE WHEN N — N messages to alice, sequentially; their ms in LAT[PHASE-WHEN]
  local i out ms lat=""
  for i in $(seq "$3"); do
    out=$(timed "$1-$2-$i" $ALICE)
    ms=${out%% *}
    case ${out#* } in 250*) expected=$((expected + 1)) ;; *) notok "$1 $2: message to alice #$i answered ${out#* }" ;; esac
    lat+="$ms "
  done
  LAT[$1-$2]=$lat
}
max_of() { printf '%s\n' $1 | sort -n | tail -n 1; }
median_of() { printf '%s\n' $1 | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
declare -A LAT AFFECTED_MS AFFECTED_REPLY
# phase NAME SERVERS-MODE SLOW(yes|no) RCPT...
phase() {
  local name=$1 mode=$2 slow=$3 out last_done
  shift 3
  echo "# phase $name: responders $mode"
  servers "$mode"
  phase_milter "$name"
  unaffected "$name" before 3
  local before_conns; before_conns=$(conns)
  (timed "$name-affected" "$@" > "$D/$name.affected") &
  local apid=$!
  # wait until the milter is at the responder (a faulty responder counts the connection)
  if [ "$mode" != up ] && [ "$mode" != refused ]; then
    for _ in $(seq 100); do [ "$(conns)" -gt "$before_conns" ] && break; sleep 0.05; done
  else
    sleep 0.2
  fi
  unaffected "$name" during 4
  kill -0 "$apid" 2> /dev/null && last_done=pending || last_done=finished
  wait "$apid"
  out=$(cat "$D/$name.affected")
  AFFECTED_MS[$name]=${out%% *} AFFECTED_REPLY[$name]=${out#* }
  case ${AFFECTED_REPLY[$name]} in
    250*) ok "$name: the affected message (to $*) accepted in ${AFFECTED_MS[$name]} ms"; expected=$((expected + $#)) ;;
    *) notok "$name: the affected message (to $*) accepted (got: ${AFFECTED_REPLY[$name]})" ;;
  esac
  echo "# $name: unaffected messages (ms) before: ${LAT[$name-before]}(median $(median_of "${LAT[$name-before]}"))," \
    "during: ${LAT[$name-during]}(median $(median_of "${LAT[$name-during]}")); the affected one: ${AFFECTED_MS[$name]} ms"
  local bound=$((TIMEOUT_S * 1000 * 3 / 4))
  check "$name: no unaffected message stalled behind the responder (slowest $(max_of "${LAT[$name-during]}") ms, bound $bound ms)" \
    test "$(max_of "${LAT[$name-during]}")" -lt "$bound"
  if [ "$slow" = yes ]; then
    check "$name: the unaffected messages were all answered while the affected one still waited" test "$last_done" = pending
    check "$name: the affected one waited for the responder's timeout, and not much more (${AFFECTED_MS[$name]} ms, $TIMEOUT_S..$((TIMEOUT_S * 3)) s)" \
      test "${AFFECTED_MS[$name]}" -ge $((TIMEOUT_S * 1000 - 500)) -a "${AFFECTED_MS[$name]}" -le $((TIMEOUT_S * 3000))
    check "$name: the milter connected to the faulty responder" test "$(conns)" -gt "$before_conns"
  else
    check "$name: the affected one answered within the timeout (${AFFECTED_MS[$name]} ms)" test "${AFFECTED_MS[$name]}" -le $((TIMEOUT_S * 1000))
  fi
  mlog_status "$name" "$@"
}
# mlog_status PHASE RCPT... — what the milter logged for good and revoked in this phase
mlog_status() {
  local name=$1 want_good want_revoked
  case $name in up) want_good="status=good" want_revoked="status=revoked" ;; *) want_good="status=undetermined" want_revoked="status=undetermined" ;; esac
  check "$name log: good@ $want_good" grep -q -E "revocation op=encrypt subject=$GOOD .*$want_good" "$D/milter.log"
  case " $* " in *" $REVOKED "*)
    check "$name log: revoked@ $want_revoked" grep -q -E "revocation op=encrypt subject=$REVOKED .*$want_revoked" "$D/milter.log" ;;
  esac
  check "$name log: alice needs no fetch (no distribution point, taken as good: decision=use)" \
    grep -q -E "revocation op=encrypt subject=$ALICE .*why=no-distribution-point .*decision=use" "$D/milter.log"
}

phase up up no $ALICE $GOOD $REVOKED
phase silent silent yes $ALICE $GOOD
phase refused refused no $ALICE $GOOD $REVOKED
phase closing close no $ALICE $GOOD $REVOKED
phase trickle trickle yes $ALICE $GOOD
phase garbage garbage no $ALICE $GOOD $REVOKED
stop_servers

# ---- every delivered copy
rcpt_copies() { cat "$D"/sink/* 2> /dev/null | grep -c '^X-Rcpt-Args:'; }
for _ in $(seq 300); do [ "$(rcpt_copies)" -ge "$expected" ] && break; sleep 0.2; done
sleep 1
check "every accepted recipient got its copy ($(rcpt_copies) of $expected)" test "$(rcpt_copies)" -eq "$expected"
copies_once() {  # no recipient got two copies of one message
  local d
  d=$(for f in "$D"/sink/*; do
    printf '%s %s\n' "$(grep -m1 '^Subject:' "$f")" "$(grep '^X-Rcpt-Args:' "$f" | tr '\n' ' ')"
  done | sort | uniq -d)
  [ -z "$d" ] || { echo "duplicated: $d"; return 1; }
}
check "no recipient got a message twice" copies_once
recipient_infos() {  # recipient_infos FILE — the serial numbers in its RecipientInfos, upper-case hex
  mime b64body "$1" > "$D/ri.der" && [ -s "$D/ri.der" ] || return 1
  timeout 30 openssl cms -cmsout -print -inform DER -in "$D/ri.der" > "$D/ri.txt" || return 1
  # serialNumber: 0x1234... (or decimal for small ones)
  perl -ne 'if (/serialNumber:\s*(0x)?([0-9A-Fa-f]+)/) { my $s = defined $1 ? uc $2 : sprintf("%X", $2); $s =~ s/^0+//; print "$s\n" }' "$D/ri.txt"
}
all_recipient_infos() {
  local f n=0 s subj
  for f in "$D"/sink/*; do
    grep -q -i '^Content-Type: application/\(x-\)\?pkcs7-mime' "$f" || continue
    n=$((n + 1))
    subj=$(grep -m1 '^Subject:' "$f")
    s=$(recipient_infos "$f") || { echo "$f: cannot read its RecipientInfos"; return 1; }
    [ -n "$s" ] || { echo "$f: no RecipientInfo serials found"; return 1; }
    grep -q -x "$S_REVOKED" <<< "$s" && { echo "$subj: encrypted to the revoked certificate"; return 1; }
    grep -q -x "$S_ALICE" <<< "$s" || { echo "$subj: not encrypted to alice (serials: $s)"; return 1; }
    case $subj in
      *" up-affected") grep -q -x "$S_GOOD" <<< "$s" || { echo "$subj: servers up, yet not encrypted to good"; return 1; } ;;
      *) grep -q -x "$S_GOOD" <<< "$s" && { echo "$subj: encrypted to good while its status was undetermined"; return 1; } ;;
    esac
    timeout 30 openssl cms -decrypt -in "$f" -recip "$PKI/alice.pem" -inkey "$PKI/alice.key" -out "$D/dec" 2> /dev/null \
      || { echo "$subj: alice cannot decrypt it"; return 1; }
    grep -q '^The body of ' "$D/dec" || { echo "$subj: the decrypted text lacks the body"; return 1; }
  done
  echo "$n encrypted copies checked"
  [ "$n" -ge 20 ]
}
check "every encrypted copy: RecipientInfos never name rev-revoked, rev-good only with the servers up; alice decrypts it" all_recipient_infos
plain_only_for_others() {  # the copies for good and revoked outside the servers-up phase are plain, and carry the body
  local f n=0
  for f in "$D"/sink/*; do
    grep -q -E "^X-Rcpt-Args: <($GOOD|$REVOKED)>" "$f" || continue
    grep -q '^Subject: revocation fault up-affected' "$f" && grep -q "^X-Rcpt-Args: <$GOOD>" "$f" && continue
    grep -q -i 'pkcs7-mime' "$f" && { echo "$f: encrypted copy for an undetermined or revoked recipient"; return 1; }
    grep -q '^The body of ' "$f" || { echo "$f: the plain copy lacks the body"; return 1; }
    n=$((n + 1))
  done
  echo "$n plain copies"
}
check "the copies for revoked and undetermined recipients went out plain (split), with the body" plain_only_for_others
check "the milter runs" milter_alive
cat "$D/milter.log" >> "$D/milter-all.log"
echo "# stall of the affected message per phase (ms):$(for p in up silent refused closing trickle garbage; do printf ' %s %s' "$p" "${AFFECTED_MS[$p]:-?}"; done)"
[ "$FAILED" -eq 0 ] || { show_logs; grep 'revocation op=' "$D/milter-all.log" | cut -c1-300 | sed 's/^/#   /'; }
echo "# run time: $SECONDS s"
finish
