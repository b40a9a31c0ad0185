#!/usr/bin/env bash
# Firefox ground truth, one command: builds and starts the scenario server, starts tcpdump on
# loopback, drives Debian's firefox-esr through every scenario (firefox/run.mjs), stops everything it
# started (by PID). Leaves ground-truth.json, firefox-devtools.har (exported by Firefox's DevTools),
# loopback.pcap (and server-log.jsonl, rdp-events.jsonl, bidi-log.jsonl, ports.json) in OUTDIR
# (default: a new temp dir). Run as root (tcpdump) after tests/browser/firefox/setup.sh. Bounded: the
# driver is killed after $CW_TIMEOUT seconds (default 480; a full run takes about 4 minutes).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="${1:-$(mktemp -d /tmp/corswatch-firefox.XXXXXX)}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
timeout_s="${CW_TIMEOUT:-480}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

server_pid=""
tcpdump_pid=""
cleanup() {
  if [ -n "$tcpdump_pid" ] && kill -0 "$tcpdump_pid" 2>/dev/null; then
    kill -INT "$tcpdump_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$tcpdump_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$tcpdump_pid" 2>/dev/null || true
    wait "$tcpdump_pid" 2>/dev/null || true
  fi
  # The browser the driver launched, if the driver was killed before it could close it.
  if [ -s "$out/firefox.pid" ]; then
    ff_pid="$(cat "$out/firefox.pid")"
    if kill -0 "$ff_pid" 2>/dev/null && grep -q firefox "/proc/$ff_pid/cmdline" 2>/dev/null; then
      kill "$ff_pid" 2>/dev/null || true
    fi
  fi
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT

echo "== building the scenario server" >&2
(cd "$root" && cargo build --quiet --example scenario_server)
server_bin="$CARGO_TARGET_DIR/debug/examples/scenario_server"

rm -f "$out/server-log.jsonl" "$out/ports.json" "$out/loopback.pcap"
"$server_bin" --log "$out/server-log.jsonl" > "$out/ports.json" 2> "$out/server.err" &
server_pid=$!
. "$here/../server-wait.sh"
wait_for_server "$out" "$server_pid"
read -r p1 p2 p3 pc < <(node -e 'const d=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); console.log(d.page, d.api, d.third, d.closed)' "$out/ports.json")
echo "== scenario server pid $server_pid, ports page=$p1 api=$p2 third=$p3 closed=$pc" >&2

# The scenario list, fetched before the capture so that it is not part of the recorded traffic.
node -e 'fetch(process.argv[1]).then((r) => r.text()).then((t) => require("fs").writeFileSync(process.argv[2], t))' \
  "http://127.0.0.1:$p1/scenarios.json" "$out/scenarios.json"

if command -v tcpdump >/dev/null && [ "${CW_NO_PCAP:-0}" != 1 ]; then
  tcpdump -i lo --immediate-mode -s 0 -U -w "$out/loopback.pcap" \
    "tcp port $p1 or tcp port $p2 or tcp port $p3 or tcp port $pc" 2> "$out/tcpdump.log" &
  tcpdump_pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$out/tcpdump.log" 2>/dev/null && break; sleep 0.05; done
  echo "== tcpdump pid $tcpdump_pid" >&2
else
  echo "== tcpdump not available (or CW_NO_PCAP=1): no pcap" >&2
fi

echo "== driving firefox" >&2
# puppeteer-core kills the browser it launched when the driver exits; `timeout` bounds the whole.
timeout -k 10 "$timeout_s" node "$here/run.mjs" --ports "$out/ports.json" --server-log "$out/server-log.jsonl" \
  --scenarios "$out/scenarios.json" --out "$out" ${CW_ONLY:+--only "$CW_ONLY"} 2> >(tee "$out/driver.log" >&2)
sleep 0.3
alive=1
kill -0 "$server_pid" 2>/dev/null || alive=0
cleanup
if [ -s "$out/server.err" ]; then echo "== scenario server stderr:" >&2; cat "$out/server.err" >&2; fi
[ "$alive" = 1 ] || { echo "scenario server died during the run" >&2; exit 1; }
server_pid=""
tcpdump_pid=""
ls -l "$out" >&2
echo "$out"
