#!/usr/bin/env bash
# Floods against the memory budget (issue #13): each flood capture is generated and piped into
# `corswatch analyze -` (and one into `watch --replay`), peak RSS is read with GNU time, and it
# must stay within the budget; the JSON report's capture health must count the evictions.
#
#   tests/floods.sh                 the suite, with ./target/release/{corswatch,examples/gen_flood}
#   FLOOD_SCALE=0.25 tests/floods.sh  smaller floods (a quarter of each count)
#   CORSWATCH_BIN=... GEN_FLOOD=... FLOOD_BUDGET=64M FLOOD_CHECK=0 (measure only)
#   LIVE_BIN=target/release/corswatch (built with --features live): also floods a live capture,
#     `watch -i lo` while tcpreplay sends the flood at top speed (root and tcpreplay needed;
#     the floods use loopback addresses only); peak RSS from /proc, evictions from /metrics
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${CORSWATCH_BIN:-./target/release/corswatch}
gen=${GEN_FLOOD:-./target/release/examples/gen_flood}
budget=${FLOOD_BUDGET:-64M}
scale=${FLOOD_SCALE:-1}
check=${FLOOD_CHECK:-1}
budget_flag=()
[ -n "${FLOOD_BUDGET:-}" ] && budget_flag=(--max-memory "$budget")
case "$budget" in
  *G) budget_kb=$(( ${budget%G} << 20 )) ;;
  *M) budget_kb=$(( ${budget%M} << 10 )) ;;
  *) echo "FLOOD_BUDGET: give NM or NG"; exit 2 ;;
esac
for f in "$bin" "$gen"; do
  [ -x "$f" ] || { echo "missing $f (cargo build --release --features testkit --example gen_flood)"; exit 2; }
done
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time; Debian package time)"; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

failed=0
printf '%-22s %10s %9s %8s  %s\n' flood packets "rss MiB" "secs" "evictions (capture health)"
# flood NAME KIND COUNT MODE EXPECT: MODE analyze|watch; EXPECT a jq filter over
# .capture_health that must hold (evictions counted).
flood() {
  local name=$1 kind=$2 n=$3 mode=$4 expect=$5
  n=$(awk -v n="$n" -v s="$scale" 'BEGIN { printf "%d", n * s }')
  local out=$tmp/$name.json t0=$SECONDS
  if [ "$mode" = watch ]; then
    "$gen" "$kind" "$n" "$tmp/$name.pcap" 2>"$tmp/$name.gen"
    /usr/bin/time -f '%M %e' -o "$tmp/$name.time" \
      "$bin" watch -q --replay "$tmp/$name.pcap" --fast --exit-when-done --listen 127.0.0.1:0 \
        --report-out "$out" "${budget_flag[@]}" >/dev/null 2>"$tmp/$name.err" || true
    rm -f "$tmp/$name.pcap"
  else
    "$gen" "$kind" "$n" - 2>"$tmp/$name.gen" |
      /usr/bin/time -f '%M %e' -o "$tmp/$name.time" \
        "$bin" analyze - --format json -q "${budget_flag[@]}" >"$out" 2>"$tmp/$name.err" || true
  fi
  local rss_kb secs packets ev
  read -r rss_kb secs <"$tmp/$name.time" || true
  packets=$(jq -r '.capture_health.packets // 0' "$out" 2>/dev/null || echo '?')
  ev=$(jq -c '.capture_health.evictions // {} | with_entries(select(.value > 0))' "$out" 2>/dev/null || echo '?')
  printf '%-22s %10s %9.1f %8s  %s\n' "$name" "$packets" "$(awk -v k="${rss_kb:-0}" 'BEGIN { print k / 1024 }')" "$((SECONDS - t0))" "$ev"
  if [ "$check" = 1 ]; then
    if [ "${rss_kb:-999999999}" -gt "$budget_kb" ]; then
      echo "  FAIL: peak RSS ${rss_kb} KiB over the budget of ${budget_kb} KiB"; failed=1
    fi
    if ! jq -e ".capture_health | $expect" "$out" >/dev/null 2>&1; then
      echo "  FAIL: the report does not show the evictions ($expect)"; cat "$tmp/$name.err"; failed=1
    fi
  fi
}

flood syn-1M             syn              1000000 analyze '.evictions.flows > 0'
flood half-open-1M-2K    halfopen:2048    1000000 analyze '.evictions.flows + .evictions.http_bytes > 0'
flood origins-1M         origins          1000000 analyze '.evictions.aggregate > 0'
flood routes-1M          routes           1000000 analyze '.evictions.aggregate > 0'
flood slowloris-40k      slowloris:40000  4000000 analyze '.evictions.flows > 0'
flood pipelined-100k     pipelined        100000  analyze '.evictions.pipelined > 0'
flood watch-syn-1M       syn              1000000 watch   '.evictions.flows > 0'
flood watch-half-open    halfopen:2048    500000  watch   '.evictions.flows + .evictions.http_bytes > 0'
flood watch-origins      origins          500000  watch   '.evictions.aggregate > 0'
# live NAME KIND COUNT PART: `watch -i lo` under tcpreplay --topspeed; the evictions of PART
# must show in /metrics, and the peak RSS (the kernel ring and the capture queue included)
# stay within the budget.
live() {
  local name=$1 kind=$2 n=$3 part=$4 port=19479
  n=$(awk -v n="$n" -v s="$scale" 'BEGIN { printf "%d", n * s }')
  local t0=$SECONDS
  "$gen" "$kind" "$n" "$tmp/$name.pcap" 2>"$tmp/$name.gen"
  "$LIVE_BIN" watch -q -i lo --filter "tcp port 8080" --listen 127.0.0.1:$port "${budget_flag[@]}" \
    >"$tmp/$name.err" 2>&1 &
  local pid=$! up=0
  for _ in $(seq 50); do curl -sf "127.0.0.1:$port/healthz" >/dev/null && up=1 && break; sleep 0.2; done
  if [ "$up" != 1 ]; then
    echo "  FAIL: the live agent did not start"; cat "$tmp/$name.err"; failed=1
    kill "$pid" 2>/dev/null || true
    return
  fi
  tcpreplay --topspeed -i lo "$tmp/$name.pcap" >"$tmp/$name.replay" 2>&1 || true
  rm -f "$tmp/$name.pcap"
  sleep 3
  local m rss_kb seen ev drops
  m=$(curl -sf "127.0.0.1:$port/metrics" || true)
  rss_kb=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status")
  kill -INT "$pid"; wait "$pid" || true
  seen=$(echo "$m" | awk '/^corswatch_packets_total / { print $2 }')
  ev=$(echo "$m" | awk -v p="part=\"$part\"" 'index($0, "corswatch_evictions_total{") == 1 && index($0, p) { print $2 }')
  drops=$(echo "$m" | awk '/^corswatch_packets_dropped_total/ { s += $2 } END { print s + 0 }')
  printf '%-22s %10s %9.1f %8s  {"%s":%s} (live; %s packets dropped, counted)\n' "$name" "${seen:-?}" \
    "$(awk -v k="${rss_kb:-0}" 'BEGIN { print k / 1024 }')" "$((SECONDS - t0))" "$part" "${ev:-?}" "$drops"
  if [ "$check" = 1 ]; then
    if [ "${rss_kb:-999999999}" -gt "$budget_kb" ]; then
      echo "  FAIL: peak RSS ${rss_kb} KiB over the budget of ${budget_kb} KiB"; failed=1
    fi
    if [ "${ev:-0}" = 0 ] || [ "${ev:-0}" = "" ]; then
      echo "  FAIL: no $part evictions in /metrics"; failed=1
    fi
  fi
}

if [ -n "${LIVE_BIN:-}" ]; then
  if [ "$(id -u)" != 0 ] || ! command -v tcpreplay >/dev/null; then
    echo "  FAIL: LIVE_BIN given, but the live floods need root and tcpreplay"; failed=1
  else
    live live-syn-1M        syn            1000000 flows
    live live-half-open-300k halfopen:2048 300000  http_bytes
    live live-origins-300k  origins        300000  aggregate
  fi
fi
[ "$failed" = 0 ] || { echo "floods: FAILED"; exit 1; }
echo "floods: every peak RSS within $budget"
