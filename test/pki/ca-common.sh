# shellcheck shell=bash
# Shared by make-pki.sh and ../revocation/make-revocation-pki.sh (sourced): the `openssl ca` base
# configuration and the small helpers both scripts use. Each script appends its own extension sections.

# UTC times for `openssl ca -startdate/-enddate` (YYYYMMDDHHMMSSZ), relative to now.
utc() { date -u -d "$1" +%Y%m%d%H%M%SZ; }

# write_ca_config FILE — the CA, policy and request sections; the CA directory comes from $CADIR at run time.
write_ca_config() {
  cat > "$1" <<'CNF'
[ ca ]
default_ca = testca

[ testca ]
dir               = $ENV::CADIR
database          = $dir/index.txt
new_certs_dir     = $dir/newcerts
crlnumber         = $dir/crlnumber
rand_serial       = yes
unique_subject    = no
default_md        = sha256
default_days      = 730
default_crl_days  = 30
policy            = policy_any
email_in_dn       = no
copy_extensions   = none
preserve          = yes

[ policy_any ]
commonName             = supplied
organizationName       = optional
organizationalUnitName = optional
emailAddress           = optional

[ req ]
distinguished_name = req_dn
prompt             = no
[ req_dn ]
CN = placeholder

CNF
}

new_ca_db() { # DIR
  mkdir -p "$1/newcerts"
  : > "$1/index.txt"
  echo 1000 > "$1/crlnumber"
}

rsa_key() { openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1"; }
