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
# E2E_UNSHARE="net", "mount" or "net mount", set before sourcing: the script runs itself again in a
# private network namespace (its own loopback: no port taken by anyone else, nothing of ours seen
# outside) and/or mount namespace (mounts of its own, gone with it). E2E_UNSHARED says what it got
# (empty where unshare cannot: the script then runs in the shared namespaces).
if [ -n "${E2E_UNSHARE:-}" ] && [ -z "${E2E_UNSHARED+set}" ]; then
  _ns_flags=()
  for _ns in $E2E_UNSHARE; do case $_ns in net) _ns_flags+=(-n) ;; mount) _ns_flags+=(-m) ;; esac; done
  if command -v unshare > /dev/null && { [[ $E2E_UNSHARE != *net* ]] || command -v ip > /dev/null; } \
    && unshare "${_ns_flags[@]}" true 2> /dev/null; then
    # shellcheck disable=SC2016  # expanded by the inner shell
    exec env E2E_UNSHARED="$E2E_UNSHARE" unshare "${_ns_flags[@]}" \
      sh -c 'case $E2E_UNSHARED in *net*) ip link set lo up || exit 1 ;; esac; exec "$0" "$@"' "$0" "$@"
  fi
  export E2E_UNSHARED=""
fi

D=$(mktemp -d "/tmp/smime-e2e-$(basename "$0" .sh).XXXXXX")
chmod 755 "$D"
milter_pid="" sink_pid="" postfix_pid=""
# Under a sanitizer build (SMIME_E2E_SANITIZER=1, set by test/CMakeLists.txt when SMIME_SANITIZE is on)
# every report of ASan, LSan and UBSan, of any of our programs, goes to $D/sanitizer/; the milter is
# stopped with SIGTERM and its exit status checked (LeakSanitizer reports at exit); any report or a
# non-zero status fails the script (sanitizer_verdict, called on exit).
SANITIZER_FAILED=""
if [ -n "${SMIME_E2E_SANITIZER:-}" ]; then
  mkdir -p "$D/sanitizer"
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$D/sanitizer/asan"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$D/sanitizer/ubsan"
fi
# milter_reaped PID STATUS — under a sanitizer build, a milter stopped with SIGTERM must exit 0
# (a leak or an error makes LSan/ASan exit non-zero); killed with SIGKILL (137) it says nothing.
milter_reaped() {
  [ -n "${SMIME_E2E_SANITIZER:-}" ] || return 0
  case $2 in 0 | 137) ;; *) SANITIZER_FAILED+=" milter $1 exited $2;" ;; esac
}
# sanitizer_stop_milter — SIGTERM, then wait up to 60 s (the leak check takes a while), then SIGKILL
sanitizer_stop_milter() {
  local pid=$milter_pid st _
  [ -n "$pid" ] || return 0
  milter_pid=""
  kill "$pid" 2> /dev/null
  for _ in $(seq 600); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2> /dev/null; then
    kill -9 "$pid" 2> /dev/null
    SANITIZER_FAILED+=" milter $pid did not exit within 60 s of SIGTERM;"
  fi
  wait "$pid" 2> /dev/null
  st=$?
  milter_reaped "$pid" "$st"
}
# sanitizer_verdict — print every report and the statuses; exit 1 when there is anything
sanitizer_verdict() {
  [ -n "${SMIME_E2E_SANITIZER:-}" ] || return 0
  local f
  for f in "$D"/sanitizer/*; do
    [ -f "$f" ] || continue
    SANITIZER_FAILED+=" report $(basename "$f");"
    echo "# --- sanitizer report $(basename "$f")"
    sed -n '1,80p' "$f" | sed 's/^/#   /'
  done
  [ -z "$SANITIZER_FAILED" ] && { echo "# sanitizer: no report, the milter exited 0"; return 0; }
  echo "not ok - sanitizer:$SANITIZER_FAILED"
  return 1
}
AT_EXIT=()
at_exit() { AT_EXIT+=("$*"); }
_e2e_cleanup() {
  set +e
  local c
  for c in "${AT_EXIT[@]}"; do eval "$c" > /dev/null 2>&1; done
  [ -n "$postfix_pid" ] && postfix -c "$D/conf" stop > /dev/null 2>&1
  [ -n "$postfix_pid" ] && { for _ in $(seq 50); do kill -0 "$postfix_pid" 2> /dev/null || break; sleep 0.1; done; kill "$postfix_pid" 2> /dev/null; }
  [ -n "${SMIME_E2E_SANITIZER:-}" ] && sanitizer_stop_milter
  [ -n "$milter_pid" ] && kill "$milter_pid" 2> /dev/null
  [ -n "$sink_pid" ] && kill "$sink_pid" 2> /dev/null
  wait 2> /dev/null
  local verdict=0
  sanitizer_verdict || verdict=1
  if [ -n "${SMIME_E2E_KEEP:-}" ]; then echo "kept: $D"; else rm -rf "$D"; fi
  [ "$verdict" -eq 0 ] || exit 1
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

# Ports: five consecutive ones (smtpd, sink, reinject, entry, one for the script) from our PID, below
# the kernel's ephemeral range (32768 and up on Debian), so that no outgoing connection of another
# process holds one of them when Postfix binds; skipped forward past ports something listens on. A
# script sets E2E_PORT_SLOT (0-4) before sourcing this file to take another 4000-port range than the
# scripts that may run beside it (postfix_inbound 1, postfix_sign 2, postfix_realworld 3, sendmail 4).
port_listening() {  # port_listening PORT — something listens on it (IPv4 or IPv6), from /proc
  local hex
  hex=$(printf ':%04X' "$1")
  awk -v h="$hex" 'NR > 1 && substr($2, length($2) - 4) == h && $4 == "0A" { f = 1 } END { exit !f }' \
    /proc/net/tcp /proc/net/tcp6 2> /dev/null
}
_e2e_pick_ports() {
  local slot=$((${E2E_PORT_SLOT:-0} % 5)) n=$(($$ % 800)) _ p busy
  for _ in $(seq 800); do
    smtpd_port=$((10000 + slot * 4000 + n * 5)) busy=""
    for p in $(seq "$smtpd_port" $((smtpd_port + 4))); do
      # 28480-28481: the revocation tests' fixed ports (named in their test certificates)
      if [ "$p" -eq 28480 ] || [ "$p" -eq 28481 ] || port_listening "$p"; then busy=1; break; fi
    done
    [ -z "$busy" ] && return 0
    n=$(((n + 1) % 800))
  done
}
_e2e_pick_ports
sink_port=$((smtpd_port + 1))
reinject_port=$((smtpd_port + 2))
entry_port=$((smtpd_port + 3))  # start_postfix --entry

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
  [ -n "${SMIME_E2E_SANITIZER:-}" ] && { sanitizer_stop_milter; return 0; }
  kill "$milter_pid" 2> /dev/null
  wait "$milter_pid" 2> /dev/null
  milter_pid=""
}
start_sink() {
  mkdir -p "$D/sink"
  smtp-sink -u root -d "$D/sink/%M." "127.0.0.1:$sink_port" 100 &
  sink_pid=$!
}
# start_postfix [--size-limit BYTES] [--reinject] [--entry] [--set 'NAME = VALUE']... — the private
# instance on $smtpd_port, relaying to the sink; --size-limit sets message_size_limit; --reinject adds a
# second smtpd without milters on 127.0.0.1:$reinject_port (the milter's re-injection address, e.g. for
# split copies). --entry adds an smtpd without milters on 127.0.0.1:$entry_port that relays what it
# receives to $smtpd_port (content_filter): the milter's smtpd is then a relay hop, and what it
# tempfails stays queued in the instance (retried every few seconds; flush_queue_wait). --set adds a
# main.cf line.
# shellcheck disable=SC2120  # the options are optional
start_postfix() {
  local size_limit="" reinject="" entry="" extra=()
  while [ $# -gt 0 ]; do
    case $1 in
      --size-limit) size_limit=$2; shift 2 ;;
      --reinject) reinject=1; shift ;;
      --entry) entry=1; shift ;;
      --set) extra+=("$2"); shift 2 ;;
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
  if [ -n "$entry" ]; then
    echo "127.0.0.1:$entry_port inet n - n - - smtpd -o syslog_name=postfix/entry -o smtpd_milters= -o content_filter=smtp:[127.0.0.1]:$smtpd_port" >> "$D/conf/master.cf"
    printf '%s\n' "minimal_backoff_time = 2s" "maximal_backoff_time = 4s" "queue_run_delay = 2s" >> "$D/conf/main.cf"
  fi
  if [ ${#extra[@]} -gt 0 ]; then printf '%s\n' "${extra[@]}" >> "$D/conf/main.cf"; fi
  postconf -c "$D/conf" -F '*/*/chroot = n'
  chown -R postfix "$D/data"
  postfix -c "$D/conf" set-permissions > /dev/null 2>&1 || true
  setsid postfix -c "$D/conf" start-fg >> "$D/maillog" 2>&1 < /dev/null &
  postfix_pid=$!
  local ports=("$smtpd_port")
  [ -n "$reinject" ] && ports+=("$reinject_port")
  [ -n "$entry" ] && ports+=("$entry_port")
  wait_postfix_listening "${ports[@]}"
}
# wait_postfix_listening PORT... — every PORT listens (20 s at most); the master exiting first (a port
# it could not bind, a configuration it refused) is reported as such, with its log
wait_postfix_listening() {
  local p _
  for p in "$@"; do
    for _ in $(seq 100); do
      port_listening "$p" && continue 2
      kill -0 "$postfix_pid" 2> /dev/null || fatal "postfix exited before listening on $p"
      sleep 0.2
    done
    fatal "postfix did not listen on $p"
  done
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

# ---- the queue and the milter process (the fault tests)
# queue_count — messages in the instance's queue (incoming, active, deferred, hold, maildrop)
queue_count() {
  local n=0 q
  for q in incoming active deferred hold maildrop; do
    [ -d "$D/queue/$q" ] && n=$((n + $(find "$D/queue/$q" -type f | wc -l)))
  done
  echo "$n"
}
# flush_queue_wait SECONDS — postqueue -f every 2 s until the queue is empty; false when it is not
flush_queue_wait() {
  local i
  for i in $(seq $(($1 * 5))); do
    [ "$(queue_count)" -eq 0 ] && return 0
    [ $((i % 10)) -eq 1 ] && postqueue -c "$D/conf" -f > /dev/null 2>&1
    sleep 0.2
  done
  [ "$(queue_count)" -eq 0 ]
}
sink_count() { find "$D/sink" -type f | wc -l; }
# respawn_milter CONFIG [SOCKET] — start the milter again (after kill -9): the stale socket removed, the
# log appended to $D/milter.log; no configuration check (start_milter made it)
respawn_milter() {
  local socket=${2:-$D/milter.sock} _
  rm -f "$socket"
  "$MILTER" -f -c "$1" >> "$D/milter.log" 2>&1 &
  milter_pid=$!
  for _ in $(seq 200); do [ -S "$socket" ] && return 0; kill -0 "$milter_pid" 2> /dev/null || break; sleep 0.05; done
  fatal "milter socket did not appear after a restart"
}
# kill9_milter — SIGKILL the milter (by its PID) and reap it
kill9_milter() {
  [ -n "$milter_pid" ] || return 0
  kill -9 "$milter_pid" 2> /dev/null
  wait "$milter_pid" 2> /dev/null
  milter_pid=""
}
# milter_alive — the milter started last still runs
milter_alive() { [ -n "$milter_pid" ] && kill -0 "$milter_pid" 2> /dev/null; }
# now_ms — wall clock in milliseconds (bash's EPOCHREALTIME)
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
# wire FILE OUT — FILE (LF or CRLF lines) as SMTP DATA: CRLF line ends, dot-stuffed
wire() { perl -pe 's/\r?\n\z//; s/^\./../; $_ .= "\r\n"' "$1" > "$2"; }
# smtp_send WIRE-FILE RCPT... — one session of its own (a subshell: fd 3 of the caller is left alone) to
# 127.0.0.1:${SEND_PORT:-$smtpd_port}: EHLO, XCLIENT ADDR=$SEND_XCLIENT (when set, then EHLO again),
# MAIL FROM:<${SEND_FROM:-user@example.com}>, RCPT TO each, DATA, WIRE-FILE (made by wire), the dot.
# Prints one line: the reply that ended the transaction (the first refusal, or the reply to the end of
# data), "none" after ${SEND_TIMEOUT:-60} s of silence. Never calls fatal.
smtp_send() {
  (
    file=$1
    shift
    rt=${SEND_TIMEOUT:-60}
    r1() {
      local line
      while IFS= read -r -t "$rt" line <&3; do
        line=${line%$'\r'}
        case $line in ???-*) ;; *) echo "$line"; return ;; esac
      done
      echo "none"
    }
    step() { printf '%s\r\n' "$1" >&3; r=$(r1); case $r in "$2"*) return 0 ;; *) echo "$r"; exit 1 ;; esac; }
    exec 3<> "/dev/tcp/127.0.0.1/${SEND_PORT:-$smtpd_port}" || { echo "connect failed"; exit 1; }
    r=$(r1); case $r in 220*) ;; *) echo "$r"; exit 1 ;; esac
    step "EHLO client.test" 250
    if [ -n "${SEND_XCLIENT:-}" ]; then
      step "XCLIENT ADDR=$SEND_XCLIENT NAME=[UNAVAILABLE]" 220
      step "EHLO client.test" 250
    fi
    step "MAIL FROM:<${SEND_FROM:-user@example.com}>" 250
    for rcpt in "$@"; do step "RCPT TO:<$rcpt>" 25; done
    step "DATA" 354
    cat "$file" >&3
    printf '.\r\n' >&3
    r=$(r1)
    echo "$r"
    printf 'QUIT\r\n' >&3
    exec 3<&-
  )
}

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
