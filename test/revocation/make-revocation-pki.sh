#!/bin/bash
# make-revocation-pki.sh PKIDIR OUTDIR — the revocation test PKI, on top of test/pki/make-pki.sh.
#
# Reads inter.pem/inter.key/root.pem from PKIDIR (made by make-pki.sh; root stays the trust anchor),
# deletes and recreates OUTDIR. Uses only the openssl CLI. See OUTDIR/README for what it holds.
#
# Fixed ports, baked into the certificates (so the tests cannot choose others):
#   28480  HTTP: CRLs (http://127.0.0.1:28480/inter.crl) and the misbehaving test servers
#   28481  OCSP: `openssl ocsp -port 28481` (http://127.0.0.1:28481/)
set -euo pipefail

if [ $# -ne 2 ] || [ -z "$1" ] || [ -z "$2" ]; then
  echo "usage: $0 PKIDIR OUTDIR" >&2
  exit 2
fi
PKI=$(cd -- "$1" && pwd)
OUT=$2
case "$OUT" in
  / | /. | /.. ) echo "$0: refusing to use $OUT" >&2; exit 2 ;;
esac
for f in root.pem inter.pem inter.key; do
  [ -r "$PKI/$f" ] || { echo "$0: $PKI/$f missing (run make-pki.sh first)" >&2; exit 1; }
done

umask 022
rm -rf -- "$OUT"
mkdir -p -- "$OUT"
OUT=$(cd -- "$OUT" && pwd)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/make-revocation-pki.XXXXXX")
trap 'rm -rf -- "$WORK"' EXIT

# shellcheck source=test/pki/ca-common.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/../pki/ca-common.sh"

PASS=secret
CRL_URL=http://127.0.0.1:28480/inter.crl
OCSP_URL=http://127.0.0.1:28481/
NOW_MINUS_1H=$(utc '-1 hour')
USER_END=$(utc '+2 years')

export CADIR=$WORK/inter SAN=email:unused@example.invalid
write_ca_config "$WORK/openssl.cnf"
cat >> "$WORK/openssl.cnf" <<EOF
[ ext_ca ]
basicConstraints       = critical, CA:true, pathlen:0
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash

[ ext_both ]
basicConstraints       = critical, CA:false
keyUsage               = critical, digitalSignature, nonRepudiation, keyEncipherment
extendedKeyUsage       = emailProtection
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
subjectAltName         = \$ENV::SAN
authorityInfoAccess    = OCSP;URI:$OCSP_URL
crlDistributionPoints  = URI:$CRL_URL

[ ext_crlonly ]
basicConstraints       = critical, CA:false
keyUsage               = critical, digitalSignature, nonRepudiation, keyEncipherment
extendedKeyUsage       = emailProtection
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
subjectAltName         = \$ENV::SAN
crlDistributionPoints  = URI:$CRL_URL

[ ext_ocsponly ]
basicConstraints       = critical, CA:false
keyUsage               = critical, digitalSignature, nonRepudiation, keyEncipherment
extendedKeyUsage       = emailProtection
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
subjectAltName         = \$ENV::SAN
authorityInfoAccess    = OCSP;URI:$OCSP_URL

[ ext_nodp ]
basicConstraints       = critical, CA:false
keyUsage               = critical, digitalSignature, nonRepudiation, keyEncipherment
extendedKeyUsage       = emailProtection
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
subjectAltName         = \$ENV::SAN

[ ext_ocsp ]
basicConstraints       = critical, CA:false
keyUsage               = critical, digitalSignature
extendedKeyUsage       = OCSPSigning
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ ext_crl ]
authorityKeyIdentifier = keyid:always

[ ext_crl_partial ]
authorityKeyIdentifier = keyid:always
issuingDistributionPoint = critical, @idp_partial

[ idp_partial ]
fullname = URI:http://127.0.0.1:28480/inter.crl
onlysomereasons = keyCompromise
EOF
export OPENSSL_CONF=$WORK/openssl.cnf
CNF=$WORK/openssl.cnf

# inter: the database the OCSP responder serves. inter-unlisted: certificates the responder never heard of.
new_ca_db "$WORK/inter"
new_ca_db "$WORK/inter-unlisted"

csr() { openssl req -new -config "$CNF" -key "$1" -subj "$2" -out "$3"; }
ca() { # CADIR openssl-ca-args...
  local dir=$1
  shift
  CADIR=$dir openssl ca -config "$CNF" -batch "$@" 2> "$WORK/ca.log" || { cat "$WORK/ca.log" >&2; return 1; }
}

ORG="/O=smime-milter Test"

# leaf NAME EXT EMAIL [CADIR]
leaf() {
  local name=$1 ext=$2 email=$3 dir=${4:-$WORK/inter}
  rsa_key "$OUT/$name.key"
  csr "$OUT/$name.key" "$ORG/CN=$name" "$WORK/$name.csr"
  SAN=email:$email ca "$dir" -notext -preserveDN -cert "$PKI/inter.pem" -keyfile "$PKI/inter.key" \
    -extensions "$ext" -in "$WORK/$name.csr" -out "$OUT/$name.pem" -startdate "$NOW_MINUS_1H" -enddate "$USER_END"
  cat "$OUT/$name.pem" "$PKI/inter.pem" > "$OUT/$name.chain.pem"
  openssl pkcs12 -export -legacy -in "$OUT/$name.pem" -inkey "$OUT/$name.key" \
    -certfile "$PKI/inter.pem" -name "$name" -passout "pass:$PASS" -out "$OUT/$name.p12"
}

leaf rev-good     ext_both     good@revocation.test
leaf rev-revoked  ext_both     revoked@revocation.test
leaf rev-crlonly  ext_crlonly  crlonly@revocation.test
leaf rev-ocsponly ext_ocsponly ocsponly@revocation.test
leaf rev-nodp     ext_nodp     nodp@revocation.test
leaf rev-unknown  ext_both     unknown@revocation.test "$WORK/inter-unlisted"

# The OCSP responder's certificate: issued by inter, id-kp-OCSPSigning.
rsa_key "$OUT/ocsp.key"
csr "$OUT/ocsp.key" "$ORG/CN=smime-milter Test OCSP Responder" "$WORK/ocsp.csr"
ca "$WORK/inter" -notext -preserveDN -cert "$PKI/inter.pem" -keyfile "$PKI/inter.key" -extensions ext_ocsp \
  -in "$WORK/ocsp.csr" -out "$OUT/ocsp.pem" -startdate "$NOW_MINUS_1H" -enddate "$USER_END"
cp "$PKI/inter.pem" "$OUT/inter.pem"

# Revoke rev-revoked (keyCompromise); the index is what `openssl ocsp -index` serves.
ca "$WORK/inter" -cert "$PKI/inter.pem" -keyfile "$PKI/inter.key" -revoke "$OUT/rev-revoked.pem" \
  -crl_reason keyCompromise
cp "$WORK/inter/index.txt" "$OUT/index.txt"
[ -f "$WORK/inter/index.txt.attr" ] && cp "$WORK/inter/index.txt.attr" "$OUT/index.txt.attr"

# --- CRLs: one directory per variant, each served as /inter.crl by `revocation-test-server --root` ---
mkdir -p "$OUT/crl/fresh" "$OUT/crl/fresh-pem" "$OUT/crl/stale" "$OUT/crl/other-ca" "$OUT/crl/impostor" \
  "$OUT/crl/big"
gencrl() { # CADIR CACERT CAKEY OUT [args...]
  local dir=$1 cert=$2 key=$3 out=$4
  shift 4
  ca "$dir" -cert "$cert" -keyfile "$key" -gencrl -crlexts ext_crl -out "$WORK/crl.pem" "$@"
  openssl crl -in "$WORK/crl.pem" -outform DER -out "$out"
}
gencrl "$WORK/inter" "$PKI/inter.pem" "$PKI/inter.key" "$OUT/crl/fresh/inter.crl" -crldays 30
# partial: the same entries, but its Issuing Distribution Point says it covers keyCompromise only, so
# it cannot say a certificate is good (another reason's revocation would be elsewhere).
mkdir -p "$OUT/crl/partial"
ca "$WORK/inter" -cert "$PKI/inter.pem" -keyfile "$PKI/inter.key" -gencrl -crlexts ext_crl_partial \
  -out "$WORK/crl-partial.pem" -crldays 30
openssl crl -in "$WORK/crl-partial.pem" -outform DER -out "$OUT/crl/partial/inter.crl"
openssl crl -inform DER -in "$OUT/crl/fresh/inter.crl" -out "$OUT/crl/fresh-pem/inter.crl"
# Stale: nextUpdate 2 hours ago (a grace of 1 day accepts it, a grace of 1 hour does not).
gencrl "$WORK/inter" "$PKI/inter.pem" "$PKI/inter.key" "$OUT/crl/stale/inter.crl" \
  -crl_lastupdate "$(utc '-3 days')" -crl_nextupdate "$(utc '-2 hours')"
# other-ca: signed by root (another CA, another issuer name).
new_ca_db "$WORK/root"
gencrl "$WORK/root" "$PKI/root.pem" "$PKI/root.key" "$OUT/crl/other-ca/inter.crl" -crldays 30
# impostor: a CA with inter's very name but another key (same issuer name, signature does not verify).
rsa_key "$WORK/impostor.key"
openssl req -new -x509 -config "$CNF" -key "$WORK/impostor.key" -subj "$ORG/CN=smime-milter Test Intermediate CA" \
  -days 30 -extensions ext_ca -out "$WORK/impostor.pem"
new_ca_db "$WORK/impostor"
cp "$WORK/inter/index.txt" "$WORK/impostor/index.txt"
gencrl "$WORK/impostor" "$WORK/impostor.pem" "$WORK/impostor.key" "$OUT/crl/impostor/inter.crl" -crldays 30
# lookalike.pem: inter's name AND inter's subjectKeyIdentifier on another key — what a message could
# carry to pose as the issuer (X509_check_issued accepts it; only the signature check tells).
INTER_SKI=$(openssl x509 -in "$PKI/inter.pem" -noout -ext subjectKeyIdentifier | sed -n '2s/[[:space:]]//gp')
[ -n "$INTER_SKI" ] || { echo "$0: inter.pem has no subjectKeyIdentifier" >&2; exit 1; }
openssl req -new -x509 -key "$WORK/impostor.key" -subj "$ORG/CN=smime-milter Test Intermediate CA" -days 30 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -addext "subjectKeyIdentifier=$INTER_SKI" -out "$OUT/lookalike.pem" 2> /dev/null
# big: inter's CRL with 3000 extra revoked serials (about 100 KB), for a small max_crl_size.
new_ca_db "$WORK/big"
cp "$WORK/inter/index.txt" "$WORK/big/index.txt"
REVTIME=$(date -u -d '-1 day' +%y%m%d%H%M%SZ)
EXPTIME=$(date -u -d '+1 year' +%y%m%d%H%M%SZ)
for i in $(seq 1 3000); do
  printf 'R\t%s\t%s,superseded\t%08X\tunknown\t/CN=padding %d\n' "$EXPTIME" "$REVTIME" "$((0x10000000 + i))" "$i"
done >> "$WORK/big/index.txt"
gencrl "$WORK/big" "$PKI/inter.pem" "$PKI/inter.key" "$OUT/crl/big/inter.crl" -crldays 30

# --- a replayed OCSP response: answered now to a request with another nonce --------------------------
openssl ocsp -issuer "$PKI/inter.pem" -cert "$OUT/rev-good.pem" -reqout "$WORK/replay.req" 2> /dev/null
openssl ocsp -index "$OUT/index.txt" -rsigner "$OUT/ocsp.pem" -rkey "$OUT/ocsp.key" -CA "$PKI/inter.pem" \
  -reqin "$WORK/replay.req" -respout "$OUT/replayed-good.ocsp" > /dev/null 2>&1
[ -s "$OUT/replayed-good.ocsp" ] || { echo "$0: no replayed-good.ocsp" >&2; exit 1; }
# Pre-signed responses without a nonce (as many responders make them) for rev-good, signed by:
#   direct-good.ocsp      inter itself (allowed)
#   notauth-good.ocsp     rev-nodp: issued by inter but without id-kp-OCSPSigning (refused)
#   rogue-good.ocsp       a self-signed certificate with id-kp-OCSPSigning, included in the response (refused)
openssl ocsp -no_nonce -issuer "$PKI/inter.pem" -cert "$OUT/rev-good.pem" -reqout "$WORK/nononce.req" 2> /dev/null
presign() { # SIGNER-CERT SIGNER-KEY OUT
  openssl ocsp -index "$OUT/index.txt" -rsigner "$1" -rkey "$2" -CA "$PKI/inter.pem" -ndays 1 \
    -reqin "$WORK/nononce.req" -respout "$3" > /dev/null 2>&1
  [ -s "$3" ] || { echo "$0: could not make $3" >&2; exit 1; }
}
presign "$PKI/inter.pem" "$PKI/inter.key" "$OUT/direct-good.ocsp"
presign "$OUT/rev-nodp.pem" "$OUT/rev-nodp.key" "$OUT/notauth-good.ocsp"
rsa_key "$WORK/rogue.key"
openssl req -new -x509 -config "$CNF" -key "$WORK/rogue.key" -subj "$ORG/CN=smime-milter Test OCSP Responder" \
  -days 30 -extensions ext_ocsp -out "$WORK/rogue.pem" 2> /dev/null
presign "$WORK/rogue.pem" "$WORK/rogue.key" "$OUT/rogue-good.ocsp"

# --- self-checks ----------------------------------------------------------------------------------
for n in rev-good rev-revoked rev-crlonly rev-ocsponly rev-nodp rev-unknown; do
  openssl verify -CAfile "$PKI/root.pem" -untrusted "$PKI/inter.pem" -purpose smimesign "$OUT/$n.pem" > /dev/null
done
if openssl verify -crl_check -CAfile "$PKI/root.pem" -untrusted "$PKI/inter.pem" \
     -CRLfile "$OUT/crl/fresh-pem/inter.crl" "$OUT/rev-revoked.pem" > /dev/null 2>&1; then
  echo "$0: rev-revoked.pem unexpectedly verifies against the fresh CRL" >&2; exit 1
fi
[ "$(stat -c %s "$OUT/crl/big/inter.crl")" -gt 65536 ] || { echo "$0: big CRL too small" >&2; exit 1; }
grep -q '^R' "$OUT/index.txt" || { echo "$0: index.txt lists no revocation" >&2; exit 1; }

chmod -R a+rX "$OUT"

cat > "$OUT/README" <<EOF
smime-milter revocation test PKI, made by test/revocation/make-revocation-pki.sh on $(date -u '+%Y-%m-%d %H:%M:%S UTC')
from the PKI in $PKI (root.pem is the trust anchor, everything here is issued by its inter.pem).

Ports baked into the certificates: CRL DP $CRL_URL, OCSP (AIA) $OCSP_URL.

Leaves (RSA-2048, emailProtection, digitalSignature+nonRepudiation+keyEncipherment), each NAME.pem,
NAME.key, NAME.chain.pem, NAME.p12 (pass "$PASS"); subject "$ORG/CN=NAME":
  rev-good      good@revocation.test      AIA OCSP + CRL DP, good
  rev-revoked   revoked@revocation.test   AIA OCSP + CRL DP, revoked (keyCompromise) in index.txt and CRLs
  rev-unknown   unknown@revocation.test   AIA OCSP + CRL DP, absent from index.txt (OCSP: unknown)
  rev-crlonly   crlonly@revocation.test   CRL DP only
  rev-ocsponly  ocsponly@revocation.test  AIA OCSP only
  rev-nodp      nodp@revocation.test      neither
ocsp.pem/ocsp.key   OCSP responder certificate (issued by inter, extendedKeyUsage OCSPSigning)
index.txt           the responder's database (openssl ca format); inter.pem copied for -CA
replayed-good.ocsp  an OCSP response for rev-good answering a request with another nonce
direct-good.ocsp    rev-good good, no nonce, signed by inter itself
notauth-good.ocsp   rev-good good, no nonce, signed by rev-nodp (issued by inter, no OCSPSigning)
rogue-good.ocsp     rev-good good, no nonce, signed by a self-signed OCSPSigning certificate named like ocsp.pem

CRLs, one directory per variant, each file named inter.crl (serve the directory as the HTTP root):
  crl/fresh       DER, signed by inter, nextUpdate in 30 days, lists rev-revoked (keyCompromise)
  crl/fresh-pem   the same in PEM
  crl/stale       DER, signed by inter, lastUpdate 3 days ago, nextUpdate 2 hours ago
  crl/other-ca    DER, signed by root (another issuer)
  crl/impostor    DER, issuer name of inter but signed by another key
  crl/partial     DER, signed by inter, Issuing Distribution Point onlySomeReasons keyCompromise
lookalike.pem     a CA certificate with inter's name and subjectKeyIdentifier but another key
  crl/big         DER, signed by inter, 3000 extra entries (over 64 KiB)

OCSP responder: openssl ocsp -index index.txt -port 28481 -rsigner ocsp.pem -rkey ocsp.key -CA inter.pem
EOF
