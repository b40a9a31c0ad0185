#!/usr/bin/env bash
# Soak of the agent (issue 13, item 6): `watch --replay --fast` loops over a realistic capture
# for SOAK_SECONDS while 20 concurrent scrapers hit /metrics and /report. Prints RSS over time
# (flat within 10% after warm-up), scrape latency per endpoint (p50, p99 < 100 ms, max), errors,
# and the queue drops from /metrics (0); exits 1 when a target is missed.
# Usage: benches/soak.sh [SECONDS]   (default 600). Env: SOAK_SCRAPERS (20), SOAK_MB (capture
#   size, 20), CORSWATCH (a built binary; default: builds target/release/corswatch),
#   SOAK_WEB_CONFIG (a --web.config.file; then SOAK_URL_SCHEME=https, SOAK_CA, SOAK_USER and
#   SOAK_PASSWORD say how to scrape).
# Not part of `cargo test`: it runs for minutes. The capture is ../shared/bench/gen_pcap.py's.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-600}"
scrapers="${SOAK_SCRAPERS:-20}"
mb="${SOAK_MB:-20}"
port=19533
gen=../shared/bench/gen_pcap.py
[ -f "$gen" ] || { echo "soak: $gen is missing (../shared beside the repository)" >&2; exit 1; }
mkdir -p bench-data
cap="bench-data/soak-${mb}mb.pcap"
[ -f "$cap" ] || python3 "$gen" --size-mb "$mb" --seed 7 --out "$cap" >/dev/null
if [ -z "${CORSWATCH:-}" ]; then
  cargo build --release -q
  # A copy: another build during the soak must not swap the binary under it.
  cp target/release/corswatch bench-data/corswatch-soak
  CORSWATCH=bench-data/corswatch-soak
fi
web=()
[ -n "${SOAK_WEB_CONFIG:-}" ] && web=(--web.config.file "$SOAK_WEB_CONFIG")

echo "== soak: ${secs}s replay loop of $cap ($(($(stat -c %s "$cap") / 1000000)) MB), $scrapers scrapers"
"$CORSWATCH" watch --replay "$cap" --fast --repeat 1000000 --listen "127.0.0.1:$port" "${web[@]}" >bench-data/soak.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
set +e
python3 - "$pid" "$port" "$secs" "$scrapers" <<'EOF'
import base64, http.client, os, ssl, statistics, sys, threading, time

pid, port, secs, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
scheme = os.environ.get("SOAK_URL_SCHEME", "http")
headers = {}
if os.environ.get("SOAK_USER"):
    token = f"{os.environ['SOAK_USER']}:{os.environ.get('SOAK_PASSWORD', '')}".encode()
    headers["Authorization"] = "Basic " + base64.b64encode(token).decode()
ctx = None
if scheme == "https":
    ctx = ssl.create_default_context(cafile=os.environ.get("SOAK_CA"))
    ctx.check_hostname = False

def conn():
    if ctx is not None:
        return http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=ctx)
    return http.client.HTTPConnection("127.0.0.1", port, timeout=10)

def rss_kb():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

# Ready when /metrics answers.
deadline = time.time() + 30
while True:
    try:
        c = conn(); c.request("GET", "/metrics", headers=headers); c.getresponse().read(); c.close()
        break
    except OSError:
        if time.time() > deadline:
            sys.exit("soak: the agent did not answer on /metrics within 30 s")
        time.sleep(0.2)

start = time.time()
stop = start + secs
lat = {"/metrics": [], "/report": []}
errors = {"/metrics": 0, "/report": 0}
reconnects = {"/metrics": 0, "/report": 0}
lock = threading.Lock()

def scraper(i):
    path = "/metrics" if i % 2 == 0 else "/report"
    c = conn()
    while time.time() < stop:
        t0 = time.perf_counter()
        ok = False
        # A keep-alive connection the agent closed (idle or lifetime limit) is retried once on
        # a new one, as Prometheus' HTTP client does; only a failure after that is an error.
        for attempt in range(2):
            try:
                c.request("GET", path, headers=headers)
                r = c.getresponse()
                r.read()
                ok = r.status == 200
                break
            except (OSError, http.client.HTTPException):
                c.close()
                c = conn()
                if attempt == 0:
                    with lock:
                        reconnects[path] += 1
        dt = (time.perf_counter() - t0) * 1000
        with lock:
            if ok:
                lat[path].append(dt)
            else:
                errors[path] += 1
        # A scraper per second per thread is far above Prometheus' usual 15 s interval.
        time.sleep(max(0.0, 0.25 - dt / 1000))

threads = [threading.Thread(target=scraper, args=(i,), daemon=True) for i in range(n)]
for t in threads:
    t.start()
samples = []
while time.time() < stop:
    time.sleep(5)
    samples.append((time.time() - start, rss_kb()))
for t in threads:
    t.join()

c = conn(); c.request("GET", "/metrics", headers=headers); text = c.getresponse().read().decode(); c.close()
def metric(name, label=None):
    for line in text.splitlines():
        if line.startswith(name) and (label is None or label in line):
            try:
                return float(line.rsplit(" ", 1)[1])
            except ValueError:
                pass
    return 0.0
drops = metric("corswatch_packets_dropped_total", 'where="queue"')
packets = metric("corswatch_packets_total")

warm = [r for t, r in samples if t >= secs * 0.1] or [r for _, r in samples]
lo, hi = min(warm), max(warm)
spread = (hi - lo) / lo * 100 if lo else 0.0
print(f"RSS after warm-up (from {secs * 0.1:.0f} s, {len(warm)} samples): min {lo // 1024} MB, max {hi // 1024} MB, spread {spread:.1f}% (target <= 10%)")
print("RSS every ~60 s: " + ", ".join(f"{t:.0f}s {r // 1024} MB" for t, r in samples[::12]))
bad = spread > 10
for path, v in lat.items():
    if not v:
        print(f"{path}: no successful scrape, {errors[path]} errors"); bad = True; continue
    v.sort()
    p99 = v[min(len(v) - 1, int(len(v) * 0.99))]
    print(f"{path}: {len(v)} scrapes, {errors[path]} errors, {reconnects[path]} closed keep-alive connections retried, p50 {statistics.median(v):.1f} ms, p99 {p99:.1f} ms, max {v[-1]:.1f} ms (target p99 < 100 ms)")
    bad |= p99 >= 100 or errors[path] > 0
print(f"packets analysed {packets:.0f}, queue drops {drops:.0f} (target 0)")
bad |= drops > 0 or packets == 0
print("soak: " + ("FAILED" if bad else "passed"))
sys.exit(1 if bad else 0)
EOF
rc=$?
kill -INT $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
trap - EXIT
exit $rc
