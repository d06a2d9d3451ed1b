#!/bin/bash
# bouncycastle.sh SMIME_TOOL PKI_DIR — interop of smime-tool with Bouncy Castle (bcprov/bcpkix/bcmail, Java),
# the one independent implementation here that reads and writes AuthEnvelopedData, RSA-OAEP, ECDH, RSA-PSS and
# several signers at the S/MIME level. BcInterop.java (bc/) is compiled with javac and runs every Bouncy
# Castle operation of one direction in one JVM (a command file), so the checks come in two batches:
# smime-tool -> Bouncy Castle: detached and opaque signatures (RSA PKCS#1 v1.5, RSA-PSS, SHA-384/512, ECDSA)
#   verify with the expected signer and chain; AES-CBC (EnvelopedData) and AES-GCM (AuthEnvelopedData) to RSA
#   (PKCS#1 v1.5 and OAEP) and EC (ECDH) recipients decrypt, three recipients each open it; sign-encrypt and
#   triple wrapping unwrap layer by layer. The content Bouncy Castle verified or decrypted is compared byte for
#   byte with the canonical entity smime-tool means to protect (smime-tool canonicalize), and decoded with the
#   original message.
# Bouncy Castle -> smime-tool: SMIMESignedGenerator (detached, opaque, PSS, ECDSA, SHA-384/512, two and three
#   signers with micalg="sha-256,sha-384", without certificates), SMIMEEnvelopedGenerator (AES-CBC, OAEP, ECDH,
#   three recipients, key rollover), AuthEnvelopedData (AES-GCM, CMS level) in application/pkcs7-mime
#   smime-type=authEnveloped-data, sign-then-encrypt, triple wrapping, and content with bare LF line ends inside
#   the CMS: smime-tool verifies / decrypts to the original, byte for byte.
# Controls (each must be refused): tampered signatures both ways, a GCM tag altered both ways, a signature
#   without certificates verified without them.
# shellcheck source=common.sh disable=SC2015,SC2317  # check functions are called through `check`
. "$(dirname "$0")/common.sh"
# shellcheck source=bc/bc.sh
. "$(dirname "$0")/bc/bc.sh"

missing=$(bc_missing)
if [ -n "$missing" ]; then
  notok "Bouncy Castle is installed (missing:$missing)"
  finish
fi
note "$(java -version 2>&1 | head -n1); $(basename "$(readlink -f "$BC_JAR_DIR/bcprov.jar")")"

compile() {
  bc_compile "$T/bc" || { WHY="javac failed"; cat "$T/bc/javac.log" >> "$LOG"; return 1; }
  [ ! -s "$T/bc/javac.log" ] || { WHY="javac warnings"; cat "$T/bc/javac.log" >> "$LOG"; return 1; }
}
check "javac compiles BcInterop.java without warnings" compile
[ -s "$T/bc/classes/BcInterop.class" ] || finish

ALICE=("--cert" "$PKI/alice.pem" "--key" "$PKI/alice.key" "--chain" "$PKI/inter.pem")
CAROL=("--cert" "$PKI/carol.pem" "--key" "$PKI/carol.key" "--chain" "$PKI/inter.pem")

# The canonical entity of each test message (what smime-tool signs and encrypts), and the messages in CRLF
# form (what a mail client hands Bouncy Castle).
mkdir -p "$T/canon" "$T/o" "$T/b"
for m in $MSGS; do
  st canonicalize "$M/$m.eml" "$T/canon/$m.eml" && mime entity "$T/canon/$m.eml" > "$T/canon/$m.entity"
  to_crlf "$M/$m.eml" "$M/$m-crlf.eml"
  mime entity "$M/$m-crlf.eml" > "$T/canon/$m-crlf.entity"
done

# is_bc_ok OUT LABEL — Bouncy Castle's operation LABEL succeeded (else WHY says why)
is_bc_ok() {
  grep -E "^$2 " "$1" | sed 's/^/  bc: /' >> "$LOG"
  bc_ok "$1" "$2" && return 0
  WHY="Bouncy Castle $2: $(bc_line "$1" "$2" | sed 's/^[^ ]* //' | cut -c1-200)"
  [ -n "$(bc_line "$1" "$2")" ] || WHY="Bouncy Castle did not run $2"
  return 1
}
# want_field OUT LABEL KEY PATTERN — the result line of LABEL has KEY=VALUE, VALUE matching the glob PATTERN
want_field() {
  local v
  v=$(bc_field "$1" "$2" "$3")
  # shellcheck disable=SC2053  # a glob on purpose
  [[ $v == $4 ]] || { WHY="Bouncy Castle $2: $3=$v, want $4"; return 1; }
}
# same_bytes WANT GOT — byte-for-byte equality, with the first difference in the log
same_bytes() {
  [ -e "$2" ] || { WHY="no output $(basename "$2")"; return 1; }
  cmp "$1" "$2" >> "$LOG" 2>&1 && return 0
  WHY="not byte-exact: $(basename "$2") differs from $(basename "$1")"
  diff <(od -c "$1") <(od -c "$2") 2>&1 | head -n 12 >> "$LOG"
  return 1
}

# ============================== smime-tool -> Bouncy Castle =======================================
OC=$T/o/cmds
OUT_O=$T/o/results
: > "$OC"
# ours LABEL MSG SMIME-TOOL-COMMAND ARGS... — smime-tool makes $T/o/LABEL.eml from MSG (log: $T/o/LABEL.log)
ours() {
  local label=$1 m=$2 saved=$LOG
  shift 2
  LOG=$T/o/$label.log
  : > "$LOG"
  st "$1" "${@:2}" "$M/$m.eml" "$T/o/$label.eml" || echo "smime-tool $1 exited $ST_RC" > "$T/o/$label.failed"
  LOG=$saved
}
# made LABEL — smime-tool made LABEL's message (its log goes into this check's log)
made() {
  cat "$T/o/$1.log" >> "$LOG" 2> /dev/null
  [ ! -e "$T/o/$1.failed" ] || { WHY=$(cat "$T/o/$1.failed"); return 1; }
}
bcq() { printf '%s\n' "$*" >> "$OC"; }

# --- signatures ---
# ours_sign LABEL MSG SMIME-TOOL-SIGN-ARGS... — and Bouncy Castle verifies it against root.pem
ours_sign() {
  local label=$1 m=$2
  shift 2
  ours "$label" "$m" sign "$@"
  bcq "$label verify in=$T/o/$label.eml ca=$PKI/root.pem out=$T/o/$label.bc"
}
for m in $MSGS; do
  ours_sign "sig-rsa-$m" "$m" "${ALICE[@]}"
  ours_sign "sig-rsa-opaque-$m" "$m" --opaque "${ALICE[@]}"
done
ours_sign sig-pss ascii --pss "${ALICE[@]}"
ours_sign sig-pss-opaque utf8 --pss --opaque "${ALICE[@]}"
ours_sign sig-sha384 utf8 --digest sha384 "${ALICE[@]}"
ours_sign sig-sha512-pss multipart --digest sha512 --pss "${ALICE[@]}"
ours_sign sig-ec utf8 "${CAROL[@]}"
ours_sign sig-ec-opaque multipart --opaque "${CAROL[@]}"
ours_sign sig-ec-sha384-opaque ascii --opaque --digest sha384 "${CAROL[@]}"
# control: a tampered detached signature
ours tampered ascii sign "${ALICE[@]}"
[ -e "$T/o/tampered.failed" ] || tamper "$T/o/tampered.eml" || echo "nothing to tamper with" > "$T/o/tampered.failed"
bcq "tampered verify in=$T/o/tampered.eml ca=$PKI/root.pem out=$T/o/tampered.bc"

# --- encryption ---
# ours_encrypt LABEL MSG WHO SMIME-TOOL-ENCRYPT-ARGS... — and Bouncy Castle decrypts it as WHO
ours_encrypt() {
  local label=$1 m=$2 who=$3
  shift 3
  ours "$label" "$m" encrypt "$@"
  bcq "$label decrypt in=$T/o/$label.eml key=$PKI/$who out=$T/o/$label.bc"
}
for m in $MSGS; do
  ours_encrypt "enc-cbc-$m" "$m" alice --cipher aes256-cbc --to "$PKI/alice.pem"
  ours_encrypt "enc-gcm-$m" "$m" alice --cipher aes256-gcm --to "$PKI/alice.pem"
done
ours_encrypt enc-cbc128 ascii alice --cipher aes128-cbc --to "$PKI/alice.pem"
ours_encrypt enc-gcm128 utf8 alice --cipher aes128-gcm --to "$PKI/alice.pem"
ours_encrypt enc-oaep-cbc utf8 alice --cipher aes256-cbc --oaep --to "$PKI/alice.pem"
ours_encrypt enc-oaep-gcm multipart alice --cipher aes256-gcm --oaep --to "$PKI/alice.pem"
ours_encrypt enc-ecdh-cbc ascii carol --cipher aes256-cbc --to "$PKI/carol.pem"
ours_encrypt enc-ecdh-gcm multipart carol --cipher aes256-gcm --to "$PKI/carol.pem"
for c in cbc gcm; do
  ours "enc-3-$c" multipart encrypt --cipher "aes256-$c" --to "$PKI/alice.pem" --to "$PKI/bob.pem" --to "$PKI/carol.pem"
  for who in alice bob carol; do bcq "enc-3-$c-$who decrypt in=$T/o/enc-3-$c.eml key=$PKI/$who out=$T/o/enc-3-$c-$who.bc"; done
done
# control: the GCM authentication tag (the last bytes of the DER) altered
gcm_tamper() { # IN-MSG OUT-MSG
  der_from_p7m "$1" "$T/gt.der" || return 1
  local n
  n=$(stat -c %s "$T/gt.der")
  head -c $((n - 1)) "$T/gt.der" > "$T/gt2.der"
  tail -c 1 "$T/gt.der" | od -An -tu1 | awk '{printf "%c", ($1 + 1) % 256}' >> "$T/gt2.der"
  wrap_p7m "$1" "$T/gt2.der" authEnveloped-data "$2"
}
ours gcm-tampered ascii encrypt --cipher aes256-gcm --to "$PKI/alice.pem"
[ -e "$T/o/gcm-tampered.failed" ] || gcm_tamper "$T/o/gcm-tampered.eml" "$T/o/gcm-tampered.bad.eml" \
  || echo "cannot alter the tag" > "$T/o/gcm-tampered.failed"
bcq "gcm-tampered decrypt in=$T/o/gcm-tampered.bad.eml key=$PKI/alice out=$T/o/gcm-tampered.bc"

# --- sign-encrypt and triple wrapping: unwrapped layer by layer, in order, in the same JVM ---
ours se-rsa-gcm utf8 sign-encrypt "${ALICE[@]}" --cipher aes256-gcm --to "$PKI/bob.pem"
ours se-ec-oaep multipart sign-encrypt "${CAROL[@]}" --cipher aes256-cbc --oaep --to "$PKI/alice.pem"
ours se-pss-ecdh ascii sign-encrypt "${ALICE[@]}" --pss --cipher aes256-gcm --to "$PKI/carol.pem"
ours se-opaque-pss utf8 sign-encrypt "${ALICE[@]}" --opaque --pss --cipher aes128-gcm --to "$PKI/bob.pem"
bcq "se-opaque-pss.dec decrypt in=$T/o/se-opaque-pss.eml key=$PKI/bob out=$T/o/se-opaque-pss.inner"
bcq "se-opaque-pss verify in=$T/o/se-opaque-pss.inner ca=$PKI/root.pem out=$T/o/se-opaque-pss.bc"
bcq "se-rsa-gcm.dec decrypt in=$T/o/se-rsa-gcm.eml key=$PKI/bob out=$T/o/se-rsa-gcm.inner"
bcq "se-rsa-gcm verify in=$T/o/se-rsa-gcm.inner ca=$PKI/root.pem out=$T/o/se-rsa-gcm.bc"
bcq "se-ec-oaep.dec decrypt in=$T/o/se-ec-oaep.eml key=$PKI/alice out=$T/o/se-ec-oaep.inner"
bcq "se-ec-oaep verify in=$T/o/se-ec-oaep.inner ca=$PKI/root.pem out=$T/o/se-ec-oaep.bc"
bcq "se-pss-ecdh.dec decrypt in=$T/o/se-pss-ecdh.eml key=$PKI/carol out=$T/o/se-pss-ecdh.inner"
bcq "se-pss-ecdh verify in=$T/o/se-pss-ecdh.inner ca=$PKI/root.pem out=$T/o/se-pss-ecdh.bc"
ours triple-cbc multipart triple "${ALICE[@]}" --cipher aes256-cbc --to "$PKI/bob.pem"
ours triple-opaque-gcm utf8 triple "${CAROL[@]}" --opaque --cipher aes256-gcm --to "$PKI/alice.pem"
for t in triple-cbc:bob triple-opaque-gcm:alice; do
  l=${t%%:*} who=${t#*:}
  bcq "$l.outer verify in=$T/o/$l.eml ca=$PKI/root.pem out=$T/o/$l.l1"
  bcq "$l.dec decrypt in=$T/o/$l.l1 key=$PKI/$who out=$T/o/$l.l2"
  bcq "$l verify in=$T/o/$l.l2 ca=$PKI/root.pem out=$T/o/$l.bc"
done

bc_run "$T/bc" "$OC" "$OUT_O"
note "Bouncy Castle ran $(grep -c -E '^[^ ]+ (ok|fail)' "$OUT_O") operations on smime-tool's messages"

# checks on what Bouncy Castle said
# bc_verified LABEL MSG SIGNER DETACHED SIG DIGEST — one signer, SIGNER's, signature good, chain ok; the
# signed content is byte for byte the canonical entity of MSG, and decodes to MSG's content.
bc_verified() {
  local label=$1 m=$2 signer=$3 det=$4 sig=$5 digest=$6 line
  made "$label" || return 1
  is_bc_ok "$OUT_O" "$label" || return 1
  want_field "$OUT_O" "$label" signers 1 || return 1
  want_field "$OUT_O" "$label" emails "$(cert_email "$PKI/$signer.pem")" || return 1
  want_field "$OUT_O" "$label" detached "$det" || return 1
  line=$(bc_signers "$OUT_O" "$label")
  case $line in *" sig=$sig "*) ;; *) WHY="signer: want sig=$sig: $line"; return 1 ;; esac
  case $line in *" digest=$digest "*) ;; *) WHY="signer: want digest=$digest: $line"; return 1 ;; esac
  case $line in *" signature=good chain=ok"*) ;; *) WHY="signer: $line"; return 1 ;; esac
  same_bytes "$T/canon/$m.entity" "$T/o/$label.bc" || return 1
  same_content "$M/$m.eml" "$T/o/$label.bc"
}
for m in $MSGS; do
  check "smime-tool sign (detached, RSA alice, $m) -> Bouncy Castle SMIMESigned: signer alice good, chain ok, content byte-exact" \
    bc_verified "sig-rsa-$m" "$m" alice yes rsaEncryption sha256
  check "smime-tool sign --opaque (RSA alice, $m) -> Bouncy Castle: signer alice good, chain ok, content byte-exact" \
    bc_verified "sig-rsa-opaque-$m" "$m" alice no rsaEncryption sha256
done
check "smime-tool sign --pss (detached) -> Bouncy Castle: RSASSA-PSS signature good, content byte-exact" \
  bc_verified sig-pss ascii alice yes rsassa-pss sha256
check "smime-tool sign --pss --opaque -> Bouncy Castle: RSASSA-PSS signature good, content byte-exact" \
  bc_verified sig-pss-opaque utf8 alice no rsassa-pss sha256
check "smime-tool sign --digest sha384 -> Bouncy Castle: SHA-384 signature good, content byte-exact" \
  bc_verified sig-sha384 utf8 alice yes rsaEncryption sha384
check "smime-tool sign --digest sha512 --pss -> Bouncy Castle: SHA-512 RSASSA-PSS signature good, content byte-exact" \
  bc_verified sig-sha512-pss multipart alice yes rsassa-pss sha512
check "smime-tool sign (detached, ECDSA carol) -> Bouncy Castle: signer carol good, content byte-exact" \
  bc_verified sig-ec utf8 carol yes ecdsa sha256
check "smime-tool sign --opaque (ECDSA carol) -> Bouncy Castle: signer carol good, content byte-exact" \
  bc_verified sig-ec-opaque multipart carol no ecdsa sha256
check "smime-tool sign --opaque --digest sha384 (ECDSA carol) -> Bouncy Castle: SHA-384 ECDSA good, content byte-exact" \
  bc_verified sig-ec-sha384-opaque ascii carol no ecdsa sha384

bc_refused_tampered() {
  made tampered || return 1
  grep -E "^tampered " "$OUT_O" | sed 's/^/  bc: /' >> "$LOG"
  ! bc_ok "$OUT_O" tampered || { WHY="Bouncy Castle accepted it"; return 1; }
  bc_signers "$OUT_O" tampered | grep -q ' signature=bad ' || { WHY="Bouncy Castle did not say signature=bad"; return 1; }
  [ ! -e "$T/o/tampered.bc" ] || { WHY="Bouncy Castle wrote the content"; return 1; }
}
check "control: smime-tool signature over tampered content -> Bouncy Castle: signature=bad, no content" bc_refused_tampered

# bc_decrypted LABEL MSG TYPE CIPHER KEK — Bouncy Castle decrypted LABEL's message: the CMS type, content
# encryption and key encryption are these; the content is byte for byte the canonical entity of MSG.
bc_decrypted() {
  local label=$1 m=$2 src=${6:-$1}
  made "$src" || return 1
  is_bc_ok "$OUT_O" "$label" || return 1
  want_field "$OUT_O" "$label" type "$3" || return 1
  want_field "$OUT_O" "$label" cipher "$4" || return 1
  want_field "$OUT_O" "$label" kek "$5" || return 1
  same_bytes "$T/canon/$m.entity" "$T/o/$label.bc" || return 1
  same_content "$M/$m.eml" "$T/o/$label.bc"
}
ECDH='dhSinglePass-stdDH-sha*kdf' # RFC 5753 ephemeral-static ECDH, any of its KDFs
for m in $MSGS; do
  check "smime-tool encrypt --cipher aes256-cbc (to alice, $m) -> Bouncy Castle: EnvelopedData, original entity byte-exact" \
    bc_decrypted "enc-cbc-$m" "$m" enveloped aes256-cbc rsaEncryption
  check "smime-tool encrypt --cipher aes256-gcm (to alice, $m) -> Bouncy Castle: AuthEnvelopedData, original entity byte-exact" \
    bc_decrypted "enc-gcm-$m" "$m" auth-enveloped aes256-gcm rsaEncryption
done
check "smime-tool encrypt --cipher aes128-cbc -> Bouncy Castle: aes128-cbc, byte-exact" \
  bc_decrypted enc-cbc128 ascii enveloped aes128-cbc rsaEncryption
check "smime-tool encrypt --cipher aes128-gcm -> Bouncy Castle: AuthEnvelopedData aes128-gcm, byte-exact" \
  bc_decrypted enc-gcm128 utf8 auth-enveloped aes128-gcm rsaEncryption
check "smime-tool encrypt --oaep (aes256-cbc) -> Bouncy Castle: RSAES-OAEP recipient, byte-exact" \
  bc_decrypted enc-oaep-cbc utf8 enveloped aes256-cbc rsaesOaep
check "smime-tool encrypt --oaep --cipher aes256-gcm -> Bouncy Castle: RSAES-OAEP, AuthEnvelopedData, byte-exact" \
  bc_decrypted enc-oaep-gcm multipart auth-enveloped aes256-gcm rsaesOaep
check "smime-tool encrypt (to EC carol, aes256-cbc) -> Bouncy Castle: ECDH recipient, byte-exact" \
  bc_decrypted enc-ecdh-cbc ascii enveloped aes256-cbc "$ECDH"
check "smime-tool encrypt --cipher aes256-gcm (to EC carol) -> Bouncy Castle: ECDH, AuthEnvelopedData, byte-exact" \
  bc_decrypted enc-ecdh-gcm multipart auth-enveloped aes256-gcm "$ECDH"
for c in cbc gcm; do
  ty=enveloped
  [ $c = gcm ] && ty="auth-enveloped"
  check "smime-tool encrypt --cipher aes256-$c to alice, bob, carol -> Bouncy Castle opens it as alice: byte-exact" \
    bc_decrypted "enc-3-$c-alice" multipart "$ty" "aes256-$c" rsaEncryption "enc-3-$c"
  check "  ... as bob: byte-exact" bc_decrypted "enc-3-$c-bob" multipart "$ty" "aes256-$c" rsaEncryption "enc-3-$c"
  check "  ... as EC carol (ECDH): byte-exact" bc_decrypted "enc-3-$c-carol" multipart "$ty" "aes256-$c" "$ECDH" "enc-3-$c"
done

bc_refused_gcm() {
  made gcm-tampered || return 1
  grep -E "^gcm-tampered " "$OUT_O" | sed 's/^/  bc: /' >> "$LOG"
  ! bc_ok "$OUT_O" gcm-tampered || { WHY="Bouncy Castle decrypted it"; return 1; }
  [ ! -e "$T/o/gcm-tampered.bc" ] || { WHY="Bouncy Castle wrote plaintext"; return 1; }
}
check "control: smime-tool AES-GCM message with an altered tag -> Bouncy Castle refuses, writes no plaintext" bc_refused_gcm

# bc_layers LABEL MSG SIGNER SIG OUTER-LABELS... — every layer Bouncy Castle unwrapped succeeded, the inner
# signature is SIGNER's, and the innermost content is byte for byte the canonical entity of MSG.
bc_layers() {
  local label=$1 m=$2 signer=$3 sig=$4 l
  shift 4
  made "$label" || return 1
  for l in "$@"; do is_bc_ok "$OUT_O" "$l" || return 1; done
  is_bc_ok "$OUT_O" "$label" || return 1
  want_field "$OUT_O" "$label" emails "$(cert_email "$PKI/$signer.pem")" || return 1
  bc_signers "$OUT_O" "$label" | grep -q " sig=$sig " || { WHY="inner signature is not $sig"; return 1; }
  same_bytes "$T/canon/$m.entity" "$T/o/$label.bc" || return 1
  same_content "$M/$m.eml" "$T/o/$label.bc"
}
check "smime-tool sign-encrypt (RSA alice -> bob, aes256-gcm) -> Bouncy Castle decrypts as bob, inner signature by alice, byte-exact" \
  bc_layers se-rsa-gcm utf8 alice rsaEncryption se-rsa-gcm.dec
check "smime-tool sign-encrypt (ECDSA carol -> alice, OAEP, aes256-cbc) -> Bouncy Castle: decrypts, inner signature by carol, byte-exact" \
  bc_layers se-ec-oaep multipart carol ecdsa se-ec-oaep.dec
check "smime-tool sign-encrypt --pss (alice -> EC carol, aes256-gcm) -> Bouncy Castle: ECDH decrypt, inner PSS signature, byte-exact" \
  bc_layers se-pss-ecdh ascii alice rsassa-pss se-pss-ecdh.dec
check "smime-tool sign-encrypt --opaque --pss (alice -> bob, aes128-gcm) -> Bouncy Castle: decrypts, opaque PSS signature inside, byte-exact" \
  bc_layers se-opaque-pss utf8 alice rsassa-pss se-opaque-pss.dec
check "smime-tool triple (alice -> bob, aes256-cbc) -> Bouncy Castle: outer signature, decrypt as bob, inner signature, byte-exact" \
  bc_layers triple-cbc multipart alice rsaEncryption triple-cbc.outer triple-cbc.dec
check "smime-tool triple --opaque (ECDSA carol -> alice, aes256-gcm) -> Bouncy Castle: opaque outer, decrypt, inner signature, byte-exact" \
  bc_layers triple-opaque-gcm utf8 carol ecdsa triple-opaque-gcm.outer triple-opaque-gcm.dec

# ============================== Bouncy Castle -> smime-tool =======================================
BCMD=$T/b/cmds
OUT_B=$T/b/results
: > "$BCMD"
bq() { printf '%s\n' "$*" >> "$BCMD"; }
A=$PKI/alice C=$PKI/carol B=$PKI/bob

for m in $MSGS; do
  bq "sig-rsa-$m sign in=$M/$m-crlf.eml out=$T/b/sig-rsa-$m.eml signer=$A"
  bq "sig-rsa-opaque-$m sign in=$M/$m-crlf.eml out=$T/b/sig-rsa-opaque-$m.eml signer=$A opaque"
done
bq "sig-pss sign in=$M/ascii-crlf.eml out=$T/b/sig-pss.eml signer=$A+pss"
bq "sig-pss-opaque sign in=$M/utf8-crlf.eml out=$T/b/sig-pss-opaque.eml signer=$A+pss opaque"
bq "sig-sha512 sign in=$M/multipart-crlf.eml out=$T/b/sig-sha512.eml signer=$A+sha512"
bq "sig-ec sign in=$M/utf8-crlf.eml out=$T/b/sig-ec.eml signer=$C"
bq "sig-ec-opaque sign in=$M/multipart-crlf.eml out=$T/b/sig-ec-opaque.eml signer=$C+sha384 opaque"
bq "sig-two sign in=$M/ascii-crlf.eml out=$T/b/sig-two.eml signer=$A signer=$C+sha384"
bq "sig-two-opaque sign in=$M/utf8-crlf.eml out=$T/b/sig-two-opaque.eml signer=$A+pss signer=$C+sha384 opaque"
bq "sig-three sign in=$M/multipart-crlf.eml out=$T/b/sig-three.eml signer=$A signer=$B+sha512 signer=$C+sha384"
bq "sig-nocerts sign in=$M/ascii-crlf.eml out=$T/b/sig-nocerts.eml signer=$A nocerts"
bq "tampered sign in=$M/ascii-crlf.eml out=$T/b/tampered.eml signer=$A"
for m in $MSGS; do
  bq "enc-cbc-$m encrypt in=$M/$m-crlf.eml out=$T/b/enc-cbc-$m.eml to=$A.pem cipher=aes256-cbc"
  bq "enc-gcm-$m encrypt in=$M/$m-crlf.eml out=$T/b/enc-gcm-$m.eml to=$A.pem cipher=aes256-gcm"
done
bq "enc-cbc128 encrypt in=$M/ascii-crlf.eml out=$T/b/enc-cbc128.eml to=$A.pem cipher=aes128-cbc"
bq "enc-cbc192 encrypt in=$M/utf8-crlf.eml out=$T/b/enc-cbc192.eml to=$A.pem cipher=aes192-cbc"
bq "enc-gcm128 encrypt in=$M/utf8-crlf.eml out=$T/b/enc-gcm128.eml to=$A.pem cipher=aes128-gcm"
bq "enc-oaep encrypt in=$M/utf8-crlf.eml out=$T/b/enc-oaep.eml to=$A.pem+oaep cipher=aes256-cbc"
bq "enc-oaep256-gcm encrypt in=$M/multipart-crlf.eml out=$T/b/enc-oaep256-gcm.eml to=$A.pem+oaep256 cipher=aes256-gcm"
bq "enc-ecdh-cbc encrypt in=$M/ascii-crlf.eml out=$T/b/enc-ecdh-cbc.eml to=$C.pem cipher=aes256-cbc"
bq "enc-ecdh-gcm encrypt in=$M/multipart-crlf.eml out=$T/b/enc-ecdh-gcm.eml to=$C.pem cipher=aes256-gcm"
bq "enc-3-cbc encrypt in=$M/multipart-crlf.eml out=$T/b/enc-3-cbc.eml to=$A.pem to=$B.pem+oaep to=$C.pem cipher=aes256-cbc"
bq "enc-3-gcm encrypt in=$M/multipart-crlf.eml out=$T/b/enc-3-gcm.eml to=$A.pem+oaep256 to=$B.pem to=$C.pem cipher=aes256-gcm"
bq "enc-rollover encrypt in=$M/ascii-crlf.eml out=$T/b/enc-rollover.eml to=$PKI/gw-old.pem cipher=aes256-gcm"
bq "gcm-tampered encrypt in=$M/ascii-crlf.eml out=$T/b/gcm-tampered.eml to=$A.pem cipher=aes256-gcm"
# sign, then encrypt the signed message (its entity); triple: and sign that again (opaque outer layer)
bq "se.sign sign in=$M/utf8-crlf.eml out=$T/b/se.signed.eml signer=$A"
bq "se encrypt in=$T/b/se.signed.eml out=$T/b/se.eml to=$B.pem cipher=aes256-gcm"
bq "se-ec.sign sign in=$M/multipart-crlf.eml out=$T/b/se-ec.signed.eml signer=$C opaque"
bq "se-ec encrypt in=$T/b/se-ec.signed.eml out=$T/b/se-ec.eml to=$C.pem cipher=aes256-cbc"
bq "triple.sign sign in=$M/multipart-crlf.eml out=$T/b/triple.signed.eml signer=$A+pss"
bq "triple.enc encrypt in=$T/b/triple.signed.eml out=$T/b/triple.enc.eml to=$B.pem+oaep cipher=aes256-cbc"
bq "triple sign in=$T/b/triple.enc.eml out=$T/b/triple.eml signer=$C opaque"
# content with bare LF line ends inside the CMS (as many clients and gateways put it)
mime entity "$M/utf8.eml" > "$T/b/lf.entity"
mime entity "$M/multipart.eml" > "$T/b/lf-multipart.entity"
bq "lf-opaque sign content=$T/b/lf.entity der=$T/b/lf-opaque.der signer=$A opaque"
bq "lf-cbc encrypt content=$T/b/lf-multipart.entity der=$T/b/lf-cbc.der to=$A.pem cipher=aes256-cbc"
bq "lf-gcm encrypt content=$T/b/lf.entity der=$T/b/lf-gcm.der to=$A.pem cipher=aes256-gcm"

bc_run "$T/bc" "$BCMD" "$OUT_B"
note "Bouncy Castle made $(grep -c -E '^[^ ]+ ok' "$OUT_B") messages"

# bc_made LABEL [FILE] — Bouncy Castle's operation LABEL made FILE ($T/b/LABEL.eml or .der)
bc_made() {
  is_bc_ok "$OUT_B" "$1" || return 1
  if [ $# -gt 1 ]; then
    [ -s "$2" ] || { WHY="Bouncy Castle wrote no $(basename "$2")"; return 1; }
  else
    [ -s "$T/b/$1.eml" ] || [ -s "$T/b/$1.der" ] || { WHY="Bouncy Castle wrote nothing"; return 1; }
  fi
}
# byte_exact_entity OUT WANT-ENTITY — the entity of smime-tool's output message is WANT-ENTITY, byte for byte
byte_exact_entity() {
  mime entity "$1" > "$1.entity"
  same_bytes "$2" "$1.entity"
}

# theirs_verified LABEL MSG SIGNERS DETACHED [smime-tool verify options] — smime-tool verify: valid, these
# signers, original message; the content is byte for byte the entity Bouncy Castle signed.
theirs_verified() {
  local label=$1 m=$2 signers=$3 det=$4
  shift 4
  bc_made "$label" || return 1
  st verify --ca "$PKI/root.pem" "$@" "$T/b/$label.eml" "$T/b/$label.out"
  expect_valid "$T/st.err" "$signers" "$det" || return 1
  same_message "$M/$m.eml" "$T/b/$label.out" || return 1
  byte_exact_entity "$T/b/$label.out" "$T/canon/$m-crlf.entity"
}
for m in $MSGS; do
  check "Bouncy Castle SMIMESignedGenerator (detached, RSA alice, $m) -> smime-tool verify: valid, signer alice, byte-exact" \
    theirs_verified "sig-rsa-$m" "$m" alice@example.org yes
  check "Bouncy Castle generateEncapsulated (opaque, RSA alice, $m) -> smime-tool verify: valid, signer alice, byte-exact" \
    theirs_verified "sig-rsa-opaque-$m" "$m" alice@example.org no
done
check "Bouncy Castle SHA256withRSAandMGF1 (PSS, detached) -> smime-tool verify: valid" \
  theirs_verified sig-pss ascii alice@example.org yes
check "Bouncy Castle SHA256withRSAandMGF1 (PSS, opaque) -> smime-tool verify: valid" \
  theirs_verified sig-pss-opaque utf8 alice@example.org no
check "Bouncy Castle SHA512withRSA -> smime-tool verify: valid" theirs_verified sig-sha512 multipart alice@example.org yes
check "Bouncy Castle SHA256withECDSA (carol, detached) -> smime-tool verify: valid, signer carol" \
  theirs_verified sig-ec utf8 carol@example.org yes
check "Bouncy Castle SHA384withECDSA (carol, opaque) -> smime-tool verify: valid, signer carol" \
  theirs_verified sig-ec-opaque multipart carol@example.org no

two_signers() { # LABEL MSG SIGNERS DETACHED WANT-MICALG
  theirs_verified "$1" "$2" "$3" "$4" || return 1
  local n
  n=$(grep -c '^signer .*chain=ok' "$T/st.err")
  [ "$n" -eq "$(bc_field "$OUT_B" "$1" signers)" ] || { WHY="$n signer lines with chain=ok, Bouncy Castle made $(bc_field "$OUT_B" "$1" signers)"; return 1; }
  [ "$5" = - ] && return 0
  local mic
  mic=$(mime param "$T/b/$1.eml" content-type micalg)
  # one micalg per digest algorithm in use, in no particular order
  [ "$(sorted_list "$mic")" = "$(sorted_list "$5")" ] || { WHY="micalg=$mic, want $5"; return 1; }
}
check "Bouncy Castle two signers (RSA alice SHA-256 + ECDSA carol SHA-384, detached, micalg=\"sha-256,sha-384\") -> smime-tool verify: valid, both signers" \
  two_signers sig-two ascii alice@example.org,carol@example.org yes sha-256,sha-384
check "Bouncy Castle two signers (RSA-PSS alice + ECDSA carol, opaque) -> smime-tool verify: valid, both signers" \
  two_signers sig-two-opaque utf8 alice@example.org,carol@example.org no -
check "Bouncy Castle three signers (alice, bob SHA-512, carol SHA-384) -> smime-tool verify: valid, three signers" \
  two_signers sig-three multipart alice@example.org,bob@example.org,carol@example.org yes sha-256,sha-384,sha-512

capabilities() {
  bc_made sig-rsa-ascii || return 1
  st verify --ca "$PKI/root.pem" "$T/b/sig-rsa-ascii.eml" || { WHY="smime-tool verify exited $ST_RC"; return 1; }
  grep -q '^signer .* gcm=yes' "$T/st.err" || { WHY="smime-tool did not read AES-GCM in the SMIMECapabilities"; return 1; }
}
check "Bouncy Castle SMIMECapabilities (AES-256-GCM first) -> smime-tool verify reports gcm=yes" capabilities

check "Bouncy Castle signature without certificates -> smime-tool verify --certs alice.chain.pem: valid" \
  theirs_verified sig-nocerts ascii alice@example.org yes --certs "$PKI/alice.chain.pem"
nocerts_refused() {
  bc_made sig-nocerts || return 1
  st verify --ca "$PKI/root.pem" "$T/b/sig-nocerts.eml" "$T/b/nocerts.out"
  [ "$ST_RC" -eq 1 ] || { WHY="exit $ST_RC, want 1"; return 1; }
  [ "$(report_field "$T/st.err" verify status)" != valid ] || { WHY="status=valid"; return 1; }
  [ ! -e "$T/b/nocerts.out" ] || { WHY="content written"; return 1; }
}
check "control: Bouncy Castle signature without certificates, none given -> smime-tool verify: not valid, exit 1" nocerts_refused
theirs_tampered() {
  bc_made tampered || return 1
  tamper "$T/b/tampered.eml" || return 1
  st verify --ca "$PKI/root.pem" "$T/b/tampered.eml" "$T/b/tampered.out"
  expect_status "$T/st.err" bad-signature 1
}
check "control: Bouncy Castle signature over tampered content -> smime-tool verify: status=bad-signature, exit 1" theirs_tampered

# theirs_decrypted LABEL MSG CIPHER AUTH KEY-NAMES... [--index N] — smime-tool decrypt: original message,
# the cipher and key index reported; the entity is byte for byte what Bouncy Castle encrypted.
theirs_decrypted() {
  local label=$1 m=$2 cipher=$3 auth=$4 idx=0 keys=()
  shift 4
  while [ $# -gt 0 ]; do
    case $1 in
      --index) idx=$2; shift 2 ;;
      *) keys+=(--cert "$PKI/$1.pem" --key "$PKI/$1.key"); shift ;;
    esac
  done
  bc_made "$label" || return 1
  st decrypt "${keys[@]}" "$T/b/$label.eml" "$T/b/$label.out"
  expect_decrypted "$T/st.err" "$idx" "$cipher" "$auth" || return 1
  same_message "$M/$m.eml" "$T/b/$label.out" || return 1
  byte_exact_entity "$T/b/$label.out" "$T/canon/$m-crlf.entity"
}
for m in $MSGS; do
  check "Bouncy Castle SMIMEEnvelopedGenerator AES-256-CBC (to alice, $m) -> smime-tool decrypt: original, byte-exact" \
    theirs_decrypted "enc-cbc-$m" "$m" aes-256-cbc no alice
  check "Bouncy Castle AuthEnvelopedData AES-256-GCM (to alice, $m) -> smime-tool decrypt: authenticated, original, byte-exact" \
    theirs_decrypted "enc-gcm-$m" "$m" aes-256-gcm yes alice
done
check "Bouncy Castle AES-128-CBC -> smime-tool decrypt: original" theirs_decrypted enc-cbc128 ascii aes-128-cbc no alice
check "Bouncy Castle AES-192-CBC -> smime-tool decrypt: original" theirs_decrypted enc-cbc192 utf8 aes-192-cbc no alice
check "Bouncy Castle AES-128-GCM -> smime-tool decrypt: authenticated, original" theirs_decrypted enc-gcm128 utf8 aes-128-gcm yes alice
check "Bouncy Castle RSAES-OAEP (SHA-1) recipient -> smime-tool decrypt: original" theirs_decrypted enc-oaep utf8 aes-256-cbc no alice
check "Bouncy Castle RSAES-OAEP (SHA-256) recipient, AES-256-GCM -> smime-tool decrypt: original" \
  theirs_decrypted enc-oaep256-gcm multipart aes-256-gcm yes alice
check "Bouncy Castle ECDH (carol), AES-256-CBC -> smime-tool decrypt: original" theirs_decrypted enc-ecdh-cbc ascii aes-256-cbc no carol
check "Bouncy Castle ECDH (carol), AES-256-GCM -> smime-tool decrypt: original" theirs_decrypted enc-ecdh-gcm multipart aes-256-gcm yes carol
for c in cbc gcm; do
  auth=no
  [ $c = gcm ] && auth=yes
  for who in alice bob carol; do
    check "Bouncy Castle aes256-$c to alice, bob (OAEP) and carol (ECDH) -> smime-tool decrypt as $who: original" \
      theirs_decrypted "enc-3-$c" multipart "aes-256-$c" "$auth" "$who"
  done
done
check "key rollover: Bouncy Castle encrypts to gw-old; smime-tool decrypt --cert gw-new ... --cert gw-old ...: key-index=1" \
  theirs_decrypted enc-rollover ascii aes-256-gcm yes gw-new gw-old --index 1

theirs_gcm_tampered() {
  bc_made gcm-tampered || return 1
  gcm_tamper "$T/b/gcm-tampered.eml" "$T/b/gcm-tampered.bad.eml" || return 1
  st decrypt --cert "$PKI/alice.pem" --key "$PKI/alice.key" "$T/b/gcm-tampered.bad.eml" "$T/b/gcm-tampered.out"
  [ "$ST_RC" -ne 0 ] || { WHY="smime-tool decrypt succeeded"; return 1; }
  ! grep -q '^decrypted ' "$T/st.err" || { WHY="reported 'decrypted'"; return 1; }
  [ ! -s "$T/b/gcm-tampered.out" ] || ! grep -q quick "$T/b/gcm-tampered.out" || { WHY="wrote the plaintext"; return 1; }
}
check "control: Bouncy Castle AES-GCM message with an altered tag -> smime-tool decrypt fails, writes no plaintext" theirs_gcm_tampered

# theirs_sign_encrypt LABEL MSG SIGNER DETACHED KEY — smime-tool decrypts as KEY, then verifies SIGNER's signature
theirs_sign_encrypt() {
  local label=$1 m=$2 signer=$3 det=$4 key=$5
  bc_made "$label.sign" "$T/b/$label.signed.eml" && bc_made "$label" || return 1
  st decrypt --cert "$PKI/$key.pem" --key "$PKI/$key.key" "$T/b/$label.eml" "$T/b/$label.dec" \
    || { WHY="smime-tool decrypt exited $ST_RC"; return 1; }
  st verify --ca "$PKI/root.pem" "$T/b/$label.dec" "$T/b/$label.out"
  expect_valid "$T/st.err" "$signer" "$det" || return 1
  same_message "$M/$m.eml" "$T/b/$label.out" || return 1
  byte_exact_entity "$T/b/$label.out" "$T/canon/$m-crlf.entity"
}
check "Bouncy Castle sign (alice) then encrypt (to bob, AES-256-GCM) -> smime-tool decrypt + verify: valid, byte-exact" \
  theirs_sign_encrypt se utf8 alice@example.org yes bob
check "Bouncy Castle sign (ECDSA carol, opaque) then encrypt (ECDH to carol) -> smime-tool decrypt + verify: valid" \
  theirs_sign_encrypt se-ec multipart carol@example.org no carol

theirs_triple() {
  bc_made triple.sign "$T/b/triple.signed.eml" && bc_made triple.enc && bc_made triple || return 1
  st verify --ca "$PKI/root.pem" "$T/b/triple.eml" "$T/b/triple.l1"
  expect_valid "$T/st.err" carol@example.org no || { WHY="outer layer: $WHY"; return 1; }
  st decrypt --cert "$PKI/bob.pem" --key "$PKI/bob.key" "$T/b/triple.l1" "$T/b/triple.l2" \
    || { WHY="middle layer: smime-tool decrypt exited $ST_RC"; return 1; }
  st verify --ca "$PKI/root.pem" "$T/b/triple.l2" "$T/b/triple.out"
  expect_valid "$T/st.err" alice@example.org yes || { WHY="inner layer: $WHY"; return 1; }
  same_message "$M/multipart.eml" "$T/b/triple.out" || return 1
  byte_exact_entity "$T/b/triple.out" "$T/canon/multipart-crlf.entity"
}
check "Bouncy Castle triple wrap (PSS alice, OAEP to bob, opaque ECDSA carol outside) -> smime-tool: every layer, byte-exact" \
  theirs_triple

# LF inside: the signature is over the LF bytes; the decrypted entity keeps them
theirs_lf_opaque() {
  bc_made lf-opaque || return 1
  wrap_p7m "$M/utf8.eml" "$T/b/lf-opaque.der" signed-data "$T/b/lf-opaque.eml"
  st verify --ca "$PKI/root.pem" "$T/b/lf-opaque.eml" "$T/b/lf-opaque.out"
  expect_valid "$T/st.err" alice@example.org no || return 1
  same_message "$M/utf8.eml" "$T/b/lf-opaque.out"
}
check "Bouncy Castle opaque signature over an entity with bare LF line ends -> smime-tool verify: valid, content intact" theirs_lf_opaque
theirs_lf_encrypted() { # LABEL MSG SMIME-TYPE AUTH
  bc_made "$1" || return 1
  wrap_p7m "$M/$2.eml" "$T/b/$1.der" "$3" "$T/b/$1.eml"
  st decrypt --cert "$PKI/alice.pem" --key "$PKI/alice.key" "$T/b/$1.eml" "$T/b/$1.out"
  expect_decrypted "$T/st.err" 0 "$(der_cipher "$T/b/$1.der")" "$4" || return 1
  same_message "$M/$2.eml" "$T/b/$1.out" || return 1
  # the decrypted entity is a MIME entity smime-tool itself can read again
  st canonicalize "$T/b/$1.out" "$T/b/$1.canon" || { WHY="smime-tool canonicalize of the result exited $ST_RC"; return 1; }
  same_message "$M/$2.eml" "$T/b/$1.canon"
}
check "Bouncy Castle EnvelopedData with bare LF line ends inside (multipart) -> smime-tool decrypt: original, readable entity" \
  theirs_lf_encrypted lf-cbc multipart enveloped-data no
check "Bouncy Castle AuthEnvelopedData with bare LF line ends inside -> smime-tool decrypt: original, readable entity" \
  theirs_lf_encrypted lf-gcm utf8 authEnveloped-data yes

finish
