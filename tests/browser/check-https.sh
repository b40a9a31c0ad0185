#!/usr/bin/env bash
# One command for CI: records a fresh HTTPS + HTTP/2 real-Chromium run (tests/browser/run-https.sh)
# and runs the HTTPS agreement tests of tests/browser.rs against it. Root, after setup.sh, with
# nginx installed (editcap optional: without it the pcapng test reads the committed file).
# Usage: tests/browser/check-https.sh [OUTDIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$(mktemp -d /tmp/corswatch-check-https.XXXXXX)}"
"$here/run-https.sh" "$out" >/dev/null
cd "$root"
CW_HTTPS_CAPTURES_DIR="$out" cargo test --test tests browser::https -- --include-ignored --nocapture
