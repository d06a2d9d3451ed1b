#!/bin/bash
# make-inbound-corpus.sh OUTDIR PKIDIR — a corpus of inbound S/MIME messages as real senders and attackers
# make them, for the receiving gateway's tests (milter unit tests, Postfix end-to-end tests).
#
# Every message is a whole RFC 5322 message (From, To, Subject, Date, Message-ID, MIME-Version, CRLF line
# ends) from an example.org sender to gateway@example.com; whatever is encrypted is encrypted to
# PKIDIR/gw-new.pem (the gateway's current key). The CMS inside is made by independent implementations —
# openssl cms / openssl smime, NSS cmsutil, Bouncy Castle (test/interop/bc/BcInterop.java) — never by
# smime-tool; this script only labels and layers their output as a sender's mailer would, and breaks it
# where a message is meant to be broken.
#
# OUTDIR/MANIFEST describes each message, one line per message, tab-separated:
#   file  made-by  content-type  decrypted  smime  identity  description
# content-type is the top-level media type; decrypted (yes / no / failed) and smime (pass / fail /
# permerror / neutral / none) are what a correct receiving gateway reports with PKIDIR/root.pem as its
# trust anchor and gw-new as its key; identity is the signer bound to From ("-" when none); the description
# says what the message is and why that is the outcome. Lines starting with # are comments.
# Messages whose content is text carry the line "Corpus message: NAME" (NAME = file name without .eml) in
# the content a gateway delivers.
#
# Needs openssl, NSS (certutil, pk12util, cmsutil), java and javac with Debian's Bouncy Castle jars.
# OUTDIR is created if needed; its *.eml files and MANIFEST are replaced. BC_WORK (optional) is a directory
# where BcInterop is compiled (and reused when it is up to date).
set -euo pipefail
export LC_ALL=C TZ=UTC

if [ $# -ne 2 ]; then
  echo "usage: $0 OUTDIR PKIDIR" >&2
  exit 2
fi
OUT=$1
PKI=$(cd "$2" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bc/bc.sh
. "$HERE/bc/bc.sh"

die() { echo "make-inbound-corpus: $*" >&2; exit 1; }
for f in root.pem inter.pem alice.pem alice.key alice.p12 carol.pem carol.key domain.pem domain.key gw-new.pem; do
  [ -s "$PKI/$f" ] || die "$PKI/$f missing (run test/pki/make-pki.sh $PKI)"
done
for c in openssl certutil pk12util cmsutil; do command -v $c > /dev/null || die "$c is not installed"; done
missing=$(bc_missing)
[ -z "$missing" ] || die "Bouncy Castle: missing$missing"

W=$(mktemp -d "${TMPDIR:-/tmp}/inbound-corpus.XXXXXX")
trap 'rm -rf -- "$W"' EXIT
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
rm -f -- "$OUT"/*.eml "$OUT/MANIFEST"
MANIFEST=$W/MANIFEST
printf '# file\tmade-by\tcontent-type\tdecrypted\tsmime\tidentity\tdescription\n' > "$MANIFEST"

# q CMD... — run a tool quietly; its output is shown only when it fails
q() {
  "$@" > "$W/q.log" 2>&1 || { cat "$W/q.log" >&2; die "failed: $*"; }
}
GW=$PKI/gw-new.pem

# ---- building blocks ----------------------------------------------------------------------------------
# mf FILE MAKER CONTENT-TYPE DECRYPTED SMIME IDENTITY DESCRIPTION — one manifest line
mf() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >> "$MANIFEST"; }

# routing NAME [FROM] — the routing header fields of corpus message NAME (LF line ends)
routing() {
  printf 'From: %s\n' "${2:-Alice <alice@example.org>}"
  printf 'To: Gateway <gateway@example.com>\n'
  printf 'Subject: inbound corpus: %s\n' "$1"
  printf 'Date: Tue, 03 Mar 2026 09:00:00 +0000\n'
  printf 'Message-ID: <corpus-%s@example.org>\n' "$1"
}

# text_entity NAME EOL(crlf|lf|mixed) — a text/plain MIME entity with the corpus marker
text_entity() {
  local t
  t=$(printf 'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n%s\n%s\nCorpus message: %s\n-- \nAlice' \
    'The quick brown fox jumps over the lazy dog.' $'Gr\303\274\303\237e aus K\303\266ln.' "$1")
  t+=$'\n'
  case $2 in
    lf) printf '%s' "$t" ;;
    crlf) printf '%s' "$t" | perl -pe 's/\r?\n/\r\n/' ;;
    # header block in CRLF (as a client wrote it), body lines alternating LF and CRLF
    mixed) printf '%s' "$t" | perl -pe 'our $n; if ($. <= 3 || ++$n % 2) { s/\r?\n/\r\n/ }' ;;
  esac
}

# strip_mime_version IN OUT — IN without a MIME-Version field in its header block (an entity, not a message)
strip_mime_version() {
  perl -e 'local $/; my $t = <STDIN>; my ($h, $b) = $t =~ /\A(.*?\r?\n)(\r?\n.*)\z/s or die "no header block\n";
           $h =~ s/^MIME-Version:[^\n]*\n//mi; print $h, $b' < "$1" > "$2"
}

# entity_of MSG OUT — the Content-* fields and the body of a message (what the next layer protects)
entity_of() {
  perl -e 'local $/; my $t = <STDIN>; my ($h, $b) = $t =~ /\A(.*?\r?\n)(\r?\n.*)\z/s or die "no header block\n";
           my @f; for (split /(?<=\n)/, $h) { if (/^[ \t]/ && @f) { $f[-1] .= $_ } else { push @f, $_ } }
           print grep({ /^content-/i } @f), $b' < "$1" > "$2"
}

# p7m_entity DER OUT CONTENT-TYPE-VALUE — an entity carrying DER in base64 under the given Content-Type
p7m_entity() {
  {
    printf 'Content-Type: %s\n' "$3"
    printf 'Content-Transfer-Encoding: base64\n'
    printf 'Content-Disposition: attachment; filename="smime.p7m"\n\n'
    base64 -w 76 "$1"
  } > "$2"
}

# message NAME ENTITY [FROM] — OUTDIR/NAME.eml: routing fields, MIME-Version, ENTITY; CRLF line ends
message() {
  local e=$W/$1.final
  strip_mime_version "$2" "$e"
  { routing "$1" "${3:-}"; printf 'MIME-Version: 1.0\n'; cat "$e"; } | perl -pe 's/\r?\n/\r\n/' > "$OUT/$1.eml"
}

# in_message NAME ENTITY [FROM] — a whole message as input for Bouncy Castle ($W/NAME.in.eml)
in_message() {
  { routing "$1" "${3:-}"; printf 'MIME-Version: 1.0\n'; cat "$2"; } | perl -pe 's/\r?\n/\r\n/' > "$W/$1.in.eml"
}

# truncate_half IN OUT — the first half of a file
truncate_half() { head -c $(($(stat -c %s "$1") / 2)) "$1" > "$2"; }

# ---- NSS database: root trusted, the gateway's certificate, alice's key ----------------------------------
NSSDB=sql:$W/nssdb
mkdir "$W/nssdb"
q certutil -N -d "$NSSDB" --empty-password
q certutil -A -d "$NSSDB" -n root -t "C,C,C" -i "$PKI/root.pem"
q certutil -A -d "$NSSDB" -n inter -t ",," -i "$PKI/inter.pem"
q certutil -A -d "$NSSDB" -n gateway -t ",," -i "$GW"
q pk12util -i "$PKI/alice.p12" -d "$NSSDB" -W secret -K ""
q pk12util -i "$PKI/carol.p12" -d "$NSSDB" -W secret -K ""
cms() { q cmsutil -d "$NSSDB" "$@"; }

# openssl helpers: signing by alice / domain with the intermediate, encryption to the gateway
ALICE=(-signer "$PKI/alice.pem" -inkey "$PKI/alice.key" -certfile "$PKI/inter.pem")
DOMAIN=(-signer "$PKI/domain.pem" -inkey "$PKI/domain.key" -certfile "$PKI/inter.pem")

# ============================== stage 1: openssl and NSS ==================================================
# --- LF line ends inside the CMS ---
text_entity lf-enveloped-nss lf > "$W/lf-nss.entity"
cms -E -r gateway@example.com -i "$W/lf-nss.entity" -o "$W/lf-nss.der" < /dev/null
p7m_entity "$W/lf-nss.der" "$W/e" 'application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"'
message lf-enveloped-nss "$W/e"
mf lf-enveloped-nss.eml "NSS cmsutil -E" application/pkcs7-mime yes none - \
  "EnvelopedData made by NSS (as Thunderbird's engine makes it); the inner text/plain entity has bare LF line ends; decrypted and delivered with its text intact, no signature"

text_entity lf-enveloped-openssl lf > "$W/lf-ossl.entity"
q openssl cms -encrypt -binary -aes-256-cbc -in "$W/lf-ossl.entity" -out "$W/lf-ossl.smime" "$GW"
message lf-enveloped-openssl "$W/lf-ossl.smime"
mf lf-enveloped-openssl.eml "openssl cms -encrypt -binary" application/pkcs7-mime yes none - \
  "EnvelopedData (AES-256-CBC) whose inner entity has bare LF line ends (openssl with -binary keeps the input's line ends); decrypted, no signature"

text_entity lf-opaque-signed-nss lf > "$W/lf-sig.entity"
cms -S -N alice -H SHA256 -G -P -i "$W/lf-sig.entity" -o "$W/lf-sig.der" < /dev/null
p7m_entity "$W/lf-sig.der" "$W/e" 'application/pkcs7-mime; smime-type=signed-data; name="smime.p7m"'
message lf-opaque-signed-nss "$W/e"
mf lf-opaque-signed-nss.eml "NSS cmsutil -S" application/pkcs7-mime no pass alice@example.org \
  "opaque SignedData by alice (NSS), the encapsulated entity has bare LF line ends; the signature is over exactly those bytes and verifies; the entity is delivered"

text_entity mixed-eol-enveloped mixed > "$W/mixed.entity"
q openssl cms -encrypt -binary -aes-256-gcm -in "$W/mixed.entity" -out "$W/mixed.smime" "$GW"
message mixed-eol-enveloped "$W/mixed.smime"
mf mixed-eol-enveloped.eml "openssl cms -encrypt -binary -aes-256-gcm" application/pkcs7-mime yes none - \
  "AuthEnvelopedData (AES-256-GCM); inside, the header block has CRLF and the body mixes CRLF and bare LF line ends; decrypted, no signature"

# --- content that is not a MIME entity ---
printf 'Hi gateway team,\n\nthis note was encrypted as plain text, with no MIME header block.\nCorpus message: raw-text-enveloped\n' \
  > "$W/raw.txt"
q openssl cms -encrypt -aes-256-cbc -in "$W/raw.txt" -out "$W/raw.smime" "$GW"
message raw-text-enveloped "$W/raw.smime"
mf raw-text-enveloped.eml "openssl cms -encrypt" application/pkcs7-mime yes none - \
  "EnvelopedData of raw text without any header block (not a MIME entity); decrypted and delivered as a text/plain entity, the result comment says the content was not a MIME entity"

perl -e 'print "\x89PNG\r\n\x1a\n", map({ chr(($_ * 7 + 3) % 256) } 0 .. 4087)' > "$W/raw.bin"
q openssl cms -encrypt -binary -aes-256-cbc -in "$W/raw.bin" -out "$W/rawbin.smime" "$GW"
message raw-binary-enveloped "$W/rawbin.smime"
mf raw-binary-enveloped.eml "openssl cms -encrypt -binary" application/pkcs7-mime yes none - \
  "EnvelopedData of 4096 bytes of binary data (a PNG signature, then NUL and other non-text bytes), no header block; decrypted and delivered as an application/octet-stream entity (base64), the comment says so"

# --- labels other than application/pkcs7-mime; smime-type=... ---
text_entity x-pkcs7-mime-enveloped crlf > "$W/x.entity"
q openssl smime -encrypt -aes256 -in "$W/x.entity" -out "$W/x.smime" "$GW"
message x-pkcs7-mime-enveloped "$W/x.smime"
mf x-pkcs7-mime-enveloped.eml "openssl smime -encrypt" application/x-pkcs7-mime yes none - \
  "EnvelopedData labelled application/x-pkcs7-mime (openssl smime's label, and that of older clients); recognised as S/MIME and decrypted"

text_entity no-smime-type-enveloped crlf > "$W/nst.entity"
cms -E -r gateway@example.com -i "$W/nst.entity" -o "$W/nst.der" < /dev/null
p7m_entity "$W/nst.der" "$W/e" 'application/pkcs7-mime; name="smime.p7m"'
message no-smime-type-enveloped "$W/e"
mf no-smime-type-enveloped.eml "NSS cmsutil -E" application/pkcs7-mime yes none - \
  "EnvelopedData labelled application/pkcs7-mime without smime-type; the CMS content type (envelopedData) says what it is; decrypted"

# --- two signers ---
text_entity two-signers-openssl crlf > "$W/two-ossl.entity"
q openssl cms -sign -in "$W/two-ossl.entity" "${ALICE[@]}" -signer "$PKI/carol.pem" -inkey "$PKI/carol.key" \
  -out "$W/two-ossl.smime"
message two-signers-openssl "$W/two-ossl.smime"
mf two-signers-openssl.eml "openssl cms -sign (two -signer)" multipart/signed no pass alice@example.org \
  "detached SignedData with two SignerInfos, RSA alice and ECDSA carol, over the same content; both verify, alice is bound to From, carol is named in the comment"

# --- layers ---
# Bouncy Castle signs as alice, openssl signs that again as the domain gateway. (Not the other way round:
# Bouncy Castle 1.72's SMIMESignedGenerator, given a multipart/signed entity to sign, signs a re-serialised
# form of it that differs from what it writes; neither openssl nor Bouncy Castle verifies the result.)
text_entity layered-author-domain crlf > "$W/lad.entity"
in_message layered-author-domain "$W/lad.entity"

text_entity encrypted-in-signed-in-signed crlf > "$W/eiss.entity"
q openssl cms -encrypt -binary -aes-256-gcm -in "$W/eiss.entity" -out "$W/eiss.enc.smime" "$GW"
strip_mime_version "$W/eiss.enc.smime" "$W/eiss.enc.entity"
in_message encrypted-in-signed-in-signed "$W/eiss.enc.entity"   # Bouncy Castle: alice signs; openssl: domain

text_entity signed-in-encrypted-in-signed crlf > "$W/sies.entity"
q openssl cms -sign -in "$W/sies.entity" "${ALICE[@]}" -out "$W/sies.alice.smime"
strip_mime_version "$W/sies.alice.smime" "$W/sies.alice.entity"
in_message signed-in-encrypted-in-signed "$W/sies.alice.entity"   # Bouncy Castle: encrypts, domain signs

text_entity signed-in-encrypted crlf > "$W/sie.entity"
in_message signed-in-encrypted "$W/sie.entity"   # Bouncy Castle: alice signs; openssl: encrypts

text_entity corrupt-enveloped-under-signature crlf > "$W/ceus.entity"
q openssl cms -encrypt -binary -aes-256-cbc -in "$W/ceus.entity" -outform DER -out "$W/ceus.der" "$GW"
truncate_half "$W/ceus.der" "$W/ceus.trunc.der"
p7m_entity "$W/ceus.trunc.der" "$W/ceus.trunc.entity" 'application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"'
in_message corrupt-enveloped-under-signature "$W/ceus.trunc.entity"   # Bouncy Castle: alice signs

text_entity corrupt-signed-under-signature crlf > "$W/csus.entity"
q openssl cms -sign -nodetach -binary -in "$W/csus.entity" "${ALICE[@]}" -outform DER -out "$W/csus.der"
truncate_half "$W/csus.der" "$W/csus.trunc.der"
p7m_entity "$W/csus.trunc.der" "$W/csus.trunc.entity" 'application/pkcs7-mime; smime-type=signed-data; name="smime.p7m"'
in_message corrupt-signed-under-signature "$W/csus.trunc.entity"   # Bouncy Castle: alice signs

# --- ECDSA signature (NSS, carol) inside AuthEnvelopedData with an RSA-OAEP recipient (Bouncy Castle) ---
text_entity carol-signed-in-authenveloped crlf > "$W/carol.entity"
cms -S -N carol -H SHA256 -G -P -i "$W/carol.entity" -o "$W/carol.der" < /dev/null
p7m_entity "$W/carol.der" "$W/carol.sig.entity" 'application/pkcs7-mime; smime-type=signed-data; name="smime.p7m"'
in_message carol-signed-in-authenveloped "$W/carol.sig.entity" "Carol <carol@example.org>"   # Bouncy Castle encrypts

# --- From in upper case ---
text_entity uppercase-from crlf > "$W/uc.entity"
q openssl cms -sign -in "$W/uc.entity" "${ALICE[@]}" -out "$W/uc.smime"
message uppercase-from "$W/uc.smime" "Alice <ALICE@EXAMPLE.ORG>"
mf uppercase-from.eml "openssl cms -sign" multipart/signed no pass alice@example.org \
  "From: ALICE@EXAMPLE.ORG, signed by alice@example.org's certificate; addresses compare case-insensitively (local part as mail clients do), so the signer is bound to From"

# --- hostile ---
text_entity hostile-signed-no-boundary crlf > "$W/nb.entity"
q openssl cms -sign -in "$W/nb.entity" "${ALICE[@]}" -out "$W/nb.smime"
perl -e 'local $/; my $t = <STDIN>; $t =~ s/;\s*boundary="[^"]*"//i or die "no boundary parameter\n"; print $t' \
  < "$W/nb.smime" > "$W/nb2.smime"
message hostile-signed-no-boundary "$W/nb2.smime"
mf hostile-signed-no-boundary.eml "openssl cms -sign; boundary parameter removed" multipart/signed no permerror - \
  "multipart/signed without a boundary parameter (the parts and alice's signature are in the body); malformed S/MIME, delivered unchanged with nothing lost"

text_entity hostile-broken-base64-enveloped crlf > "$W/bb.entity"
q openssl cms -encrypt -aes-256-cbc -in "$W/bb.entity" -out "$W/bb.smime" "$GW"
# a line of non-base64 characters in the middle, and the last line cut in the middle of a quantum
perl -e 'local $/; my $t = <STDIN>; my ($h, $b) = $t =~ /\A(.*?\n\n)(.*)\z/s or die; my @l = split /\n/, $b;
         splice(@l, 3, 1, "!!!! this is *not* base64 \@\@\@\@"); $l[-1] = substr($l[-1], 0, length($l[-1]) - 3);
         print $h, join("\n", @l), "\n"' < "$W/bb.smime" > "$W/bb2.smime"
message hostile-broken-base64-enveloped "$W/bb2.smime"
mf hostile-broken-base64-enveloped.eml "openssl cms -encrypt; base64 damaged" application/pkcs7-mime failed none - \
  "application/pkcs7-mime enveloped-data whose base64 has a line of non-base64 characters and ends in the middle of a quantum; cannot be decrypted (corrupt), reported as failed and delivered unchanged"

text_entity hostile-broken-base64-signed crlf > "$W/bs.entity"
q openssl cms -sign -nodetach -in "$W/bs.entity" "${ALICE[@]}" -out "$W/bs.smime"
perl -e 'local $/; my $t = <STDIN>; my ($h, $b) = $t =~ /\A(.*?\n\n)(.*)\z/s or die; my @l = split /\n/, $b;
         splice(@l, 2, 1, "%%%% not base64 either ~~~~"); $l[-1] = substr($l[-1], 0, length($l[-1]) - 3);
         print $h, join("\n", @l), "\n"' < "$W/bs.smime" > "$W/bs2.smime"
message hostile-broken-base64-signed "$W/bs2.smime"
mf hostile-broken-base64-signed.eml "openssl cms -sign -nodetach; base64 damaged" application/pkcs7-mime no permerror - \
  "application/pkcs7-mime signed-data (alice, opaque) whose base64 is damaged the same way; malformed S/MIME (permerror), delivered unchanged"

{
  routing hostile-nul-body | perl -pe 's/\n/\r\n/'
  printf 'MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"\r\n'
  printf 'Content-Transfer-Encoding: binary\r\n\r\n'
  head -c 4096 /dev/zero
} > "$OUT/hostile-nul-body.eml"
mf hostile-nul-body.eml "this script (no CMS at all)" application/pkcs7-mime failed none - \
  "application/pkcs7-mime enveloped-data, Content-Transfer-Encoding binary, whose body is 4096 NUL bytes; not CMS, cannot be decrypted (corrupt), reported as failed and delivered unchanged"

# ============================== stage 2: Bouncy Castle ==================================================
BCW=${BC_WORK:-$W/bc}
if [ ! -s "$BCW/classes/BcInterop.class" ] || [ "$HERE/bc/BcInterop.java" -nt "$BCW/classes/BcInterop.class" ]; then
  bc_compile "$BCW" || { cat "$BCW/javac.log" >&2; die "javac failed"; }
fi
A=$PKI/alice C=$PKI/carol D=$PKI/domain
text_entity two-signers-bc crlf > "$W/two-bc.entity"
in_message two-signers-bc "$W/two-bc.entity"
text_entity no-smime-type-signed crlf > "$W/nsts.entity"
text_entity octet-stream-p7m-enveloped crlf > "$W/oct.entity"
text_entity hostile-huge-length crlf > "$W/huge.entity"
cat > "$W/bc.cmds" <<EOF
two-signers-bc sign in=$W/two-signers-bc.in.eml out=$W/two-signers-bc.out.eml signer=$A signer=$C+sha384
layered sign in=$W/layered-author-domain.in.eml out=$W/layered.alice.eml signer=$A
eiss sign in=$W/encrypted-in-signed-in-signed.in.eml out=$W/eiss.alice.eml signer=$A
sies.enc encrypt in=$W/signed-in-encrypted-in-signed.in.eml out=$W/sies.enc.eml to=$GW cipher=aes256-cbc
sies sign in=$W/sies.enc.eml out=$W/sies.out.eml signer=$D opaque
sie sign in=$W/signed-in-encrypted.in.eml out=$W/sie.alice.eml signer=$A
ceus sign in=$W/corrupt-enveloped-under-signature.in.eml out=$W/ceus.out.eml signer=$A
csus sign in=$W/corrupt-signed-under-signature.in.eml out=$W/csus.out.eml signer=$A
carol encrypt in=$W/carol-signed-in-authenveloped.in.eml out=$W/carol.out.eml to=$GW+oaep256 cipher=aes256-gcm
nsts sign content=$W/nsts.entity der=$W/nsts.der signer=$A opaque
oct encrypt content=$W/oct.entity der=$W/oct.der to=$GW cipher=aes256-cbc
huge sign content=$W/huge.entity der=$W/huge.der signer=$A opaque
EOF
bc_run "$BCW" "$W/bc.cmds" "$W/bc.out" || { cat "$W/bc.out" "$W/bc.out.err" >&2; die "Bouncy Castle did not run"; }
if grep -v -E '^[^ ]+ ok( |$)' "$W/bc.out" | grep -q .; then
  cat "$W/bc.out" "$W/bc.out.err" >&2
  die "Bouncy Castle failed"
fi

# ============================== stage 3: finishing (openssl, labels) =====================================
entity_of "$W/two-signers-bc.out.eml" "$W/e"
message two-signers-bc "$W/e"
mf two-signers-bc.eml "Bouncy Castle SMIMESignedGenerator (two signers)" multipart/signed no pass alice@example.org \
  "detached SignedData with two SignerInfos, RSA alice (SHA-256) and ECDSA carol (SHA-384), micalg=\"sha-256,sha-384\"; both verify, alice is bound to From, carol is named in the comment"

entity_of "$W/layered.alice.eml" "$W/layered.alice.entity"
q openssl cms -sign -in "$W/layered.alice.entity" "${DOMAIN[@]}" -out "$W/layered.smime"
message layered-author-domain "$W/layered.smime"
mf layered-author-domain.eml "Bouncy Castle SMIMESignedGenerator (alice) inside openssl cms -sign (domain)" multipart/signed no pass alice@example.org \
  "alice's detached signature inside a second detached signature by the sender's domain gateway certificate (domain.pem, example.net, no e-mail address); both layers verify, the inner one (alice) is bound to From and is the identity, the domain signer is named in the comment"

entity_of "$W/eiss.alice.eml" "$W/eiss.alice.entity"
q openssl cms -sign -in "$W/eiss.alice.entity" "${DOMAIN[@]}" -out "$W/eiss.smime"
message encrypted-in-signed-in-signed "$W/eiss.smime"
mf encrypted-in-signed-in-signed.eml "openssl cms -encrypt; Bouncy Castle (alice); openssl cms -sign (domain)" multipart/signed yes pass alice@example.org \
  "AuthEnvelopedData (AES-256-GCM, to the gateway) signed by alice, signed again by the domain gateway; every layer is unwrapped: both signatures verify, alice's is bound to From, and the encrypted entity inside is decrypted (never delivered as 'not encrypted')"

entity_of "$W/sies.out.eml" "$W/e"
message signed-in-encrypted-in-signed "$W/e"
mf signed-in-encrypted-in-signed.eml "openssl cms -sign (alice); Bouncy Castle SMIMEEnvelopedGenerator; Bouncy Castle opaque (domain)" application/pkcs7-mime yes pass alice@example.org \
  "opaque signature by the domain gateway around an EnvelopedData (AES-256-CBC, to the gateway) around alice's detached signature; every layer unwrapped and reported: decrypted, both signatures verify, alice's is bound to From (and authenticates the CBC content)"

entity_of "$W/sie.alice.eml" "$W/sie.alice.entity"
q openssl cms -encrypt -binary -aes-256-cbc -in "$W/sie.alice.entity" -out "$W/sie.smime" "$GW"
message signed-in-encrypted "$W/sie.smime"
mf signed-in-encrypted.eml "Bouncy Castle SMIMESignedGenerator (alice); openssl cms -encrypt" application/pkcs7-mime yes pass alice@example.org \
  "the usual sign-then-encrypt: alice's detached signature inside an EnvelopedData (AES-256-CBC) to the gateway; decrypted, the signature verifies and is bound to From"

entity_of "$W/ceus.out.eml" "$W/e"
message corrupt-enveloped-under-signature "$W/e"
mf corrupt-enveloped-under-signature.eml "openssl cms -encrypt, truncated; Bouncy Castle (alice)" multipart/signed failed pass alice@example.org \
  "alice's good detached signature over an application/pkcs7-mime enveloped-data entity whose CMS is cut in half; the signature layer passes (bound to From), the layer below cannot be decrypted and is reported as failed (corrupt), never passed over or delivered as 'not encrypted'"

entity_of "$W/csus.out.eml" "$W/e"
message corrupt-signed-under-signature "$W/e"
mf corrupt-signed-under-signature.eml "openssl cms -sign -nodetach, truncated; Bouncy Castle (alice)" multipart/signed no permerror - \
  "alice's good detached signature over an application/pkcs7-mime signed-data entity whose CMS is cut in half; every layer must verify: the inner layer is malformed, so the result is permerror, naming the inner layer"

entity_of "$W/carol.out.eml" "$W/e"
message carol-signed-in-authenveloped "$W/e" "Carol <carol@example.org>"
mf carol-signed-in-authenveloped.eml "NSS cmsutil -S (carol); Bouncy Castle CMSAuthEnvelopedDataGenerator" application/pkcs7-mime yes pass carol@example.org \
  "AuthEnvelopedData (AES-256-GCM, RSA-OAEP SHA-256 recipient: the gateway) labelled smime-type=authEnveloped-data, around carol's opaque ECDSA signature (NSS); decrypted (authenticated), the signature verifies and is bound to From carol@example.org"

p7m_entity "$W/nsts.der" "$W/e" 'application/pkcs7-mime; name="smime.p7m"'
message no-smime-type-signed "$W/e"
mf no-smime-type-signed.eml "Bouncy Castle CMSSignedDataGenerator (opaque)" application/pkcs7-mime no pass alice@example.org \
  "opaque SignedData by alice labelled application/pkcs7-mime without smime-type; the CMS content type (signedData) says what it is; verifies, bound to From"

p7m_entity "$W/oct.der" "$W/e" 'application/octet-stream; name="smime.p7m"'
message octet-stream-p7m-enveloped "$W/e"
mf octet-stream-p7m-enveloped.eml "Bouncy Castle CMSEnvelopedDataGenerator" application/octet-stream yes none - \
  "EnvelopedData (AES-256-CBC) labelled application/octet-stream with name=\"smime.p7m\" (as some clients and relays send it); recognised by the .p7m name (RFC 8551 3.2.2) and decrypted"

q openssl cms -cmsout -inform DER -in "$W/huge.der" -outform DER -out "$W/huge.dl.der"
# the outer SEQUENCE's length (30 82 HH LL) becomes 0x7fffffff (30 84 7f ff ff ff): about 2 GiB declared
perl -e 'local $/; my $d = <STDIN>; $d =~ s/\A\x30\x82..|\A\x30\x83.../\x30\x84\x7f\xff\xff\xff/s or die "not definite DER\n"; print $d' \
  < "$W/huge.dl.der" > "$W/huge.bad.der"
p7m_entity "$W/huge.bad.der" "$W/e" 'application/pkcs7-mime; smime-type=signed-data; name="smime.p7m"'
message hostile-huge-length "$W/e"
mf hostile-huge-length.eml "Bouncy Castle (alice, opaque); outer length patched" application/pkcs7-mime no permerror - \
  "opaque SignedData whose outer SEQUENCE declares a length of 2 GiB (0x7fffffff) with 3 KiB present; refused as malformed without allocating the declared size, delivered unchanged"

sort -t "$(printf '\t')" -k1,1 "$MANIFEST" | { grep '^#' "$MANIFEST"; grep -v '^#'; } > "$OUT/MANIFEST"
n=$(grep -vc '^#' "$OUT/MANIFEST")
echo "make-inbound-corpus: $n messages in $OUT"
