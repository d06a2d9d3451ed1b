#!/usr/bin/env bash
# shellcheck disable=SC2317  # check functions are called indirectly through check
# End-to-end through Sendmail (Debian's 8.17, unpacked, not installed: it conflicts with Postfix):
# a private Sendmail on loopback with its own queue and a sendmail.cf built from an .mc with
# INPUT_MAIL_FILTER, relaying everything to smtp-sink, with SMTP AUTH (PLAIN, Cyrus SASL with its own
# sasldb). The milter counts only authenticated clients as internal, so that one Sendmail carries both
# directions:
#  - outbound (AUTH as alice): a signed copy and a sign-encrypted one for alice, checked with openssl cms;
#  - inbound (no AUTH): a message signed by alice gets smime=pass in Authentication-Results and still
#    verifies with openssl cms; a tampered copy fails and is quarantined in Sendmail's queue;
#  - the macros the milter uses arrive: {daemon_name} (at connect), i, {auth_authen} and {client_addr}
#    (at MAIL FROM, the last one asked for by the milter itself), seen in Sendmail's milter debug log and
#    in the milter's decisions.
# Sendmail sleeps 60 s at start when it cannot qualify its host name: it runs in namespaces of its own
# (UTS: a qualified host name; mount: its SASL configuration at /usr/lib/sasl2; PID: all its processes
# end with it).
#   sendmail_sign.sh SMIME_MILTER SMIME_KEYSTORE SMIME_TOOL PKI_DIR DEB_CACHE_DIR
# DEB_CACHE_DIR keeps the downloaded .debs between runs. Needs root, postfix (smtp-sink), m4, libwrap0,
# openssl, unshare; exit 77 = skipped.
MILTER=$1 KEYSTORE=$2 TOOL=$3 PKI=$4 DEBS=$5
E2E_PORT_SLOT=4
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
for tool in m4 openssl unshare nsenter apt-get dpkg-deb; do
  command -v "$tool" > /dev/null || { echo "SKIP: $tool missing"; exit 77; }
done
ldconfig -p | grep 'libwrap\.so\.0 ' > /dev/null || { echo "SKIP: libwrap0 missing (sendmail links it)"; exit 77; }
compgen -G '/usr/lib/*/sasl2/libplain.so' > /dev/null || { echo "SKIP: libsasl2-modules missing (SASL PLAIN)"; exit 77; }
[ -d /usr/lib/sasl2 ] || { echo "SKIP: /usr/lib/sasl2 missing (libsasl2-2)"; exit 77; }
unshare --uts --mount --pid --fork true 2> /dev/null || { echo "SKIP: cannot make namespaces (unshare)"; exit 77; }
cp -r "$PKI" "$D/pki" || fatal "copy the PKI"
PKI=$D/pki
T() { timeout -k 5 30 "$@"; }
started=$(date +%s)

# ---- Sendmail from Debian's packages, cached
mkdir -p "$DEBS"
packages=(sendmail-bin sendmail-base sendmail-cf sasl2-bin)
for p in "${packages[@]}"; do
  if ! compgen -G "$DEBS/${p}_*.deb" > /dev/null; then
    (cd "$DEBS" && T apt-get download "$p" > /dev/null 2>&1) || { echo "SKIP: apt-get download $p failed"; exit 77; }
  fi
done
for p in "${packages[@]}"; do
  deb=$(ls "$DEBS/${p}"_*.deb | tail -n 1)
  dpkg-deb -x "$deb" "$D/root" || fatal "dpkg-deb -x $deb"
done
SM=$D/root/usr/libexec/sendmail/sendmail
CFDIR=$D/root/usr/share/sendmail/cf
[ -x "$SM" ] && [ -f "$CFDIR/m4/cf.m4" ] || fatal "sendmail not in the packages"
ok "sendmail $(dpkg-deb -f "$(ls "$DEBS"/sendmail-bin_*.deb | tail -n 1)" Version) unpacked"

# SMTP AUTH: alice's password in a sasldb of our own; the directory is bind-mounted at /usr/lib/sasl2
# (where libsasl2 looks for Sendmail.conf) inside Sendmail's mount namespace only.
mkdir -m 755 "$D/sasl"
printf 'pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: /usr/lib/sasl2/sasldb2\nmech_list: PLAIN\n' \
  > "$D/sasl/Sendmail.conf"
printf 'pw-alice' | "$D/root/usr/sbin/saslpasswd2" -f "$D/sasl/sasldb2" -p -c -u mx.gw.test alice \
  || fatal "saslpasswd2"
chmod 600 "$D/sasl/sasldb2"

# The milter's socket: not under /tmp (Sendmail refuses a socket below a world-writable directory).
sockdir=$(mktemp -d /run/smime-e2e-sendmail.XXXXXX)
chmod 755 "$sockdir"
at_exit "rm -rf '$sockdir'"
socket=$sockdir/milter.sock

mkdir -m 700 "$D/mqueue"
printf 'hosts files\naliases files\n' > "$D/service.switch"
cat > "$D/test.mc" <<EOF
divert(-1)
divert(0)dnl
include(\`$CFDIR/m4/cf.m4')dnl
OSTYPE(\`linux')dnl
define(\`QUEUE_DIR', \`$D/mqueue')dnl
define(\`confPID_FILE', \`$D/sendmail.pid')dnl
define(\`STATUS_FILE', \`$D/statistics')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confSERVICE_SWITCH_FILE', \`$D/service.switch')dnl
define(\`ALIAS_FILE', \`')dnl
FEATURE(\`no_default_msa')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`promiscuous_relay')dnl
FEATURE(\`accept_unresolvable_domains')dnl
define(\`SMART_HOST', \`[127.0.0.1]')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $sink_port')dnl
define(\`ESMTP_MAILER_ARGS', \`TCP \$h $sink_port')dnl
define(\`confAUTH_MECHANISMS', \`PLAIN')dnl
TRUST_AUTH_MECH(\`PLAIN')dnl
DAEMON_OPTIONS(\`Port=$smtpd_port, Addr=127.0.0.1, Name=MTA')dnl
INPUT_MAIL_FILTER(\`smime-milter', \`S=unix:$socket, F=T, T=S:30s;R:30s;E:5m')dnl
MAILER(\`smtp')dnl
EOF
m4 "$D/test.mc" > "$D/test.cf" 2> "$D/m4.log" || { cat "$D/m4.log"; fatal "m4 test.mc"; }

# ---- the milter: authenticated clients are outbound; gw-new signs example.com, alice has a certificate,
# the test root is trusted for inbound signatures; a failed inbound signature is quarantined
cat "$PKI/gw-new.pem" "$PKI/inter.pem" > "$D/gw-bundle.pem"
"$KEYSTORE" --store "$D/keystore.db" import "$D/gw-bundle.pem" --key "$PKI/gw-new.key" > /dev/null 2>&1 \
  || fatal "keystore import gw-new"
"$KEYSTORE" --store "$D/keystore.db" import "$PKI/alice.pem" > /dev/null 2>&1 || fatal "keystore import alice"
"$KEYSTORE" --store "$D/keystore.db" trust add "$PKI/root.pem" > /dev/null 2>&1 || fatal "keystore trust add root"
mkdir -p "$D/spool"
cat > "$D/milter.json" <<JSON
{
  "listen": "unix:$socket",
  "daemon": { "allow_root": true, "socket_group": "postfix", "comment": "the test runs as root, as Sendmail does; the check looks for postfix too" },
  "spool": { "directory": "$D/spool" },
  "keystore": { "path": "$D/keystore.db" },
  "log": { "level": "debug" },
  "revocation": { "enabled": false, "comment": "the test PKI has no OCSP/CRL; revocation has its own tests" },
  "direction": { "internal_networks": [], "authenticated_is_outbound": true },
  "profiles": {
    "sign": { "mode": "sign", "sign_mode": "detached" },
    "enc": { "mode": "sign-encrypt", "missing_certificate": "bounce" }
  },
  "outbound": {
    "rules": [ { "name": "enc", "match": { "header": [ { "name": "Subject", "contains": "[encrypt]" } ] }, "profile": "enc" } ],
    "default_profile": "sign"
  },
  "inbound": { "authserv_id": "mx.gw.test", "actions": { "fail": "quarantine" } }
}
JSON
start_milter "$D/milter.json" "$socket"
start_sink

# ---- Sendmail, in namespaces of its own. It is the first process of its PID namespace: SIGKILL to it, by
# its PID (the child of unshare), ends every process of the namespace, and then unshare.
unshare --uts --mount --pid --fork -- sh -c \
  'hostname mx.gw.test && mount --bind "$1" /usr/lib/sasl2 && exec "$2" -bD -D "$3" -d64.10 -C "$4"' \
  sendmail "$D/sasl" "$SM" "$D/sendmail-debug.log" "$D/test.cf" > "$D/sendmail.out" 2>&1 &
unshare_pid=$!
# sendmail_pid — Sendmail's PID here (the first process of its namespaces)
sendmail_pid() { tr -d ' \n' < "/proc/$unshare_pid/task/$unshare_pid/children" 2> /dev/null; }
stop_sendmail() {
  local pid; pid=$(sendmail_pid)
  [ -n "$pid" ] && kill -KILL "$pid"
  wait "$unshare_pid"
}
at_exit stop_sendmail
for _ in $(seq 300); do
  { exec 3<> "/dev/tcp/127.0.0.1/$smtpd_port"; } 2> /dev/null && break
  kill -0 "$unshare_pid" 2> /dev/null || { cat "$D/sendmail.out"; fatal "sendmail exited"; }
  sleep 0.2
done
exec 3<&- 2> /dev/null
echo "# sendmail listened $(($(date +%s) - started)) s after the test started"

# send SUBJECT FROM TO FILE — one message on fd 3 (FILE: LF or CRLF lines; sent CRLF, dot-stuffed); the queue
# id of a 250 answer is appended to $D/qids as "SUBJECT<tab>QUEUEID"
send() {
  say "MAIL FROM:<$2>"; expect 250
  say "RCPT TO:<$3>"; expect 250
  say "DATA"; expect 354
  awk '{ sub(/\r$/, ""); if (substr($0, 1, 1) == ".") $0 = "." $0; printf "%s\r\n", $0 }' "$4" >&3
  say "."
  local r; r=$(reply)
  case $r in 250*) ok "SMTP: '$1' accepted: $r"; printf '%s\t%s\n' "$1" "$(awk '{print $3}' <<< "$r")" >> "$D/qids" ;;
    *) notok "SMTP: '$1' accepted (got: $r)" ;; esac
}
message() {  # message SUBJECT FROM TO OUT
  printf 'From: %s\nTo: %s\nSubject: %s\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n' "$2" "$3" "$1" > "$4"
  printf 'Through Sendmail: %s.\n.a line starting with a dot\n' "$1" >> "$4"
}

# ---- outbound: authenticated as alice
smtp_open
expect 220
say "EHLO client.test"; expect 250
say "AUTH PLAIN $(printf '\0alice\0pw-alice' | base64)"
r=$(reply); case $r in 235*) ok "SMTP AUTH PLAIN as alice: $r" ;; *) fatal "SMTP AUTH PLAIN as alice (got: $r)" ;; esac
message "sendmail signed" user@example.com bob@example.org "$D/m1.eml"
send "sendmail signed" user@example.com bob@example.org "$D/m1.eml"
message "[encrypt] sendmail for alice" user@example.com alice@example.org "$D/m2.eml"
send "[encrypt] sendmail for alice" user@example.com alice@example.org "$D/m2.eml"
say "QUIT"; expect 221
exec 3<&-

# ---- inbound: no AUTH; signed by alice, and a tampered copy
message "sendmail inbound from alice" alice@example.org user@example.com "$D/m3.plain"
"$TOOL" sign --cert "$PKI/alice.pem" --key "$PKI/alice.key" --chain "$PKI/inter.pem" "$D/m3.plain" "$D/m3.eml" 2> "$D/sign.log" \
  || { cat "$D/sign.log"; fatal "smime-tool sign as alice"; }
sed 's/^Through Sendmail: sendmail inbound from alice\./Through Sendmail: sendmail inbound from alice!/; s/^Subject: sendmail inbound from alice/Subject: sendmail tampered from alice/' \
  "$D/m3.eml" > "$D/m4.eml"
cmp -s "$D/m3.eml" "$D/m4.eml" && fatal "the tampered copy does not differ"
smtp_open
expect 220
say "EHLO client.test"; expect 250
send "sendmail inbound from alice" alice@example.org user@example.com "$D/m3.eml"
send "sendmail tampered from alice" alice@example.org user@example.com "$D/m4.eml"
say "QUIT"; expect 221
exec 3<&-

wait_sink 3 60
n=$(find "$D/sink" -type f | wc -l)
check "3 messages delivered (got $n; the tampered one is held)" test "$n" -eq 3
qid() { awk -F '\t' -v s="$1" '$1 == s { print $2 }' "$D/qids"; }

openssl_verify() {  # MSG CONTENT-OUT SIGNER-PEM — good signature chaining to the test root, by SIGNER
  T openssl cms -verify -in "$1" -CAfile "$PKI/root.pem" -signer "$D/signer.pem" -out "$2" || return 1
  cmp <(openssl x509 -in "$D/signer.pem" -outform DER) <(openssl x509 -in "$3" -outform DER)
}
content_ok() { grep -q '^Through Sendmail: ' "$1" && grep -q '^\.a line starting with a dot' "$1"; }

f=$(sink_file "sendmail signed")
if [ -n "$f" ]; then
  check "signed: trace header" grep -q '^X-SMIME-Milter: signed' "$f"
  check "signed: openssl cms -verify good, signer gw-new" openssl_verify "$f" "$D/c1" "$PKI/gw-new.pem"
  check "signed: content intact (dot-stuffing undone)" content_ok "$D/c1"
else
  notok "signed copy delivered"
fi
f=$(sink_file "[encrypt] sendmail for alice")
if [ -n "$f" ]; then
  check "encrypted: application/pkcs7-mime" grep -qi '^Content-Type: application/pkcs7-mime' "$f"
  check "encrypted: openssl cms -decrypt with alice's key" \
    T openssl cms -decrypt -in "$f" -recip "$PKI/alice.pem" -inkey "$PKI/alice.key" -out "$D/inner2"
  check "encrypted: inner signature good (openssl), signer gw-new" openssl_verify "$D/inner2" "$D/c2" "$PKI/gw-new.pem"
  check "encrypted: content intact" content_ok "$D/c2"
else
  notok "encrypted copy delivered"
fi
f=$(sink_file "sendmail inbound from alice")
if [ -n "$f" ]; then
  check "inbound: Authentication-Results smime=pass for alice" \
    grep -q '^Authentication-Results: mx.gw.test; smime=pass body.smime-identifier=alice@example.org' "$f"
  check "inbound: X-SMIME-Gateway-Verified: yes" grep -q '^X-SMIME-Gateway-Verified: yes' "$f"
  check "inbound: the delivered copy still verifies (openssl), signer alice" openssl_verify "$f" "$D/c3" "$PKI/alice.pem"
else
  notok "inbound copy delivered"
fi
tampered=$(qid "sendmail tampered from alice")
check "inbound tampered: not delivered" sh -c "! grep -l -F 'Subject: sendmail tampered' '$D'/sink/*"
# Sendmail keeps a quarantined envelope as hfQUEUEID (not qf), its reason on a q line.
check "inbound tampered: quarantined in Sendmail's queue (hf$tampered, with the reason)" \
  sh -c "[ -n '$tampered' ] && grep -q '^qsmime-milter fail: S/MIME signature failed' '$D/mqueue/hf$tampered'"
check "inbound tampered: the milter logged the quarantine" grep -q "^smime-milter: info: $tampered: quarantined" "$D/milter.log"
# What smime-milter(8) tells the administrator: list with mailq -qQ, release with -Q -qQ -qI, then deliver.
in_sendmail() { nsenter -t "$(sendmail_pid)" -u -m -- "$SM" -C "$D/test.cf" "$@"; }
listed_quarantined() { in_sendmail -bp -qQ > "$D/mailq.log" 2>&1; cat "$D/mailq.log"; grep -A1 "^$tampered" "$D/mailq.log" | grep -q 'QUARANTINE: smime-milter fail'; }
check "inbound tampered: listed by mailq -qQ with the reason" listed_quarantined
if [ -n "$tampered" ] && in_sendmail -Q -qQ -qI"$tampered" > "$D/release.log" 2>&1 && in_sendmail -qI"$tampered" >> "$D/release.log" 2>&1; then
  wait_sink 4 30
  check "inbound tampered: released (-Q -qQ -qI) and delivered" sh -c "grep -q -F 'Subject: sendmail tampered' '$D'/sink/*"
  f=$(sink_file "sendmail tampered from alice")
  [ -z "$f" ] || check "inbound tampered: delivered with smime=fail" grep -q '^Authentication-Results: mx.gw.test; smime=fail' "$f"
else
  cat "$D/release.log"; notok "inbound tampered: released (-Q -qQ -qI) and delivered"
fi

# ---- the macros: as Sendmail sent them (its milter debug log) and as the milter used them
signed_qid=$(qid "sendmail signed") inbound_qid=$(qid "sendmail inbound from alice")
check "macro {daemon_name} sent at connect" grep -q '^milter_send_macros(smime-milter, C): {daemon_name}=MTA$' "$D/sendmail-debug.log"
check "macro {auth_authen} sent at MAIL FROM" grep -q '^milter_send_macros(smime-milter, M): {auth_authen}=alice$' "$D/sendmail-debug.log"
check "macro {client_addr} sent at MAIL FROM (asked for by the milter)" \
  grep -q '^milter_send_macros(smime-milter, M): {client_addr}=127.0.0.1$' "$D/sendmail-debug.log"
check "macro i sent at MAIL FROM: $signed_qid" grep -q "^milter_send_macros(smime-milter, M): i=$signed_qid\$" "$D/sendmail-debug.log"
check "the milter asked Sendmail for i, {auth_authen}, {client_addr} (smfi_setsymlist)" \
  grep -q 'milter_getsymlist(smime-milter, macros.envfrom, "i {auth_authen} {client_addr}")=3' "$D/sendmail-debug.log"
check "milter: authenticated client outbound ({auth_authen}), lines under Sendmail's queue id (i)" \
  grep -q "^smime-milter: info: $signed_qid: direction=outbound reason=authenticated user=alice" "$D/milter.log"
check "milter: unauthenticated client inbound, its address known ({client_addr})" \
  grep -q "^smime-milter: info: $inbound_qid: direction=inbound reason=external-client client=127.0.0.1" "$D/milter.log"

elapsed=$(($(date +%s) - started))
echo "# sendmail_sign: $elapsed s"
[ "$FAILED" -eq 0 ] || { show_logs; echo "# --- sendmail"; tail -n 20 "$D/sendmail.out" | sed 's/^/#   /'; }
finish
