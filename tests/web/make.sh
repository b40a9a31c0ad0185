#!/usr/bin/env bash
# Makes the TLS fixtures of the endpoint tests (tests/web.rs, tests/e2e-prometheus.sh):
#   ca.pem, ca.key         a test CA (the key is kept so that more certificates can be made)
#   server.pem, server.key  localhost / 127.0.0.1 / ::1, issued by the CA
#   client.pem, client.key  a client certificate (CN=scraper), issued by the CA
#   rogue.pem, rogue.key    a self-signed client certificate no CA here vouches for
# All P-256, valid for 100 years; made with OpenSSL 3.0. Run from anywhere: bash tests/web/make.sh
set -euo pipefail
cd "$(dirname "$0")"
days=36500
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
ec ca.key
openssl req -x509 -new -key ca.key -sha256 -days $days -subj "/CN=corswatch test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.pem
issue() { # name subject extensions
  ec "$1.key"
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
  printf '%s\n' "$3" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days $days \
    -extfile "$1.ext" -out "$1.pem"
  rm -f "$1.csr" "$1.ext"
}
issue server "/CN=localhost" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"
issue client "/CN=scraper" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
rm -f ca.srl
ec rogue.key
openssl req -x509 -new -key rogue.key -sha256 -days $days -subj "/CN=rogue" \
  -addext "extendedKeyUsage=clientAuth" -out rogue.pem
