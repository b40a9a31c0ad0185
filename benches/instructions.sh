#!/usr/bin/env bash
# Instructions per run (callgrind), the figure that holds still on a shared machine where wall
# times swing by a fifth: a 20 MB capture with one and with two threads (each thread's total),
# and a 10 MB HAR with one. Inputs come from ../shared/bench's generators (fixed seeds), the
# same traffic model as benches/realistic.sh at a size valgrind runs in a minute.
#
# Usage: benches/instructions.sh [--check]
#   --check: fail when a total is more than 10 % above benches/instructions.baseline (the
#            figures of the last change that moved them; rewrite that file with such a change).
# Env: BASELINE (default benches/instructions.baseline).
# Needs valgrind and python3. Inputs go to bench-data/ (git-ignored) and are reused.
set -euo pipefail
cd "$(dirname "$0")/.."
gen=../shared/bench
[ -d "$gen" ] || { echo "no $gen: the benchmark generators live beside the repository" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }
mkdir -p bench-data
cargo build --release -q
bin=bench-data/corswatch-instructions
cp target/release/corswatch "$bin"

make_input() { # FILE GENERATOR ARGS...
  local f=$1 g=$2
  shift 2
  [ -s "$f" ] || python3 "$gen/$g" "$@" --out "$f" >/dev/null
}
make_input bench-data/instr.pcap gen_pcap.py --size-mb 20 --seed 2
make_input bench-data/instr.har gen_har.py --size-mb 10 --seed 4

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Prints each thread's instruction total, largest first, space-separated.
count() { # NAME ARGS...
  local name=$1
  shift
  valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out/$name" \
    "$bin" analyze "$@" --format json >/dev/null 2>"$out/$name.log"
  grep -h '^summary:' "$out/$name"* | awk '{print $2}' | sort -rn | tr '\n' ' ' | sed 's/ $//'
}

declare -A got
got[pcap_1]=$(count pcap1 bench-data/instr.pcap --threads 1)
got[pcap_2]=$(count pcap2 bench-data/instr.pcap --threads 2)
got[har_1]=$(count har1 bench-data/instr.har --threads 1)

echo "corswatch $("$bin" --version | cut -d' ' -f2), instructions (callgrind), per thread"
printf '%-8s %s\n' "pcap -t1" "${got[pcap_1]}" "pcap -t2" "${got[pcap_2]}" "har -t1" "${got[har_1]}"

[ "${1:-}" = --check ] || exit 0
status=0
while read -r key want; do
  [ -n "$key" ] && [ "${key#\#}" = "$key" ] || continue
  have=$(echo "${got[$key]:?no figure for $key}" | awk '{print $1}')
  if awk -v h="$have" -v w="$want" 'BEGIN{exit !(h > w * 1.10)}'; then
    echo "REGRESSION: $key: $have instructions in its busiest thread, baseline $want (+10 % allowed)"
    status=1
  else
    awk -v k="$key" -v h="$have" -v w="$want" 'BEGIN{printf "%s: %.1f M, baseline %.1f M (%+.1f %%)\n", k, h/1e6, w/1e6, (h-w)*100/w}'
  fi
done < "${BASELINE:-benches/instructions.baseline}"
exit $status
