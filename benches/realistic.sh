#!/usr/bin/env bash
# Throughput and memory on the realistic workloads of ../shared/bench, beside the tool a user
# would otherwise reach for, in one run: `jq '.log.entries|length'` for HAR, `tcpdump -r FILE
# -w /dev/null` for pcap. Whole processes, warm page cache; wall time is the best of RUNS (the
# machine may be shared), CPU time and peak RSS from the same run.
#
# Usage: benches/realistic.sh [quick]
#   quick: the 100 MB HAR and 200 MB pcap only (no 500 MB HAR, no 1 GB pcap)
# Env: RUNS (default 3), THREADS (default: the number of cores).
# The workloads are generated into bench-data/ (git-ignored) once and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
gen=../shared/bench
[ -d "$gen" ] || { echo "no $gen: the benchmark generators live beside the repository" >&2; exit 2; }
runs="${RUNS:-3}"
threads="${THREADS:-$(nproc)}"
mkdir -p bench-data
cargo build --release -q
# A copy: another build during the run must not swap the binary under the benchmark.
cp target/release/corswatch bench-data/corswatch-bench
bin=bench-data/corswatch-bench

make_input() { # FILE GENERATOR ARGS...
  local f=$1 g=$2
  shift 2
  [ -s "$f" ] || { echo "generating $f" >&2; python3 "$gen/$g" "$@" --out "$f" >/dev/null; }
  cat "$f" >/dev/null
}
make_input bench-data/har100.har gen_har.py --size-mb 100 --seed 4
make_input bench-data/medium.pcap gen_pcap.py --size-mb 200 --seed 2
if [ "${1:-}" != quick ]; then
  make_input bench-data/har500.har gen_har.py --size-mb 500 --seed 5
  make_input bench-data/large.pcap gen_pcap.py --size-mb 1000 --seed 3
fi

# best wall time of $runs runs: prints "wall user+sys maxrss_kb"
measure() {
  local best="" line
  for _ in $(seq "$runs"); do
    line=$(/usr/bin/time -f '%e %U %S %M' "$@" 2>&1 >/dev/null | tail -1)
    if [ -z "$best" ] || awk -v a="$line" -v b="$best" 'BEGIN{split(a,x," ");split(b,y," ");exit !(x[1]<y[1])}'; then
      best=$line
    fi
  done
  echo "$best" | awk '{printf "%s %.2f %s\n", $1, $2+$3, $4}'
}

row() { # LABEL FILE REFERENCE_WALL ...command
  local label=$1 file=$2 ref=$3
  shift 3
  read -r wall cpu rss < <(measure "$@")
  local mb
  mb=$(stat -c %s "$file")
  awk -v l="$label" -v w="$wall" -v c="$cpu" -v r="$rss" -v s="$mb" -v ref="$ref" 'BEGIN{
    printf "| %-34s | %6.2f s | %6.2f s | %7.0f MB/s | %6.0f MB | %s |\n", l, w, c, s/1e6/w, r/1024,
      (ref == "" ? "reference" : sprintf("%.2fx", ref / w))}'
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "corswatch $($bin --version | cut -d' ' -f2), threads=$threads, best of $runs runs"
echo
echo "| run | wall | CPU | throughput | peak RSS | vs reference |"
echo "|---|---|---|---|---|---|"
for har in bench-data/har100.har bench-data/har500.har; do
  [ -f "$har" ] || continue
  read -r jq_wall _ _ < <(measure jq '.log.entries|length' "$har")
  row "jq .log.entries|length $(basename "$har")" "$har" "" jq '.log.entries|length' "$har"
  for t in 1 "$threads"; do
    row "corswatch $(basename "$har") --threads $t" "$har" "$jq_wall" \
      "$bin" analyze "$har" --format json -o /dev/null --threads "$t"
  done
done
for pcap in bench-data/medium.pcap bench-data/large.pcap; do
  [ -f "$pcap" ] || continue
  read -r td_wall _ _ < <(measure tcpdump -r "$pcap" -w /dev/null)
  row "tcpdump -r -w /dev/null $(basename "$pcap")" "$pcap" "" tcpdump -r "$pcap" -w /dev/null
  for t in 1 "$threads"; do
    row "corswatch $(basename "$pcap") --threads $t" "$pcap" "$td_wall" \
      "$bin" analyze "$pcap" --format json -o /dev/null --threads "$t"
  done
done

# The runs above use the default budget (--max-memory 64M): what it let go early, if anything,
# is part of the result (a faster run that evicts is not the same work).
echo
for f in bench-data/har100.har bench-data/har500.har bench-data/medium.pcap bench-data/large.pcap; do
  [ -f "$f" ] || continue
  "$bin" analyze "$f" --format json --threads "$threads" |
    jq -r --arg f "$(basename "$f")" '"evictions at the default budget, \($f): \(.capture_health.evictions // "none")"'
done
