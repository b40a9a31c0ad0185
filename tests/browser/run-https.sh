#!/usr/bin/env bash
# Real-browser ground truth over HTTPS + HTTP/2, one command: nginx (Debian's, `ssl http2`)
# terminates TLS on the three public origins in front of the plaintext scenario server; Chromium
# trusts the self-signed certificate by its SPKI hash and writes its TLS secrets
# (--ssl-key-log-file); tcpdump records the encrypted loopback traffic with a 64 MiB buffer and the
# run fails if the kernel dropped any packet (a gap stops decryption). Stops everything it started
# (by PID).
#
# Leaves in OUTDIR (default: a new temp dir) what run.sh leaves (ground-truth.json, playwright.har,
# devtools-frontend.har, devtools.har, server-log.jsonl, cdp-events.jsonl, ports.json) plus
# loopback.pcap (TLS), keys.log (NSS key log), loopback-secrets.pcapng (the pcap with the key log
# embedded by `editcap --inject-secrets`, when editcap is installed) and nginx/ (config, logs).
# Run as root (tcpdump) after tests/browser/setup.sh and with nginx installed. Bounded: the driver
# is killed after $CW_TIMEOUT seconds (default 300).
#
# Ports: CW_HTTPS_PAGE_PORT, CW_HTTPS_API_PORT, CW_HTTPS_THIRD_PORT, CW_HTTPS_CLOSED_PORT (public,
# TLS), free ones by default; the scenario server's own listeners take free ports.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$(mktemp -d /tmp/corswatch-browser-https.XXXXXX)}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
timeout_s="${CW_TIMEOUT:-300}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
command -v nginx >/dev/null || { echo "nginx is needed (apt-get install nginx-light or nginx)" >&2; exit 1; }
command -v openssl >/dev/null || { echo "openssl is needed" >&2; exit 1; }

server_pid=""
tcpdump_pid=""
nginx_pid=""
cleanup() {
  if [ -n "$tcpdump_pid" ] && kill -0 "$tcpdump_pid" 2>/dev/null; then
    kill -INT "$tcpdump_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$tcpdump_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$tcpdump_pid" 2>/dev/null || true
    wait "$tcpdump_pid" 2>/dev/null || true
  fi
  if [ -n "$nginx_pid" ] && kill -0 "$nginx_pid" 2>/dev/null; then
    kill -QUIT "$nginx_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$nginx_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$nginx_pid" 2>/dev/null || true
    wait "$nginx_pid" 2>/dev/null || true
  fi
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
q1="${CW_HTTPS_PAGE_PORT:-$(free_port)}"
q2="${CW_HTTPS_API_PORT:-$(free_port)}"
q3="${CW_HTTPS_THIRD_PORT:-$(free_port)}"
qc="${CW_HTTPS_CLOSED_PORT:-$(free_port)}"

echo "== certificate (self-signed, EC P-256; trusted by Chromium through its SPKI hash only)" >&2
mkdir -p "$out/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7 \
  -subj "/CN=corswatch scenario server" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:127.0.0.2,IP:::1" \
  -keyout "$out/tls/key.pem" -out "$out/tls/cert.pem" 2>/dev/null
spki="$(openssl x509 -in "$out/tls/cert.pem" -pubkey -noout | openssl pkey -pubin -outform der \
  | openssl dgst -sha256 -binary | base64)"

echo "== building the scenario server" >&2
(cd "$root" && cargo build --quiet --example scenario_server)
server_bin="$CARGO_TARGET_DIR/debug/examples/scenario_server"
rm -f "$out/server-log.jsonl" "$out/ports.json" "$out/loopback.pcap" "$out/keys.log"
# The listeners take free ports; the browser sees the public HTTPS origins.
CW_PAGE_PORT=0 CW_API_PORT=0 CW_THIRD_PORT=0 CW_CLOSED_PORT="$qc" \
CW_PUBLIC_ORIGINS="https://localhost:$q1,https://127.0.0.1:$q2,https://127.0.0.2:$q3" \
  "$server_bin" --log "$out/server-log.jsonl" > "$out/ports.json" 2> "$out/server.err" &
server_pid=$!
. "$here/server-wait.sh"
wait_for_server "$out" "$server_pid"
read -r p1 p2 p3 < <(node -e 'const d=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).internal; console.log(d.page, d.api, d.third)' "$out/ports.json")
echo "== scenario server pid $server_pid, listeners $p1 $p2 $p3; public https ports $q1 $q2 $q3, closed $qc" >&2

echo "== nginx $(nginx -v 2>&1 | sed 's/.*\///'): TLS 1.2/1.3 and h2 on the public ports" >&2
mkdir -p "$out/nginx/tmp"
cat > "$out/nginx/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $out/nginx/nginx.pid;
error_log $out/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log $out/nginx/access.log;
  client_body_temp_path $out/nginx/tmp/body;
  proxy_temp_path $out/nginx/tmp/proxy;
  fastcgi_temp_path $out/nginx/tmp/fastcgi;
  uwsgi_temp_path $out/nginx/tmp/uwsgi;
  scgi_temp_path $out/nginx/tmp/scgi;
  ssl_certificate $out/tls/cert.pem;
  ssl_certificate_key $out/tls/key.pem;
  ssl_protocols TLSv1.2 TLSv1.3;
  # Headers pass through as the scenario server wrote them (duplicates, odd names, Location).
  ignore_invalid_headers off;
  underscores_in_headers on;
  large_client_header_buffers 8 64k;
  proxy_http_version 1.1;
  proxy_redirect off;
  proxy_buffering off;
  proxy_set_header Host \$http_host;
  proxy_set_header Connection "";
  proxy_pass_header Server;
  proxy_pass_header Date;
  keepalive_timeout 75s;
  server { listen 127.0.0.1:$q1 ssl http2; listen [::1]:$q1 ssl http2;
           location / { proxy_pass http://127.0.0.1:$p1; } }
  server { listen 127.0.0.1:$q2 ssl http2; location / { proxy_pass http://127.0.0.1:$p2; } }
  server { listen 127.0.0.2:$q3 ssl http2; location / { proxy_pass http://127.0.0.2:$p3; } }
}
EOF
nginx -p "$out/nginx" -c "$out/nginx/nginx.conf" 2> "$out/nginx/start.err" &
nginx_pid=$!
for _ in $(seq 100); do
  curl -sk --max-time 1 -o /dev/null "https://127.0.0.1:$q2/" 2>/dev/null && break
  kill -0 "$nginx_pid" 2>/dev/null || { cat "$out/nginx/start.err" >&2; exit 1; }
  sleep 0.05
done

# The scenario list, fetched from the listener before the capture (not part of the recording).
node -e 'fetch(process.argv[1]).then((r) => r.text()).then((t) => require("fs").writeFileSync(process.argv[2], t))' \
  "http://127.0.0.1:$p1/scenarios.json" "$out/scenarios.json"

# The public ports only (TCP, and UDP for any QUIC attempt): the recording holds the encrypted
# traffic and nothing of the plaintext hop behind nginx.
filter="port $q1 or port $q2 or port $q3 or port $qc"
tcpdump -i lo -B 65536 --immediate-mode -s 0 -U -w "$out/loopback.pcap" "$filter" 2> "$out/tcpdump.log" &
tcpdump_pid=$!
for _ in $(seq 100); do grep -q "listening on" "$out/tcpdump.log" 2>/dev/null && break; sleep 0.05; done
echo "== tcpdump pid $tcpdump_pid (-B 65536)" >&2

echo "== driving chromium over https" >&2
CW_CHROMIUM_ARGS="[\"--ignore-certificate-errors-spki-list=$spki\",\"--ssl-key-log-file=$out/keys.log\"]" \
  timeout -k 10 "$timeout_s" node "$here/run.mjs" --ports "$out/ports.json" --server-log "$out/server-log.jsonl" \
  --scenarios "$out/scenarios.json" --out "$out" ${CW_ONLY:+--only "$CW_ONLY"}
sleep 0.5
alive=1
kill -0 "$server_pid" 2>/dev/null || alive=0
kill -0 "$nginx_pid" 2>/dev/null || alive=0
cleanup
server_pid=""
nginx_pid=""
tcpdump_pid=""
if [ -s "$out/server.err" ]; then echo "== scenario server stderr:" >&2; cat "$out/server.err" >&2; fi
[ "$alive" = 1 ] || { echo "scenario server or nginx died during the run" >&2; exit 1; }
# A packet the kernel dropped is a gap in a TLS stream: everything after it in that connection is
# lost to decryption. Such a recording is not kept.
cat "$out/tcpdump.log" >&2
dropped="$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$out/tcpdump.log")"
[ "${dropped:-missing}" = 0 ] || { echo "tcpdump: ${dropped:-unknown} packets dropped by the kernel: run is invalid" >&2; exit 1; }
[ -s "$out/keys.log" ] || { echo "Chromium wrote no key log" >&2; exit 1; }
if command -v editcap >/dev/null; then
  editcap --inject-secrets "tls,$out/keys.log" "$out/loopback.pcap" "$out/loopback-secrets.pcapng"
else
  echo "== editcap not installed (Debian: wireshark-common): no pcapng with embedded secrets" >&2
fi
ls -l "$out" >&2
echo "$out"
