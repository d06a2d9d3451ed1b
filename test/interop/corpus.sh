#!/bin/bash
# corpus.sh SMIME_TOOL PKI_DIR — builds the inbound corpus (make-inbound-corpus.sh) and checks it with tools
# other than ours: every message listed in MANIFEST exists, is a well-formed RFC 5322 message with the
# routing fields and the media type the manifest says, and a second independent implementation (openssl cms
# or Bouncy Castle, whichever did not make that layer where both are involved) reads back what the manifest
# claims: that it decrypts with the gateway's key and the content carries its marker (and its line ends),
# which signer made each layer, and that the broken messages really are broken in the way described.
# smime-tool is not used here (the corpus is for the gateway's own tests); it is the common argument of the
# interop scripts.
# shellcheck source=common.sh disable=SC2015,SC2317  # check functions are called through `check`
. "$(dirname "$0")/common.sh"
# shellcheck source=bc/bc.sh
. "$(dirname "$0")/bc/bc.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

missing=$(bc_missing)
if [ -n "$missing" ]; then
  notok "Bouncy Castle is installed (missing:$missing)"
  finish
fi
for c in cmsutil certutil pk12util; do
  command -v $c > /dev/null || { notok "$c is installed (apt-get install libnss3-tools)"; finish; }
done

C=$T/corpus
build() {
  run env BC_WORK="$T/bc" "$HERE/make-inbound-corpus.sh" "$C" "$PKI" || { WHY="make-inbound-corpus.sh failed"; return 1; }
  [ -s "$C/MANIFEST" ] || { WHY="no MANIFEST"; return 1; }
}
check "make-inbound-corpus.sh builds the corpus (openssl, NSS cmsutil, Bouncy Castle)" build
[ -s "$C/MANIFEST" ] || finish
note "$(grep -vc '^#' "$C/MANIFEST") messages in the manifest"

GWC=$PKI/gw-new.pem
GWK=$PKI/gw-new.key
TAB=$(printf '\t')

# ---- each manifest line: the message is there and well formed -------------------------------------------
well_formed() { # FILE CONTENT-TYPE DECRYPTED SMIME IDENTITY COLUMNS
  local f=$C/$1 h v
  [ "$6" -eq 7 ] || { WHY="manifest line has $6 columns, want 7"; return 1; }
  case $3 in yes | no | failed) ;; *) WHY="decrypted=$3"; return 1 ;; esac
  case $4 in pass | fail | permerror | temperror | neutral | none) ;; *) WHY="smime=$4"; return 1 ;; esac
  [[ $5 == - || $5 == *@* ]] || { WHY="identity=$5"; return 1; }
  [ -s "$f" ] || { WHY="$1 missing or empty"; return 1; }
  # the header block: CRLF line ends, every line a field or a continuation, then an empty line
  perl -e 'local $/; my $t = <STDIN>; $t =~ /\A(.*?)\r\n\r\n/s or die "no CRLF header block\n";
           for (split /\r\n/, $1) { die "not a header line: $_\n" unless /^[!-9;-~]+:/ || /^[ \t]+\S/ }' \
    < "$f" 2>> "$LOG" || { WHY="not an RFC 5322 header block"; return 1; }
  for h in From To Subject Date Message-ID MIME-Version; do
    [ "$(perl -e 'local $/; my $t = <STDIN>; my ($h) = $t =~ /\A(.*?)\r\n\r\n/s; print scalar(() = $h =~ /^\Q'"$h"'\E:/mgi)' < "$f")" -eq 1 ] \
      || { WHY="not exactly one $h field"; return 1; }
  done
  v=$(mime header "$f" To)
  [[ $v == *"<gateway@example.com>"* ]] || { WHY="To: $v"; return 1; }
  v=$(mime header "$f" From | tr '[:upper:]' '[:lower:]')
  [[ $v == *"@example.org>"* ]] || { WHY="From: $v (want an example.org sender)"; return 1; }
  v=$(mime header "$f" Date)
  date -d "$v" > /dev/null 2>&1 || { WHY="Date: $v"; return 1; }
  v=$(mime mediatype "$f")
  [ "$v" = "$2" ] || { WHY="media type $v, manifest says $2"; return 1; }
}

# ---- read back with a second tool -----------------------------------------------------------------------
BC_CMDS=$T/bc.cmds
BC_OUT=$T/bc.out
: > "$BC_CMDS"
R=$T/rb
mkdir -p "$R"
bq() { printf '%s\n' "$*" >> "$BC_CMDS"; }
# is_bc LABEL ok|fail — Bouncy Castle's operation LABEL ended so
is_bc() {
  grep -E "^$1 " "$BC_OUT" | sed 's/^/  bc: /' >> "$LOG"
  local l
  l=$(bc_line "$BC_OUT" "$1") || { WHY="Bouncy Castle did not run $1"; return 1; }
  [[ $l == "$1 $2"* ]] || { WHY="Bouncy Castle $1: ${l#* }"; return 1; }
}
bc_email_is() { # LABEL EMAILS (comma-separated, any order)
  local e
  e=$(bc_field "$BC_OUT" "$1" emails)
  [ "$(sorted_list "$e")" = "$(sorted_list "$2")" ] || { WHY="Bouncy Castle $1: signers $e, want $2"; return 1; }
}
marker() { # FILE NAME
  grep -q "Corpus message: $2" "$1" 2> /dev/null || { WHY="no 'Corpus message: $2' in $(basename "$1")"; return 1; }
}
lf_only() {
  perl -e 'local $/; $_ = <STDIN>; exit(/\r/ ? 1 : !/\n/)' < "$1" || { WHY="$(basename "$1") does not have bare LF line ends only"; return 1; }
}
crlf_and_lf() {
  perl -e 'local $/; $_ = <STDIN>; exit !(/\r\n/ && /(?<!\r)\n/)' < "$1" || { WHY="$(basename "$1") does not mix CRLF and LF"; return 1; }
}
# der_of MSG DER — the base64 body of a message, decoded (whatever its label)
der_of() { mime b64body "$1" > "$2" && [ -s "$2" ] || { WHY="no base64 body"; return 1; }; }
# ossl_decrypt MSG OUT — openssl cms -decrypt of the DER in MSG's body with the gateway's key (bytes as they are)
ossl_decrypt() {
  der_of "$1" "$2.der" || return 1
  rm -f "$2"
  run openssl cms -decrypt -binary -inform DER -in "$2.der" -recip "$GWC" -inkey "$GWK" -out "$2" \
    || { WHY="openssl cms -decrypt failed"; return 1; }
}
# ossl_verify MSG OUT SIGNER... [-- openssl options] — openssl cms -verify (S/MIME input) against root.pem;
# the signer certificates are exactly SIGNER... (names in the PKI)
ossl_verify() {
  local msg=$1 out=$2 want=() opts=()
  shift 2
  while [ $# -gt 0 ] && [ "$1" != -- ]; do want+=("$1"); shift; done
  [ $# -gt 0 ] && { shift; opts=("$@"); }
  rm -f "$out" "$out.signers"
  run openssl cms -verify -inform SMIME -in "$msg" -CAfile "$PKI/root.pem" -purpose smimesign \
    -signer "$out.signers" -out "$out" "${opts[@]}" || { WHY="openssl cms -verify failed"; return 1; }
  local got w s fps=()
  rm -f "$out".s[0-9]*
  awk -v p="$out.s" '/BEGIN CERTIFICATE/ {n++} n {print > (p n)}' "$out.signers"
  got=$(for s in "$out".s[0-9]*; do cert_sha1 "$s"; done | sort | paste -sd, -)
  for w in "${want[@]}"; do fps+=("$(cert_sha1 "$PKI/$w.pem")"); done
  [ "$got" = "$(printf '%s\n' "${fps[@]}" | sort | paste -sd, -)" ] || { WHY="openssl: the signers are not ${want[*]}"; return 1; }
}
# der_verify DER OUT SIGNER — openssl cms -verify of an opaque DER SignedData, content exactly as signed
der_verify() {
  rm -f "$2" "$2.signer"
  run openssl cms -verify -binary -inform DER -in "$1" -CAfile "$PKI/root.pem" -purpose smimesign \
    -signer "$2.signer" -out "$2" || { WHY="openssl cms -verify failed"; return 1; }
  [ "$(cert_sha1 "$2.signer")" = "$(cert_sha1 "$PKI/$3.pem")" ] || { WHY="openssl: signer is not $3"; return 1; }
}
ossl_refuses() { # DESCRIPTION CMD... — the openssl command fails
  local d=$1
  shift
  if run "$@"; then WHY="openssl accepted it: $d"; return 1; fi
  return 0
}

# Each message: bc_<stem> queues Bouncy Castle operations (optional), rb_<stem> checks after the batch.
READBACKS=()
rb() { READBACKS+=("$1"); }

rb lf-enveloped-nss
rb_lf_enveloped_nss() {
  ossl_decrypt "$1" "$R/$2" && lf_only "$R/$2" && marker "$R/$2" "$2"
}
rb lf-enveloped-openssl
bc_lf_enveloped_openssl() { bq "$2 decrypt in=$1 key=${GWC%.pem} out=$R/$2"; }
rb_lf_enveloped_openssl() { is_bc "$2" ok && lf_only "$R/$2" && marker "$R/$2" "$2"; }
rb lf-opaque-signed-nss
rb_lf_opaque_signed_nss() {
  der_of "$1" "$R/$2.der" && der_verify "$R/$2.der" "$R/$2" alice && lf_only "$R/$2" && marker "$R/$2" "$2"
}
rb mixed-eol-enveloped
bc_mixed_eol_enveloped() { bq "$2 decrypt in=$1 key=${GWC%.pem} out=$R/$2"; }
rb_mixed_eol_enveloped() {
  is_bc "$2" ok && want_bc "$2" type auth-enveloped && crlf_and_lf "$R/$2" && marker "$R/$2" "$2"
}
rb raw-text-enveloped
bc_raw_text_enveloped() { bq "$2 decrypt in=$1 key=${GWC%.pem} out=$R/$2"; }
rb_raw_text_enveloped() {
  is_bc "$2" ok && marker "$R/$2" "$2" || return 1
  head -n1 "$R/$2" | grep -q '^Hi gateway team,' || { WHY="does not start with the raw text"; return 1; }
  ! grep -qi '^content-type:' "$R/$2" || { WHY="has a Content-Type field"; return 1; }
}
rb raw-binary-enveloped
bc_raw_binary_enveloped() { bq "$2 decrypt in=$1 key=${GWC%.pem} out=$R/$2"; }
rb_raw_binary_enveloped() {
  is_bc "$2" ok || return 1
  [ "$(stat -c %s "$R/$2")" -eq 4096 ] || { WHY="$(stat -c %s "$R/$2") bytes, want 4096"; return 1; }
  [ "$(head -c 4 "$R/$2" | od -An -tx1 | tr -d ' ')" = 89504e47 ] || { WHY="does not start with the PNG signature"; return 1; }
  [ "$(tr -cd '\000' < "$R/$2" | wc -c)" -gt 0 ] || { WHY="no NUL byte"; return 1; }
}
rb x-pkcs7-mime-enveloped
bc_x_pkcs7_mime_enveloped() { bq "$2 decrypt in=$1 key=${GWC%.pem} out=$R/$2"; }
rb_x_pkcs7_mime_enveloped() {
  [ "$(mime param "$1" content-type smime-type)" = enveloped-data ] || { WHY="smime-type is not enveloped-data"; return 1; }
  is_bc "$2" ok && marker "$R/$2" "$2"
}
rb octet-stream-p7m-enveloped
rb_octet_stream_p7m_enveloped() {
  [ "$(mime param "$1" content-type name)" = smime.p7m ] || { WHY="no name=smime.p7m"; return 1; }
  ossl_decrypt "$1" "$R/$2" && marker "$R/$2" "$2"
}
rb no-smime-type-enveloped
bc_no_smime_type_enveloped() { bq "$2 decrypt in=$1 key=${GWC%.pem} out=$R/$2"; }
rb_no_smime_type_enveloped() {
  ! mime param "$1" content-type smime-type > /dev/null || { WHY="has smime-type"; return 1; }
  is_bc "$2" ok && want_bc "$2" type enveloped && marker "$R/$2" "$2"
}
rb no-smime-type-signed
rb_no_smime_type_signed() {
  ! mime param "$1" content-type smime-type > /dev/null || { WHY="has smime-type"; return 1; }
  der_of "$1" "$R/$2.der" && der_verify "$R/$2.der" "$R/$2" alice && marker "$R/$2" "$2"
}
rb two-signers-bc
rb_two_signers_bc() {
  local mic
  mic=$(mime param "$1" content-type micalg)
  [ "$(sorted_list "$mic")" = sha-256,sha-384 ] || { WHY="micalg=$mic, want sha-256,sha-384"; return 1; }
  ossl_verify "$1" "$R/$2" alice carol && marker "$R/$2" "$2"
}
rb two-signers-openssl
bc_two_signers_openssl() { bq "$2 verify in=$1 ca=$PKI/root.pem out=$R/$2"; }
rb_two_signers_openssl() {
  is_bc "$2" ok && want_bc "$2" signers 2 && bc_email_is "$2" alice@example.org,carol@example.org && marker "$R/$2" "$2"
}
rb layered-author-domain
bc_layered_author_domain() { bq "$2 verify in=$1 ca=$PKI/root.pem out=$R/$2.l1"; }
rb_layered_author_domain() {
  is_bc "$2" ok && want_bc "$2" signers 1 || return 1
  bc_signers "$BC_OUT" "$2" | grep -q ' email=- cn=example.net ' || { WHY="outer signer is not the domain certificate"; return 1; }
  ossl_verify "$R/$2.l1" "$R/$2" alice && marker "$R/$2" "$2"
}
rb encrypted-in-signed-in-signed
bc_encrypted_in_signed_in_signed() {
  bq "$2.outer verify in=$1 ca=$PKI/root.pem out=$R/$2.l1"
  bq "$2.middle verify in=$R/$2.l1 ca=$PKI/root.pem out=$R/$2.l2"
  bq "$2 decrypt in=$R/$2.l2 key=${GWC%.pem} out=$R/$2"
}
rb_encrypted_in_signed_in_signed() {
  is_bc "$2.outer" ok && is_bc "$2.middle" ok && is_bc "$2" ok || return 1
  bc_signers "$BC_OUT" "$2.outer" | grep -q ' cn=example.net ' || { WHY="outer signer is not the domain certificate"; return 1; }
  bc_email_is "$2.middle" alice@example.org && want_bc "$2" type auth-enveloped && marker "$R/$2" "$2" || return 1
  ossl_verify "$R/$2.l1" "$R/$2.ol2" alice  # alice's layer (Bouncy Castle's) by openssl too
}
rb signed-in-encrypted-in-signed
bc_signed_in_encrypted_in_signed() {
  bq "$2.outer verify in=$1 ca=$PKI/root.pem out=$R/$2.l1"
  bq "$2.dec decrypt in=$R/$2.l1 key=${GWC%.pem} out=$R/$2.l2"
}
rb_signed_in_encrypted_in_signed() {
  is_bc "$2.outer" ok && want_bc "$2.outer" detached no && is_bc "$2.dec" ok || return 1
  bc_signers "$BC_OUT" "$2.outer" | grep -q ' cn=example.net ' || { WHY="outer signer is not the domain certificate"; return 1; }
  ossl_verify "$1" "$R/$2.ol1" domain || return 1  # the outer layer (Bouncy Castle's) by openssl too
  ossl_verify "$R/$2.l2" "$R/$2" alice && marker "$R/$2" "$2"
}
rb signed-in-encrypted
bc_signed_in_encrypted() { bq "$2.dec decrypt in=$1 key=${GWC%.pem} out=$R/$2.l1"; }
rb_signed_in_encrypted() {
  is_bc "$2.dec" ok && ossl_verify "$R/$2.l1" "$R/$2" alice && marker "$R/$2" "$2"
}
rb corrupt-enveloped-under-signature
bc_corrupt_enveloped_under_signature() {
  bq "$2 verify in=$1 ca=$PKI/root.pem out=$R/$2.l1"
  bq "$2.dec decrypt in=$R/$2.l1 key=${GWC%.pem} out=$R/$2.l2"
}
rb_corrupt_enveloped_under_signature() {
  is_bc "$2" ok && bc_email_is "$2" alice@example.org && is_bc "$2.dec" fail || return 1
  ossl_verify "$1" "$R/$2.ol1" alice || return 1
  der_of "$R/$2.l1" "$R/$2.der" || return 1
  ossl_refuses "the truncated EnvelopedData" openssl cms -decrypt -inform DER -in "$R/$2.der" -recip "$GWC" -inkey "$GWK"
}
rb corrupt-signed-under-signature
bc_corrupt_signed_under_signature() {
  bq "$2 verify in=$1 ca=$PKI/root.pem out=$R/$2.l1"
  bq "$2.inner verify in=$R/$2.l1 ca=$PKI/root.pem"
}
rb_corrupt_signed_under_signature() {
  is_bc "$2" ok && bc_email_is "$2" alice@example.org && is_bc "$2.inner" fail || return 1
  ossl_verify "$1" "$R/$2.ol1" alice || return 1
  ossl_refuses "the truncated SignedData" openssl cms -verify -inform SMIME -in "$R/$2.l1" -CAfile "$PKI/root.pem"
}
rb carol-signed-in-authenveloped
rb_carol_signed_in_authenveloped() {
  [ "$(mime param "$1" content-type smime-type)" = authEnveloped-data ] || { WHY="smime-type is not authEnveloped-data"; return 1; }
  ossl_decrypt "$1" "$R/$2.l1" || return 1
  [ "$(der_content_type "$R/$2.l1.der")" = id-smime-ct-authEnvelopedData ] || { WHY="not AuthEnvelopedData"; return 1; }
  der_of "$R/$2.l1" "$R/$2.l1sig.der" && der_verify "$R/$2.l1sig.der" "$R/$2" carol && marker "$R/$2" "$2"
}
rb uppercase-from
bc_uppercase_from() { bq "$2 verify in=$1 ca=$PKI/root.pem out=$R/$2"; }
rb_uppercase_from() {
  mime header "$1" From | grep -q '<ALICE@EXAMPLE.ORG>' || { WHY="From is not ALICE@EXAMPLE.ORG"; return 1; }
  is_bc "$2" ok && bc_email_is "$2" alice@example.org && marker "$R/$2" "$2"
}
rb hostile-signed-no-boundary
rb_hostile_signed_no_boundary() {
  ! mime param "$1" content-type boundary > /dev/null || { WHY="has a boundary parameter"; return 1; }
  grep -q '^Content-Type: application/pkcs7-signature' "$1" || { WHY="the signature part is not in the body"; return 1; }
  ossl_refuses "multipart/signed without boundary" openssl cms -verify -inform SMIME -in "$1" -CAfile "$PKI/root.pem"
}
rb hostile-broken-base64-enveloped
bc_hostile_broken_base64_enveloped() { bq "$2 decrypt in=$1 key=${GWC%.pem} out=$R/$2"; }
rb_hostile_broken_base64_enveloped() {
  grep -q '^!!!! this is \*not\* base64' "$1" || { WHY="the damaged line is missing"; return 1; }
  is_bc "$2" fail || return 1
  ossl_refuses "damaged base64" openssl cms -decrypt -inform SMIME -in "$1" -recip "$GWC" -inkey "$GWK"
}
rb hostile-broken-base64-signed
bc_hostile_broken_base64_signed() { bq "$2 verify in=$1 ca=$PKI/root.pem"; }
rb_hostile_broken_base64_signed() {
  grep -q '^%%%% not base64 either' "$1" || { WHY="the damaged line is missing"; return 1; }
  is_bc "$2" fail || return 1
  ossl_refuses "damaged base64" openssl cms -verify -inform SMIME -in "$1" -CAfile "$PKI/root.pem"
}
rb hostile-huge-length
bc_hostile_huge_length() { bq "$2 info in=$1"; }
rb_hostile_huge_length() {
  der_of "$1" "$R/$2.der" || return 1
  [ "$(head -c 6 "$R/$2.der" | od -An -tx1 | tr -d ' ')" = 30847fffffff ] || { WHY="outer length is not 0x7fffffff"; return 1; }
  [ "$(stat -c %s "$R/$2.der")" -lt 65536 ] || { WHY="the DER is not small"; return 1; }
  is_bc "$2" fail || return 1
  ossl_refuses "a 2 GiB declared length" openssl cms -cmsout -print -inform DER -in "$R/$2.der"
}
rb hostile-nul-body
bc_hostile_nul_body() { bq "$2 info in=$1"; }
rb_hostile_nul_body() {
  mime body "$1" > "$R/$2.body"
  [ "$(stat -c %s "$R/$2.body")" -eq 4096 ] && [ "$(tr -d '\000' < "$R/$2.body" | wc -c)" -eq 0 ] \
    || { WHY="the body is not 4096 NUL bytes"; return 1; }
  is_bc "$2" fail || return 1
  ossl_refuses "NUL bytes as CMS" openssl cms -cmsout -print -inform DER -in "$R/$2.body"
}

want_bc() { # LABEL KEY VALUE
  local v
  v=$(bc_field "$BC_OUT" "$1" "$2")
  [ "$v" = "$3" ] || { WHY="Bouncy Castle $1: $2=$v, want $3"; return 1; }
}
fn() { printf '%s_%s' "$1" "$(printf '%s' "$2" | tr '.-' '__')"; }

# the manifest and the readbacks describe the same messages
in_sync() {
  local s listed
  listed=$(grep -v '^#' "$C/MANIFEST" | cut -f1 | sed 's/\.eml$//' | sort)
  [ "$listed" = "$(printf '%s\n' "${READBACKS[@]}" | sort)" ] || {
    WHY="manifest and readbacks differ"
    diff <(echo "$listed") <(printf '%s\n' "${READBACKS[@]}" | sort) >> "$LOG"
    return 1
  }
  s=$(find "$C" -name '*.eml' -printf '%f\n' | sed 's/\.eml$//' | sort)
  [ "$s" = "$listed" ] || { WHY="the corpus directory holds other messages than the manifest lists"; return 1; }
}
check "MANIFEST lists every message of the corpus, and each has a readback check here" in_sync

# queue Bouncy Castle's part, run it once, then check line by line
while IFS=$TAB read -r file _; do
  [[ $file == \#* || -z $file ]] && continue
  stem=${file%.eml}
  if declare -F "$(fn bc "$stem")" > /dev/null; then "$(fn bc "$stem")" "$C/$file" "$stem"; fi
done < "$C/MANIFEST"
bc_run "$T/bc" "$BC_CMDS" "$BC_OUT"
note "Bouncy Castle ran $(grep -c -E '^[^ ]+ (ok|fail)' "$BC_OUT") read-back operations"

while IFS= read -r line; do
  [[ $line == \#* || -z $line ]] && continue
  IFS=$TAB read -r file maker ctype decrypted smime identity desc <<< "$line"
  cols=$(awk -F'\t' '{print NF}' <<< "$line")
  stem=${file%.eml}
  check "$file ($maker): made, RFC 5322, $ctype; expects decrypted=$decrypted smime=$smime identity=$identity" \
    well_formed "$file" "$ctype" "$decrypted" "$smime" "$identity" "$cols"
  if declare -F "$(fn rb "$stem")" > /dev/null; then
    check "  ... read back by a second tool: ${desc%%;*}" "$(fn rb "$stem")" "$C/$file" "$stem"
  else
    notok "  ... $file has no readback check"
  fi
done < "$C/MANIFEST"

finish
