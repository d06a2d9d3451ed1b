#!/usr/bin/env bash
# shellcheck disable=SC2317  # check functions are called indirectly through check
# Fault test: hostile input through a private Postfix, each message both inbound (127.0.0.1 is outside:
# direction.internal_networks is 10.9.9.0/24) and outbound (the same client made internal with XCLIENT):
#   nest1000     1,000 levels of nested multipart
#   nest1000-signed  the same inside a valid signature (alice's, made by openssl cms -sign)
#   parts100k    a multipart with 100,000 parts
#   header10m    one header line of 10 MB (Postfix cuts it: line_length_limit, header_size_limit; the milter
#                gets what Postfix keeps, up to 100 KiB)
#   nul          NUL bytes in a header and in the body
#   b64-enveloped  application/pkcs7-mime enveloped-data whose base64 is broken
#   b64-signature  multipart/signed whose signature part's base64 is broken
#   hugelen-opaque application/pkcs7-mime signed-data whose DER declares lengths of 2 GB
#   hugelen-enveloped  enveloped-data (indefinite-length BER) whose recipientInfos declare 2 GB
#   hugelen-signature  multipart/signed with such a DER as the signature
#   noboundary   multipart/signed without a boundary parameter
# Each gets a clear decision within a bound: accepted with a result (outbound: the trace header, and a
# signature that openssl verifies when the milter says it signed; inbound: an Authentication-Results
# field of our authserv-id), or a 4xx/5xx whose reply names the queue id; nothing accepted is lost (the
# sink has it). After every message the milter is the process started first, and at the end it still
# signs and verifies normal messages. The decisions are printed as a table.
#   fault_hostile.sh SMIME_MILTER SMIME_KEYSTORE SMIME_TOOL PKI_DIR
# Needs root, postfix and openssl (exit 77 = skipped). Bounded: every message has a time limit.
MILTER=$1 KEYSTORE=$2 TOOL=$3 PKI=$4
command -v openssl > /dev/null || { echo "SKIP: openssl missing"; exit 77; }
E2E_UNSHARE=net
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
cp -r "$PKI" "$D/pki" || fatal "copy the PKI"
PKI=$D/pki
AUTHSERV=mx.hostile.test INTERNAL=10.9.9.9
BOUND=${SMIME_E2E_HOSTILE_BOUND:-60}  # seconds per decision

cat "$PKI/gw-new.pem" "$PKI/inter.pem" > "$D/gw-bundle.pem"
{ "$KEYSTORE" --store "$D/keystore.db" import "$D/gw-bundle.pem" --key "$PKI/gw-new.key" \
    && "$KEYSTORE" --store "$D/keystore.db" trust add "$PKI/root.pem"; } > "$D/ks.log" 2>&1 || { cat "$D/ks.log"; fatal "keystore setup"; }
mkdir -p "$D/spool"
cat > "$D/milter.json" <<JSON
{
  "listen": "unix:$D/milter.sock",
  "daemon": { "allow_root": true, "socket_group": "postfix", "comment": "the test runs as root; smtpd (group postfix) connects" },
  "spool": { "directory": "$D/spool" },
  "keystore": { "path": "$D/keystore.db" },
  "log": { "level": "info" },
  "revocation": { "enabled": false },
  "direction": { "internal_networks": ["10.9.9.0/24"] },
  "inbound": { "authserv_id": "$AUTHSERV" },
  "profiles": { "sign": { "mode": "sign", "sign_mode": "detached" } },
  "outbound": { "default_profile": "sign" }
}
JSON
start_milter "$D/milter.json"
first_milter=$milter_pid
start_sink
start_postfix --size-limit 62914560 --set "smtpd_authorized_xclient_hosts = 127.0.0.0/8"
smtp_open; exec 3<&-

# ---- the hostile messages, written as SMTP DATA (CRLF, no line starts with a dot)
cat > "$D/hostile.pl" <<'PERL'
use strict; use warnings;
my ($kind, $dir, $out) = @ARGV;
open(my $o, '>:raw', $out) or die "$out: $!\n";
my ($from, $to) = $dir eq 'out' ? ('user@example.com', 'bob@example.org') : ('alice@example.org', 'user@example.com');
# the entity alone (for openssl cms -sign), or a whole message
print $o "From: <$from>\r\nTo: <$to>\r\nSubject: hostile $kind $dir\r\nMIME-Version: 1.0\r\n" unless $dir eq 'entity';
# DER with lengths of 2 GB: SEQUENCE { OID signedData, [0] { SEQUENCE { INTEGER 1 ... } } }, cut short
my $huge = pack('H*', '30847fffffff06092a864886f70d010702a0847fffffff30847fffffff020101310f300d06096086480165030402010500');
sub b64 { my $s = ''; for (my $i = 0; $i < length $_[0]; $i += 57) { my $c = substr($_[0], $i, 57); my $e = pack('u', $c); $e =~ s/^.//mg; $e =~ s/\n//g; $e =~ tr|`| |; $e =~ tr| -_|A-Za-z0-9+/|; my $pad = (3 - length($c) % 3) % 3; substr($e, -$pad) = '=' x $pad if $pad; $s .= "$e\r\n"; } $s }
if ($kind eq 'nest1000' || $kind eq 'nest1000-signed') {
    print $o "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n";
    print $o "--b$_\r\nContent-Type: multipart/mixed; boundary=\"b" . ($_ + 1) . "\"\r\n\r\n" for 1 .. 999;
    print $o "--b1000\r\nContent-Type: text/plain\r\n\r\nthe innermost part\r\n";
    print $o "--b$_--\r\n" for reverse 1 .. 1000;
} elsif ($kind eq 'parts100k') {
    print $o "Content-Type: multipart/mixed; boundary=\"p\"\r\n\r\n";
    print $o "--p\r\n\r\n$_\r\n" for 1 .. 100000;
    print $o "--p--\r\n";
} elsif ($kind eq 'header10m') {
    print $o "X-Long: ", 'a' x (10 * 1024 * 1024), "\r\nContent-Type: text/plain\r\n\r\nafter the long header\r\n";
} elsif ($kind eq 'nul') {
    print $o "X-Nul: before\0after\r\nContent-Type: text/plain\r\n\r\nbody with \0 a NUL\r\nand \0\0 two\r\n";
} elsif ($kind eq 'b64-enveloped') {
    print $o "Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=\"smime.p7m\"\r\n";
    print $o "Content-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHA6CAMIACAQAx!!!not*base64***\r\n%%%%====AAAA====\r\n";
} elsif ($kind eq 'b64-signature') {
    print $o "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"s\"\r\n\r\n";
    print $o "--s\r\nContent-Type: text/plain\r\n\r\nsigned text\r\n--s\r\nContent-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n";
    print $o "Content-Transfer-Encoding: base64\r\n\r\nMIIG!!!broken***base64\r\n====\r\n--s--\r\n";
} elsif ($kind eq 'hugelen-opaque') {
    print $o "Content-Type: application/pkcs7-mime; smime-type=signed-data; name=\"smime.p7m\"\r\n";
    print $o "Content-Transfer-Encoding: base64\r\n\r\n", b64($huge);
} elsif ($kind eq 'hugelen-enveloped') {
    # indefinite-length BER envelopedData whose recipientInfos SET declares 2 GB
    my $env = pack('H*', '308006092a864886f70d010703a0803080020100318' . '47fffffff' . '3082010002010030');
    print $o "Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=\"smime.p7m\"\r\n";
    print $o "Content-Transfer-Encoding: base64\r\n\r\n", b64($env);
} elsif ($kind eq 'hugelen-signature') {
    print $o "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"s\"\r\n\r\n";
    print $o "--s\r\nContent-Type: text/plain\r\n\r\nsigned text\r\n--s\r\nContent-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n";
    print $o "Content-Transfer-Encoding: base64\r\n\r\n", b64($huge), "--s--\r\n";
} elsif ($kind eq 'noboundary') {
    print $o "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256\r\n\r\n";
    print $o "--s\r\nContent-Type: text/plain\r\n\r\nsigned text\r\n--s--\r\n";
} elsif ($kind eq 'control') {
    print $o "Content-Type: text/plain\r\n\r\nan ordinary message\r\n";
} else { die "unknown kind $kind\n" }
close($o) or die "$out: $!\n";
PERL
KINDS="nest1000 nest1000-signed parts100k header10m nul b64-enveloped b64-signature hugelen-opaque hugelen-enveloped hugelen-signature noboundary"

no_openssl_text() { ! grep -E -o '.{0,60}error:[0-9A-Fa-f]{8}:.{0,60}' <<< "$1"; }
no_openssl_text_in_header() { ! perl -ne 'last if /^\r?$/; print "$1\n" if /(.{0,80}error:[0-9A-Fa-f]{8}:.{0,60})/' "$1" | grep .; }
declare -A DECISION
accepted=0
# delivered_file KIND DIR — the sink's copy
delivered_file() { grep -l -a -F "Subject: hostile $1 $2" "$D"/sink/* 2> /dev/null | head -n 1; }
# hostile KIND DIR — send, time, classify, check
hostile() {
  local kind=$1 dir=$2 r t0 secs f="" result=""
  if [ "$kind" = nest1000-signed ]; then
    # the 1,000 levels inside a valid signature of alice's (openssl cms -sign), From and To in front
    perl "$D/hostile.pl" nest1000 entity "$D/nest.entity" || fatal "make $kind"
    timeout 60 openssl cms -sign -in "$D/nest.entity" -signer "$PKI/alice.pem" -inkey "$PKI/alice.key" \
      -certfile "$PKI/inter.pem" -md sha256 -out "$D/nest.signed" || fatal "openssl cms -sign $kind"
    if [ "$dir" = out ]; then printf 'From: <user@example.com>\nTo: <bob@example.org>\n'; else printf 'From: <alice@example.org>\nTo: <user@example.com>\n'; fi \
      > "$D/$kind-$dir.msg"
    printf 'Subject: hostile %s %s\n' "$kind" "$dir" >> "$D/$kind-$dir.msg"
    cat "$D/nest.signed" >> "$D/$kind-$dir.msg"
    wire "$D/$kind-$dir.msg" "$D/$kind-$dir.wire"
  else
    perl "$D/hostile.pl" "$kind" "$dir" "$D/$kind-$dir.wire" || fatal "make $kind"
  fi
  t0=$(now_ms)
  if [ "$dir" = out ]; then
    r=$(SEND_TIMEOUT=$((BOUND + 30)) SEND_XCLIENT=$INTERNAL smtp_send "$D/$kind-$dir.wire" bob@example.org)
  else
    r=$(SEND_TIMEOUT=$((BOUND + 30)) SEND_FROM=alice@example.org smtp_send "$D/$kind-$dir.wire" user@example.com)
  fi
  secs=$((($(now_ms) - t0) / 1000))
  check "$kind $dir: decided within $BOUND s ($secs s)" test "$secs" -le "$BOUND"
  case $r in
    250*)
      accepted=$((accepted + 1))
      for _ in $(seq 100); do f=$(delivered_file "$kind" "$dir"); [ -n "$f" ] && break; sleep 0.2; done
      sleep 0.3
      if [ -z "$f" ]; then
        notok "$kind $dir: accepted ($r) but not delivered"
        result="accepted, not delivered"
      elif [ "$dir" = out ]; then
        result="250, $(perl -ne 'last if /^\r?$/; if (/^X-SMIME-Milter:\s*(.*?)\r?$/i) { print $1; exit }' "$f")"
        check "$kind out: accepted with a result (the trace header)" grep -q -a -i '^X-SMIME-Milter:' "$f"
        if grep -q -a -i '^X-SMIME-Milter: signed' "$f"; then
          check "$kind out: the signed copy verifies with openssl" \
            timeout 60 openssl cms -verify -in "$f" -CAfile "$PKI/root.pem" -out "$D/verified"
        fi
      else
        result="250, $(perl -ne 'last if /^\r?$/; if (/^Authentication-Results:\s*\Q'"$AUTHSERV"'\E;\s*(.*?)\r?$/i) { print substr($1, 0, 90); exit }' "$f")"
        check "$kind in: accepted with a result (Authentication-Results: $AUTHSERV; smime=... or none)" \
          grep -q -a -i -E "^Authentication-Results: $AUTHSERV; *(smime=|none)" "$f"
      fi
      ;;
    4* | 5*)
      result=$r
      case $r in *"queue id "[0-9A-F]*) ok "$kind $dir: refused with the queue id ($r)" ;; *) notok "$kind $dir: a refusal names the queue id ($r)" ;; esac
      ;;
    *) notok "$kind $dir: no decision ($r)"; result="none: $r" ;;
  esac
  # OpenSSL's error queue ("error:0680009B:asn1 encoding routines::...") belongs in the log only
  if [ -n "$f" ]; then
    check "$kind $dir: no OpenSSL error text in the delivered header" no_openssl_text_in_header "$f"
  fi
  check "$kind $dir: no OpenSSL error text in the reply" no_openssl_text "$r"
  DECISION[$kind-$dir]="$result ($secs s)"
  check "$kind $dir: the milter is still the process started first" sh -c "kill -0 $first_milter && [ '$milter_pid' = '$first_milter' ]"
}
for kind in $KINDS; do
  hostile "$kind" in
  hostile "$kind" out
done
# and the milter still does its work
hostile control out
check "control out: signed" sh -c "grep -q -a '^X-SMIME-Milter: signed' '$(delivered_file control out)'"
hostile control in
check "control in: none (not signed)" sh -c "grep -q -a -i '^Authentication-Results: $AUTHSERV; *none' '$(delivered_file control in)'"
check "every accepted message delivered ($accepted)" test "$(sink_count)" -eq "$accepted"
check "the milter runs" milter_alive
echo "# decisions (inbound | outbound):"
for kind in $KINDS control; do printf '#   %-18s %s | %s\n' "$kind" "${DECISION[$kind-in]}" "${DECISION[$kind-out]}"; done
[ "$FAILED" -eq 0 ] || show_logs
echo "# run time: $SECONDS s"
finish
