#!/usr/bin/env bash
# The packet rate `watch -i lo` holds without a drop (issue 11), on the realistic workload of
# ../shared/bench: the 200 MB capture, its IPv4 part moved to loopback addresses (tcprewrite),
# replayed on `lo` by tcpreplay at set rates and at top speed. Prints, per rate, what the agent
# saw and dropped (kernel, interface, queue) from /metrics.
#
# Usage: benches/live-rate.sh [BIN...]   (default: this tree's release build with `live`)
# Env: RATES (default "150000 200000 250000 top"), LOOPS (replays per run, default 3).
# Root, tcpreplay and tcprewrite needed. The sender shares the machine's cores with the agent:
# on 2 cores tcpreplay's top speed (about 300k packets/s here) bounds what can be shown.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] && command -v tcpreplay >/dev/null && command -v tcprewrite >/dev/null ||
  { echo "needs root, tcpreplay and tcprewrite" >&2; exit 2; }
rates="${RATES:-150000 200000 250000 top}"
loops="${LOOPS:-3}"
port=19562
mkdir -p bench-data
if [ $# = 0 ]; then
  cargo build --release --features live -q
  cp target/release/corswatch bench-data/corswatch-live
  set -- bench-data/corswatch-live
fi
cap=bench-data/lo-medium.pcap
if [ ! -s "$cap" ]; then
  [ -s bench-data/medium.pcap ] ||
    python3 ../shared/bench/gen_pcap.py --size-mb 200 --seed 2 --out bench-data/medium.pcap >/dev/null
  # Loopback addresses only: the IPv6 sessions are left out, the IPv4 networks renumbered.
  tcpdump -r bench-data/medium.pcap -w bench-data/medium-v4.pcap 'ip or (vlan and ip)' 2>/dev/null
  tcprewrite --pnat=192.0.2.0/24:127.0.2.0/24,198.18.0.0/15:127.18.0.0/15 --fixcsum \
    -i bench-data/medium-v4.pcap -o "$cap"
  rm bench-data/medium-v4.pcap
fi
cat "$cap" >/dev/null

run() { # BIN RATE
  local bin=$1 rate=$2 pid out m
  "$bin" watch -i lo --filter tcp --listen "127.0.0.1:$port" >bench-data/live-rate.log 2>&1 &
  pid=$!
  for _ in $(seq 50); do curl -sf "127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
  if [ "$rate" = top ]; then out=$(tcpreplay --topspeed --loop="$loops" -i lo "$cap" 2>&1)
  else out=$(tcpreplay --pps="$rate" --loop="$loops" -i lo "$cap" 2>&1); fi
  sleep 4
  m=$(curl -s "127.0.0.1:$port/metrics")
  kill -INT "$pid"
  wait "$pid" || true
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$(basename "$bin")" "$rate" \
    "$(echo "$out" | grep -oE '[0-9.]+ pps' | head -1)" \
    "$(echo "$m" | awk '/^corswatch_packets_total /{print $2}')" \
    "$(echo "$m" | awk -F'[ }]' '/^corswatch_packets_dropped_total\{where="kernel"/{print $3}')" \
    "$(echo "$m" | awk -F'[ }]' '/^corswatch_packets_dropped_total\{where="interface"/{print $3}')" \
    "$(echo "$m" | awk -F'[ }]' '/^corswatch_packets_dropped_total\{where="queue"/{print $3}')"
}

echo "machine: $(nproc) cores; $(tcpdump -r "$cap" 2>/dev/null | wc -l) packets x $loops per run"
echo "| agent | asked (pps) | sent | seen | kernel drops | interface drops | queue drops |"
echo "|---|---|---|---|---|---|---|"
for rate in $rates; do
  for bin in "$@"; do run "$bin" "$rate"; done
done
