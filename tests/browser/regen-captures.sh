#!/usr/bin/env bash
# Regenerates the committed recordings in captures/ from a fresh real-Chromium run:
#   captures/chromium-ground-truth.json  Chromium's verdict per scenario
#   captures/chromium-devtools.har       Chrome-DevTools-style HAR (built from CDP events)
#   captures/chromium-playwright.har     Playwright recordHar
#   captures/chromium-loopback.pcap      tcpdump of the loopback traffic
# Run as root after tests/browser/setup.sh. Then review `git diff --stat captures/`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tmp="$(mktemp -d /tmp/corswatch-regen.XXXXXX)"
"$here/run.sh" "$tmp" >/dev/null
cp "$tmp/ground-truth.json" "$root/captures/chromium-ground-truth.json"
cp "$tmp/devtools.har" "$root/captures/chromium-devtools.har"
cp "$tmp/playwright.har" "$root/captures/chromium-playwright.har"
cp "$tmp/loopback.pcap" "$root/captures/chromium-loopback.pcap"
chmod 644 "$root"/captures/chromium-*
python3 - "$root/captures/chromium-ground-truth.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
m = d["meta"]
print(f"chromium {m['browser_version']}, playwright-core {m['playwright_core']}, {m['date']}, {len(d['scenarios'])} scenarios")
PY
ls -l "$root"/captures/chromium-*
rm -rf "$tmp"
