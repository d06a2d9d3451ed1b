#!/bin/bash
# make-pki.sh OUTDIR — make a fresh test PKI for smime-milter (validity relative to now).
#
# Deletes and recreates OUTDIR. Uses only the openssl CLI. See OUTDIR/README for what it holds.
# All certificates are issued with `openssl ca` (random serial numbers) from throwaway CA
# databases in a temporary directory that is removed on exit.
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
OUT=$1
case "$OUT" in
  / | /. | /.. ) echo "$0: refusing to use $OUT" >&2; exit 2 ;;
esac

umask 022
rm -rf -- "$OUT"
mkdir -p -- "$OUT"
OUT=$(cd -- "$OUT" && pwd)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/make-pki.XXXXXX")
trap 'rm -rf -- "$WORK"' EXIT

# shellcheck source=test/pki/ca-common.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/ca-common.sh"

PASS=secret
NOW_MINUS_1H=$(utc '-1 hour')
CA_END=$(utc '+10 years')
USER_END=$(utc '+2 years')
EXPIRED_START=$(utc '-400 days')
EXPIRED_END=$(utc '-30 days')

# --- openssl configuration ----------------------------------------------------------------------
# One file for both CAs; the CA directory comes from $CADIR, the subjectAltName from $SAN.
export CADIR=$WORK/root SAN=email:unused@example.invalid
write_ca_config "$WORK/openssl.cnf"
cat >> "$WORK/openssl.cnf" <<'EOF'
[ ext_root ]
basicConstraints       = critical, CA:true
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ ext_inter ]
basicConstraints       = critical, CA:true, pathlen:0
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ ext_rsa_user ]
basicConstraints       = critical, CA:false
keyUsage               = critical, digitalSignature, nonRepudiation, keyEncipherment
extendedKeyUsage       = emailProtection
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
subjectAltName         = $ENV::SAN

[ ext_ec_user ]
basicConstraints       = critical, CA:false
keyUsage               = critical, digitalSignature, nonRepudiation, keyAgreement
extendedKeyUsage       = emailProtection
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
subjectAltName         = $ENV::SAN

[ ext_sign_user ]
basicConstraints       = critical, CA:false
keyUsage               = critical, digitalSignature, nonRepudiation
extendedKeyUsage       = emailProtection
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
subjectAltName         = $ENV::SAN

[ ext_selfsigned ]
basicConstraints       = critical, CA:false
keyUsage               = critical, digitalSignature, nonRepudiation, keyEncipherment
extendedKeyUsage       = emailProtection
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
subjectAltName         = $ENV::SAN

[ ext_crl ]
authorityKeyIdentifier = keyid:always
EOF
export OPENSSL_CONF=$WORK/openssl.cnf
CNF=$WORK/openssl.cnf

new_ca_db "$WORK/root"
new_ca_db "$WORK/inter"

ec_key() {
  openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -pkeyopt ec_param_enc:named_curve -out "$1"
}
# Keys below today's minimum strength and other curves and algorithms, for the algorithm policy tests.
rsa512_key() { openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:512 -out "$1"; }
ec384_key() {
  openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-384 \
    -pkeyopt ec_param_enc:named_curve -out "$1"
}
ed25519_key() { openssl genpkey -quiet -algorithm ED25519 -out "$1"; }
csr() { # KEY SUBJECT OUT
  openssl req -new -config "$CNF" -key "$1" -subj "$2" -out "$3"
}
# issue CADIR CACERT CAKEY EXT CSR OUTCERT [extra openssl ca options...]
issue() {
  local cadir=$1 cacert=$2 cakey=$3 ext=$4 req=$5 out=$6
  shift 6
  CADIR=$cadir openssl ca -config "$CNF" -batch -notext -preserveDN \
    -cert "$cacert" -keyfile "$cakey" -extensions "$ext" -in "$req" -out "$out" "$@" 2> "$WORK/ca.log" \
    || { cat "$WORK/ca.log" >&2; return 1; }
}

ORG="/O=smime-milter Test"

# --- root and intermediate -----------------------------------------------------------------------
rsa_key "$OUT/root.key"
csr "$OUT/root.key" "$ORG/CN=smime-milter Test Root CA" "$WORK/root.csr"
CADIR=$WORK/root openssl ca -config "$CNF" -batch -notext -preserveDN -selfsign \
  -keyfile "$OUT/root.key" -extensions ext_root -in "$WORK/root.csr" -out "$OUT/root.pem" \
  -startdate "$NOW_MINUS_1H" -enddate "$CA_END" 2> "$WORK/ca.log" || { cat "$WORK/ca.log" >&2; exit 1; }

rsa_key "$OUT/inter.key"
csr "$OUT/inter.key" "$ORG/CN=smime-milter Test Intermediate CA" "$WORK/inter.csr"
issue "$WORK/root" "$OUT/root.pem" "$OUT/root.key" ext_inter "$WORK/inter.csr" "$OUT/inter.pem" \
  -startdate "$NOW_MINUS_1H" -enddate "$CA_END"

# --- users -----------------------------------------------------------------------------------------
# user NAME KEYTYPE(rsa|ec|rsa512|ec384|ed25519) EXT SUBJECT SAN [issuer: inter|self] [extra openssl ca options...]
user() {
  local name=$1 type=$2 ext=$3 subject=$4 san=$5 issuer=${6:-inter}
  shift 5; [ $# -gt 0 ] && shift
  "${type}_key" "$OUT/$name.key"
  csr "$OUT/$name.key" "$subject" "$WORK/$name.csr"
  if [ "$issuer" = self ]; then
    new_ca_db "$WORK/self-$name"
    SAN=$san CADIR=$WORK/self-$name openssl ca -config "$CNF" -batch -notext -preserveDN -selfsign \
      -keyfile "$OUT/$name.key" -extensions "$ext" -in "$WORK/$name.csr" -out "$OUT/$name.pem" \
      -startdate "$NOW_MINUS_1H" -enddate "$USER_END" 2> "$WORK/ca.log" \
      || { cat "$WORK/ca.log" >&2; return 1; }
    cp "$OUT/$name.pem" "$OUT/$name.chain.pem"
    openssl pkcs12 -export -legacy -in "$OUT/$name.pem" -inkey "$OUT/$name.key" \
      -name "$name" -passout "pass:$PASS" -out "$OUT/$name.p12"
  else
    if [ $# -eq 0 ]; then set -- -startdate "$NOW_MINUS_1H" -enddate "$USER_END"; fi
    SAN=$san issue "$WORK/inter" "$OUT/inter.pem" "$OUT/inter.key" "$ext" "$WORK/$name.csr" \
      "$OUT/$name.pem" "$@"
    cat "$OUT/$name.pem" "$OUT/inter.pem" > "$OUT/$name.chain.pem"
    openssl pkcs12 -export -legacy -in "$OUT/$name.pem" -inkey "$OUT/$name.key" \
      -certfile "$OUT/inter.pem" -name "$name" -passout "pass:$PASS" -out "$OUT/$name.p12"
  fi
}

user alice   rsa ext_rsa_user "$ORG/CN=Alice"   "email:alice@example.org"
user bob     rsa ext_rsa_user "$ORG/CN=Bob"     "email:bob@example.org"
user carol   ec  ext_ec_user  "$ORG/CN=Carol"   "email:carol@example.org"
user domain  rsa ext_rsa_user "$ORG/CN=example.net" "DNS:example.net, DNS:*.example.net"
user gw-old  rsa ext_rsa_user "$ORG/CN=example.com gateway (old)" "email:gateway@example.com, DNS:example.com"
user gw-new  rsa ext_rsa_user "$ORG/CN=example.com gateway (new)" "email:gateway@example.com, DNS:example.com"
user expired rsa ext_rsa_user "$ORG/CN=Expired" "email:expired@example.org" inter \
  -startdate "$EXPIRED_START" -enddate "$EXPIRED_END"
user selfsigned rsa ext_selfsigned "$ORG/CN=Self Signed" "email:self@example.org" self
user revoked rsa ext_rsa_user "$ORG/CN=Revoked" "email:revoked@example.org"
# Algorithm policy: a key and certificate signatures below the minimum, a stronger curve, an algorithm
# OpenSSL 3.0's CMS cannot sign or verify with. `openssl ca` makes them at its default settings.
VALID=(-startdate "$NOW_MINUS_1H" -enddate "$USER_END")
user weak512 rsa512  ext_rsa_user  "$ORG/CN=Weak RSA-512" "email:weak@example.org"
user md5cert rsa     ext_rsa_user  "$ORG/CN=MD5 Signed"   "email:md5@example.org" inter "${VALID[@]}" -md md5
user sha1cert rsa    ext_rsa_user  "$ORG/CN=SHA-1 Signed" "email:sha1@example.org" inter "${VALID[@]}" -md sha1
user dave    ec384   ext_sign_user "$ORG/CN=Dave"         "email:dave@example.org"
user ed25519 ed25519 ext_sign_user "$ORG/CN=Ed25519"      "email:ed@example.org"

# --- revocation and CRL ------------------------------------------------------------------------------
CADIR=$WORK/inter openssl ca -config "$CNF" -batch -cert "$OUT/inter.pem" -keyfile "$OUT/inter.key" \
  -revoke "$OUT/revoked.pem" -crl_reason keyCompromise 2> "$WORK/ca.log" || { cat "$WORK/ca.log" >&2; exit 1; }
CADIR=$WORK/inter openssl ca -config "$CNF" -batch -cert "$OUT/inter.pem" -keyfile "$OUT/inter.key" \
  -gencrl -crldays 30 -crlexts ext_crl -out "$OUT/crl.pem" 2> "$WORK/ca.log" || { cat "$WORK/ca.log" >&2; exit 1; }
openssl crl -in "$OUT/crl.pem" -outform DER -out "$OUT/crl.der"

# --- self-checks (fail loudly rather than hand out a broken PKI) ----------------------------------
for n in alice bob carol domain gw-old gw-new revoked weak512 md5cert sha1cert dave ed25519; do
  openssl verify -CAfile "$OUT/root.pem" -untrusted "$OUT/inter.pem" -purpose smimesign \
    "$OUT/$n.pem" > /dev/null
done
if openssl verify -CAfile "$OUT/root.pem" -untrusted "$OUT/inter.pem" "$OUT/expired.pem" > /dev/null 2>&1; then
  echo "$0: expired.pem unexpectedly verifies" >&2; exit 1
fi
if openssl verify -crl_check -CAfile "$OUT/root.pem" -untrusted "$OUT/inter.pem" -CRLfile "$OUT/crl.pem" \
     "$OUT/revoked.pem" > /dev/null 2>&1; then
  echo "$0: revoked.pem unexpectedly verifies against crl.pem" >&2; exit 1
fi
openssl verify -crl_check -CAfile "$OUT/root.pem" -untrusted "$OUT/inter.pem" -CRLfile "$OUT/crl.pem" \
  "$OUT/alice.pem" > /dev/null
# want_cert NAME FIELD VALUE — `openssl x509 -text` of NAME.pem shows FIELD with VALUE
want_cert() {
  openssl x509 -in "$OUT/$1.pem" -noout -text | grep -q "$2.*$3" \
    || { echo "$0: $1.pem: want $2 $3" >&2; exit 1; }
}
want_cert weak512 "Public-Key:" "(512 bit)"
want_cert md5cert "Signature Algorithm:" md5WithRSAEncryption
want_cert sha1cert "Signature Algorithm:" sha1WithRSAEncryption
want_cert dave "NIST CURVE:" P-384
want_cert ed25519 "Public Key Algorithm:" ED25519

chmod 644 "$OUT"/*

cat > "$OUT/README" <<EOF
smime-milter test PKI, made by test/pki/make-pki.sh on $(date -u '+%Y-%m-%d %H:%M:%S UTC').
Throwaway keys for tests only. Everything is made fresh each time (validity relative to creation).

CAs (RSA-2048, SHA-256):
  root.pem  / root.key    "smime-milter Test Root CA" (self-signed; CA:true; keyCertSign, cRLSign)
  inter.pem / inter.key   "smime-milter Test Intermediate CA" (issued by root; CA:true, pathlen:0)
  crl.pem   / crl.der     CRL signed by the intermediate (nextUpdate in 30 days), listing
                          revoked.pem with reason keyCompromise

Users (issued by the intermediate unless said otherwise), for each NAME:
  NAME.pem        leaf certificate only (PEM)
  NAME.key        private key, unencrypted PKCS#8 PEM
  NAME.chain.pem  leaf followed by inter.pem (selfsigned: the leaf only)
  NAME.p12        PKCS#12 with leaf, key and inter.pem (selfsigned: leaf and key),
                  passphrase "$PASS", friendly name NAME, legacy encryption (-legacy) for gpgsm 2.2

  alice       RSA-2048   email alice@example.org          CN Alice
  bob         RSA-2048   email bob@example.org            CN Bob
  carol       EC P-256   email carol@example.org          CN Carol (keyUsage digitalSignature,
                                                          nonRepudiation, keyAgreement)
  domain      RSA-2048   DNS example.net, *.example.net   domain/gateway certificate, no email
  gw-old      RSA-2048   email gateway@example.com, DNS example.com   gateway key (old), for rollover
  gw-new      RSA-2048   email gateway@example.com, DNS example.com   gateway key (new), for rollover
  expired     RSA-2048   email expired@example.org        validity entirely in the past
                                                          ($EXPIRED_START - $EXPIRED_END)
  selfsigned  RSA-2048   email self@example.org           self-signed, not issued by our CA
  revoked     RSA-2048   email revoked@example.org        revoked (keyCompromise) in crl.pem/crl.der
  weak512     RSA-512    email weak@example.org           CN Weak RSA-512 (below 112-bit security)
  md5cert     RSA-2048   email md5@example.org            CN MD5 Signed: certificate signed with MD5
  sha1cert    RSA-2048   email sha1@example.org           CN SHA-1 Signed: certificate signed with SHA-1
  dave        EC P-384   email dave@example.org           CN Dave (keyUsage digitalSignature,
                                                          nonRepudiation: signing only)
  ed25519     Ed25519    email ed@example.org             CN Ed25519 (signing only; OpenSSL 3.0's
                                                          CMS can neither sign nor verify with it)

RSA user certificates: keyUsage (critical) digitalSignature, nonRepudiation, keyEncipherment;
extendedKeyUsage emailProtection; subjectKeyIdentifier; authorityKeyIdentifier; random serials.
Subjects are "/O=smime-milter Test/CN=..."; e-mail addresses are in subjectAltName only.
EOF
