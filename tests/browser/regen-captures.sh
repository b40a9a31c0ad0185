#!/usr/bin/env bash
# Regenerates the committed recordings in captures/ from a fresh real-Chromium run:
#   captures/chromium-ground-truth.json  Chromium's verdict per scenario
#   captures/chromium-devtools.har       HAR exported by Chromium's own DevTools front end
#   captures/chromium-devtools-cdp.har   Chrome-DevTools-style HAR built from CDP events
#   captures/chromium-playwright.har     Playwright recordHar
#   captures/chromium-loopback.pcap      tcpdump of the loopback traffic
# Run as root after tests/browser/setup.sh. Then review `git diff --stat captures/`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tmp="$(mktemp -d /tmp/corswatch-regen.XXXXXX)"
# Fixed ports, so that regenerated captures (and the reports derived from them) differ only where
# Chromium's behaviour or the scenarios changed.
export CW_PAGE_PORT="${CW_PAGE_PORT:-47101}" CW_API_PORT="${CW_API_PORT:-47102}"
export CW_THIRD_PORT="${CW_THIRD_PORT:-47103}" CW_CLOSED_PORT="${CW_CLOSED_PORT:-47104}"
"$here/run.sh" "$tmp" >/dev/null
cp "$tmp/ground-truth.json" "$root/captures/chromium-ground-truth.json"
[ -s "$tmp/devtools-frontend.har" ] || { echo "the DevTools front end exported no HAR" >&2; exit 1; }
# Same JSON, re-serialized without the front end's 2-space indentation (halves the size).
node -e 'const fs=require("fs"); fs.writeFileSync(process.argv[2], JSON.stringify(JSON.parse(fs.readFileSync(process.argv[1], "utf8"))) + "\n")' \
  "$tmp/devtools-frontend.har" "$root/captures/chromium-devtools.har"
cp "$tmp/devtools.har" "$root/captures/chromium-devtools-cdp.har"
cp "$tmp/playwright.har" "$root/captures/chromium-playwright.har"
cp "$tmp/loopback.pcap" "$root/captures/chromium-loopback.pcap"
chmod 644 "$root"/captures/chromium-*
node -e 'const d=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")), m=d.meta; console.log(`chromium ${m.browser_version}, playwright-core ${m.playwright_core}, ${m.date}, ${d.scenarios.length} scenarios`)' \
  "$root/captures/chromium-ground-truth.json"
ls -l "$root"/captures/chromium-*
rm -rf "$tmp"
