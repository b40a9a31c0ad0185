#!/usr/bin/env bash
# The corswatch lab, one command (issue 9, items 4 and 5): real nginx, Apache, Express + cors,
# Flask + flask-cors, FastAPI/Starlette and Django + django-cors-headers, misconfigured per the
# troubleshooting guide, judged by real Chromium; corswatch's verdicts (pcap and DevTools HAR)
# must equal Chromium's, and every fix corswatch prints, applied as it is, must make Chromium
# allow the request; and (group `policy`, issue 14) a policy suggested from a misconfigured run,
# rendered per stack and applied, must get from Chromium the verdicts corswatch's what-if
# predicted. See tests/lab/README.md.
#
# Run as root on Debian 12 (installs what it needs: apt, a venv, npm ci). Loopback only; every
# process is stopped by PID; bounded by CW_LAB_TIMEOUT seconds (default 600). Exit 1 on any
# disagreement or a fix that does not work.
# Env: CW_LAB_WORK (work dir, default target/lab), CW_LAB_ONLY (groups, comma-separated),
#      CW_LAB_HOP_AWARE=0 (only report the hop-aware assertions), CORSWATCH (a built binary).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${CW_LAB_WORK:-$root/target/lab}"
mkdir -p "$work"
start=$SECONDS

if [ "$(id -u)" != 0 ]; then
  echo "tests/lab/run.sh: needs root (tcpdump on loopback, apt-get)" >&2
  exit 1
fi

need=()
for c in nginx:nginx apache2:apache2 htpasswd:apache2-utils chromium:chromium tcpdump:tcpdump; do
  command -v "${c%%:*}" >/dev/null || need+=("${c#*:}")
done
[ -x /usr/sbin/nginx ] || need+=(nginx)
[ -x /usr/sbin/apache2 ] || need+=(apache2)
if [ "${#need[@]}" -gt 0 ]; then
  # Debian starts nginx and Apache on port 80 when installing them: keep it from doing so.
  guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    guard=1
  fi
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
  [ -z "$guard" ] || rm -f /usr/sbin/policy-rc.d
fi

if [ ! -x "$work/venv/bin/python" ] || ! cmp -s "$here/requirements.txt" "$work/venv/requirements.txt"; then
  rm -rf "$work/venv"
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
  cp "$here/requirements.txt" "$work/venv/requirements.txt"
fi
if [ ! -d "$here/node_modules/express" ] || [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && npm ci --no-audit --no-fund)
fi

bin="${CORSWATCH:-}"
if [ -z "$bin" ]; then
  (cd "$root" && nice -n 10 cargo build --release --quiet)
  bin="$root/target/release/corswatch"
fi

echo "== lab: $(nginx -v 2>&1), $(apache2 -v | head -1), $(chromium --version 2>/dev/null | head -1), node $(node --version)" >&2
echo "== setup took $((SECONDS - start)) s" >&2
set +e
timeout -k 10 "${CW_LAB_TIMEOUT:-600}" node "$here/lab.mjs" --corswatch "$bin" --work "$work" \
  --python "$work/venv/bin/python" ${CW_LAB_ONLY:+--only "$CW_LAB_ONLY"}
rc=$?
set -e
echo "== lab took $((SECONDS - start)) s (exit $rc); details in $work/lab-summary.json" >&2
exit "$rc"
