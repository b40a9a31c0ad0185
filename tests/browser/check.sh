#!/usr/bin/env bash
# One command for CI: records a fresh real-Chromium run (tests/browser/run.sh) and runs the
# agreement tests of tests/browser.rs against it, ignored ones included. Root, after setup.sh.
# Usage: tests/browser/check.sh [OUTDIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$(mktemp -d /tmp/corswatch-check.XXXXXX)}"
"$here/run.sh" "$out" >/dev/null
cd "$root"
CW_CAPTURES_DIR="$out" cargo test --test tests browser -- --include-ignored --nocapture
