#!/usr/bin/env bash
# One command for CI: records a fresh real-Firefox run (tests/browser/firefox/run.sh) and runs the
# Firefox tests of tests/firefox.rs against it (ground truth shape, engine differences against the
# committed Chromium recording, corswatch's agreement with Firefox). Root, after setup.sh.
# Bounded: the browser run by CW_TIMEOUT (default 480 s), the tests by CW_TEST_TIMEOUT (600 s).
# The #[ignore]d "agrees everywhere" targets are not run (corswatch's verdicts are Chromium's
# today); run them with `cargo test --test tests firefox:: -- --ignored`.
# Usage: tests/browser/firefox/check.sh [OUTDIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="${1:-$(mktemp -d /tmp/corswatch-firefox-check.XXXXXX)}"
"$here/run.sh" "$out" >/dev/null
cd "$root"
CW_FIREFOX_CAPTURES_DIR="$out" timeout -k 10 "${CW_TEST_TIMEOUT:-600}" \
  cargo test --test tests firefox:: -- --nocapture
