#!/usr/bin/env bash
# End-to-end: a private Postfix instance on loopback with smime-milter on a unix socket; four messages
# sent in one SMTP session (bash /dev/tcp client), one of them bounced by policy, a split one
# (encrypted copy for the recipient with a certificate, plain copy re-injected for the other), a 20 MB one; the copies delivered
# to smtp-sink are verified with smime-tool against the test root. Bounded in time; everything started here is stopped by its PID.
#   postfix_sign.sh SMIME_MILTER SMIME_KEYSTORE SMIME_TOOL PKI_DIR
# Needs root (a private Postfix instance) and the postfix package (smtp-sink).
set -euo pipefail
milter=$1 keystore=$2 tool=$3 pki=$4
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v postfix >/dev/null && command -v smtp-sink >/dev/null || { echo "SKIP: postfix not installed"; exit 77; }

D=$(mktemp -d /tmp/smime-e2e.XXXXXX)
chmod 755 "$D"
milter_pid="" sink_pid="" postfix_pid=""
cleanup() {
  set +e
  [ -n "$postfix_pid" ] && postfix -c "$D/conf" stop >/dev/null 2>&1
  [ -n "$postfix_pid" ] && { for _ in $(seq 50); do kill -0 "$postfix_pid" 2>/dev/null || break; sleep 0.1; done; kill "$postfix_pid" 2>/dev/null; }
  [ -n "$milter_pid" ] && kill "$milter_pid" 2>/dev/null
  [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null
  wait 2>/dev/null
  if [ -n "${SMIME_E2E_KEEP:-}" ]; then echo "kept: $D"; else rm -rf "$D"; fi
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  echo "--- maillog"; tail -40 "$D/maillog" 2>/dev/null
  echo "--- milter"; tail -40 "$D/milter.log" 2>/dev/null
  exit 1
}

# Ports from our PID, so that parallel runs do not collide.
smtpd_port=$((20000 + $$ % 20000))
sink_port=$((smtpd_port + 1))
reinject_port=$((smtpd_port + 2))

# ---- the milter: sign everything outbound with gateway@example.com (gw-new + inter as its chain)
mkdir -p "$D/spool"
cat "$pki/gw-new.pem" "$pki/inter.pem" > "$D/gw-bundle.pem"
"$keystore" --store "$D/keystore.db" import "$D/gw-bundle.pem" --key "$pki/gw-new.key" >/dev/null 2>&1 \
  || fail "keystore import"
"$keystore" --store "$D/keystore.db" import "$pki/alice.pem" >/dev/null 2>&1 || fail "keystore import alice"
cat > "$D/milter.json" <<JSON
{
  "listen": "unix:$D/milter.sock",
  "spool": { "directory": "$D/spool" },
  "keystore": { "path": "$D/keystore.db" },
  "log": { "level": "debug" },
  "profiles": {
    "sign": { "mode": "sign", "sign_mode": "detached" },
    "enc": { "mode": "sign-encrypt", "missing_certificate": "bounce" },
    "split": { "mode": "encrypt", "missing_certificate": "split" }
  },
  "reinjection": { "host": "127.0.0.1", "port": $reinject_port, "timeout": "20s" },
  "outbound": {
    "rules": [ { "name": "tag", "match": { "header": [ { "name": "Subject", "contains": "[encrypt]" } ] },
                 "profile": "enc" },
               { "name": "split", "match": { "header": [ { "name": "Subject", "contains": "[split]" } ] },
                 "profile": "split" } ],
    "default_profile": "sign"
  }
}
JSON
"$milter" -c "$D/milter.json" -n >/dev/null || fail "configuration check"
"$milter" -f -c "$D/milter.json" > "$D/milter.log" 2>&1 &
milter_pid=$!
for _ in $(seq 100); do [ -S "$D/milter.sock" ] && break; sleep 0.1; done
[ -S "$D/milter.sock" ] || fail "milter socket did not appear"

# ---- the next hop
mkdir -p "$D/sink"
smtp-sink -u root -d "$D/sink/%M." "127.0.0.1:$sink_port" 100 &
sink_pid=$!

# ---- the private Postfix instance (see ../shared/notes/postfix-test-instance.md)
mkdir -p "$D/conf" "$D/queue" "$D/data"
cp /etc/postfix/master.cf "$D/conf/"
cat > "$D/conf/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $D/queue
data_directory = $D/data
mail_owner = postfix
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = gw.test
mydestination =
message_size_limit = 52428800
mynetworks = 127.0.0.0/8
relay_domains = example.org
relayhost = [127.0.0.1]:$sink_port
smtpd_milters = unix:$D/milter.sock
non_smtpd_milters = \$smtpd_milters
milter_default_action = tempfail
maillog_file = /dev/stdout
smtp_tls_security_level = none
CF
sed -i "s/^smtp      inet  n       -       y       -       -       smtpd/$smtpd_port      inet  n       -       n       -       -       smtpd/" "$D/conf/master.cf"
# the re-injection smtpd for split copies: no milters
cat >> "$D/conf/master.cf" <<MCF
127.0.0.1:$reinject_port inet n - n - - smtpd -o smtpd_milters= -o non_smtpd_milters= -o receive_override_options=no_milters
MCF
postconf -c "$D/conf" -F '*/*/chroot = n'
chown -R postfix "$D/data"
postfix -c "$D/conf" set-permissions >/dev/null 2>&1 || true
setsid postfix -c "$D/conf" start-fg >> "$D/maillog" 2>&1 < /dev/null &
postfix_pid=$!

# ---- a minimal SMTP client over /dev/tcp
up=""
for _ in $(seq 100); do
  if { exec 3<>"/dev/tcp/127.0.0.1/$smtpd_port"; } 2>/dev/null; then up=1; break; fi
  sleep 0.2
done
[ -n "$up" ] || fail "postfix did not listen on $smtpd_port"
expect() {  # expect CODE: read one reply (multi-line aware), fail unless it starts with CODE
  local line
  while IFS= read -r -t 30 line <&3; do
    line=${line%$'\r'}
    case $line in "$1"-*) continue ;; "$1"*) return 0 ;; *) fail "SMTP: wanted $1, got: $line" ;; esac
  done
  fail "SMTP: no reply (wanted $1)"
}
say() { printf '%s\r\n' "$1" >&3; }
expect 220
say "EHLO client.test"; expect 250
# Four messages in one session: signed, signed, bounced (encryption asked for, bob has no
# certificate: 550 at the end of DATA), then signed again (the message after a rejected one).
n=0
for subject in "e2e message" "e2e message" "[encrypt] secret" "e2e message"; do
  n=$((n + 1))
  say "MAIL FROM:<user@example.com>"; expect 250
  say "RCPT TO:<bob@example.org>"; expect 250
  say "DATA"; expect 354
  say "From: User <user@example.com>"
  say "To: bob@example.org"
  say "Subject: $subject $n"
  say "Content-Type: text/plain; charset=utf-8"
  say ""
  say "Hello, message $n."
  say "..a line starting with a dot"
  say "."
  case $subject in "[encrypt]"*) expect 550 ;; *) expect 250 ;; esac
done
# Split: alice has a certificate (gets the encrypted message), bob has none (gets the plain copy
# through the re-injection smtpd, and is removed from this transaction).
say "MAIL FROM:<user@example.com>"; expect 250
say "RCPT TO:<alice@example.org>"; expect 250
say "RCPT TO:<bob@example.org>"; expect 250
say "DATA"; expect 354
say "From: User <user@example.com>"
say "To: alice@example.org, bob@example.org"
say "Subject: [split] for both"
say ""
say "split body"
say "."
expect 250
say "QUIT"; expect 221
exec 3<&-

# A 20 MB message (base64 lines, CRLF) in its own session: spooled by the milter, signed, and handed
# back to Postfix in 64 KiB chunks.
{
  printf 'From: User <user@example.com>\r\nTo: bob@example.org\r\nSubject: big\r\n'
  printf 'Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n'
  head -c 15500000 /dev/urandom | base64 -w 76 | sed 's/$/\r/'
} > "$D/big.eml"
{ exec 3<>"/dev/tcp/127.0.0.1/$smtpd_port"; } 2>/dev/null || fail "connect for the big message"
expect 220
say "EHLO client.test"; expect 250
say "MAIL FROM:<user@example.com>"; expect 250
say "RCPT TO:<bob@example.org>"; expect 250
say "DATA"; expect 354
cat "$D/big.eml" >&3
say "."
expect 250
say "QUIT"; expect 221
exec 3<&-

# ---- the delivered copies
for _ in $(seq 300); do
  [ "$(find "$D/sink" -type f | wc -l)" -ge 6 ] && break
  sleep 0.2
done
[ "$(find "$D/sink" -type f | wc -l)" -eq 6 ] || fail "6 messages not delivered within 60 s"
sleep 1  # smtp-sink writes the file while receiving
for f in "$D"/sink/*; do
  if grep -q '^Subject: \[split\]' "$f"; then
    if grep -q '^X-Rcpt-Args: <alice@example.org>' "$f"; then
      grep -q '^X-Rcpt-Args: <bob@example.org>' "$f" && fail "bob was not removed from the encrypted transaction"
      grep -qi 'application/pkcs7-mime' "$f" || fail "alice's copy is not encrypted"
      "$tool" decrypt --cert "$pki/alice.pem" --key "$pki/alice.key" "$f" "$D/alice.eml" 2>/dev/null || fail "alice cannot decrypt"
      grep -q 'split body' "$D/alice.eml" || fail "alice's decrypted copy lacks the body"
      split_alice=1
    elif grep -q '^X-Rcpt-Args: <bob@example.org>' "$f"; then
      grep -qi 'application/pkcs7-mime' "$f" && fail "bob's copy is encrypted"
      grep -q 'split body' "$f" || fail "bob's plain copy lacks the body"
      split_bob=1
    else
      fail "split message to nobody expected: $f"
    fi
    continue
  fi
  grep -q '^X-SMIME-Milter: signed' "$f" || fail "no trace header in $f"
  "$tool" verify --ca "$pki/root.pem" "$f" "$D/verified.eml" 2> "$D/verify.log" || { cat "$D/verify.log"; fail "verify $f"; }
  if grep -q '^Subject: big' "$f"; then
    [ "$(stat -c %s "$f")" -gt 20000000 ] || fail "the big message is too small"
    continue
  fi
  grep -q '^\.a line starting with a dot' "$D/verified.eml" || fail "dot-stuffing / content lost in $f"
done
[ -n "${split_alice:-}" ] && [ -n "${split_bob:-}" ] || fail "split: both copies must arrive"
grep -q 'verdict action=accept' "$D/milter.log" || fail "no verdict in the milter log"

# The milter stopped: with milter_default_action = tempfail Postfix answers 4xx, nothing is accepted
# unsigned (the client keeps the message and retries).
kill "$milter_pid"; wait "$milter_pid" 2>/dev/null || true; milter_pid=""
{ exec 3<>"/dev/tcp/127.0.0.1/$smtpd_port"; } 2>/dev/null || fail "reconnect"
reply() { local line; while IFS= read -r -t 30 line <&3; do line=${line%$'\r'}; case $line in ???-*) ;; *) echo "$line"; return ;; esac; done; echo "none"; }
r=$(reply); case $r in 220*) ;; *) fail "greeting after milter stop: $r" ;; esac
tempfailed=""
for cmd in "EHLO client.test" "MAIL FROM:<user@example.com>" "RCPT TO:<bob@example.org>" "DATA"; do
  say "$cmd"; r=$(reply)
  case $r in 4*) tempfailed=$r; break ;; 2* | 3*) ;; *) fail "after milter stop, $cmd: $r" ;; esac
done
if [ -z "$tempfailed" ]; then
  say "Subject: while the milter is down"; say ""; say "body"; say "."; r=$(reply)
  case $r in 4*) tempfailed=$r ;; *) fail "message accepted while the milter was down: $r" ;; esac
fi
say "QUIT"; exec 3<&-
[ "$(find "$D/sink" -type f | wc -l)" -eq 6 ] || fail "something was delivered while the milter was down"
grep -q 'secret' "$D"/sink/* && fail "the bounced message was delivered"
echo "PASS: 4 messages (one of 20 MB) signed through Postfix and verified, 1 bounced, 1 split in two copies; milter down: $tempfailed"
