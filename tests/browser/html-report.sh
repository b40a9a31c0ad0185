#!/usr/bin/env bash
# The HTML report in real Chromium: builds corswatch, writes the HTML report of the real recordings
# in captures/ (the DevTools HAR and the loopback pcap), and has html-report.mjs open each with
# JavaScript on and off (see there for what it checks). Screenshots go to target/ci-artifacts/html/.
# Needs tests/browser/setup.sh first (Debian's Chromium, playwright-core). Bounded in time.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=${ARTIFACTS:-$ROOT/target/ci-artifacts/html}
mkdir -p "$OUT"
[ -d tests/browser/node_modules/playwright-core ] || tests/browser/setup.sh
BIN=${CORSWATCH_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/corswatch}
if [ ! -x "$BIN" ] || [ -n "$(find src Cargo.toml build.rs -newer "$BIN" -print -quit)" ]; then
  cargo build --release --quiet
fi
specs=()
for cap in chromium-devtools.har chromium-loopback.pcap; do
  name=${cap%.*}
  "$BIN" analyze "captures/$cap" --format html -o "$OUT/$name.html" || [ $? = 2 ]
  "$BIN" analyze "captures/$cap" --format json -o "$OUT/$name.json" || [ $? = 2 ]
  # What the page must show: totals, and the most frequent blocked kind with its message.
  python3 - "$OUT/$name.json" "$OUT/$name.expect.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
k = next(k for k in r["kinds"] if k["class"] == "blocked")
json.dump({"blocked": r["totals"]["blocked"], "cross_origin": r["totals"]["cross_origin"],
           "kind": k["kind"], "title": k["title"], "message": k["message"],
           "fix": True}, open(sys.argv[2], "w"))
PY
  echo "$cap: $(wc -c <"$OUT/$name.html") bytes of HTML"
  specs+=("$OUT/$name.html:$OUT/$name.expect.json")
done
timeout 240 node tests/browser/html-report.mjs --artifacts "$OUT" "${specs[@]}"
echo "artifacts (reports and screenshots): $OUT"
