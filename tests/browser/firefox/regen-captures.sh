#!/usr/bin/env bash
# Regenerates the committed Firefox recordings in captures/ from one fresh firefox-esr run:
#   captures/firefox-ground-truth.json  Firefox's own verdict per scenario
#   captures/firefox-devtools.har       HAR exported by Firefox's own DevTools (Network panel)
#   captures/firefox-loopback.pcap      tcpdump of the loopback traffic
# Run as root after tests/browser/firefox/setup.sh. Then review `git diff --stat captures/`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
tmp="$(mktemp -d /tmp/corswatch-firefox-regen.XXXXXX)"
# Fixed ports (others than the Chromium run's), so that regenerated captures differ only where
# Firefox's behaviour or the scenarios changed.
export CW_PAGE_PORT="${CW_PAGE_PORT:-47201}" CW_API_PORT="${CW_API_PORT:-47202}"
export CW_THIRD_PORT="${CW_THIRD_PORT:-47203}" CW_CLOSED_PORT="${CW_CLOSED_PORT:-47204}"
"$here/run.sh" "$tmp" >/dev/null
[ -s "$tmp/firefox-devtools.har" ] || { echo "Firefox's DevTools exported no HAR" >&2; exit 1; }
cp "$tmp/ground-truth.json" "$root/captures/firefox-ground-truth.json"
# Same JSON as the export, re-serialized without its 2-space indentation (halves the size).
node -e 'const fs=require("fs"); fs.writeFileSync(process.argv[2], JSON.stringify(JSON.parse(fs.readFileSync(process.argv[1], "utf8"))) + "\n")' \
  "$tmp/firefox-devtools.har" "$root/captures/firefox-devtools.har"
cp "$tmp/loopback.pcap" "$root/captures/firefox-loopback.pcap"
chmod 644 "$root"/captures/firefox-*
node -e 'const d=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")), m=d.meta; console.log(`firefox ${m.browser_version}, puppeteer-core ${m.puppeteer_core}, ${m.date}, ${d.scenarios.length} scenarios, ${d.scenarios.filter((s) => s.blocked).length} blocked`)' \
  "$root/captures/firefox-ground-truth.json"
ls -l "$root"/captures/firefox-*
rm -rf "$tmp"
