# shellcheck shell=bash
# lib.sh — shared helpers of the e2e scripts (sourced, not run): a work directory, ok/not ok
# counting, a private Postfix instance on loopback (see /work/shared/notes/postfix-test-instance.md),
# smtp-sink, the milter, a bash /dev/tcp SMTP client and a small MIME helper (perl-base only).
# Everything started here is stopped by its PID on exit; the work directory is removed
# (kept with SMIME_E2E_KEEP=1).
# shellcheck disable=SC2034
set -uo pipefail
export LC_ALL=C TZ=UTC

[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
if ! command -v postfix > /dev/null || ! command -v smtp-sink > /dev/null; then echo "SKIP: postfix not installed"; exit 77; fi

D=$(mktemp -d "/tmp/smime-e2e-$(basename "$0" .sh).XXXXXX")
chmod 755 "$D"
milter_pid="" sink_pid="" postfix_pid=""
AT_EXIT=()
at_exit() { AT_EXIT+=("$*"); }
_e2e_cleanup() {
  set +e
  local c
  for c in "${AT_EXIT[@]}"; do eval "$c" > /dev/null 2>&1; done
  [ -n "$postfix_pid" ] && postfix -c "$D/conf" stop > /dev/null 2>&1
  [ -n "$postfix_pid" ] && { for _ in $(seq 50); do kill -0 "$postfix_pid" 2> /dev/null || break; sleep 0.1; done; kill "$postfix_pid" 2> /dev/null; }
  [ -n "$milter_pid" ] && kill "$milter_pid" 2> /dev/null
  [ -n "$sink_pid" ] && kill "$sink_pid" 2> /dev/null
  wait 2> /dev/null
  if [ -n "${SMIME_E2E_KEEP:-}" ]; then echo "kept: $D"; else rm -rf "$D"; fi
}
trap _e2e_cleanup EXIT
trap 'exit 130' INT TERM HUP

PASSED=0 FAILED=0
ok() { printf 'ok - %s\n' "$*"; PASSED=$((PASSED + 1)); }
notok() { printf 'not ok - %s\n' "$*"; FAILED=$((FAILED + 1)); }
# check DESCRIPTION CMD ARGS... — one "ok"/"not ok" line; on failure the tail of $D/check.log.
check() {
  local desc=$1
  shift
  : > "$D/check.log"
  if "$@" >> "$D/check.log" 2>&1; then ok "$desc"; else
    notok "$desc"
    tail -n 20 "$D/check.log" | sed 's/^/#   /'
  fi
}
show_logs() {
  echo "# --- maillog"; tail -n 30 "$D/maillog" 2> /dev/null | sed 's/^/#   /'
  echo "# --- milter"; tail -n 30 "$D/milter.log" 2> /dev/null | sed 's/^/#   /'
}
# fatal: a setup step failed, nothing after it can be checked
fatal() { notok "$*"; show_logs; finish; }
finish() {
  printf '# %s: %d passed, %d failed\n' "$(basename "$0" .sh)" "$PASSED" "$FAILED"
  [ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ] && exit 0
  exit 1
}

# Ports from our PID, so that parallel runs do not collide; a script may set E2E_PORT_BASE before
# sourcing this file to use another range (postfix_sign.sh: 20000, the default here: 40000).
smtpd_port=$((${E2E_PORT_BASE:-40000} + $$ % 20000))
sink_port=$((smtpd_port + 1))
reinject_port=$((smtpd_port + 2))

# start_milter CONFIG [SOCKET] — check and start the milter; its socket must be SOCKET (default $D/milter.sock)
start_milter() {
  local socket=${2:-$D/milter.sock}
  "$MILTER" -c "$1" -n > "$D/milter-n.log" 2>&1 || { cat "$D/milter-n.log"; fatal "milter configuration check"; }
  "$MILTER" -f -c "$1" > "$D/milter.log" 2>&1 &
  milter_pid=$!
  for _ in $(seq 100); do [ -S "$socket" ] && break; sleep 0.1; done
  [ -S "$socket" ] || fatal "milter socket did not appear"
}
# stop_milter — stop the milter mid-run (e.g. to check what Postfix answers without it)
stop_milter() {
  [ -n "$milter_pid" ] || return 0
  kill "$milter_pid" 2> /dev/null
  wait "$milter_pid" 2> /dev/null
  milter_pid=""
}
start_sink() {
  mkdir -p "$D/sink"
  smtp-sink -u root -d "$D/sink/%M." "127.0.0.1:$sink_port" 100 &
  sink_pid=$!
}
# start_postfix [--size-limit BYTES] [--reinject] — the private instance on $smtpd_port, relaying to the
# sink; --size-limit sets message_size_limit; --reinject adds a second smtpd without milters on
# 127.0.0.1:$reinject_port (the milter's re-injection address, e.g. for split copies).
# shellcheck disable=SC2120  # the options are optional
start_postfix() {
  local size_limit="" reinject=""
  while [ $# -gt 0 ]; do
    case $1 in
      --size-limit) size_limit=$2; shift 2 ;;
      --reinject) reinject=1; shift ;;
      *) fatal "start_postfix: unknown option $1" ;;
    esac
  done
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
  if [ -n "$size_limit" ]; then echo "message_size_limit = $size_limit" >> "$D/conf/main.cf"; fi
  if [ -n "$reinject" ]; then
    echo "127.0.0.1:$reinject_port inet n - n - - smtpd -o smtpd_milters= -o non_smtpd_milters= -o receive_override_options=no_milters" >> "$D/conf/master.cf"
  fi
  postconf -c "$D/conf" -F '*/*/chroot = n'
  chown -R postfix "$D/data"
  postfix -c "$D/conf" set-permissions > /dev/null 2>&1 || true
  setsid postfix -c "$D/conf" start-fg >> "$D/maillog" 2>&1 < /dev/null &
  postfix_pid=$!
}

# ---- a minimal SMTP client over /dev/tcp (fd 3)
smtp_open() {
  local _
  for _ in $(seq 100); do
    if { exec 3<> "/dev/tcp/127.0.0.1/$smtpd_port"; } 2> /dev/null; then return 0; fi
    sleep 0.2
  done
  fatal "postfix did not listen on $smtpd_port"
}
# reply — one SMTP reply (multi-line aware), its last line; "none" after 30 s of silence
reply() {
  local line
  while IFS= read -r -t 30 line <&3; do
    line=${line%$'\r'}
    case $line in ???-*) ;; *) echo "$line"; return ;; esac
  done
  echo "none"
}
expect() { local r; r=$(reply); case $r in "$1"*) ;; *) fatal "SMTP: wanted $1, got: $r" ;; esac; }
say() { printf '%s\r\n' "$1" >&3; }
# send_file FILE — the message (CRLF lines, already dot-stuffed) and the final dot
send_file() { cat "$1" >&3; say "."; }

# wait_sink N SECONDS — until N files are in the sink (smtp-sink writes while receiving: settle 1 s)
wait_sink() {
  local i
  for i in $(seq $(($2 * 5))); do
    [ "$(find "$D/sink" -type f | wc -l)" -ge "$1" ] && break
    sleep 0.2
  done
  sleep 1
}
# sink_file SUBJECT-SUBSTRING — the one delivered file whose Subject contains it (empty if none)
sink_file() { grep -l -F "Subject: $1" "$D"/sink/* 2> /dev/null | head -n 1; }

# ---- MIME (perl-base only)
cat > "$D/mime.pl" <<'PERL'
use strict; use warnings;
sub slurp { my ($f) = @_; open(my $h, '<:raw', $f) or die "$f: $!\n"; local $/; my $d = <$h>; return defined $d ? $d : ''; }
sub spew { my ($f, $d) = @_; open(my $h, '>:raw', $f) or die "$f: $!\n"; print $h $d; close($h) or die; }
sub split_entity {
    my ($t) = @_;
    return ([], substr($t, length($1))) if $t =~ /\A(\r?\n)/;
    my ($head, $body) = $t =~ /\A(.*?\r?\n)\r?\n(.*)\z/s ? ($1, $2) : ($t, '');
    my @f;
    for my $l (split /(?<=\n)/, $head) { if ($l =~ /^[ \t]/ && @f) { $f[-1] .= $l } else { push @f, $l } }
    return (\@f, $body);
}
sub header {
    my ($f, $n) = @_;
    for my $x (@$f) {
        next unless $x =~ /^([^:]+):(.*)\z/s && lc($1) eq lc($n);
        my $v = $2; $v =~ s/\r?\n[ \t]/ /g; $v =~ s/\r?\n\z//; $v =~ s/^\s+|\s+$//g; return $v;
    }
    return undef;
}
sub param {
    my ($v, $n) = @_; return undef unless defined $v;
    return $1 if $v =~ /;\s*\Q$n\E\s*=\s*"((?:[^"\\]|\\.)*)"/i;
    return $1 if $v =~ /;\s*\Q$n\E\s*=\s*([^;\s]+)/i;
    return undef;
}
sub mtype { my $ct = header($_[0], 'content-type') // 'text/plain'; $ct =~ /^\s*([^;\s]+)/; lc $1 }
sub b64 {
    my ($s) = @_; $s =~ tr|A-Za-z0-9+/||cd; $s =~ tr|A-Za-z0-9+/| -_|;
    my $uu = '';
    while (length $s) { my $c = substr($s, 0, 60, ''); $uu .= chr(32 + int(length($c) * 3 / 4)) . $c . "\n"; }
    return unpack('u', $uu);
}
sub qp { my ($s) = @_; $s =~ s/[ \t]+(\r?\n)/$1/g; $s =~ s/=\r?\n//g; $s =~ s/=([0-9A-Fa-f]{2})/chr(hex($1))/ge; $s }
# parts of a multipart body: list of raw part texts (delimiter CRLF belongs to the delimiter)
sub parts {
    my ($body, $b) = @_;
    my @p = split /(?:\A|\r?\n)--\Q$b\E(--)?[ \t]*(?:\r?\n|\z)/, "\n" . $body, -1;
    my @out;
    for (my $i = 1; $i < @p; $i += 2) { last if defined $p[$i]; push @out, $p[$i + 1]; }
    return @out;
}
my $cmd = shift @ARGV;
if ($cmd eq 'mediatype') {          # mediatype FILE
    my ($f) = split_entity(slurp($ARGV[0])); print mtype($f), "\n";
} elsif ($cmd eq 'b64body') {       # b64body FILE: the body base64-decoded (DER of application/pkcs7-mime)
    my (undef, $b) = split_entity(slurp($ARGV[0])); print b64($b);
} elsif ($cmd eq 'signed') {        # signed FILE CONTENT-OUT SIG-OUT: the signed entity (CRLF) and DER
    my ($f, $b) = split_entity(slurp($ARGV[0]));
    die "not multipart/signed\n" unless mtype($f) eq 'multipart/signed';
    my @p = parts($b, param(header($f, 'content-type'), 'boundary') // die "no boundary\n");
    die "want 2 parts, got " . @p . "\n" unless @p == 2;
    my ($sf, $sb) = split_entity($p[1]);
    die "second part is " . mtype($sf) . "\n" unless mtype($sf) =~ m{^application/(x-)?pkcs7-signature$};
    (my $c = $p[0]) =~ s/\r?\n/\r\n/g;
    spew($ARGV[1], $c); spew($ARGV[2], b64($sb));
} elsif ($cmd eq 'leaves') {        # leaves FILE PREFIX: each leaf part decoded to PREFIX.N, "N type cte" listed
    my $n = 0; my $prefix = $ARGV[1];
    my $walk; $walk = sub {
        my ($t) = @_; my ($f, $b) = split_entity($t); my $mt = mtype($f);
        if ($mt =~ m{^multipart/}) { $walk->($_) for parts($b, param(header($f, 'content-type'), 'boundary') // die "no boundary\n"); return; }
        my $cte = lc(header($f, 'content-transfer-encoding') // '7bit');
        $b = b64($b) if $cte eq 'base64'; $b = qp($b) if $cte eq 'quoted-printable';
        $b =~ s/\r\n/\n/g if $mt =~ m{^text/};
        $n++; spew("$prefix.$n", $b); print "$n $mt $cte\n";
    };
    $walk->(slurp($ARGV[0]));
} else { die "mime.pl: unknown command $cmd\n"; }
PERL
mime() { perl "$D/mime.pl" "$@"; }

# ---- gpgsm in a private home (the install and Sendmail tests)
# gpgsm_init ROOT_PEM — $D/gnupg trusting ROOT_PEM (no CRL checks); the agent is stopped on exit
gpgsm_init() {
  export GNUPGHOME=$D/gnupg
  mkdir -m 700 "$GNUPGHOME"
  echo disable-crl-checks > "$GNUPGHOME/gpgsm.conf"
  at_exit "GNUPGHOME=$GNUPGHOME gpgconf --kill gpg-agent"
  timeout 30 gpgsm --batch --import "$1" > "$D/gpgsm-setup.log" 2>&1
  local fpr; fpr=$(openssl x509 -in "$1" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
  echo "$fpr S relax" >> "$GNUPGHOME/trustlist.txt"
}
# gpgsm_verify_signed MSG SIGNER_PEM — the multipart/signed MSG verifies with gpgsm (GOODSIG, VALIDSIG of
# SIGNER_PEM, trusted chain); the signed content is left in $D/g.content
gpgsm_verify_signed() {
  local want; want=$(openssl x509 -in "$2" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
  mime signed "$1" "$D/g.content" "$D/g.sig" || return 1
  timeout 30 gpgsm --batch --status-fd 1 --verify "$D/g.sig" "$D/g.content" > "$D/g.status" || { cat "$D/g.status"; return 1; }
  cat "$D/g.status"
  grep -q '^\[GNUPG:\] GOODSIG ' "$D/g.status" && grep -q "^\[GNUPG:\] VALIDSIG $want " "$D/g.status" \
    && grep -q '^\[GNUPG:\] TRUST_FULLY' "$D/g.status"
}
