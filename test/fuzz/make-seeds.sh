#!/bin/bash
# make-seeds.sh SMIME_TOOL SEED_TOOL PKIDIR REVOCATION_PKIDIR EXAMPLE_JSON OUTDIR — the seed corpora of
# the fuzz targets, made from the test PKIs (test/pki/make-pki.sh, test/revocation/make-revocation-pki.sh)
# with our own smime-tool and the openssl CLI. Nothing is downloaded.
#
# Deletes and recreates OUTDIR with one directory per seed set (a target's CMake line names its sets):
#   mime/       plain MIME messages: nested multiparts, message/rfc822, 8bit, binary, QP, LF-only, unclosed
#   signed/     detached and opaque signatures (RSA, PSS, EC, SHA-2 variants, expired and self-signed
#               signers, no chain), the same with their CMS parts in binary, signed-only-in-part
#   encrypted/  enveloped (AES-CBC, OAEP, to gw-new, gw-old, both, others), authEnveloped (AES-GCM),
#               sign+encrypt, triple wrap; the same with binary CMS
#   cms_cert/   fuzz_cms_cert inputs: a parser byte (0 CMS, 1 certificates, 2 key, 3 PKCS#12,
#               4 capabilities), then the DER/PEM
#   conf/       the example configuration and small variants
#   crl/        the CRLs of both PKIs (DER, PEM, libcurl's LDAP form)
#   filter/     fuzz_filter programs (filter_program.hpp): messages of mime/, signed/ and encrypted/ sent
#               through the callbacks (inbound, outbound, after an abort, with a fake verdict)
#   ocsp/       fuzz_ocsp inputs: a selector byte (certificate, with/without request, signed anew), then a
#               response
set -euo pipefail

if [ $# -ne 6 ]; then
  echo "usage: $0 SMIME_TOOL SEED_TOOL PKIDIR REVOCATION_PKIDIR EXAMPLE_JSON OUTDIR" >&2
  exit 2
fi
TOOL=$1 SEED_TOOL=$2 PKI=$3 REV=$4 EXAMPLE=$5 OUT=$6
case "$OUT" in
  / | /. | /.. ) echo "$0: refusing to use $OUT" >&2; exit 2 ;;
esac
for f in "$PKI/root.pem" "$PKI/gw-new.pem" "$REV/inter.pem" "$REV/index.txt" "$EXAMPLE"; do
  [ -r "$f" ] || { echo "$0: $f missing" >&2; exit 1; }
done

rm -rf -- "$OUT"
mkdir -p -- "$OUT"/{mime,signed,encrypted,cms_cert,conf,crl,ocsp,filter}
OUT=$(cd -- "$OUT" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/make-seeds.XXXXXX")
trap 'rm -rf -- "$WORK"' EXIT

crlf() { sed 's/$/\r/'; }  # LF -> CRLF for the heredocs below

# --- mime: hand-written messages (also the plaintexts signed and encrypted below) ------------------
crlf > "$OUT/mime/plain.eml" <<'EOF'
From: Alice <alice@example.org>
To: gateway@example.com
Subject: plain
Message-ID: <plain@example.org>
Content-Type: text/plain; charset=us-ascii

Hello, plain world.
EOF

# 8bit text with LF-only line ends and a line over 998 bytes
{
  printf 'From: alice@example.org\nTo: gateway@example.com\nSubject: =?utf-8?q?8bit_=C3=A4?=\n'
  printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset="utf-8"\nContent-Transfer-Encoding: 8bit\n\n'
  printf 'Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln\n'
  head -c 1200 /dev/zero | tr '\0' 'x'
  printf '\ntrailing space \n'
} > "$OUT/mime/eightbit-lf.eml"

crlf > "$OUT/mime/mixed.eml" <<'EOF'
From: alice@example.org
To: gateway@example.com
Subject: mixed
MIME-Version: 1.0
Content-Type: multipart/mixed;
 boundary="----=_outer_7d1f"

This is the preamble.
------=_outer_7d1f
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Caf=E9 au lait, a soft=
 line break and =3D signs.
------=_outer_7d1f
Content-Type: application/octet-stream; name="data.bin"
Content-Disposition: attachment; filename*=utf-8''data%20file.bin
Content-Transfer-Encoding: base64

AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1
Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWpr
------=_outer_7d1f--
This is the epilogue.
EOF

crlf > "$OUT/mime/nested.eml" <<'EOF'
From: bob@example.org
To: gateway@example.com
Subject: nested
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain

plain alternative
--alt
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: 8bit

<p>html alternative</p>
--alt--
--outer
Content-Type: message/rfc822

From: carol@example.org
Subject: forwarded
Content-Type: multipart/related; boundary="rel"; type="text/html"

--rel
Content-Type: text/html

<img src="cid:x">
--rel
Content-Type: image/png
Content-ID: <x>
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--rel--
--outer--
EOF

{
  printf 'From: alice@example.org\r\nSubject: binary\r\nMIME-Version: 1.0\r\n'
  printf 'Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n'
  printf 'nul\0byte, bare\rCR, high \xff\xfe bytes\r\n'
} > "$OUT/mime/binary.eml"

crlf > "$OUT/mime/unclosed.eml" <<'EOF'
From: alice@example.org
Subject: unclosed multipart, folded
	header and a missing close delimiter
Content-Type: multipart/mixed; boundary="u"

--u
Content-Type: text/plain

first
--u   
Content-Type: text/plain; format=flowed

second, after transport padding
EOF

crlf > "$OUT/mime/signed-part.eml" <<'EOF'
From: alice@example.org
Subject: only a part is signed
Content-Type: multipart/mixed; boundary=m

--m
Content-Type: text/plain

unsigned text
--m
Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary=s

--s
Content-Type: text/plain

signed text
--s
Content-Type: application/pkcs7-signature; name=smime.p7s
Content-Transfer-Encoding: base64

MAA=
--s--
--m--
EOF

# --- signed ---------------------------------------------------------------------------------------
sign() { # NAME SIGNER IN [smime-tool sign options...]
  local name=$1 signer=$2 in=$3
  shift 3
  "$TOOL" sign --cert "$PKI/$signer.pem" --key "$PKI/$signer.key" "$@" "$OUT/mime/$in.eml" \
    "$OUT/signed/$name.eml"
}
sign detached-rsa alice plain --chain "$PKI/inter.pem"
sign detached-mixed alice mixed --chain "$PKI/inter.pem"
sign detached-nested bob nested --chain "$PKI/inter.pem" --digest sha384
sign detached-8bit alice eightbit-lf --chain "$PKI/inter.pem" --digest sha512
sign detached-pss alice plain --chain "$PKI/inter.pem" --pss
sign detached-ec carol plain --chain "$PKI/inter.pem"
sign detached-nochain alice plain
sign detached-expired expired plain --chain "$PKI/inter.pem"
sign detached-selfsigned selfsigned plain
sign opaque-rsa alice plain --chain "$PKI/inter.pem" --opaque
sign opaque-mixed gw-new mixed --chain "$PKI/inter.pem" --opaque
sign opaque-ec carol nested --chain "$PKI/inter.pem" --opaque --digest sha256
cp "$OUT/signed/detached-rsa.eml" "$WORK/inner.eml"
"$TOOL" sign --cert "$PKI/bob.pem" --key "$PKI/bob.key" --chain "$PKI/inter.pem" --opaque "$WORK/inner.eml" \
  "$OUT/signed/opaque-over-detached.eml"
sed "s/plain world/plain World/" "$OUT/signed/detached-rsa.eml" > "$OUT/signed/tampered.eml"
# Structures verify refuses or answers without a signature check: SignedData with content of its own as
# a detached signature, detached SignedData as an opaque one, and a SignedData without signers.
opaque_of() { # DER OUT
  {
    printf 'From: alice@example.org\r\nSubject: opaque\r\nMIME-Version: 1.0\r\n'
    printf 'Content-Type: application/pkcs7-mime; smime-type=signed-data; name="smime.p7m"\r\n'
    printf 'Content-Transfer-Encoding: base64\r\n\r\n'
    openssl base64 -in "$1" | crlf
  } > "$2"
}
detached_of() { # DER OUT
  {
    printf 'From: alice@example.org\r\nSubject: detached\r\nMIME-Version: 1.0\r\n'
    printf 'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary=b1\r\n\r\n'
    printf -- '--b1\r\nContent-Type: text/plain\r\n\r\nHello, plain world.\r\n--b1\r\n'
    printf 'Content-Type: application/pkcs7-signature; name="smime.p7s"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    openssl base64 -in "$1" | crlf
    printf -- '--b1--\r\n'
  } > "$2"
}
"$SEED_TOOL" der "$OUT/signed/opaque-rsa.eml" "$WORK/opaque.der"
"$SEED_TOOL" der "$OUT/signed/detached-rsa.eml" "$WORK/detached.der"
detached_of "$WORK/opaque.der" "$OUT/signed/content-in-signature.eml"
opaque_of "$WORK/detached.der" "$OUT/signed/opaque-without-content.eml"
openssl crl2pkcs7 -nocrl -certfile "$PKI/alice.chain.pem" -outform DER -out "$WORK/certs-only.der"
detached_of "$WORK/certs-only.der" "$OUT/signed/no-signer.eml"

# --- encrypted ------------------------------------------------------------------------------------
encrypt() { # NAME IN RECIPIENTS [smime-tool encrypt options...]
  local name=$1 in=$2 to=()
  for r in $3; do to+=(--to "$PKI/$r.pem"); done
  shift 3
  "$TOOL" encrypt "${to[@]}" "$@" "$OUT/mime/$in.eml" "$OUT/encrypted/$name.eml" 2> /dev/null
}
encrypt auto-gw-new plain gw-new
encrypt cbc256-gw-old mixed gw-old --cipher aes256-cbc
encrypt cbc128-both nested "gw-new gw-old" --cipher aes128-cbc
encrypt gcm128 plain gw-new --cipher aes128-gcm
encrypt gcm256-8bit eightbit-lf gw-old --cipher aes256-gcm
encrypt oaep plain gw-new --oaep
encrypt others-first plain "alice bob gw-new"
encrypt not-for-us plain alice
encrypt ec-recipient plain "carol gw-new"
both() { # NAME COMMAND SIGNER IN TO [options...]
  local name=$1 cmd=$2 signer=$3 in=$4 recipient=$5
  shift 5
  "$TOOL" "$cmd" --cert "$PKI/$signer.pem" --key "$PKI/$signer.key" --chain "$PKI/inter.pem" \
    --to "$PKI/$recipient.pem" "$@" "$OUT/mime/$in.eml" "$OUT/encrypted/$name.eml" 2> /dev/null
}
both sign-encrypt sign-encrypt alice mixed gw-new
both sign-encrypt-gcm sign-encrypt carol plain gw-new --cipher aes256-gcm
both triple triple alice plain gw-new
both triple-opaque triple bob nested gw-old --opaque --cipher aes128-gcm

# The CMS parts in binary: mutations then reach the DER without breaking base64 first.
for set in signed encrypted; do
  for f in "$OUT/$set"/*.eml; do
    "$SEED_TOOL" binary "$f" "${f%.eml}.binary.eml" || rm -f -- "${f%.eml}.binary.eml"
  done
done
cp "$OUT"/signed/*.eml "$OUT"/encrypted/*.eml "$OUT/mime/" 2> /dev/null || true
rm -f -- "$OUT"/mime/*.binary.eml

# --- filter: callback programs sending messages of the sets above -----------------------------------
for f in "$OUT/mime/plain.eml" "$OUT/mime/mixed.eml" "$OUT/signed/detached-rsa.eml" \
         "$OUT/signed/opaque-rsa.eml" "$OUT/encrypted/auto-gw-new.eml" "$OUT/encrypted/triple.eml"; do
  name=$(basename "$f" .eml)
  for variant in inbound outbound abort fake; do
    "$SEED_TOOL" "filter-$variant" "$f" "$OUT/filter/$name-$variant.bin"
  done
done

# --- cms_cert: a parser byte, then the bytes --------------------------------------------------------
with_byte() { # BYTE FILE OUT
  { printf '%b' "\\x$1"; cat -- "$2"; } > "$OUT/cms_cert/$3"
}
for f in "$OUT"/signed/detached-rsa.eml "$OUT"/signed/opaque-ec.eml "$OUT"/encrypted/{auto-gw-new,gcm128,ec-recipient,triple}.eml; do
  name=$(basename "$f" .eml)
  "$SEED_TOOL" der "$f" "$WORK/$name.der"
  with_byte 00 "$WORK/$name.der" "cms-$name"
done
for c in root alice carol domain selfsigned; do
  with_byte 01 "$PKI/$c.pem" "cert-$c.pem"
  openssl x509 -in "$PKI/$c.pem" -outform DER -out "$WORK/$c.der"
  with_byte 01 "$WORK/$c.der" "cert-$c.der"
done
with_byte 01 "$PKI/alice.chain.pem" cert-alice-chain.pem
with_byte 01 "$REV/rev-good.pem" cert-rev-good.pem
with_byte 02 "$PKI/alice.key" key-alice.pem
with_byte 02 "$PKI/carol.key" key-carol.pem
openssl pkey -in "$PKI/carol.key" -outform DER -out "$WORK/carol.key.der"
with_byte 02 "$WORK/carol.key.der" key-carol.der
openssl pkcs8 -topk8 -in "$PKI/carol.key" -v2 aes256 -iter 1 -passout pass:secret -out "$WORK/carol.key.enc"
with_byte 02 "$WORK/carol.key.enc" key-carol-encrypted.pem
# PKCS#12 and encrypted keys with one KDF iteration: a fuzzer spends its time on parsing, not on PBKDF2.
openssl pkcs12 -export -legacy -noiter -nomaciter -in "$PKI/alice.pem" -inkey "$PKI/alice.key" \
  -certfile "$PKI/inter.pem" -passout pass:secret -out "$WORK/alice.p12"
with_byte 03 "$WORK/alice.p12" p12-alice-legacy
openssl pkcs12 -export -noiter -nomaciter -in "$PKI/carol.pem" -inkey "$PKI/carol.key" \
  -certfile "$PKI/inter.pem" -passout pass:secret -out "$WORK/carol.p12"
with_byte 03 "$WORK/carol.p12" p12-carol-aes
openssl pkcs12 -export -noiter -nomaciter -nokeys -in "$PKI/selfsigned.pem" -passout pass:secret \
  -out "$WORK/certs-only.p12"
with_byte 03 "$WORK/certs-only.p12" p12-certs-only
# SMIMECapabilities: aes256-CBC, aes128-GCM, aes256-GCM, RC2 with its key size parameter
printf '\x04\x30\x37\x30\x0b\x06\x09\x60\x86\x48\x01\x65\x03\x04\x01\x2a\x30\x0b\x06\x09\x60\x86\x48\x01\x65\x03\x04\x01\x06\x30\x0b\x06\x09\x60\x86\x48\x01\x65\x03\x04\x01\x2e\x30\x0e\x06\x08\x2a\x86\x48\x86\xf7\x0d\x03\x02\x02\x02\x00\x80' \
  > "$OUT/cms_cert/capabilities"

# --- conf -------------------------------------------------------------------------------------------
cp -- "$EXAMPLE" "$OUT/conf/example.json"
printf '{}' > "$OUT/conf/empty.json"
cat > "$OUT/conf/small.json" <<'EOF'
{"listen": "inet6:10025@[::1]", "spool": {"memory_limit": "1K"},
 "direction": {"internal_networks": ["10.0.0.0/8", "fd00::/8", "192.0.2.7"], "internal_domains": ["*.example.org"]},
 "profiles": {"p": {"mode": "encrypt", "cipher": "aes128-gcm", "missing_certificate": "drop"},
              "s": {"mode": "sign", "sign_mode": "opaque", "signing_identity": "fingerprint:AB:CD"}},
 "outbound": {"rules": [{"match": {"sender": ["@example.org", "*.example.net"], "size_min": "1k",
                                  "header": [{"name": "X-Tag", "equals": "secure", "ignore_case": true}]},
                        "profile": "p"}],
              "default_profile": "s"}}
EOF
cat > "$OUT/conf/revocation.json" <<'EOF'
{"listen": "inet:10025@127.0.0.1", "log": {"level": "debug"},
 "revocation": {"order": ["crl"], "encrypt": "tempfail", "verify": "fail-open", "no_distribution_point": "good",
                "timeout": "1500ms", "proxy": "http://127.0.0.1:3128", "max_ocsp_size": "1K"},
 "inbound": {"headers": {"smime": ""}, "actions": {"fail": "quarantine", "undecryptable": "reject"}}}
EOF
printf '{"outbound": {"rules": [{"profile": "none", "match": {"header": [{"name": "Subject", "regex": "^(a|b)+\\\\[x\\\\]$"}]}}]}}' \
  > "$OUT/conf/regex.json"

# --- crl --------------------------------------------------------------------------------------------
for d in fresh fresh-pem stale other-ca impostor partial; do cp -- "$REV/crl/$d/inter.crl" "$OUT/crl/$d.crl"; done
cp -- "$PKI/crl.der" "$OUT/crl/test-pki.der"
cp -- "$PKI/crl.pem" "$OUT/crl/test-pki.pem"
{
  printf 'DN: cn=smime-milter Test Intermediate CA,o=smime-milter Test\n'
  printf '\tcertificateRevocationList;binary: %s\n\n' "$(openssl base64 -A -in "$REV/crl/fresh/inter.crl")"
} > "$OUT/crl/ldap.txt"

# --- ocsp: a selector byte (certificate: 0 rev-good, 1 rev-revoked, 2 rev-unknown; +4: with a request) -
with_sel() { # BYTE FILE OUT
  { printf '%b' "\\x$1"; cat -- "$2"; } > "$OUT/ocsp/$3"
}
with_sel 00 "$REV/direct-good.ocsp" direct-good
with_sel 04 "$REV/direct-good.ocsp" direct-good-request
with_sel 04 "$REV/replayed-good.ocsp" replayed-good
with_sel 00 "$REV/notauth-good.ocsp" notauth-good
with_sel 00 "$REV/rogue-good.ocsp" rogue-good
respond() { # CERT SELECTOR NAME [openssl ocsp responder options...]
  local cert=$1 sel=$2 name=$3
  shift 3
  openssl ocsp -issuer "$REV/inter.pem" -cert "$REV/$cert.pem" -reqout "$WORK/$name.req" 2> /dev/null
  openssl ocsp -index "$REV/index.txt" -rsigner "$REV/ocsp.pem" -rkey "$REV/ocsp.key" -CA "$REV/inter.pem" \
    -ndays 1 -reqin "$WORK/$name.req" -respout "$WORK/$name.ocsp" "$@" > /dev/null 2>&1
  with_sel "$sel" "$WORK/$name.ocsp" "$name"
}
respond rev-revoked 01 revoked
respond rev-unknown 02 unknown
respond rev-good 00 good-no-certs -resp_no_certs
respond rev-good 00 good-by-key -resp_key_id
# +8: signed anew by the responder before the check (+16: by the intermediate CA), so mutations of the
# signed data reach the checks behind the signature.
with_sel 08 "$REV/direct-good.ocsp" resigned-good
with_sel 09 "$WORK/revoked.ocsp" resigned-revoked
with_sel 0a "$WORK/unknown.ocsp" resigned-unknown
with_sel 0c "$REV/replayed-good.ocsp" resigned-replayed-good
with_sel 10 "$WORK/good-no-certs.ocsp" resigned-by-issuer-good
printf '\x00\x30\x03\x0a\x01\x01' > "$OUT/ocsp/malformed-request"
printf '\x00\x30\x03\x0a\x01\x06' > "$OUT/ocsp/unauthorized"

for set in mime signed encrypted cms_cert conf crl ocsp; do
  n=$(find "$OUT/$set" -type f | wc -l)
  [ "$n" -gt 0 ] || { echo "$0: no seeds in $set" >&2; exit 1; }
  printf '%s %d  ' "$set" "$n"
done
echo
