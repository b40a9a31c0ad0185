#!/usr/bin/env bash
# Installs what the real-browser ground truth needs on a fresh Debian machine (run as root):
# Debian's Chromium (no browser download: playwright-core drives /usr/bin/chromium), tcpdump for the
# loopback capture, and playwright-core from npm (version pinned in package-lock.json).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if ! command -v chromium >/dev/null || ! command -v tcpdump >/dev/null; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium tcpdump
fi
if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && npm ci --no-audit --no-fund)
fi
chromium --version 2>/dev/null | head -1
node -e "console.log('playwright-core', require('$here/node_modules/playwright-core/package.json').version)"
