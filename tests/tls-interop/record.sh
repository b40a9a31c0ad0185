#!/usr/bin/env bash
# Records real TLS from two independent implementations for the decryption tests: curl (OpenSSL,
# nghttp2) as the client, with SSLKEYLOGFILE, against Debian's nginx with a throwaway certificate,
# over every suite corswatch decrypts: TLS 1.3 AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305 and
# TLS 1.2 ECDHE-ECDSA and ECDHE-RSA with AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305, each as
# HTTP/1.1 and HTTP/2, one CORS preflight and one GET per connection.
# Writes tests/tls-interop/curl-nginx.pcap and curl-nginx.keys (test secrets). Root (tcpdump).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d /tmp/corswatch-tls-interop.XXXXXX)"
nginx_pid=""
tcpdump_pid=""
cleanup() {
  [ -n "$tcpdump_pid" ] && kill -INT "$tcpdump_pid" 2>/dev/null && wait "$tcpdump_pid" 2>/dev/null || true
  [ -n "$nginx_pid" ] && kill -QUIT "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
port_ec=47121
port_rsa=47122
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$work/ec.key" -out "$work/ec.pem" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$work/rsa.key" -out "$work/rsa.pem" 2>/dev/null
mkdir -p "$work/tmp"
cat > "$work/nginx.conf" <<EOF
daemon off; worker_processes 1; pid $work/nginx.pid; error_log $work/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $work/tmp/b; proxy_temp_path $work/tmp/p; fastcgi_temp_path $work/tmp/f;
  uwsgi_temp_path $work/tmp/u; scgi_temp_path $work/tmp/s;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305;
  server {
    listen 127.0.0.1:$port_ec ssl http2;
    ssl_certificate $work/ec.pem; ssl_certificate_key $work/ec.key;
    location / {
      if (\$request_method = OPTIONS) {
        add_header Access-Control-Allow-Origin https://app.example always;
        add_header Access-Control-Allow-Methods "GET, PUT" always;
        return 204;
      }
      add_header Access-Control-Allow-Origin https://other.example always;
      return 200 "ok\n";
    }
  }
  server {
    listen 127.0.0.1:$port_rsa ssl http2;
    ssl_certificate $work/rsa.pem; ssl_certificate_key $work/rsa.key;
    location / {
      if (\$request_method = OPTIONS) {
        add_header Access-Control-Allow-Origin https://app.example always;
        add_header Access-Control-Allow-Methods "GET, PUT" always;
        return 204;
      }
      add_header Access-Control-Allow-Origin https://other.example always;
      return 200 "ok\n";
    }
  }
}
EOF
nginx -p "$work" -c "$work/nginx.conf" &
nginx_pid=$!
sleep 0.5
tcpdump -i lo -B 65536 --immediate-mode -s 0 -U -w "$work/capture.pcap" "tcp port $port_ec or tcp port $port_rsa" 2> "$work/tcpdump.log" &
tcpdump_pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/tcpdump.log" 2>/dev/null && break; sleep 0.05; done
export SSLKEYLOGFILE="$work/keys.log"
n=0
run() { # port, http flag, curl TLS options...
  local port=$1 http=$2
  shift 2
  n=$((n + 1))
  curl -sk "$http" "$@" -o /dev/null -o /dev/null \
    -X OPTIONS -H "Origin: https://app.example" -H "Access-Control-Request-Method: PUT" \
    "https://127.0.0.1:$port/s/$n/preflight" \
    --next -sk "$http" "$@" -H "Origin: https://app.example" "https://127.0.0.1:$port/s/$n/get"
}
for http in --http1.1 --http2; do
  for c in TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256; do
    run "$port_ec" "$http" --tlsv1.3 --tls13-ciphers "$c"
  done
  for c in ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 ECDHE-ECDSA-CHACHA20-POLY1305; do
    run "$port_ec" "$http" --tls-max 1.2 --ciphers "$c"
  done
  for c in ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES256-GCM-SHA384 ECDHE-RSA-CHACHA20-POLY1305; do
    run "$port_rsa" "$http" --tls-max 1.2 --ciphers "$c"
  done
done
sleep 0.5
kill -INT "$tcpdump_pid"; wait "$tcpdump_pid" 2>/dev/null || true; tcpdump_pid=""
cat "$work/tcpdump.log" >&2
grep -q "^0 packets dropped by kernel" "$work/tcpdump.log" || { echo "kernel drops: not kept" >&2; exit 1; }
cp "$work/capture.pcap" "$here/curl-nginx.pcap"
cp "$work/keys.log" "$here/curl-nginx.keys"
chmod 644 "$here/curl-nginx.pcap" "$here/curl-nginx.keys"
echo "$n connections, $(curl --version | head -1 | cut -d' ' -f1-5), $(nginx -v 2>&1)" >&2
