#!/usr/bin/env bash
# shellcheck disable=SC2317  # check functions are called indirectly through check
# Fault test: the milter killed with SIGKILL under load. A private Postfix instance where the milter's
# smtpd is a relay hop (lib.sh start_postfix --entry: smtp-source hands the messages to an entry smtpd
# without milters, Postfix relays them to the milter's smtpd, milter_default_action = tempfail), so that
# what the milter cannot answer stays queued and is retried. Two smtp-source runs with several sessions
# each send COUNT messages in all: half to bob (no certificate: signed), half to alice (signed and
# encrypted to her). While the queue drains the milter is killed with SIGKILL every 2-4 s (by its
# PID) and started again. Then, with the milter running, the queue is flushed (bounded wait) and:
#  - every message the entry accepted was delivered exactly once (Message-IDs, which the entry's
#    cleanup adds, counted at the sink): none lost, none duplicated, none unknown;
#  - every delivered message is what the policy makes: bob's multipart/signed, verified by
#    `openssl cms -verify` against the test root; alice's enveloped, decrypted by openssl with her key
#    and the signed entity inside verified; in both the signed content is the original body byte for
#    byte (none unsigned, none half rewritten), one trace header, one Content-Type;
#  - the figures: sent / accepted / deferred (messages the hop tempfailed at least once, and the
#    tempfail replies) / delivered / lost / duplicated, kills, run time.
#   fault_kill9.sh SMIME_MILTER SMIME_KEYSTORE SMIME_TOOL PKI_DIR [COUNT [SESSIONS]]
# COUNT defaults to 1000 (scripts/soak runs 10000), SESSIONS (per smtp-source run) to 4.
# Runs in a network namespace of its own when it can (lib.sh E2E_UNSHARE). Needs root, postfix
# (smtp-source, smtp-sink) and openssl (exit 77 = skipped). Bounded: every wait has a limit.
MILTER=$1 KEYSTORE=$2 TOOL=$3 PKI=$4 COUNT=${5:-1000} SESSIONS=${6:-4}
command -v openssl > /dev/null || { echo "SKIP: openssl missing"; exit 77; }
command -v smtp-source > /dev/null || { echo "SKIP: smtp-source missing (postfix)"; exit 77; }
E2E_UNSHARE=net
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
cp -r "$PKI" "$D/pki" || fatal "copy the PKI"
PKI=$D/pki
case $COUNT in '' | *[!0-9]*) fatal "COUNT must be a number" ;; esac
[ "$COUNT" -ge 2 ] || fatal "COUNT must be at least 2"
half=$((COUNT / 2))
COUNT=$((half * 2))
# time bounds grow with the count: the drain under kills, then the flush with the milter up
DRAIN_LIMIT=$((120 + COUNT * 3 / 10)) FLUSH_LIMIT=$((60 + COUNT / 10))
echo "# $COUNT messages ($half to bob: sign, $half to alice: sign+encrypt), 2 x $SESSIONS sessions"

# ---- keystore and milter
cat "$PKI/gw-new.pem" "$PKI/inter.pem" > "$D/gw-bundle.pem"
"$KEYSTORE" --store "$D/keystore.db" import "$D/gw-bundle.pem" --key "$PKI/gw-new.key" > "$D/ks.log" 2>&1 \
  || fatal "keystore import gw-new"
"$KEYSTORE" --store "$D/keystore.db" import "$PKI/alice.pem" >> "$D/ks.log" 2>&1 || fatal "keystore import alice"
mkdir -p "$D/spool"
cat > "$D/milter.json" <<JSON
{
  "listen": "unix:$D/milter.sock",
  "daemon": { "allow_root": true, "socket_group": "postfix", "comment": "the test runs as root; smtpd (group postfix) connects" },
  "spool": { "directory": "$D/spool" },
  "keystore": { "path": "$D/keystore.db" },
  "log": { "level": "info" },
  "revocation": { "enabled": false, "comment": "the test PKI has no OCSP/CRL; revocation has its own tests" },
  "profiles": {
    "sign": { "mode": "sign", "sign_mode": "detached" },
    "enc": { "mode": "sign-encrypt", "missing_certificate": "bounce" }
  },
  "outbound": {
    "rules": [ { "name": "alice", "match": { "recipient": [ "alice@example.org" ] }, "profile": "enc" } ],
    "default_profile": "sign"
  }
}
JSON
start_milter "$D/milter.json"
first_milter=$milter_pid
start_sink
start_postfix --entry

# ---- the messages (LF line ends: smtp-source appends CRLF); no Message-ID: the entry adds a unique one
make_message() {  # make_message RCPT FILE
  {
    printf 'From: User <user@example.com>\nTo: <%s>\nSubject: kill -9 load for %s\n' "$1" "$1"
    printf 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="=_k9_boundary"\n\n'
    printf 'This is a multi-part message in MIME format.\n\n--=_k9_boundary\n'
    printf 'Content-Type: text/plain; charset=us-ascii\n\nHello %s,\nthe figures are attached.\n\n' "$1"
    printf -- '--=_k9_boundary\nContent-Type: application/octet-stream; name="data.bin"\n'
    printf 'Content-Transfer-Encoding: base64\n\n'
    head -c 3000 /dev/urandom | base64 -w 76
    printf -- '--=_k9_boundary--\n'
  } > "$2"
}
make_message bob@example.org "$D/bob.msg"
make_message alice@example.org "$D/alice.msg"
# the hash of a body as the checks compute it (after the header block, CRLF as LF, end blanks dropped)
cat > "$D/bodyhash.sh" <<'SH'
#!/bin/sh
perl -e 'local $/; my $t = <STDIN> // ""; $t =~ s/\r\n/\n/g; my (undef, $b) = split /\n\n/, $t, 2; $b //= ""; $b =~ s/\s+\z//; print $b' \
  | md5sum | cut -d' ' -f1
SH
chmod +x "$D/bodyhash.sh"
want_bob=$("$D/bodyhash.sh" < "$D/bob.msg") want_alice=$("$D/bodyhash.sh" < "$D/alice.msg")

# ---- load, with the milter killed every 2-4 s while the queue drains
for _ in $(seq 100); do { exec 3<> "/dev/tcp/127.0.0.1/$entry_port"; } 2> /dev/null && break; sleep 0.2; done
exec 3<&-
t0=$SECONDS
smtp-source -s "$SESSIONS" -m "$half" -F "$D/bob.msg" -f user@example.com -t bob@example.org \
  -M client.test "127.0.0.1:$entry_port" > "$D/source-bob.log" 2>&1 &
src_bob=$!
smtp-source -s "$SESSIONS" -m "$half" -F "$D/alice.msg" -f user@example.com -t alice@example.org \
  -M client.test "127.0.0.1:$entry_port" > "$D/source-alice.log" 2>&1 &
src_alice=$!
at_exit "kill $src_bob $src_alice"
kills=0 src_done="" pause=1  # the first kill after 1 s, so that small runs see some too
while [ $((SECONDS - t0)) -lt "$DRAIN_LIMIT" ]; do
  sleep "$pause"
  pause=$((RANDOM % 2 + 2)).$((RANDOM % 10))
  if [ -z "$src_done" ] && ! kill -0 "$src_bob" 2> /dev/null && ! kill -0 "$src_alice" 2> /dev/null; then
    src_done=$((SECONDS - t0))
  fi
  [ -n "$src_done" ] && [ "$(queue_count)" -eq 0 ] && break
  kill9_milter
  kills=$((kills + 1))
  sleep 0.$((RANDOM % 5))
  respawn_milter "$D/milter.json"
done
drain_secs=$((SECONDS - t0))
wait "$src_bob"; st_bob=$?
wait "$src_alice"; st_alice=$?
check "smtp-source (bob) finished, exit 0" test "$st_bob" -eq 0
check "smtp-source (alice) finished, exit 0" test "$st_alice" -eq 0
echo "# load sent in ${src_done:-?} s, queue drained under $kills kills in $drain_secs s (limit $DRAIN_LIMIT s)"
min_kills=3
[ "$COUNT" -ge 500 ] || min_kills=1
check "the milter was killed at least $min_kills times under load ($kills)" test "$kills" -ge "$min_kills"

# ---- flush with the milter up: the queue must empty
milter_alive || respawn_milter "$D/milter.json"
t1=$SECONDS
flush_queue_wait "$FLUSH_LIMIT"
flushed=$?
check "the queue is empty after the flush ($(queue_count) left, $((SECONDS - t1)) s, limit $FLUSH_LIMIT s)" test "$flushed" -eq 0
sleep 1  # smtp-sink writes while receiving

# ---- accepted (the entry's queue ids and their Message-IDs) against delivered (the sink's Message-IDs)
perl -ne '
  if (m{postfix/entry/smtpd\[\d+\]: ([0-9A-F]+): client=}) { $entry{$1} = 1 }
  elsif (m{postfix/cleanup\[\d+\]: ([0-9A-F]+): message-id=(<[^>]*>)}) { $mid{$1} = $2 }
  END { for (sort keys %entry) { print(($mid{$_} // "none:$_"), "\n") } }' "$D/maillog" | sort > "$D/accepted.ids"
# deferrals by the milter's hop (the entry's smtp client got 4xx from it)
grep -E "postfix/smtp\[[0-9]+\]: [0-9A-F]+: .*relay=127\.0\.0\.1\[127\.0\.0\.1\]:$smtpd_port,.*status=deferred" "$D/maillog" \
  > "$D/deferred.log"
deferred_msgs=$(sed -E 's/.*: ([0-9A-F]+): to=.*/\1/' "$D/deferred.log" | sort -u | wc -l)
deferred_replies=$(wc -l < "$D/deferred.log")

# ---- every delivered file: its Message-ID, its kind, openssl's verdict
cat > "$D/verify_one.sh" <<'SH'
#!/bin/bash
# verify_one.sh PKI BODYHASH-SH WANT-BOB WANT-ALICE FILE... — one line per file: "ok|bad MESSAGE-ID KIND [why]"
pki=$1 bh=$2 want_bob=$3 want_alice=$4
shift 4
for f in "$@"; do
  w=$(mktemp -d "${f%/*}/../vw.XXXXXX")
  # the message's own header (smtp-sink puts its X-* lines first), unfolded
  mid=$(perl -ne 'last if /^\r?$/; print "$1\n" if /^Message-ID:\s*(<[^>]*>)/i' "$f" | head -n 1)
  [ -n "$mid" ] || mid="none:${f##*/}"
  rcpt=$(perl -ne 'last if /^\r?$/; print "$1\n" if /^X-Rcpt-Args: <([^>]*)>/' "$f" | head -n 1)
  ntrace=$(perl -ne 'last if /^\r?$/; $n++ if /^X-SMIME-Milter:/i; END { print $n // 0 }' "$f")
  nctype=$(perl -ne 'last if /^\r?$/; $n++ if /^Content-Type:/i; END { print $n // 0 }' "$f")
  why=""
  if [ "$ntrace" != 1 ] || [ "$nctype" != 1 ]; then
    why="$ntrace trace headers, $nctype Content-Type fields"
  elif [ "$rcpt" = bob@example.org ]; then
    kind=signed
    if ! grep -q -i '^Content-Type: multipart/signed' "$f"; then why="not multipart/signed"
    elif ! timeout 30 openssl cms -verify -in "$f" -CAfile "$pki/root.pem" -out "$w/content" > /dev/null 2> "$w/err"; then
      why="openssl cms -verify: $(head -c 200 "$w/err" | tr '\n' ' ')"
    elif [ "$("$bh" < "$w/content")" != "$want_bob" ]; then why="signed content differs from the original"
    fi
  elif [ "$rcpt" = alice@example.org ]; then
    kind=encrypted
    if ! grep -q -i '^Content-Type: application/\(x-\)\?pkcs7-mime' "$f"; then why="not application/pkcs7-mime"
    elif ! timeout 30 openssl cms -decrypt -in "$f" -recip "$pki/alice.pem" -inkey "$pki/alice.key" -out "$w/dec" 2> "$w/err"; then
      why="openssl cms -decrypt: $(head -c 200 "$w/err" | tr '\n' ' ')"
    elif ! timeout 30 openssl cms -verify -in "$w/dec" -CAfile "$pki/root.pem" -out "$w/content" > /dev/null 2> "$w/err"; then
      why="openssl cms -verify (inside): $(head -c 200 "$w/err" | tr '\n' ' ')"
    elif [ "$("$bh" < "$w/content")" != "$want_alice" ]; then why="signed content differs from the original"
    fi
  else
    kind=unknown why="recipient '$rcpt'"
  fi
  rm -rf "$w"
  if [ -z "$why" ]; then echo "ok $mid $kind"; else echo "bad $mid ${kind:-?} ${f##*/}: $why"; fi
done
SH
chmod +x "$D/verify_one.sh"
t2=$SECONDS
find "$D/sink" -type f -print0 | xargs -0 -r -n 50 -P 2 "$D/verify_one.sh" "$PKI" "$D/bodyhash.sh" "$want_bob" "$want_alice" \
  > "$D/verified.txt"
verify_secs=$((SECONDS - t2))
awk '{ print $2 }' "$D/verified.txt" | sort > "$D/delivered.ids"
sent=$COUNT
accepted=$(wc -l < "$D/accepted.ids")
delivered=$(wc -l < "$D/delivered.ids")
unique=$(sort -u "$D/delivered.ids" | wc -l)
lost=$(comm -23 <(sort -u "$D/accepted.ids") <(sort -u "$D/delivered.ids") | wc -l)
unknown=$(comm -13 <(sort -u "$D/accepted.ids") <(sort -u "$D/delivered.ids") | wc -l)
dups=$((delivered - unique))
good=$(grep -c '^ok ' "$D/verified.txt")
bad=$(grep -c '^bad ' "$D/verified.txt")
n_signed=$(grep -c '^ok .* signed$' "$D/verified.txt") n_enc=$(grep -c '^ok .* encrypted$' "$D/verified.txt")
starts=$(grep -c 'smime-milter: started' "$D/milter.log")
echo "# figures: sent $sent, accepted $accepted, deferred $deferred_msgs messages ($deferred_replies tempfail replies at the hop)," \
  "delivered $delivered ($unique distinct: $n_signed signed, $n_enc sign+encrypted, verified by openssl), lost $lost," \
  "duplicated $dups, unknown $unknown; $kills kills; drain $drain_secs s, flush $((t2 - t1)) s, openssl checks $verify_secs s"
check "accepted = sent ($accepted of $sent)" test "$accepted" -eq "$sent"
check "the accepted Message-IDs are distinct" test "$(sort -u "$D/accepted.ids" | wc -l)" -eq "$accepted"
check "the milter's hop tempfailed some messages while it was killed ($deferred_msgs messages deferred)" test "$deferred_msgs" -ge 1
check "none lost ($lost of $accepted accepted not delivered)" test "$lost" -eq 0
check "none duplicated ($dups)" test "$dups" -eq 0
check "none unknown ($unknown delivered that were not accepted)" test "$unknown" -eq 0
check "delivered = accepted ($delivered of $accepted)" test "$delivered" -eq "$accepted"
bad_list() { grep '^bad ' "$D/verified.txt" | head -n 20; [ "$bad" -eq 0 ]; }
check "every delivered message signed (bob) or sign+encrypted (alice) and verified by openssl, content intact ($good good, $bad bad)" bad_list
check "half signed, half sign+encrypted ($n_signed / $n_enc)" test "$n_signed" -eq "$half" -a "$n_enc" -eq "$half"
check "the milter runs at the end" milter_alive
no_crash() { ! grep -E 'AddressSanitizer|runtime error|terminate called|Segmentation|core dumped' "$D/milter.log"; }
check "no crash in the milter's log (other than our SIGKILLs)" no_crash
check "the milter started again after every kill ($starts starts, $kills kills)" test "$starts" -eq $((kills + 1)) -a "$first_milter" != "$milter_pid"
[ "$FAILED" -eq 0 ] || show_logs
echo "# run time: $SECONDS s"
finish
