#!/bin/sh
# Records captures/lab/reflecting-curl.pcap: a server that reflects any Origin into
# Access-Control-Allow-Origin (with credentials), asked by curl with five page origins,
# captured on loopback by tcpdump. Root (tcpdump). About five seconds.
set -eu
cd "$(dirname "$0")/../.."
PORT=${PORT:-47190}
OUT=captures/lab/reflecting-curl.pcap
python3 - "$PORT" <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def cors(self, code):
        self.send_response(code)
        o = self.headers.get("Origin")
        if o:
            self.send_header("Access-Control-Allow-Origin", o)
            self.send_header("Access-Control-Allow-Credentials", "true")
        if self.command == "OPTIONS":
            self.send_header("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE")
            self.send_header("Access-Control-Allow-Headers", self.headers.get("Access-Control-Request-Headers", ""))
        self.send_header("Cache-Control", "max-age=60")
        self.send_header("Content-Type", "application/json")
        body = b"" if self.command == "OPTIONS" else b'{"ok":true}'
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self): self.cors(200)
    def do_PUT(self): self.cors(200)
    def do_OPTIONS(self): self.cors(204)
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
SERVER=$!
tcpdump -i lo --immediate-mode -s 0 -U -w "$OUT" "tcp port $PORT" 2>/dev/null &
DUMP=$!
sleep 1.5
API=http://127.0.0.1:$PORT
for o in https://app.example.com https://admin.example.com https://evil.example https://attacker.test https://app.example.com.evil.net; do
  curl -s -o /dev/null -H "Origin: $o" -H "Cookie: session=canary" "$API/v1/profile"
done
curl -s -o /dev/null -X OPTIONS -H "Origin: https://app.example.com" \
  -H "Access-Control-Request-Method: PUT" -H "Access-Control-Request-Headers: content-type" "$API/v1/things/42"
curl -s -o /dev/null -X PUT -H "Origin: https://app.example.com" -H "Content-Type: application/json" \
  -H "Cookie: session=canary" --data '{}' "$API/v1/things/42"
sleep 1
kill -INT "$DUMP"; wait "$DUMP" || true
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
echo "wrote $OUT"
