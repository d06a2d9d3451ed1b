#!/bin/bash
# openssl.sh SMIME_TOOL PKI_DIR — interop of smime-tool with the openssl cms command.
#
# openssl reads everything smime-tool can write, so this script covers what gpgsm and NSS cannot:
# smime-tool -> openssl cms: signatures (detached, opaque, RSA-PSS detached and opaque, SHA-384/512, EC)
#   verify with the expected signer; --der output (opaque signatures, AES-CBC and AES-GCM encryption) has
#   no indefinite length (openssl asn1parse) and verifies or decrypts, while the default stays streamed BER; AES-128/256-GCM (AuthEnvelopedData), RSA-OAEP, EC and AES-CBC encryption decrypts
#   to the original; a message to alice, bob and carol opens for each of them; sign-encrypt and triple
#   wrapping unwrap layer by layer.
# openssl cms -> smime-tool: -sign (multipart/signed), -nodetach (opaque), EC, PSS and SHA-512
#   signatures verify; -encrypt with AES-CBC, AES-GCM, OAEP, to EC carol and to three recipients
#   decrypts, with the cipher, authenticated flag and key index reported; key rollover (old gateway key
#   second in the list) finds the right key.
#   Two signers of which one is self-signed: untrusted, with each signer's own status; SHA-1 and MD5
#   message digests and a 512-bit signer key: weak (SHA-1 valid under --sha1 accept); an intermediate
#   CA as the only anchor validates (partial chain); opaque content with bare LF line ends is given
#   byte for byte; `openssl smime -encrypt` (application/x-pkcs7-mime) is recognised as encrypted,
#   a plain text labelled application/pkcs7-mime is not protection.
# Controls (each must be refused): tampered content, a self-signed signer, the wrong key, a GCM message
#   whose authentication tag was altered.
# shellcheck source=common.sh disable=SC2015,SC2317  # check functions are called through `check`
. "$(dirname "$0")/common.sh"

note "$(openssl version)"

ALICE=("--cert" "$PKI/alice.pem" "--key" "$PKI/alice.key" "--chain" "$PKI/inter.pem")
CAROL=("--cert" "$PKI/carol.pem" "--key" "$PKI/carol.key" "--chain" "$PKI/inter.pem")

# --- CMS structure, as openssl prints it ------------------------------------------------------------
# der_signer_field DER FIELD — algorithm name in the first signerInfo's digestAlgorithm / signatureAlgorithm
der_signer_field() {
  der_print "$1" | awk -v f="$2:" '$1 == f {g = 1; next} g && /algorithm:/ {print $2; exit}'
}
# der_kek DER — the key encryption algorithms of the recipients, one per line
der_kek() { der_print "$1" | awk '/keyEncryptionAlgorithm:/ {g = 1; next} g && /algorithm:/ {print $2; g = 0}'; }
# der_ri_types DER — recipient info types (d.ktri / d.kari ...), one per line
der_ri_types() { der_print "$1" | awk '/^ *d\.(ktri|kari|kekri|pwri|ori):/ {sub(":", "", $1); print $1}'; }

# ossl_verify MSG SIGNER-PEM OUT [extra openssl args] — openssl cms verifies an S/MIME message against
# root.pem; the signer is SIGNER-PEM; OUT gets the signed content.
ossl_verify() {
  local msg=$1 signer=$2 out=$3
  shift 3
  rm -f "$out" "$T/v.signer"
  run openssl cms -verify -inform SMIME -in "$msg" -CAfile "$PKI/root.pem" -purpose smimesign \
    -signer "$T/v.signer" -out "$out" "$@" || { WHY="openssl cms -verify failed"; return 1; }
  grep -q 'Verification successful' "$LOG" || { WHY="openssl did not say 'Verification successful'"; return 1; }
  [ "$(cert_sha1 "$T/v.signer")" = "$(cert_sha1 "$signer")" ] || { WHY="signer is not $(basename "$signer")"; return 1; }
}

# ============================== smime-tool -> openssl =============================================
ours_signed() { # MSG SIGNER WANT-MEDIATYPE SMIME-TOOL-SIGN-ARGS...
  local m=$1 signer=$2 want=$3
  shift 3
  st sign "$@" "$M/$m.eml" "$T/o.eml" || { WHY="smime-tool sign exited $ST_RC"; return 1; }
  [ "$(mime mediatype "$T/o.eml")" = "$want" ] || { WHY="smime-tool wrote $(mime mediatype "$T/o.eml"), want $want"; return 1; }
  ossl_verify "$T/o.eml" "$PKI/$signer.pem" "$T/o.content" || return 1
  same_content "$M/$m.eml" "$T/o.content"
}
# signature_der MSG DER — the CMS SignedData of our signed message (detached or opaque)
signature_der() {
  if [ "$(mime mediatype "$1")" = multipart/signed ]; then
    split_signed "$1" "$T/sd.content" "$2"
  else
    der_from_p7m "$1" "$2"
  fi
}
for m in $MSGS; do
  check "smime-tool sign (detached, RSA alice, $m) -> openssl cms -verify: ok, signer alice, content intact" \
    ours_signed "$m" alice multipart/signed "${ALICE[@]}"
  check "smime-tool sign --opaque (RSA alice, $m) -> openssl cms -verify: ok, signer alice, content intact" \
    ours_signed "$m" alice application/pkcs7-mime --opaque "${ALICE[@]}"
done
check "smime-tool sign (detached, EC carol) -> openssl cms -verify: ok, signer carol" \
  ours_signed utf8 carol multipart/signed "${CAROL[@]}"
check "smime-tool sign --opaque (EC carol) -> openssl cms -verify: ok, signer carol" \
  ours_signed multipart carol application/pkcs7-mime --opaque "${CAROL[@]}"

ours_sign_alg() { # SMIME-TOOL-ARGS... ; checks digest/signature algorithms and micalg
  local want_digest=$1 want_sig=$2 want_micalg=$3
  shift 3
  ours_signed ascii alice multipart/signed "$@" "${ALICE[@]}" || return 1
  signature_der "$T/o.eml" "$T/o.sig" || return 1
  local d s mic
  d=$(der_signer_field "$T/o.sig" digestAlgorithm)
  s=$(der_signer_field "$T/o.sig" signatureAlgorithm)
  mic=$(mime param "$T/o.eml" content-type micalg | tr 'A-Z' 'a-z')
  [ "$d" = "$want_digest" ] || { WHY="digestAlgorithm $d, want $want_digest"; return 1; }
  [ "$s" = "$want_sig" ] || { WHY="signatureAlgorithm $s, want $want_sig"; return 1; }
  [ "$mic" = "$want_micalg" ] || { WHY="micalg=$mic, want $want_micalg"; return 1; }
}
check "smime-tool sign (default) -> SHA-256, rsaEncryption (PKCS#1 v1.5), micalg=sha-256; openssl verifies" \
  ours_sign_alg sha256 rsaEncryption sha-256
check "smime-tool sign --pss -> RSASSA-PSS; openssl verifies" ours_sign_alg sha256 rsassaPss sha-256 --pss
check "smime-tool sign --digest sha384 -> SHA-384, micalg=sha-384; openssl verifies" ours_sign_alg sha384 rsaEncryption sha-384 --digest sha384
check "smime-tool sign --digest sha512 --pss -> SHA-512 RSASSA-PSS, micalg=sha-512; openssl verifies" \
  ours_sign_alg sha512 rsassaPss sha-512 --digest sha512 --pss

# ours_encrypted MSG WANT-CIPHER WANT-CONTENT-TYPE WANT-KEK RECIPIENT-NAME SMIME-TOOL-ENCRYPT-ARGS...
# smime-tool encrypts; the CMS has the wanted structure; openssl cms -decrypt as RECIPIENT gives the original.
ours_encrypted() {
  local m=$1 want_cipher=$2 want_ct=$3 want_kek=$4 who=$5
  shift 5
  st encrypt "$@" "$M/$m.eml" "$T/o.eml" || { WHY="smime-tool encrypt exited $ST_RC"; return 1; }
  der_from_p7m "$T/o.eml" "$T/o.der" || return 1
  local c
  c=$(der_content_type "$T/o.der")
  [ "$c" = "$want_ct" ] || { WHY="content type $c, want $want_ct"; return 1; }
  c=$(der_cipher "$T/o.der")
  [ "$c" = "$want_cipher" ] || { WHY="content encryption $c, want $want_cipher"; return 1; }
  if [ "$want_kek" != - ]; then
    c=$(der_kek "$T/o.der" | sort -u | paste -sd, -)
    [ "$c" = "$want_kek" ] || { WHY="key encryption $c, want $want_kek"; return 1; }
  fi
  rm -f "$T/o.out"
  run openssl cms -decrypt -inform DER -in "$T/o.der" -recip "$PKI/$who.pem" -inkey "$PKI/$who.key" -out "$T/o.out" \
    || { WHY="openssl cms -decrypt as $who failed"; return 1; }
  same_content "$M/$m.eml" "$T/o.out"
}
ENV=pkcs7-envelopedData
AUTHENV=id-smime-ct-authEnvelopedData
for m in $MSGS; do
  check "smime-tool encrypt --cipher aes256-gcm (to alice, $m) -> AuthEnvelopedData; openssl cms -decrypt: original text" \
    ours_encrypted "$m" aes256gcm $AUTHENV rsaEncryption alice --cipher aes256-gcm --to "$PKI/alice.pem"
done
check "smime-tool encrypt --cipher aes128-gcm (to alice) -> AuthEnvelopedData; openssl cms -decrypt: original text" \
  ours_encrypted utf8 aes128gcm $AUTHENV rsaEncryption alice --cipher aes128-gcm --to "$PKI/alice.pem"
check "smime-tool encrypt --cipher aes256-cbc (to alice) -> EnvelopedData; openssl cms -decrypt: original text" \
  ours_encrypted multipart aes256cbc $ENV rsaEncryption alice --cipher aes256-cbc --to "$PKI/alice.pem"
check "smime-tool encrypt --cipher aes128-cbc (to alice) -> openssl cms -decrypt: original text" \
  ours_encrypted ascii aes128cbc $ENV rsaEncryption alice --cipher aes128-cbc --to "$PKI/alice.pem"
check "smime-tool encrypt --oaep (to alice) -> RSAES-OAEP; openssl cms -decrypt: original text" \
  ours_encrypted utf8 aes256cbc $ENV rsaesOaep alice --cipher aes256-cbc --oaep --to "$PKI/alice.pem"
check "smime-tool encrypt --oaep --cipher aes256-gcm (to alice) -> openssl cms -decrypt: original text" \
  ours_encrypted ascii aes256gcm $AUTHENV rsaesOaep alice --cipher aes256-gcm --oaep --to "$PKI/alice.pem"
check "smime-tool encrypt (to EC carol) -> openssl cms -decrypt: original text" \
  ours_encrypted multipart aes256cbc $ENV - carol --cipher aes256-cbc --to "$PKI/carol.pem"
check "smime-tool encrypt --cipher aes256-gcm (to EC carol) -> openssl cms -decrypt: original text" \
  ours_encrypted utf8 aes256gcm $AUTHENV - carol --cipher aes256-gcm --to "$PKI/carol.pem"

three_recipients() { # CIPHER-ARGS...
  st encrypt "$@" --to "$PKI/alice.pem" --to "$PKI/bob.pem" --to "$PKI/carol.pem" "$M/multipart.eml" "$T/o3.eml" \
    || { WHY="smime-tool encrypt exited $ST_RC"; return 1; }
  der_from_p7m "$T/o3.eml" "$T/o3.der" || return 1
  local types
  types=$(der_ri_types "$T/o3.der" | sort | paste -sd, -)
  [ "$types" = "d.kari,d.ktri,d.ktri" ] || { WHY="recipient infos: $types, want two ktri and one kari"; return 1; }
}
for ciph in aes256-cbc aes256-gcm; do
  check "smime-tool encrypt --cipher $ciph to alice, bob and carol -> 2 KeyTransRecipientInfo + 1 KeyAgreeRecipientInfo" \
    three_recipients --cipher "$ciph"
  for who in alice bob carol; do
    open_as() {
      [ -s "$T/o3.der" ] || { WHY="no message (see the check above)"; return 1; }
      rm -f "$T/o3.out"
      run openssl cms -decrypt -inform DER -in "$T/o3.der" -recip "$PKI/$1.pem" -inkey "$PKI/$1.key" -out "$T/o3.out" \
        || { WHY="openssl cms -decrypt as $1 failed"; return 1; }
      same_content "$M/multipart.eml" "$T/o3.out"
    }
    check "  ... ($ciph) opens with openssl cms -decrypt as $who: original text" open_as "$who"
  done
  rm -f "$T/o3.der"
done

ours_sign_encrypt() {
  st sign-encrypt "${ALICE[@]}" --cipher aes256-gcm --to "$PKI/bob.pem" "$M/utf8.eml" "$T/o.eml" \
    || { WHY="smime-tool sign-encrypt exited $ST_RC"; return 1; }
  rm -f "$T/o.inner"
  run openssl cms -decrypt -inform SMIME -in "$T/o.eml" -recip "$PKI/bob.pem" -inkey "$PKI/bob.key" -out "$T/o.inner" \
    || { WHY="openssl cms -decrypt failed"; return 1; }
  ossl_verify "$T/o.inner" "$PKI/alice.pem" "$T/o.content" || return 1
  same_content "$M/utf8.eml" "$T/o.content"
}
check "smime-tool sign-encrypt (alice -> bob, aes256-gcm) -> openssl decrypts as bob, inner signature by alice verifies, content intact" \
  ours_sign_encrypt

ours_triple() {
  st triple "${ALICE[@]}" --cipher aes256-cbc --to "$PKI/bob.pem" "$M/multipart.eml" "$T/o.eml" \
    || { WHY="smime-tool triple exited $ST_RC"; return 1; }
  ossl_verify "$T/o.eml" "$PKI/alice.pem" "$T/o.l1" || { WHY="outer signature: $WHY"; return 1; }
  case $(mime mediatype "$T/o.l1") in
    application/pkcs7-mime | application/x-pkcs7-mime) ;;
    *) WHY="inside the outer signature: $(mime mediatype "$T/o.l1"), want application/pkcs7-mime"; return 1 ;;
  esac
  rm -f "$T/o.l2"
  run openssl cms -decrypt -inform SMIME -in "$T/o.l1" -recip "$PKI/bob.pem" -inkey "$PKI/bob.key" -out "$T/o.l2" \
    || { WHY="openssl cms -decrypt of the middle layer failed"; return 1; }
  ossl_verify "$T/o.l2" "$PKI/alice.pem" "$T/o.content" || { WHY="inner signature: $WHY"; return 1; }
  same_content "$M/multipart.eml" "$T/o.content"
}
check "smime-tool triple (alice -> bob) -> openssl: outer signature ok, decrypts as bob, inner signature ok, content intact" \
  ours_triple

# ============================== openssl cms -> smime-tool =============================================
# with_routing ORIG SMIME OUT — the routing headers of ORIG, then openssl's S/MIME output (which starts
# with its own MIME-Version and Content-* header fields).
with_routing() { { mime routing "$1"; cat "$2"; } > "$3"; }

theirs_signed() { # MSG SIGNER DETACHED(yes|no) [openssl options]
  local m=$1 signer=$2 det=$3
  shift 3
  local mode=()
  [ "$det" = no ] && mode=(-nodetach)
  mime entity "$M/$m.eml" > "$T/t.entity"
  run openssl cms -sign -in "$T/t.entity" -signer "$PKI/$signer.pem" -inkey "$PKI/$signer.key" \
    -certfile "$PKI/inter.pem" "${mode[@]}" "$@" -out "$T/t.smime" || { WHY="openssl cms -sign failed"; return 1; }
  with_routing "$M/$m.eml" "$T/t.smime" "$T/t.eml"
  st verify --ca "$PKI/root.pem" "$T/t.eml" "$T/t.out"
  expect_valid "$T/st.err" "$(cert_email "$PKI/$signer.pem")" "$det" || return 1
  same_message "$M/$m.eml" "$T/t.out"
}
for m in $MSGS; do
  check "openssl cms -sign (multipart/signed, RSA alice, $m) -> smime-tool verify: valid, signer alice, content intact" \
    theirs_signed "$m" alice yes
  check "openssl cms -sign -nodetach (opaque, RSA alice, $m) -> smime-tool verify: valid, signer alice, content intact" \
    theirs_signed "$m" alice no
done
check "openssl cms -sign (EC carol) -> smime-tool verify: valid, signer carol" theirs_signed utf8 carol yes
check "openssl cms -sign -nodetach (EC carol) -> smime-tool verify: valid, signer carol" theirs_signed multipart carol no
check "openssl cms -sign -keyopt rsa_padding_mode:pss (alice) -> smime-tool verify: valid" \
  theirs_signed ascii alice yes -keyopt rsa_padding_mode:pss
check "openssl cms -sign -md sha512 (alice) -> smime-tool verify: valid" theirs_signed utf8 alice yes -md sha512
check "openssl cms -sign -md sha384 -nodetach (EC carol) -> smime-tool verify: valid" theirs_signed ascii carol no -md sha384

two_signers() {
  mime entity "$M/ascii.eml" > "$T/t.entity"
  run openssl cms -sign -in "$T/t.entity" -signer "$PKI/alice.pem" -inkey "$PKI/alice.key" \
    -signer "$PKI/carol.pem" -inkey "$PKI/carol.key" -certfile "$PKI/inter.pem" -out "$T/t.smime" \
    || { WHY="openssl cms -sign failed"; return 1; }
  with_routing "$M/ascii.eml" "$T/t.smime" "$T/t.eml"
  st verify --ca "$PKI/root.pem" "$T/t.eml" "$T/t.out"
  expect_valid "$T/st.err" alice@example.org,carol@example.org yes || return 1
  same_message "$M/ascii.eml" "$T/t.out"
}
check "openssl cms -sign with two signers (alice RSA, carol EC) -> smime-tool verify: valid, signers alice,carol" two_signers

# controls: what must not verify
theirs_bad() { # WHAT STATUS
  mime entity "$M/ascii.eml" > "$T/t.entity"
  local signer=alice certs=(-certfile "$PKI/inter.pem")
  [ "$1" = selfsigned ] && signer=selfsigned certs=()
  run openssl cms -sign -in "$T/t.entity" -signer "$PKI/$signer.pem" -inkey "$PKI/$signer.key" \
    "${certs[@]}" -out "$T/t.smime" || { WHY="openssl cms -sign failed"; return 1; }
  with_routing "$M/ascii.eml" "$T/t.smime" "$T/t.eml"
  [ "$1" = tampered ] && { tamper "$T/t.eml" || return 1; }
  st verify --ca "$PKI/root.pem" "$T/t.eml" "$T/t.out"
  expect_status "$T/st.err" "$2" 1
}
check "control: openssl signature over tampered content -> smime-tool verify: status=bad-signature, exit 1" theirs_bad tampered bad-signature
check "control: openssl signature by a self-signed certificate -> smime-tool verify: status=untrusted, exit 1" theirs_bad selfsigned untrusted

# theirs_encrypted MSG CIPHER-OPTION AUTHENTICATED RECIPIENT-OPTIONS -- SMIME-TOOL-DECRYPT-KEYS... [key-index]
theirs_encrypted() {
  local m=$1 cipher=$2 auth=$3
  shift 3
  local rc=()
  while [ "$1" != -- ]; do rc+=("$1"); shift; done
  shift
  local idx=0 keys=()
  while [ $# -gt 0 ]; do
    case $1 in
      --index) idx=$2; shift 2 ;;
      *) keys+=(--cert "$PKI/$1.pem" --key "$PKI/$1.key"); shift ;;
    esac
  done
  mime entity "$M/$m.eml" > "$T/t.entity"
  run openssl cms -encrypt -in "$T/t.entity" "$cipher" -out "$T/t.smime" "${rc[@]}" \
    || { WHY="openssl cms -encrypt failed"; return 1; }
  with_routing "$M/$m.eml" "$T/t.smime" "$T/t.eml"
  openssl cms -cmsout -inform SMIME -in "$T/t.smime" -outform DER -out "$T/t.der" 2>> "$LOG"
  st decrypt "${keys[@]}" "$T/t.eml" "$T/t.out"
  expect_decrypted "$T/st.err" "$idx" "$(der_cipher "$T/t.der")" "$auth" || return 1
  same_message "$M/$m.eml" "$T/t.out"
}
for m in $MSGS; do
  check "openssl cms -encrypt -aes-256-cbc (to alice, $m) -> smime-tool decrypt: original text, aes-256-cbc, authenticated=no" \
    theirs_encrypted "$m" -aes-256-cbc no "$PKI/alice.pem" -- alice
  check "openssl cms -encrypt -aes-256-gcm (to alice, $m) -> smime-tool decrypt: original text, aes-256-gcm, authenticated=yes" \
    theirs_encrypted "$m" -aes-256-gcm yes "$PKI/alice.pem" -- alice
done
check "openssl cms -encrypt -aes-128-gcm (to alice) -> smime-tool decrypt: original text, authenticated=yes" \
  theirs_encrypted utf8 -aes-128-gcm yes "$PKI/alice.pem" -- alice
check "openssl cms -encrypt -aes-128-cbc (to alice) -> smime-tool decrypt: original text" \
  theirs_encrypted ascii -aes-128-cbc no "$PKI/alice.pem" -- alice
check "openssl cms -encrypt RSA-OAEP (to alice) -> smime-tool decrypt: original text" \
  theirs_encrypted utf8 -aes-256-cbc no -recip "$PKI/alice.pem" -keyopt rsa_padding_mode:oaep -- alice
check "openssl cms -encrypt RSA-OAEP SHA-256 (to alice) -> smime-tool decrypt: original text" \
  theirs_encrypted ascii -aes-256-gcm yes -recip "$PKI/alice.pem" -keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256 -- alice
check "openssl cms -encrypt -aes-256-cbc (to EC carol) -> smime-tool decrypt: original text" \
  theirs_encrypted multipart -aes-256-cbc no "$PKI/carol.pem" -- carol
check "openssl cms -encrypt -aes-256-gcm (to EC carol) -> smime-tool decrypt: original text, authenticated=yes" \
  theirs_encrypted utf8 -aes-256-gcm yes "$PKI/carol.pem" -- carol
for who in alice bob carol; do
  check "openssl cms -encrypt (to alice, bob and carol) -> smime-tool decrypt as $who: original text" \
    theirs_encrypted multipart -aes-256-cbc no "$PKI/alice.pem" "$PKI/bob.pem" "$PKI/carol.pem" -- "$who"
done
check "key rollover: openssl encrypts to gw-old; smime-tool decrypt --cert gw-new ... --cert gw-old ...: key-index=1" \
  theirs_encrypted ascii -aes-256-cbc no "$PKI/gw-old.pem" -- gw-new gw-old --index 1
check "key rollover: openssl encrypts to gw-new; smime-tool decrypt --cert gw-new ... --cert gw-old ...: key-index=0" \
  theirs_encrypted ascii -aes-256-cbc no "$PKI/gw-new.pem" -- gw-new gw-old --index 0

wrong_key() {
  mime entity "$M/ascii.eml" > "$T/t.entity"
  run openssl cms -encrypt -in "$T/t.entity" -aes-256-cbc -out "$T/t.smime" "$PKI/bob.pem" || { WHY="openssl cms -encrypt failed"; return 1; }
  with_routing "$M/ascii.eml" "$T/t.smime" "$T/t.eml"
  rm -f "$T/t.out"
  st decrypt --cert "$PKI/alice.pem" --key "$PKI/alice.key" "$T/t.eml" "$T/t.out"
  [ "$ST_RC" -eq 4 ] || { WHY="exit $ST_RC, want 4 (wrong key)"; return 1; }
  ! grep -q '^decrypted ' "$T/st.err" || { WHY="reported 'decrypted'"; return 1; }
  [ ! -s "$T/t.out" ] || ! grep -q quick "$T/t.out" || { WHY="wrote plaintext"; return 1; }
}
check "control: message to bob, smime-tool decrypt with alice's key -> exit 4, nothing decrypted" wrong_key

gcm_tampered() {
  mime entity "$M/ascii.eml" > "$T/t.entity"
  run openssl cms -encrypt -in "$T/t.entity" -aes-256-gcm -outform DER -out "$T/t.der" "$PKI/alice.pem" \
    || { WHY="openssl cms -encrypt failed"; return 1; }
  # the DER ends with the 16-byte authentication tag (mac): flip its last byte
  local n
  n=$(stat -c %s "$T/t.der")
  head -c $((n - 1)) "$T/t.der" > "$T/t2.der"
  printf '%s' "$(tail -c 1 "$T/t.der" | od -An -tu1 | tr -d ' ')" | awk '{printf "%c", ($1 + 1) % 256}' >> "$T/t2.der"
  cmp -s "$T/t.der" "$T/t2.der" && { WHY="tampering did not change the message"; return 1; }
  wrap_p7m "$M/ascii.eml" "$T/t2.der" authEnveloped-data "$T/t.eml"
  rm -f "$T/t.out"
  st decrypt --cert "$PKI/alice.pem" --key "$PKI/alice.key" "$T/t.eml" "$T/t.out"
  [ "$ST_RC" -ne 0 ] || { WHY="smime-tool decrypt succeeded"; return 1; }
  ! grep -q '^decrypted ' "$T/st.err" || { WHY="reported 'decrypted'"; return 1; }
  [ ! -s "$T/t.out" ] || ! grep -q quick "$T/t.out" || { WHY="wrote the unauthenticated plaintext"; return 1; }
}
check "control: AES-GCM message with an altered tag -> smime-tool decrypt fails, writes no plaintext" gcm_tampered

# ============================== several signers, policy, anchors, recognition ==============================
# signer_field ERRFILE EMAIL NAME — NAME=... on smime-tool verify's `signer email=EMAIL ...` line
signer_field() {
  awk -v e="email=$2" -v f="$3=" '$1 == "signer" && $2 == e { for (i = 3; i <= NF; i++) if (index($i, f) == 1) { print substr($i, length(f) + 1); exit } }' "$1"
}

ours_opaque_pss() {
  ours_signed ascii alice application/pkcs7-mime --opaque --pss "${ALICE[@]}" || return 1
  der_from_p7m "$T/o.eml" "$T/o.sig" || return 1
  local s
  s=$(der_signer_field "$T/o.sig" signatureAlgorithm)
  [ "$s" = rsassaPss ] || { WHY="signatureAlgorithm $s, want rsassaPss"; return 1; }
}
check "smime-tool sign --opaque --pss -> RSASSA-PSS opaque signature; openssl cms -verify: ok, signer alice, content intact" \
  ours_opaque_pss

# has_indefinite DER — openssl asn1parse shows an indefinite length (l=inf) somewhere
# (through a file: with pipefail, grep -q ending early would fail the pipeline by SIGPIPE)
has_indefinite() {
  openssl asn1parse -inform DER -in "$1" -i > "$T/asn1.txt" 2>> "$LOG"
  grep -q 'l=inf' "$T/asn1.txt"
}
ours_der() { # der|ber COMMAND SMIME-TOOL-ARGS...
  local form=$1 cmd=$2
  shift 2
  local flag=()
  [ "$form" = der ] && flag=(--der)
  st "$cmd" "${flag[@]}" "$@" "$M/multipart.eml" "$T/d.eml" || { WHY="smime-tool $cmd exited $ST_RC"; return 1; }
  der_from_p7m "$T/d.eml" "$T/d.der" || return 1
  run openssl asn1parse -inform DER -in "$T/d.der" > /dev/null || { WHY="openssl asn1parse cannot read it"; return 1; }
  if [ "$form" = der ]; then
    ! has_indefinite "$T/d.der" || { WHY="indefinite length in --der output"; return 1; }
  else
    has_indefinite "$T/d.der" || { WHY="the default output is not streamed BER"; return 1; }
  fi
  rm -f "$T/d.out"
  if [ "$cmd" = sign ]; then
    run openssl cms -verify -inform DER -in "$T/d.der" -CAfile "$PKI/root.pem" -out "$T/d.out" \
      || { WHY="openssl cms -verify failed"; return 1; }
  else
    run openssl cms -decrypt -inform DER -in "$T/d.der" -recip "$PKI/bob.pem" -inkey "$PKI/bob.key" -out "$T/d.out" \
      || { WHY="openssl cms -decrypt failed"; return 1; }
  fi
  same_content "$M/multipart.eml" "$T/d.out"
}
check "smime-tool sign --opaque --der -> no indefinite length (openssl asn1parse); openssl cms -verify: content intact" \
  ours_der der sign --opaque "${ALICE[@]}"
check "smime-tool sign --opaque (default) -> streamed indefinite-length BER; openssl cms -verify: content intact" \
  ours_der ber sign --opaque "${ALICE[@]}"
check "smime-tool encrypt --der --cipher aes256-cbc -> no indefinite length; openssl cms -decrypt: original text" \
  ours_der der encrypt --cipher aes256-cbc --to "$PKI/bob.pem"
check "smime-tool encrypt --der --cipher aes256-gcm -> no indefinite length; openssl cms -decrypt: original text" \
  ours_der der encrypt --cipher aes256-gcm --to "$PKI/bob.pem"
check "smime-tool encrypt (default) -> streamed indefinite-length BER" ours_der ber encrypt --to "$PKI/bob.pem"

two_signers_one_untrusted() {
  mime entity "$M/ascii.eml" > "$T/t.entity"
  run openssl cms -sign -in "$T/t.entity" -signer "$PKI/alice.pem" -inkey "$PKI/alice.key" \
    -signer "$PKI/selfsigned.pem" -inkey "$PKI/selfsigned.key" -certfile "$PKI/inter.pem" -out "$T/t.smime" \
    || { WHY="openssl cms -sign failed"; return 1; }
  with_routing "$M/ascii.eml" "$T/t.smime" "$T/t.eml"
  st verify --ca "$PKI/root.pem" "$T/t.eml"
  expect_status "$T/st.err" untrusted 1 || return 1
  grep -q '^verify .*reason="signer [12] of 2 (self@example.org): self-signed certificate"' "$T/st.err" \
    || { WHY="the reason does not name signer self@example.org"; return 1; }
  local a s
  a=$(signer_field "$T/st.err" alice@example.org status) s=$(signer_field "$T/st.err" self@example.org status)
  [ "$a" = valid ] && [ "$s" = untrusted ] || { WHY="signer statuses alice=$a self=$s, want valid and untrusted"; return 1; }
}
check "openssl cms -sign with alice and a self-signed signer -> smime-tool verify: untrusted naming the second, alice valid" \
  two_signers_one_untrusted

theirs_policy() { # SIGNER MD WANT-STATUS [smime-tool verify options]
  local signer=$1 md=$2 want=$3
  shift 3
  mime entity "$M/ascii.eml" > "$T/t.entity"
  run openssl cms -sign -md "$md" -in "$T/t.entity" -signer "$PKI/$signer.pem" -inkey "$PKI/$signer.key" \
    -certfile "$PKI/inter.pem" -out "$T/t.smime" || { WHY="openssl cms -sign failed"; return 1; }
  with_routing "$M/ascii.eml" "$T/t.smime" "$T/t.eml"
  st verify --ca "$PKI/root.pem" "$@" "$T/t.eml"
  local want_rc=1
  [ "$want" = valid ] && want_rc=0
  expect_status "$T/st.err" "$want" "$want_rc"
}
check "openssl cms -sign -md sha1 -> smime-tool verify: weak (weak digest: sha1)" theirs_policy alice sha1 weak
check "openssl cms -sign -md sha1 -> smime-tool verify --sha1 accept: valid" theirs_policy alice sha1 valid --sha1 accept
check "openssl cms -sign -md md5 -> smime-tool verify --sha1 accept: weak (MD5 never)" theirs_policy alice md5 weak --sha1 accept
check "openssl cms -sign by a 512-bit RSA key -> smime-tool verify: weak" theirs_policy weak512 sha256 weak
check "openssl cms -sign by an MD5-signed certificate -> smime-tool verify: weak" theirs_policy md5cert sha256 weak
check "openssl cms -sign -md sha384 by EC P-384 dave -> smime-tool verify: valid" theirs_policy dave sha384 valid

intermediate_anchor() {
  mime entity "$M/utf8.eml" > "$T/t.entity"
  run openssl cms -sign -in "$T/t.entity" -signer "$PKI/alice.pem" -inkey "$PKI/alice.key" \
    -certfile "$PKI/inter.pem" -out "$T/t.smime" || { WHY="openssl cms -sign failed"; return 1; }
  with_routing "$M/utf8.eml" "$T/t.smime" "$T/t.eml"
  st verify --ca "$PKI/inter.pem" "$T/t.eml" "$T/t.out"
  expect_valid "$T/st.err" alice@example.org yes || return 1
  run openssl cms -verify -in "$T/t.smime" -CAfile "$PKI/inter.pem" -partial_chain -out /dev/null \
    || { WHY="openssl itself does not validate to the intermediate"; return 1; }
}
check "openssl cms -sign (alice) -> smime-tool verify --ca inter.pem (an intermediate as the only anchor): valid" \
  intermediate_anchor

lf_opaque() {
  printf 'Content-Type: text/plain; charset=us-ascii\n\nThe quick brown fox\nwith LF line ends only.\n' > "$T/lf.entity"
  run openssl cms -sign -binary -nodetach -in "$T/lf.entity" -signer "$PKI/alice.pem" -inkey "$PKI/alice.key" \
    -certfile "$PKI/inter.pem" -out "$T/t.smime" || { WHY="openssl cms -sign failed"; return 1; }
  with_routing "$M/ascii.eml" "$T/t.smime" "$T/t.eml"
  st verify --ca "$PKI/root.pem" "$T/t.eml" "$T/t.out"
  expect_valid "$T/st.err" alice@example.org no || return 1
  local n
  n=$(wc -c < "$T/lf.entity")
  tail -c "$n" "$T/t.out" | cmp -s - "$T/lf.entity" || { WHY="the content is not the signed LF bytes"; return 1; }
}
check "openssl cms -sign -binary -nodetach over LF content -> smime-tool verify: valid, content byte for byte" lf_opaque

recognised() { # openssl smime -encrypt writes application/x-pkcs7-mime
  mime entity "$M/ascii.eml" > "$T/t.entity"
  run openssl smime -encrypt -aes256 -in "$T/t.entity" -out "$T/t.smime" "$PKI/alice.pem" \
    || { WHY="openssl smime -encrypt failed"; return 1; }
  grep -q '^Content-Type: application/x-pkcs7-mime' "$T/t.smime" || { WHY="openssl did not write x-pkcs7-mime"; return 1; }
  with_routing "$M/ascii.eml" "$T/t.smime" "$T/t.eml"
  st classify "$T/t.eml"
  [ "$ST_RC" -eq 0 ] || { WHY="smime-tool classify exited $ST_RC"; return 1; }
  [ "$(report_field "$T/st.err" classify type)" = enveloped-data ] || { WHY="type is not enveloped-data"; return 1; }
  [ "$(report_field "$T/st.err" classify protection)" = encrypted ] || { WHY="protection is not encrypted"; return 1; }
}
check "openssl smime -encrypt (application/x-pkcs7-mime) -> smime-tool classify: enveloped-data, encrypted" recognised

fake_protected() {
  { mime routing "$M/ascii.eml"
    printf 'MIME-Version: 1.0\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data\n\nThe quick brown fox, in clear.\n'
  } > "$T/t.eml"
  st classify "$T/t.eml"
  [ "$ST_RC" -eq 1 ] || { WHY="smime-tool classify exited $ST_RC, want 1"; return 1; }
  [ "$(report_field "$T/st.err" classify protection)" = none ] || { WHY="protection is not none"; return 1; }
}
check "control: plain text labelled application/pkcs7-mime -> smime-tool classify: not protection (exit 1)" fake_protected

finish
