#!/usr/bin/env bash
# Fuzz smoke / campaign: builds the fuzz targets once (stable toolchain, coverage by
# SanitizerCoverage, no sanitizer; see .cargo/config.toml), then runs each target for SECONDS
# against a copy of its seed corpus (fuzz/corpus/<target>, plus the inputs of past findings in
# fuzz/regressions/<target>) in a temporary directory, one at a time. Prints runs and runs/s
# per target; exits non-zero when a target does not build or a fuzzer fails (crash, failed
# oracle, timeout, out of memory), keeping the input that failed in fuzz/artifacts/<target>/.
#
# usage: fuzz/run.sh [SECONDS (default 60)] [TARGET...]
#   FUZZ_PROFILE=release   build and run the release binaries (faster; for campaigns)
#   FUZZ_RUNS=N            stop each target after N runs instead of SECONDS (SECONDS still caps)
#   FUZZ_KEEP=DIR          keep each grown corpus in DIR/<target> (default: thrown away)
set -uo pipefail

secs=${1:-60}
shift || true
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
profile=${FUZZ_PROFILE:-debug}
flags=()
[ "$profile" = release ] && flags=(--release)
all=(pcap_file frames har tls_records h2 reassembly http1 classify merge)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")

t0=$(date +%s)
if ! cargo build --quiet --bins "${flags[@]}"; then
  echo "fuzz targets did not build"
  exit 1
fi
echo "build ($profile): $(( $(date +%s) - t0 )) s"
bin="$here/target/x86_64-unknown-linux-gnu/$profile"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
printf '%-12s %10s %6s %8s %8s  %s\n' target runs secs runs/s corpus result
for t in "${targets[@]}"; do
  mkdir -p "$work/$t" "$work/$t-artifacts"
  [ -d "corpus/$t" ] && cp -r "corpus/$t/." "$work/$t/"
  # Inputs of past findings run first, with the seeds.
  [ -d "regressions/$t" ] && cp -r "regressions/$t/." "$work/$t/"
  runs_flag=()
  [ -n "${FUZZ_RUNS:-}" ] && runs_flag=(-runs="$FUZZ_RUNS")
  s0=$(date +%s.%N)
  timeout $(( secs + 120 )) "$bin/$t" -max_total_time="$secs" "${runs_flag[@]}" -max_len=4096 \
    -timeout=10 -print_final_stats=1 -artifact_prefix="$work/$t-artifacts/" "$work/$t" \
    > "$work/$t.log" 2>&1
  rc=$?
  el=$(awk -v a="$s0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log" | tail -1)
  runs=${runs:-0}
  rate=$(awk -v r="$runs" -v e="$el" 'BEGIN { printf "%d", (e > 0 ? r / e : 0) }')
  files=$(ls "$work/$t" | wc -l)
  if [ "$rc" -eq 0 ]; then
    result=ok
  else
    result="FAILED (exit $rc)"
    status=1
    mkdir -p "artifacts/$t"
    cp "$work/$t-artifacts/"* "artifacts/$t/" 2>/dev/null
  fi
  printf '%-12s %10s %6.0f %8s %8s  %s\n' "$t" "$runs" "$el" "$rate" "$files" "$result"
  if [ "$rc" -ne 0 ]; then
    grep -E -A12 'panicked|ERROR: libFuzzer|SUMMARY' "$work/$t.log" | head -40
    echo "input kept in fuzz/artifacts/$t/"
  fi
  if [ -n "${FUZZ_KEEP:-}" ]; then
    mkdir -p "$FUZZ_KEEP/$t"
    cp -r "$work/$t/." "$FUZZ_KEEP/$t/"
  fi
done
echo "total: $(( $(date +%s) - t0 )) s"
exit $status
