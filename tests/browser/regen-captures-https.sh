#!/usr/bin/env bash
# Regenerates the committed HTTPS + HTTP/2 recordings in captures/ from a fresh real-Chromium run
# (tests/browser/run-https.sh: nginx terminating TLS 1.3 + h2 in front of the scenario server):
#   captures/chromium-https-ground-truth.json  Chromium's verdict per scenario, over HTTPS
#   captures/chromium-https-loopback.pcap      tcpdump of the encrypted loopback traffic
#   captures/chromium-https-keys.log           Chromium's NSS key log of that traffic (test secrets)
#   captures/chromium-https-loopback.pcapng    the pcap with the key log embedded (editcap)
#   captures/chromium-https-devtools.har       HAR exported by Chromium's DevTools front end
# Run as root after tests/browser/setup.sh, with nginx and editcap (wireshark-common) installed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tmp="$(mktemp -d /tmp/corswatch-regen-https.XXXXXX)"
export CW_HTTPS_PAGE_PORT="${CW_HTTPS_PAGE_PORT:-47111}" CW_HTTPS_API_PORT="${CW_HTTPS_API_PORT:-47112}"
export CW_HTTPS_THIRD_PORT="${CW_HTTPS_THIRD_PORT:-47113}" CW_HTTPS_CLOSED_PORT="${CW_HTTPS_CLOSED_PORT:-47114}"
"$here/run-https.sh" "$tmp" >/dev/null
[ -s "$tmp/devtools-frontend.har" ] || { echo "the DevTools front end exported no HAR" >&2; exit 1; }
[ -s "$tmp/loopback-secrets.pcapng" ] || { echo "no pcapng with secrets (is editcap installed?)" >&2; exit 1; }
cp "$tmp/ground-truth.json" "$root/captures/chromium-https-ground-truth.json"
cp "$tmp/loopback.pcap" "$root/captures/chromium-https-loopback.pcap"
cp "$tmp/keys.log" "$root/captures/chromium-https-keys.log"
cp "$tmp/loopback-secrets.pcapng" "$root/captures/chromium-https-loopback.pcapng"
node -e 'const fs=require("fs"); fs.writeFileSync(process.argv[2], JSON.stringify(JSON.parse(fs.readFileSync(process.argv[1], "utf8"))) + "\n")' \
  "$tmp/devtools-frontend.har" "$root/captures/chromium-https-devtools.har"
chmod 644 "$root"/captures/chromium-https-*
node -e 'const d=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")), m=d.meta; console.log(`chromium ${m.browser_version}, playwright-core ${m.playwright_core}, ${m.date}, ${d.scenarios.length} scenarios`)' \
  "$root/captures/chromium-https-ground-truth.json"
editcap --version 2>/dev/null | head -1 || true
nginx -v
ls -l "$root"/captures/chromium-https-*
rm -rf "$tmp"
