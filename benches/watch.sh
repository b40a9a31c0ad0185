#!/usr/bin/env bash
# Benchmarks of the agent (issue 5), printing figures:
#   1. replay throughput: `watch --replay --fast` against `analyze` on the same capture (CPU time);
#   2. memory over a replay loop: RSS sampled while the capture is replayed again and again;
#   3. live capture on loopback: `watch -i lo` while tcpreplay sends the capture at top speed,
#      then the packets seen and dropped (kernel, interface, queue) from /metrics.
# Usage: benches/watch.sh [LOOP_SECONDS]   (default 600; root and tcpreplay needed for part 3)
# The capture is generated with loopback addresses only (127.0.0.0/8), so replaying it on `lo`
# puts no other address on the wire.
set -euo pipefail
cd "$(dirname "$0")/.."
loop_secs="${1:-600}"
mb="${BENCH_MB:-256}"
cap="bench-data/watch-${mb}mb.pcap"
port=19499

mkdir -p bench-data
cargo build --release --features live,testkit --examples -q
# A copy: another cargo build during the run must not swap the binary under the benchmark.
cp ./target/release/corswatch bench-data/corswatch-live
bin=bench-data/corswatch-live
[ -f "$cap" ] || ./target/release/examples/gen_capture "$cap" "$mb"
size=$(stat -c %s "$cap")
cat "$cap" >/dev/null # page cache warm

cpu() { /usr/bin/time -f '%U %S %M' "$@" 2>&1 >/dev/null | tail -1; }

echo "== 1. replay throughput vs analyze ($((size / 1000000)) MB)"
read -r au as am < <(cpu "$bin" analyze "$cap" --format json -o /dev/null)
read -r wu ws wm < <(cpu "$bin" watch --replay "$cap" --fast --exit-when-done --listen 127.0.0.1:$port)
python3 - "$size" "$au" "$as" "$am" "$wu" "$ws" "$wm" <<'EOF'
import sys
size, au, as_, am, wu, ws, wm = sys.argv[1:]
size = int(size) / 1e6
a = float(au) + float(as_)
w = float(wu) + float(ws)
print(f"analyze:        {a:.2f} s CPU = {size / a:.0f} MB/s, max RSS {int(am) // 1024} MB")
print(f"watch --replay: {w:.2f} s CPU = {size / w:.0f} MB/s, max RSS {int(wm) // 1024} MB")
print(f"replay / analyze throughput: {a / w * 100:.0f}% (target >= 80%)")
EOF

echo "== 2. RSS over a ${loop_secs}s replay loop"
"$bin" watch --replay "$cap" --fast --repeat 100000 --listen 127.0.0.1:$port >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
samples=()
start=$SECONDS
while [ $((SECONDS - start)) -lt "$loop_secs" ]; do
  sleep 10
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  samples+=("$rss")
done
seen=$(curl -s "127.0.0.1:$port/metrics" | awk '/^corswatch_packets_total / {print $2}')
kill -INT $pid; wait $pid || true
trap - EXIT
python3 - "$seen" "${samples[@]}" <<'EOF'
import sys
seen = sys.argv[1]
s = [int(x) for x in sys.argv[2:]]
warm = s[len(s) // 10:] or s
lo, hi = min(warm), max(warm)
print(f"samples: {len(s)} every 10 s, packets replayed: {seen}")
print(f"RSS after warm-up: min {lo // 1024} MB, max {hi // 1024} MB, first {warm[0] // 1024} MB, last {warm[-1] // 1024} MB")
print(f"spread {100 * (hi - lo) / lo:.1f}% (target: within 10%)")
EOF

echo "== 3. live capture on lo under tcpreplay --topspeed"
if [ "$(id -u)" != 0 ] || ! command -v tcpreplay >/dev/null; then
  echo "skipped: needs root and tcpreplay (apt-get install tcpreplay)"
  exit 0
fi
"$bin" watch -i lo --filter "tcp" --buffer-size $((64 << 20)) --listen 127.0.0.1:$port >bench-data/live.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
up=0
for _ in $(seq 50); do curl -sf "127.0.0.1:$port/healthz" >/dev/null && up=1 && break; sleep 0.2; done
[ "$up" = 1 ] || { echo "the agent did not start:"; cat bench-data/live.log; exit 1; }
tcpreplay --topspeed -i lo "$cap" 2>&1 | grep -E "Actual|Rated|Successful|Failed"
sleep 3
m=$(curl -s "127.0.0.1:$port/metrics")
kill -INT $pid; wait $pid || true
trap - EXIT
echo "$m" | grep -E '^corswatch_(packets_total|packets_dropped_total|exchanges_total|tcp_gaps_total) '
echo "$m" | grep -E '^corswatch_packets_dropped_total'
