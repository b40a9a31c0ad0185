#!/usr/bin/env bash
# Floods against the memory budget (issue #13): each flood capture is generated and piped into
# `corswatch analyze -` (and one into `watch --replay`), peak RSS is read with GNU time, and it
# must stay within the budget; the JSON report's capture health must count the evictions.
#
#   tests/floods.sh                 the suite, with ./target/release/{corswatch,examples/gen_flood}
#   FLOOD_SCALE=0.25 tests/floods.sh  smaller floods (a quarter of each count)
#   CORSWATCH_BIN=... GEN_FLOOD=... FLOOD_BUDGET=64M FLOOD_CHECK=0 (measure only)
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
[ "$failed" = 0 ] || { echo "floods: FAILED"; exit 1; }
echo "floods: every peak RSS within $budget"
