#!/usr/bin/env bash
# Installs what the Firefox ground truth needs on a fresh Debian machine (run as root): Debian's
# firefox-esr (no browser download: puppeteer-core drives /usr/bin/firefox-esr), tcpdump for the
# loopback capture, and puppeteer-core from npm (version pinned in package-lock.json). Idempotent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if ! command -v firefox-esr >/dev/null || ! command -v tcpdump >/dev/null; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends firefox-esr tcpdump
fi
if [ ! -d "$here/node_modules/puppeteer-core" ]; then
  # puppeteer-core downloads no browser; PUPPETEER_SKIP_DOWNLOAD makes sure of it.
  (cd "$here" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi
firefox-esr --version 2>/dev/null | head -1
node -e "console.log('puppeteer-core', require('$here/node_modules/puppeteer-core/package.json').version)"
