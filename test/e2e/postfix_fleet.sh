#!/usr/bin/env bash
# shellcheck disable=SC2317  # check functions are called indirectly through check
# End-to-end: two gateways on one PostgreSQL keystore (a private server, test/pg/pg-server.sh), each a
# milter of its own behind its own smtpd of one private Postfix, in a network namespace of its own.
#  - Gateway A (smtpd on $a_port, milter-a.sock) takes inbound mail: a message signed by alice, a sender
#    the store does not know, is verified and her certificate harvested into the database.
#  - Gateway B (lib.sh's milter smtpd, milter.sock; reached through the entry smtpd, so that what it
#    tempfails stays queued) takes outbound mail: before the harvest it refuses a message to alice (no
#    certificate); after it, a message to alice is encrypted to the certificate A harvested (B noticed
#    A's change through the store's generation, without a restart); alice's key from the test PKI
#    decrypts it with openssl cms. smime-keystore -c B's configuration finds her.
#  - The database stopped (immediate shutdown) mid-run: the next message to alice is deferred by B with
#    451 4.7.0 certificate store unavailable and stays in Postfix's queue; with the database started
#    again, a flush delivers it, encrypted to alice. Every accepted message is delivered once.
# Bounded in time (every command and wait has a limit; about 30 s); stops what it started by PID.
#   postfix_fleet.sh SMIME_MILTER SMIME_KEYSTORE SMIME_TOOL PKI_DIR PG_SERVER_SCRIPT
# Needs root, postfix, openssl and Debian's postgresql server (exit 77 = skipped).
MILTER=$1 KEYSTORE=$2 TOOL=$3 PKI=$4 PGSH=$5
command -v openssl > /dev/null || { echo "SKIP: openssl missing"; exit 77; }
ls /usr/lib/postgresql/*/bin/initdb > /dev/null 2>&1 || { echo "SKIP: no PostgreSQL server (apt-get install postgresql-15)"; exit 77; }
E2E_UNSHARE="net"
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
cp -r "$PKI" "$D/pki" || fatal "copy the PKI"
PKI=$D/pki
T() { timeout -k 5 30 "$@"; }
a_port=$((smtpd_port + 4))

# ---- the database: a private server, stopped (and its directory removed) on exit
PGD=$D/pg
at_exit "'$PGSH' stop '$PGD'"
T "$PGSH" start "$PGD" > "$D/pg.log" 2>&1 || { cat "$D/pg.log"; fatal "start PostgreSQL"; }
URL=$(cat "$PGD/url")
ks() { T "$KEYSTORE" --url "$URL" "$@"; }
ks trust add "$PKI/root.pem" > "$D/ks.log" 2>&1 || { cat "$D/ks.log"; fatal "keystore trust add root (PostgreSQL)"; }
sha256_of() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'; }
alice_fp=$(sha256_of "$PKI/alice.pem")
lookup_has() {  # lookup_has KEYSTORE-OPTIONS... — lookup alice@example.org finds her certificate
  T "$KEYSTORE" "$@" lookup alice@example.org --json > "$D/lookup.json" 2>&1; local rc=$?
  cat "$D/lookup.json"; echo "exit $rc"
  [ "$rc" -eq 0 ] && tr 'A-F' 'a-f' < "$D/lookup.json" | tr -d ':' | grep -q "$alice_fp"
}
lookup_none() { ks lookup alice@example.org; local rc=$?; echo "exit $rc"; [ "$rc" -eq 1 ]; }
check "control: alice has no certificate in the shared store" lookup_none

# ---- the gateways: A inbound (loopback is outside for it), B outbound (loopback is inside)
# write_config FILE SOCKET SPOOL INTERNAL-NETWORK
write_config() {
  mkdir -p "$3"
  cat > "$1" <<JSON
{
  "listen": "unix:$2",
  "daemon": { "allow_root": true, "socket_group": "postfix", "comment": "the test runs as root; smtpd (group postfix) connects" },
  "spool": { "directory": "$3" },
  "keystore": { "url": "$URL" },
  "log": { "level": "debug" },
  "direction": { "internal_networks": ["$4"] },
  "profiles": { "enc": { "mode": "encrypt", "cipher": "aes256-cbc", "missing_certificate": "bounce" } },
  "outbound": { "default_profile": "enc" },
  "inbound": { "verify": true, "harvest": { "enabled": true, "unverified": false } },
  "revocation": { "enabled": false }
}
JSON
}
write_config "$D/milter-a.json" "$D/milter-a.sock" "$D/spool-a" 10.255.255.0/24
write_config "$D/milter-b.json" "$D/milter.sock" "$D/spool-b" 127.0.0.0/8
"$MILTER" -c "$D/milter-a.json" -n > "$D/milter-a-n.log" 2>&1 || { cat "$D/milter-a-n.log"; fatal "milter A configuration check"; }
"$MILTER" -f -c "$D/milter-a.json" > "$D/milter-a.log" 2>&1 &
milter_a=$!
at_exit "kill $milter_a"
for _ in $(seq 100); do [ -S "$D/milter-a.sock" ] && break; sleep 0.1; done
[ -S "$D/milter-a.sock" ] || { cat "$D/milter-a.log"; fatal "milter A socket did not appear"; }
start_milter "$D/milter-b.json"
check "two milters: A ($milter_a) and B ($milter_pid) run" sh -c "kill -0 $milter_a && kill -0 $milter_pid"
start_sink
start_postfix --entry
echo "127.0.0.1:$a_port inet n - n - - smtpd -o syslog_name=postfix/gwa -o smtpd_milters=unix:$D/milter-a.sock" >> "$D/conf/master.cf"
smtp_open; exec 3<&-
T postfix -c "$D/conf" reload > /dev/null 2>&1 || fatal "postfix reload (gateway A's smtpd)"
for _ in $(seq 100); do { exec 4<> "/dev/tcp/127.0.0.1/$a_port"; } 2> /dev/null && break; sleep 0.2; done
exec 4<&- 2> /dev/null

# ---- gateway B before the harvest: a message to alice straight to its smtpd is refused (no certificate)
printf 'From: User <user@example.com>\nTo: Alice <alice@example.org>\nSubject: fleet before the harvest\nMIME-Version: 1.0\nContent-Type: text/plain\n\nNo certificate yet.\n' > "$D/early.msg"
wire "$D/early.msg" "$D/early.wire"
r=$(smtp_send "$D/early.wire" alice@example.org)
case $r in 5*) ok "before the harvest: gateway B refuses a message to alice for lack of a certificate ($r)" ;;
  *) notok "before the harvest: gateway B refuses a message to alice (got: $r)" ;; esac

# ---- gateway A: alice's signed message, inbound
printf 'From: Alice <alice@example.org>\nTo: User <user@example.com>\nSubject: fleet signed by alice\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nHello from alice, signed.\n' > "$D/alice.plain"
T "$TOOL" sign --cert "$PKI/alice.pem" --key "$PKI/alice.key" --chain "$PKI/inter.pem" "$D/alice.plain" "$D/alice.signed" \
  > "$D/tool.log" 2>&1 || { cat "$D/tool.log"; fatal "smime-tool sign (alice)"; }
wire "$D/alice.signed" "$D/alice.wire"
r=$(SEND_PORT=$a_port SEND_FROM=alice@example.org smtp_send "$D/alice.wire" user@example.com)
case $r in 250*) ok "gateway A accepted alice's signed message ($r)" ;; *) fatal "gateway A answered $r" ;; esac
wait_sink 1 30
inbound=$(sink_file "fleet signed by alice")
check "gateway A: delivered with a verified signature (Authentication-Results smime=pass)" \
  sh -c "[ -n '$inbound' ] && grep -q 'smime=pass' '$inbound'"
check "gateway A: logged harvest=stored" grep -q "harvest=stored" "$D/milter-a.log"
check "the shared store: smime-keystore --url finds alice's harvested certificate" lookup_has --url "$URL"
check "the shared store: smime-keystore -c (gateway B's configuration) finds it too" lookup_has -c "$D/milter-b.json"

# ---- gateway B: outbound to alice, encrypted to the certificate A harvested
declare -A QID
accepted=0
# outbound TAG — a message to alice through the entry smtpd (relayed to gateway B); its queue id kept
outbound() {
  printf 'From: User <user@example.com>\nTo: Alice <alice@example.org>\nSubject: fleet to alice %s\nMIME-Version: 1.0\nContent-Type: text/plain\n\nThe body of %s, for alice only.\n' \
    "$1" "$1" > "$D/$1.msg"
  wire "$D/$1.msg" "$D/$1.wire"
  local r
  r=$(SEND_PORT=$entry_port smtp_send "$D/$1.wire" alice@example.org)
  case $r in
    "250 "*"queued as "*) QID[$1]=${r##* }; accepted=$((accepted + 1)); ok "$1: accepted by the entry (${QID[$1]})" ;;
    *) fatal "$1: the entry smtpd answered $r" ;;
  esac
}
delivered() { grep -l -E "^Subject: fleet to alice $1\r?$" "$D"/sink/* 2> /dev/null; }
wait_delivered() {  # wait_delivered TAG SECONDS
  local _
  for _ in $(seq $(($2 * 5))); do [ -n "$(delivered "$1")" ] && break; sleep 0.2; done
  sleep 0.5  # smtp-sink writes while receiving
}
# encrypted_to_alice TAG — the one delivered copy is application/pkcs7-mime; alice's key decrypts it to
# the original text
encrypted_to_alice() {
  local f n
  n=$(delivered "$1" | wc -l)
  [ "$n" -eq 1 ] || { echo "$n copies delivered"; return 1; }
  f=$(delivered "$1")
  [ "$(mime mediatype "$f")" = application/pkcs7-mime ] || { echo "not encrypted: $(mime mediatype "$f")"; return 1; }
  mime b64body "$f" > "$D/$1.der" && [ -s "$D/$1.der" ] || return 1
  T openssl cms -decrypt -binary -inform DER -in "$D/$1.der" -recip "$PKI/alice.pem" -inkey "$PKI/alice.key" \
    -out "$D/$1.dec" || return 1
  grep -q "The body of $1, for alice only." "$D/$1.dec"
}
outbound first
wait_delivered first 30
check "gateway B: the first message is encrypted to alice's harvested certificate (openssl cms decrypts it)" encrypted_to_alice first
check "gateway B: no harvest of its own (the certificate came from the database)" sh -c "! grep -q harvest=stored '$D/milter.log'"

# ---- the database stopped mid-run: B tempfails, Postfix keeps the message; started again: delivered
T "$PGSH" crash "$PGD" > "$D/pg.log" 2>&1 || { cat "$D/pg.log"; fatal "stop PostgreSQL"; }
outbound down
q=${QID[down]}
for _ in $(seq 150); do
  grep -q -E "postfix/smtp\[[0-9]+\]: $q: .*status=deferred .*451 4\.7\.0" "$D/maillog" && break
  sleep 0.2
done
check "database down: gateway B deferred the message with 451 4.7.0 (certificate store unavailable)" \
  sh -c "grep -E 'postfix/smtp\[[0-9]+\]: $q: .*status=deferred' '$D/maillog' | tail -n 1 | grep -E '451 4\.7\.0 .*certificate store unavailable'"
check "database down: the message stays in Postfix's queue" sh -c "[ -n \"\$(find '$D/queue' -name '$q' -type f)\" ]"
check "database down: nothing delivered for it" sh -c "[ -z \"\$(grep -l -E '^Subject: fleet to alice down' '$D'/sink/* 2> /dev/null)\" ]"
check "database down: gateway B logged keystore-unavailable" grep -q "keystore-unavailable" "$D/milter.log"
T "$PGSH" resume "$PGD" > "$D/pg.log" 2>&1 || { cat "$D/pg.log"; fatal "start PostgreSQL again"; }
check "database back: a flush empties the queue" flush_queue_wait 60
wait_delivered down 10
check "database back: the deferred message is delivered, encrypted to alice" encrypted_to_alice down
check "both milters still run (no restart needed)" sh -c "kill -0 $milter_a && kill -0 $milter_pid"
check "every accepted message delivered once ($accepted through the entry, 1 inbound)" \
  test "$(sink_count)" -eq $((accepted + 1))
[ "$FAILED" -eq 0 ] || show_logs
finish
