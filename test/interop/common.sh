# common.sh — shared helpers of the interop scripts (sourced, not run).
#
# A script that sources this file is called as `SCRIPT SMIME_TOOL PKI_DIR`. This file:
#  - checks the arguments, makes a private work directory $T (mktemp -d) and removes it on exit,
#    after running the cleanup commands registered with at_exit;
#  - counts checks: ok / notok / skip print one line each ("ok - ...", "not ok - ...", "skip - ...");
#    `finish` prints a summary and exits 1 if any check failed, 0 otherwise;
#  - runs every external command under `timeout` (no check can hang), logging commands and their
#    output into $LOG, which is shown (indented with "#") when a check fails (INTEROP_TIMEOUT,
#    default 60 seconds, bounds each command);
#  - writes the test messages (make_messages) and parses and builds MIME (mime.pl, perl-base only):
#    extraction of DER out of our S/MIME messages, wrapping of foreign DER into S/MIME messages,
#    and comparison of contents (media type, routing headers, decoded body after CRLF normalisation).
#
# Conventions for check functions: they return 0 on success; on failure they return non-zero and
# may set WHY to a short reason. `check DESCRIPTION FUNCTION ARGS...` runs one and prints the line.

# shellcheck disable=SC2034  # variables used by the scripts that source this file
set -uo pipefail
export LC_ALL=C TZ=UTC

if [ $# -ne 2 ]; then
  echo "usage: $0 SMIME_TOOL PKI_DIR" >&2
  exit 2
fi
TOOL=$1
PKI=$2
SCRIPT_NAME=$(basename "$0" .sh)
TIMEOUT=${INTEROP_TIMEOUT:-60}

PASSED=0 FAILED=0 SKIPPED=0
ok()    { printf 'ok - %s\n' "$*"; PASSED=$((PASSED + 1)); }
notok() { printf 'not ok - %s\n' "$*"; FAILED=$((FAILED + 1)); }
skip()  { printf 'skip - %s\n' "$*"; SKIPPED=$((SKIPPED + 1)); }
note()  { printf '# %s\n' "$*"; }
finish() {
  printf '# %s: %d passed, %d failed, %d skipped\n' "$SCRIPT_NAME" "$PASSED" "$FAILED" "$SKIPPED"
  [ "$FAILED" -eq 0 ] && exit 0
  exit 1
}

if [ ! -x "$TOOL" ] || [ -d "$TOOL" ]; then
  notok "smime-tool is an executable file ($TOOL)"
  finish
fi
TOOL=$(cd "$(dirname "$TOOL")" && pwd)/$(basename "$TOOL")
for f in root.pem inter.pem alice.pem alice.key alice.p12 bob.pem carol.pem carol.key; do
  if [ ! -s "$PKI/$f" ]; then
    notok "test PKI present ($PKI/$f missing; run test/pki/make-pki.sh $PKI)"
    finish
  fi
done
PKI=$(cd "$PKI" && pwd)
P12_PASS=secret

T=$(mktemp -d "${TMPDIR:-/tmp}/interop-$SCRIPT_NAME.XXXXXX")
AT_EXIT=()
at_exit() { AT_EXIT+=("$*"); }
_cleanup() {
  local c
  for c in "${AT_EXIT[@]}"; do eval "$c" > /dev/null 2>&1 || true; done
  rm -rf -- "$T"
}
trap _cleanup EXIT
trap 'exit 130' INT TERM HUP
cd "$T" || exit 1

# ---- logging and running --------------------------------------------------------------------------
LOG=$T/check.log
: > "$LOG"
WHY=
log() { printf '%s\n' "$*" >> "$LOG"; }

# run CMD ARGS... — run with a time limit; stdout and stderr go to the log. Returns CMD's status.
run() {
  local rc=0
  log "\$ $*"
  timeout -k 5 "$TIMEOUT" "$@" >> "$LOG" 2>&1 || rc=$?
  [ $rc -eq 0 ] || log "(exit $rc)"
  [ $rc -eq 124 ] && log "(timed out after ${TIMEOUT}s)"
  return $rc
}
# runo OUTFILE CMD ARGS... — like run, but stdout goes to OUTFILE.
runo() {
  local out=$1 rc=0
  shift
  log "\$ $* > $(basename "$out")"
  timeout -k 5 "$TIMEOUT" "$@" > "$out" 2>> "$LOG" || rc=$?
  [ $rc -eq 0 ] || log "(exit $rc)"
  return $rc
}

# st ARGS... — run smime-tool; its stderr (the report) is kept in $T/st.err, its exit status in ST_RC.
ST_RC=0
st() {
  ST_RC=0
  timeout -k 5 "$TIMEOUT" "$TOOL" "$@" 2> "$T/st.err" || ST_RC=$?
  {
    printf '$ smime-tool %s   (exit %d)\n' "$*" "$ST_RC"
    sed 's/^/  stderr: /' "$T/st.err"
  } >> "$LOG"
  return $ST_RC
}

# check DESCRIPTION FUNCTION ARGS... — one line of output per check.
check() {
  local desc=$1
  shift
  : > "$LOG"
  WHY=
  if "$@"; then
    ok "$desc"
  else
    notok "$desc${WHY:+ — $WHY}"
    tail -n 40 "$LOG" | sed 's/^/#   /'
  fi
}

# ---- the smime-tool reports -------------------------------------------------------------------------
# report_field FILE LINE-PREFIX NAME — value of NAME=... on the first line of FILE starting with PREFIX.
report_field() {
  grep -m1 "^$2 " "$1" | tr ' ' '\n' | sed -n "s/^$3=//p" | head -n1
}

# expect_valid ERRFILE SIGNERS DETACHED(yes|no) — smime-tool verify said valid, with these signers
# (comma-separated, any order) and a `signer email=X ... chain=ok ...` line for each.
expect_valid() {
  local err=$1 signers=$2 detached=$3 s
  if [ "$ST_RC" -ne 0 ]; then WHY="smime-tool verify exited $ST_RC"; return 1; fi
  if ! grep -q '^verify ' "$err"; then WHY="no 'verify ...' report line"; return 1; fi
  s=$(report_field "$err" verify status)
  [ "$s" = valid ] || { WHY="status=$s, want valid"; return 1; }
  s=$(report_field "$err" verify signers)
  # SignerInfos is a SET OF: no order is promised, compare as sets
  [ "$(sorted_list "$s")" = "$(sorted_list "$signers")" ] || { WHY="signers=$s, want $signers"; return 1; }
  s=$(report_field "$err" verify detached)
  [ "$s" = "$detached" ] || { WHY="detached=$s, want $detached"; return 1; }
  local IFS=,
  for s in $signers; do
    awk -v e="email=$s" '$1 == "signer" { m = c = 0; for (i = 2; i <= NF; i++) { if ($i == e) m = 1; if ($i == "chain=ok") c = 1 }
                          if (m && c) found = 1 } END { exit !found }' "$err" \
      || { WHY="no 'signer email=$s ... chain=ok' line"; return 1; }
  done
  return 0
}

# expect_status ERRFILE STATUS EXIT — smime-tool verify reported STATUS and exited EXIT.
expect_status() {
  local s
  s=$(report_field "$1" verify status)
  [ "$s" = "$2" ] || { WHY="status=${s:-none}, want $2"; return 1; }
  [ "$ST_RC" -eq "$3" ] || { WHY="exit $ST_RC, want $3"; return 1; }
}

# expect_decrypted ERRFILE KEY-INDEX CIPHER AUTHENTICATED — smime-tool decrypt succeeded and reported
# these; CIPHER is compared without '-', '_', case and a leading "id-" (aes256-gcm = id-aes256-GCM).
expect_decrypted() {
  local err=$1 s
  if [ "$ST_RC" -ne 0 ]; then WHY="smime-tool decrypt exited $ST_RC"; return 1; fi
  grep -q '^decrypted ' "$err" || { WHY="no 'decrypted ...' report line"; return 1; }
  s=$(report_field "$err" decrypted key-index)
  [ "$s" = "$2" ] || { WHY="key-index=$s, want $2"; return 1; }
  s=$(report_field "$err" decrypted cipher)
  [ "$(cipher_norm "$s")" = "$(cipher_norm "$3")" ] || { WHY="cipher=$s, want $3"; return 1; }
  s=$(report_field "$err" decrypted authenticated)
  [ "$s" = "$4" ] || { WHY="authenticated=$s, want $4"; return 1; }
}
cipher_norm() { printf '%s' "$1" | tr 'A-Z' 'a-z' | sed -e 's/^id-//' -e 's/[-_]//g'; }
sorted_list() { printf '%s' "$1" | tr ',' '\n' | sort | paste -sd, -; }

# der_cipher DERFILE — the content-encryption algorithm of a CMS (Auth)EnvelopedData, as openssl names
# it (aes-256-cbc, id-aes256-GCM...), normalised to e.g. aes256cbc / aes256gcm.
der_cipher() {
  openssl cms -cmsout -print -inform DER -in "$1" 2> /dev/null \
    | awk '/contentEncryptionAlgorithm:/{f=1; next} f && /algorithm:/{print $2; exit}' \
    | tr 'A-Z' 'a-z' | sed -e 's/^id-//' -e 's/-//g'
}
# want_cipher DER SMIME-TOOL-ARGS... — if the arguments name a cipher (other than auto), the CMS uses it.
want_cipher() {
  local der=$1 c=
  shift
  while [ $# -gt 0 ]; do [ "$1" = --cipher ] && c=${2:-}; shift; done
  [ -z "$c" ] || [ "$c" = auto ] && return 0
  [ "$(der_cipher "$der")" = "$(cipher_norm "$c")" ] || { WHY="CMS content encryption is $(der_cipher "$der"), want $c"; return 1; }
}
# der_content_type DERFILE — the outer contentType (pkcs7-envelopedData, id-smime-ct-authEnvelopedData...)
der_content_type() {
  openssl cms -cmsout -print -inform DER -in "$1" 2> /dev/null | awk '/contentType:/{print $2; exit}'
}
# der_print DERFILE — openssl's dump of a CMS structure
der_print() { openssl cms -cmsout -print -inform DER -in "$1" 2> /dev/null; }

# ---- MIME ---------------------------------------------------------------------------------------------
cat > "$T/mime.pl" <<'PERL'
#!/usr/bin/perl
# mime.pl COMMAND ARGS — tiny, strict MIME helper for the interop tests (perl-base only).
use strict;
use warnings;

sub slurp { my ($f) = @_; open(my $h, '<:raw', $f) or die "mime.pl: $f: $!\n"; local $/; my $d = <$h>; $d = '' unless defined $d; return $d; }
sub spew { my ($f, $d) = @_; open(my $h, '>:raw', $f) or die "mime.pl: $f: $!\n"; print $h $d; close($h) or die; }

# split_entity(TEXT) -> (list of raw header fields incl. folding, body)
sub split_entity {
    my ($t) = @_;
    my ($head, $body);
    if ($t =~ /\A(\r?\n)/) { return ([], substr($t, length($1))); }
    if ($t =~ /\A(.*?\r?\n)\r?\n(.*)\z/s) { ($head, $body) = ($1, $2); }
    else { ($head, $body) = ($t, ''); }
    my @fields;
    for my $line (split /(?<=\n)/, $head) {
        if ($line =~ /^[ \t]/ && @fields) { $fields[-1] .= $line; } else { push @fields, $line; }
    }
    return (\@fields, $body);
}
sub fname { my ($f) = @_; $f =~ /^([^:]+):/ ? lc($1) : ''; }
sub fvalue {
    my ($f) = @_;
    $f =~ s/^[^:]*://; $f =~ s/\r?\n[ \t]/ /g; $f =~ s/\r?\n\z//; $f =~ s/^\s+|\s+$//g; $f =~ s/\s+/ /g;
    return $f;
}
sub header {
    my ($fields, $name) = @_;
    for my $f (@$fields) { return fvalue($f) if fname($f) eq lc($name); }
    return undef;
}
sub param {
    my ($value, $name) = @_;
    return undef unless defined $value;
    return $1 if $value =~ /;\s*\Q$name\E\s*=\s*"((?:[^"\\]|\\.)*)"/i;
    return $1 if $value =~ /;\s*\Q$name\E\s*=\s*([^;\s]+)/i;
    return undef;
}
sub mediatype {
    my ($fields) = @_;
    my $ct = header($fields, 'content-type');
    return 'text/plain' unless defined $ct;
    $ct =~ /^\s*([^;\s]+)/; return lc($1);
}
sub b64decode {
    my ($s) = @_;
    $s =~ tr|A-Za-z0-9+/||cd;
    $s =~ tr|A-Za-z0-9+/| -_|;
    my $uu = '';
    while (length $s) {
        my $chunk = substr($s, 0, 60, '');
        $uu .= chr(32 + int(length($chunk) * 3 / 4)) . $chunk . "\n";
    }
    return unpack('u', $uu);
}
sub qpdecode {
    my ($s) = @_;
    $s =~ s/[ \t]+(\r?\n)/$1/g;
    $s =~ s/=\r?\n//g;
    $s =~ s/=([0-9A-Fa-f]{2})/chr(hex($1))/ge;
    return $s;
}
sub lf { my ($s) = @_; $s =~ s/\r\n/\n/g; return $s; }

my $cmd = shift @ARGV or die "usage: mime.pl COMMAND ARGS\n";
if ($cmd eq 'header') {            # header FILE NAME: unfolded value of the first such header field
    my ($fields) = split_entity(slurp($ARGV[0]));
    my $v = header($fields, $ARGV[1]);
    exit 1 unless defined $v;
    print "$v\n";
} elsif ($cmd eq 'param') {        # param FILE HEADER PARAM
    my ($fields) = split_entity(slurp($ARGV[0]));
    my $v = param(header($fields, $ARGV[1]), $ARGV[2]);
    exit 1 unless defined $v;
    print "$v\n";
} elsif ($cmd eq 'mediatype') {    # mediatype FILE: type/subtype of the top-level entity, lower case
    my ($fields) = split_entity(slurp($ARGV[0]));
    print mediatype($fields), "\n";
} elsif ($cmd eq 'body') {         # body FILE: the raw body
    my (undef, $body) = split_entity(slurp($ARGV[0]));
    print $body;
} elsif ($cmd eq 'b64body') {      # b64body FILE: the body, base64-decoded (whatever the headers say)
    my (undef, $body) = split_entity(slurp($ARGV[0]));
    print b64decode($body);
} elsif ($cmd eq 'routing') {      # routing FILE: header fields other than Content-* and MIME-Version
    my ($fields) = split_entity(slurp($ARGV[0]));
    print grep { fname($_) !~ /^(content-|mime-version$)/ } @$fields;
} elsif ($cmd eq 'entity') {       # entity FILE: Content-* fields, blank line, body (the MIME entity)
    my ($fields, $body) = split_entity(slurp($ARGV[0]));
    my @c = grep { fname($_) =~ /^content-/ } @$fields;
    my $nl = (@c && $c[0] =~ /\r\n\z/) ? "\r\n" : "\n";
    print @c, $nl, $body;
} elsif ($cmd eq 'decoded') {      # decoded FILE: body decoded by its Content-Transfer-Encoding; text in LF form
    my ($fields, $body) = split_entity(slurp($ARGV[0]));
    my $cte = lc(header($fields, 'content-transfer-encoding') // '7bit');
    my $mt = mediatype($fields);
    if ($cte eq 'base64') { $body = b64decode($body); }
    elsif ($cte eq 'quoted-printable') { $body = qpdecode($body); }
    $body = lf($body) if $cte ne 'base64' || $mt =~ m{^(text|multipart|message)/};
    print $body;
} elsif ($cmd eq 'signed') {       # signed FILE CONTENT-OUT SIG-OUT: split a multipart/signed message
    my ($file, $cout, $sout) = @ARGV;
    my ($fields, $body) = split_entity(slurp($file));
    my $ct = header($fields, 'content-type') // '';
    die "mime.pl: not multipart/signed: $ct\n" unless mediatype($fields) eq 'multipart/signed';
    my $b = param($ct, 'boundary') // die "mime.pl: no boundary\n";
    my $proto = lc(param($ct, 'protocol') // '');
    die "mime.pl: protocol=$proto\n" unless $proto =~ m{^application/(x-)?pkcs7-signature$};
    my @parts;
    # RFC 2046: a delimiter is CRLF "--" boundary; the CRLF belongs to the delimiter.
    my $d = qr/(?:\A|\r?\n)--\Q$b\E(--)?[ \t]*(?:\r?\n|\z)/;
    my @pieces = split /$d/, "\n" . $body, -1;
    # split with one capture group: preamble, (close-marker, part)...
    my $i = 1;
    while ($i < @pieces) {
        my $close = $pieces[$i];
        last if defined $close;
        push @parts, $pieces[$i + 1];
        $i += 2;
    }
    die "mime.pl: want 2 parts, found " . scalar(@parts) . "\n" unless @parts == 2;
    my ($sf, $sb) = split_entity($parts[1]);
    my $smt = mediatype($sf);
    die "mime.pl: second part is $smt\n" unless $smt =~ m{^application/(x-)?pkcs7-signature$};
    spew($cout, $parts[0]);
    spew($sout, b64decode($sb));
} elsif ($cmd eq 'crlf') {         # crlf FILE: the file with every line ending as CRLF
    my $t = slurp($ARGV[0]); $t =~ s/\r?\n/\r\n/g; print $t;
} elsif ($cmd eq 'lf') {           # lf FILE
    print lf(slurp($ARGV[0]));
} else {
    die "mime.pl: unknown command $cmd\n";
}
PERL
mime() { perl "$T/mime.pl" "$@"; }

# to_crlf IN OUT / to_lf IN OUT
to_crlf() { mime crlf "$1" > "$2"; }
to_lf() { mime lf "$1" > "$2"; }

# der_from_p7m MSG DER — the DER CMS out of an application/pkcs7-mime message (base64 body).
der_from_p7m() {
  local mt
  mt=$(mime mediatype "$1") || return 1
  case "$mt" in
    application/pkcs7-mime | application/x-pkcs7-mime) ;;
    *) WHY="message is $mt, not application/pkcs7-mime"; return 1 ;;
  esac
  [ "$(mime header "$1" content-transfer-encoding | tr 'A-Z' 'a-z')" = base64 ] \
    || { WHY="pkcs7-mime body is not base64"; return 1; }
  mime b64body "$1" > "$2" && [ -s "$2" ]
}

# split_signed MSG CONTENT SIGDER — the first part of a multipart/signed message, in canonical CRLF
# form (what was signed), and the DER of its application/pkcs7-signature part.
split_signed() {
  mime signed "$1" "$T/split.raw" "$3" 2>> "$LOG" || { WHY="cannot split multipart/signed"; return 1; }
  to_crlf "$T/split.raw" "$2"
  [ -s "$3" ] || { WHY="empty signature part"; return 1; }
}

# write a header block: routing header fields of ORIG, then MIME-Version
_routing_headers() {
  mime routing "$1"
  printf 'MIME-Version: 1.0\n'
}

# wrap_p7m ORIG DER SMIME-TYPE OUT — an application/pkcs7-mime message (LF line ends) carrying DER,
# with the routing headers of ORIG.
wrap_p7m() {
  {
    _routing_headers "$1"
    printf 'Content-Type: application/pkcs7-mime; smime-type=%s; name="smime.p7m"\n' "$3"
    printf 'Content-Transfer-Encoding: base64\n'
    printf 'Content-Disposition: attachment; filename="smime.p7m"\n'
    printf '\n'
    base64 -w 76 "$2"
  } > "$4"
}

# wrap_signed ORIG ENTITY SIGDER MICALG OUT — a multipart/signed message (LF line ends) with the MIME
# entity ENTITY (exactly the bytes that were signed, modulo CRLF) and the detached signature SIGDER.
wrap_signed() {
  local b="----=_interop_$RANDOM$RANDOM"
  {
    _routing_headers "$1"
    printf 'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=%s;\n' "$4"
    printf ' boundary="%s"\n' "$b"
    printf '\n'
    printf 'This is a cryptographically signed message in MIME format.\n'
    printf '\n--%s\n' "$b"
    mime lf "$2"
    printf '\n--%s\n' "$b"
    printf 'Content-Type: application/pkcs7-signature; name="smime.p7s"\n'
    printf 'Content-Transfer-Encoding: base64\n'
    printf 'Content-Disposition: attachment; filename="smime.p7s"\n'
    printf '\n'
    base64 -w 76 "$3"
    printf '\n--%s--\n' "$b"
  } > "$5"
}

# canon_entity ORIG OUT — the MIME entity of message ORIG in canonical CRLF form (what a signer signs).
canon_entity() {
  mime entity "$1" > "$T/entity.tmp" && to_crlf "$T/entity.tmp" "$2"
}

# same_content ORIG GOT — GOT (a message or a bare MIME entity) has ORIG's media type and the same body,
# decoded by each one's Content-Transfer-Encoding, byte for byte after CRLF normalisation.
same_content() {
  local a b
  a=$(mime mediatype "$1") b=$(mime mediatype "$2")
  [ "$a" = "$b" ] || { WHY="media type $b, want $a"; return 1; }
  mime decoded "$1" > "$T/same.want"
  mime decoded "$2" > "$T/same.got"
  if ! cmp -s "$T/same.want" "$T/same.got"; then
    WHY="decoded body differs from the original"
    {
      echo "--- want (decoded, $(wc -c < "$T/same.want") bytes) vs got ($(wc -c < "$T/same.got") bytes):"
      diff <(od -c "$T/same.want") <(od -c "$T/same.got") | head -n 12
    } >> "$LOG"
    return 1
  fi
}

# same_message ORIG GOT — same_content, and GOT kept ORIG's From, To and Subject header fields.
same_message() {
  local h a b
  for h in From To Subject; do
    a=$(mime header "$1" "$h") b=$(mime header "$2" "$h")
    [ "$a" = "$b" ] || { WHY="$h: '$b', want '$a'"; return 1; }
  done
  same_content "$1" "$2"
}

# tamper FILE — change one letter of the signed text ("quick" -> "quack") in place.
tamper() {
  grep -q 'quick' "$1" || { WHY="nothing to tamper with"; return 1; }
  sed -i '0,/quick/s//quack/' "$1"
}

# cert_email PEM — the first rfc822Name of a certificate's subjectAltName.
cert_email() {
  openssl x509 -in "$1" -noout -ext subjectAltName 2> /dev/null | tr ',' '\n' | sed -n 's/^ *email://p' | head -n1
}
# cert_sha1 PEM — SHA-1 fingerprint, upper-case hex without colons (gpgsm's form).
cert_sha1() { openssl x509 -in "$1" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g'; }

# ---- test messages ---------------------------------------------------------------------------------------
# make_messages DIR — ascii.eml, utf8.eml (8bit UTF-8 text) and multipart.eml (multipart/mixed with a
# base64 attachment), all with LF line ends (as on disk), and ascii-crlf.eml (the same in CRLF form).
# Every message contains the word "quick" in its first text lines (see tamper).
MSGS="ascii utf8 multipart"
make_messages() {
  local d=$1
  mkdir -p "$d"
  cat > "$d/ascii.eml" <<'EOF'
From: Alice <alice@example.org>
To: Bob <bob@example.org>
Subject: interop test (ascii)
Date: Mon, 02 Mar 2026 10:00:00 +0000
Message-ID: <interop-ascii@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

The quick brown fox jumps over the lazy dog.
From here on, a line that starts with "From ".
  Indented line; a tab	inside; punctuation: <>&;"'=?

.
-- 
Alice
EOF
  cat > "$d/utf8.eml" <<'EOF'
From: Alice <alice@example.org>
To: Bob <bob@example.org>
Subject: =?UTF-8?Q?interop_test_=28utf-8=29_Gr=C3=BC=C3=9Fe?=
Date: Mon, 02 Mar 2026 10:01:00 +0000
Message-ID: <interop-utf8@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8; format=flowed
Content-Transfer-Encoding: 8bit

The quick brown fox: Grüße aus Köln, naïve café, smørrebrød.
Ελληνικά, русский, 日本語のテキスト, emoji 🦊✉️ and € £ ¥.
Zeile mit Umlauten am Ende: äöüÄÖÜß
EOF
  local attach="$T/attachment.bin"
  perl -e 'print map { chr($_ % 256) } 0 .. 1499' > "$attach"
  {
    cat <<'EOF'
From: Alice <alice@example.org>
To: Bob <bob@example.org>, Carol <carol@example.org>
Subject: interop test (multipart)
Date: Mon, 02 Mar 2026 10:02:00 +0000
Message-ID: <interop-multipart@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="=-=-interop-mixed-=-="

This is a multi-part message in MIME format.

--=-=-interop-mixed-=-=
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

The quick brown fox brings an attachment.

--=-=-interop-mixed-=-=
Content-Type: application/octet-stream; name="data.bin"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="data.bin"

EOF
    base64 -w 76 "$attach"
    printf '\n--=-=-interop-mixed-=-=--\n'
  } > "$d/multipart.eml"
  to_crlf "$d/ascii.eml" "$d/ascii-crlf.eml"
}
M=$T/msg
make_messages "$M"
