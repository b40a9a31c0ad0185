#!/usr/bin/env bash
# End-to-end test of the dashboard and the alert rules against a real Prometheus.
#
#   bash tests/e2e-prometheus.sh        (root on CI: installs Debian's prometheus if missing)
#
# 1. dashboards/check.sh: promtool checks the rules, runs their unit tests, parses every
#    dashboard query and checks the example Prometheus configs.
# 2. Replay a real browser capture, with the lab's two-hop proxy traffic (30 passes), through
#    `corswatch watch` behind TLS and basic auth (--web.config.file, the fixtures of tests/web),
#    and lint a real scrape with `promtool check metrics`.
# 3. Start Prometheus (temp data dir, loopback, scrape and evaluation every 1 s) on the replay,
#    with alerts.yml loaded from a copy on a 10x clock (windows and `for:` in seconds).
# 4. Run every dashboard query and every rule expression through /api/v1/query: each must be a
#    vector; each selector in it must match real series; each must be non-empty where the capture
#    has data, and each alert's expression empty or not as the capture says.
# 5. /api/v1/alerts: the blocked-spike alert fires, the others the capture triggers go pending or
#    fire, and the rest never fire.
# 7. The endpoints' guard: Prometheus's target is up over TLS with basic auth; no credentials, a
#    wrong password and plain HTTP are refused, and the refusals are counted (agent and Prometheus).
#
# Bounded in time (DEADLINE seconds); stops everything it started by PID; exits non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEADLINE=${DEADLINE:-240}
say() { printf 'e2e-prometheus: %s\n' "$*"; }
fail() { say "FAIL: $*"; exit 1; }
left() { echo $((DEADLINE - (SECONDS - START))); }

if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  [ "$(id -u)" = 0 ] || fail "prometheus and promtool are needed (apt-get install prometheus)"
  say "installing Debian's prometheus"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
command -v python3 >/dev/null || fail "python3 is needed"

BIN=${CORSWATCH_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/corswatch}
if [ ! -x "$BIN" ] || [ -n "$(find src Cargo.toml -newer "$BIN" -print -quit)" ]; then
  say "building $BIN"
  cargo build --release --quiet
fi
# The deadline bounds the test itself, not the build.
START=$SECONDS

WORK=$(mktemp -d /tmp/corswatch-e2e.XXXXXX)
PIDS=()
cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "$rc" != 0 ]; then
    for f in "$WORK"/*.log; do
      [ -f "$f" ] || continue
      echo "--- $f (last 30 lines)"
      tail -n 30 "$f"
    done
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Polls `$@` every half second until it succeeds or `secs` run out.
wait_for() {
  local what=$1 secs=$2
  shift 2
  local until=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$until" ] || fail "timed out waiting for $what"
    [ "$(left)" -gt 0 ] || fail "deadline of ${DEADLINE}s reached waiting for $what"
    sleep 0.5
  done
}

# --- 1. static checks (promtool: rules, their unit tests, dashboard queries, example configs) --
bash dashboards/check.sh

# --- 2. the agent on a real capture --------------------------------------------------------
AGENT_PORT=$(free_port)
# The endpoints behind TLS and basic auth: the test CA's server certificate (localhost,
# 127.0.0.1; tests/web/make.sh), paths relative to the web config. The hash is
# `htpasswd -nbBC 10 "" e2e-scrape-password`, the cost a deployment would use.
SCRAPE_USER=prometheus
SCRAPE_PASSWORD=e2e-scrape-password
CA="$ROOT/tests/web/ca.pem"
mkdir "$WORK/web"
cp tests/web/server.pem tests/web/server.key "$WORK/web/"
cat >"$WORK/web/web.yml" <<'EOF'
tls_server_config:
  cert_file: server.pem
  key_file: server.key
  min_version: TLS12
basic_auth_users:
  prometheus: $2y$10$VM7ENNlGy0.lxuZbaiSB1OJBZ/kef9rNt1dL0M8FUjm1MrE83KZXS
EOF
AGENT="https://127.0.0.1:$AGENT_PORT"
# GET from the agent as Prometheus would: TLS verified against the test CA, basic auth.
agent() { curl -sf --cacert "$CA" -u "$SCRAPE_USER:$SCRAPE_PASSWORD" "$AGENT$1"; }
blocked_in_metrics() { agent /metrics | grep -q '^corswatch_blocked_total{'; }
refused() { # reason: the agent's own count
  agent /metrics | awk -v r="reason=\"$1\"" 'index($0, "corswatch_web_requests_refused_total{") == 1 && index($0, r) { print $2 }'
}
# The capture, 30 times over with timestamps shifted (as if the browser ran the page again every
# 48 s): `--repeat` replays the same timestamps again, and the pairing does not give the same
# outcomes on later passes. At --speed 10 that is ~5 s of traffic per pass, for longer than the
# test lasts. --top-routes 20 makes the route label overflow, so that panel and alert see data.
# Each pass also carries the lab's two-hop traffic (captures/lab/proxies.pcap: nginx and Apache in
# front of apps, both hops), moved to the pass's start, for the hop, layer and stack metrics.
python3 - captures/chromium-loopback.pcap captures/lab/proxies.pcap "$WORK/repeated.pcap" 30 <<'EOF'
import struct, sys
src, lab, dst, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def read(path):
    data = open(path, "rb").read()
    assert struct.unpack("<I", data[:4])[0] == 0xA1B2C3D4, f"{path}: little-endian microsecond pcap expected"
    records, off = [], 24
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        records.append((sec, frac, incl, orig, data[off + 16:off + 16 + incl]))
        off += 16 + incl
    return data[:24], records
head, records = read(src)
_, lab_records = read(lab)
shift = records[0][0] - lab_records[0][0]
records = sorted(records + [(s + shift, fr, i, o, p) for s, fr, i, o, p in lab_records],
                 key=lambda r: (r[0], r[1]))
span = records[-1][0] - records[0][0] + 2
with open(dst, "wb") as f:
    f.write(head)
    for k in range(n):
        for sec, frac, incl, orig, payload in records:
            f.write(struct.pack("<IIII", sec + k * span, frac, incl, orig) + payload)
EOF
# A declared CORS policy the capture departs from (methods, headers, credentials, refused and
# unlisted origins), for corswatch_policy_drift_total, its panels and CorswatchPolicyDrift.
cat >"$WORK/declared.toml" <<'EOF'
[default]
origins = ["http://localhost:47101"]
methods = ["GET"]
EOF
# The event stream too, with a tight rate limit: each of the 30 passes (~50 s of recorded time)
# repeats every (kind, origin, route), and earns half a line at 0.01 lines a second.
"$BIN" watch --replay "$WORK/repeated.pcap" --speed 10 --top-routes 20 \
  --events "$WORK/events.jsonl" --events-burst 2 --events-rate 0.01 --events-host e2e \
  --declared "$WORK/declared.toml" --web.config.file "$WORK/web/web.yml" \
  --listen "127.0.0.1:$AGENT_PORT" >"$WORK/agent.log" 2>&1 &
PIDS+=($!)
wait_for "corswatch /healthz over TLS" 20 curl -sf --cacert "$CA" "$AGENT/healthz"
wait_for "blocked requests in /metrics" 20 blocked_in_metrics
agent /metrics >"$WORK/scrape.txt"
say "promtool check metrics on a real scrape ($(grep -vc '^#' "$WORK/scrape.txt") samples)"
promtool check metrics <"$WORK/scrape.txt" || fail "promtool check metrics found problems"

# --- 3. Prometheus ---------------------------------------------------------------------------
PROM_PORT=$(free_port)
# Test-only copy of the rules on a clock 10 times faster: minutes become 6 s, in range windows
# ([5m] -> [30s]; rate() divides by the whole window, so a 5m window over a minute of samples
# would read a fifth of the real rate) and in `for:` alike (10m -> 60s), so that a burst of the
# replay is no more an alert than a burst in production. Every group is evaluated each second.
# Thresholds, selectors and operators are unchanged; `[1d] offset 1h` (history) stays. The
# expressions as shipped are also queried below, unchanged.
python3 - "$ROOT/dashboards/alerts.yml" "$WORK/alerts.yml" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
text = re.sub(r"(?m)^(\s+for: )(\d+)m$", lambda m: f"{m.group(1)}{int(m.group(2)) * 6}s", text)
text = re.sub(r"(?m)^(\s+)interval: \S+$", r"\1interval: 1s", text)
text = re.sub(r"\[(\d+)m\]", lambda m: f"[{int(m.group(1)) * 6}s]", text)
assert "m\n" not in "".join(re.findall(r"for: \S+\n", text)), "a for: left in minutes"
open(sys.argv[2], "w").write(text)
EOF
cat >"$WORK/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $WORK/alerts.yml
scrape_configs:
  - job_name: corswatch
    scheme: https
    tls_config:
      ca_file: $CA
    basic_auth:
      username: $SCRAPE_USER
      password: $SCRAPE_PASSWORD
    static_configs:
      - targets: ['127.0.0.1:$AGENT_PORT']
EOF
promtool check config "$WORK/prometheus.yml" >/dev/null
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >"$WORK/prometheus.log" 2>&1 &
PIDS+=($!)
PROM="http://127.0.0.1:$PROM_PORT"
wait_for "Prometheus /-/ready" 30 curl -sf "$PROM/-/ready"
wait_for "samples of corswatch_blocked_total" 30 \
  sh -c "curl -sf '$PROM/api/v1/query?query=count(corswatch_blocked_total)' | grep -q '\"value\"'"
# A few passes of the replay inside the 30 s windows, so that ratios are those of the capture.
sleep 15

# --- 4 and 5. queries and alerts -------------------------------------------------------------
python3 - "$PROM" "$ROOT/dashboards/corswatch.json" "127.0.0.1:$AGENT_PORT" "$(left)" \
  "$ROOT/dashboards/alerts.yml" <<'EOF'
import json, re, sys, time, urllib.parse, urllib.request

prom, dashboard, instance, budget, rules_file = sys.argv[1:6]
budget = int(budget)
deadline = time.time() + max(budget - 5, 10)
checks = 0
failures = []

def api(path, **params):
    url = prom + path + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(url, timeout=10) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise RuntimeError(f"{path} {params}: {body}")
    return body["data"]

def query(expr):
    return api("/api/v1/query", query=expr)

def check(ok, what):
    global checks
    checks += 1
    if not ok:
        failures.append(what)
        print(f"  FAIL {what}")

# Every metric selector in an expression must match real series, even where the expression as a
# whole is (rightly) empty: this is what catches a misspelt name or label value.
SELECTOR = re.compile(r'\b((?:[a-z_]+:)?corswatch_[a-z_]+(?::[a-z0-9_]+)?|up)\b(\{[^}]*\})?(?!\s*\()')
def selectors(expr):
    for m in SELECTOR.finditer(expr):
        yield m.group(1) + (m.group(2) or "")

def substitute(expr):
    return (expr.replace("$__rate_interval", "30s").replace("$__range", "5m")
            .replace("$job", "corswatch").replace("$instance", instance))

print("dashboard panels:")
d = json.load(open(dashboard))
# Loki panels read the event stream (LogQL), not Prometheus: the file is checked below.
panels = [p for p in d["panels"] if p["type"] != "row" and p.get("datasource", {}).get("type") != "loki"]
for p in panels:
    for t in p["targets"]:
        expr = substitute(t["expr"])
        data = query(expr)
        n = len(data["result"])
        check(data["resultType"] == "vector", f'{p["title"]}: vector, got {data["resultType"]}')
        check(n > 0, f'{p["title"]} [{t["refId"]}]: non-empty (the capture has data for it), got 0 series: {expr}')
        for s in selectors(expr):
            c = query(f"count({s})")["result"]
            check(bool(c), f'{p["title"]}: selector {s} matches series')
        print(f'  ok  {p["title"]} [{t["refId"]}]: vector, {n} series')

# The lab's two-hop traffic in each pass: requests seen at both hops, judged once, and the
# proxies and the app recognised.
def value(expr):
    r = query(expr)["result"]
    return float(r[0]["value"][1]) if r else 0.0
for expr, what in [
    ('sum(corswatch_hops_total{outcome="both_seen"})', "requests seen at both hops"),
    ('sum(corswatch_cors_header_layers_total{header="Access-Control-Allow-Origin",layer="proxy"})', "ACAO added by the proxy"),
    ('sum(corswatch_stack_info{stack="nginx",role="proxy"})', "nginx recognised as the proxy"),
    ('sum(corswatch_stack_info{stack="express",role="app"})', "Express recognised as the app"),
]:
    check(value(expr) > 0, f"{what}: {expr}")
    print(f"  ok  {what}")

# The loaded rule file, as Prometheus parsed it: proves alerts.yml loads and gives every expression.
groups = api("/api/v1/rules")["groups"]
rules = [r for g in groups for r in g["rules"]]
check(len(rules) == 18, f"18 rules loaded, got {len(rules)}")

# What this capture must show. Alerts absent here have an empty expression on it.
expect_nonempty = {
    "CorswatchBlockedRequestsHigh",        # every (kind, origin, route) > 0.1/s at --speed 10
    "CorswatchPreflightFailureRatioHigh",  # 32 of 52 preflights fail
    "CorswatchSecurityFinding",            # null origin trusted, wildcards on sensitive routes
    "CorswatchLabelOverflow",              # --top-routes 20
    "CorswatchPolicyDrift",                # --declared: the capture answers beyond it
}
print("rules:")
for r in rules:
    name = r.get("name")
    data = query(r["query"])
    n = len(data["result"])
    if r["type"] == "alerting" and name in expect_nonempty:
        # The replay is bursty within a pass: give an expected condition a few evaluations.
        until = time.time() + 20
        while n == 0 and time.time() < until:
            time.sleep(1)
            data = query(r["query"])
            n = len(data["result"])
    check(data["resultType"] == "vector", f"{name}: vector, got {data['resultType']}")
    if r["type"] == "recording":
        check(n > 0, f"recording rule {name}: non-empty")
        # The recorded series itself, written back by the rule evaluation.
        check(bool(query(name)["result"]), f"recorded series {name} exists")
    else:
        want = name in expect_nonempty
        check((n > 0) == want, f"alert {name}: expression {'non-empty' if want else 'empty'} on this capture, got {n} series")
        if want and n:
            labels = data["result"][0]["metric"]
            for l in {"CorswatchBlockedRequestsHigh": ("kind", "origin", "route"),
                      "CorswatchSecurityFinding": ("kind", "origin"),
                      "CorswatchPolicyDrift": ("rule", "route")}.get(name, ()):
                check(l in labels, f"alert {name} carries label {l}")
    for s in selectors(r["query"]):
        c = query(f"count({s})")["result"]
        check(bool(c), f"{name}: selector {s} matches series")
    print(f"  ok  {r['type']:9} {name}: vector, {n} series")

# The expressions as shipped (full windows): valid, vectors, and their selectors match. The file
# is read with a small parser of `expr:` lines (one line, or a `|` block), as tests/dashboards.rs.
def shipped_exprs(path):
    lines = open(path).read().splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)(?:- )?expr: ?(.*)$", lines[i])
        i += 1
        if not m:
            continue
        if m.group(2).strip() not in ("|", ">-", ">"):
            yield m.group(2).strip()
            continue
        body = []
        while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > len(m.group(1))):
            body.append(lines[i].strip())
            i += 1
        yield " ".join(body).strip()

print("rule expressions as shipped:")
shipped = list(shipped_exprs(rules_file))
check(len(shipped) == len(rules), f"{len(rules)} expressions in alerts.yml, got {len(shipped)}")
for expr in shipped:
    data = query(expr)
    check(data["resultType"] == "vector", f"shipped {expr}: vector")
    for s in selectors(expr):
        check(bool(query(f"count({s})")["result"]), f"shipped: selector {s} matches series")
    print(f"  ok  {len(data['result'])} series: {expr[:90]}")

print("alerts:")
must_fire = ["CorswatchBlockedRequestsHigh", "CorswatchPreflightFailureRatioHigh",
             "CorswatchSecurityFinding", "CorswatchLabelOverflow", "CorswatchPolicyDrift"]
must_not = ["CorswatchAgentDown", "CorswatchNotCapturing", "CorswatchPacketsDropped",
            "CorswatchBlockedRatioHigh", "CorswatchNewBlockedKind", "CorswatchEndpointRefusals"]
# Every expected alert must go pending (its `for:` is 6 to 180 s here), and the blocked spike must
# go on to fire (60 s). `seen` keeps every state each alert reached during the wait.
seen = {}
began = time.time()
while time.time() < deadline:
    for a in api("/api/v1/alerts")["alerts"]:
        seen.setdefault(a["labels"]["alertname"], set()).add(a["state"])
    if "firing" in seen.get("CorswatchBlockedRequestsHigh", ()) and all(seen.get(n) for n in must_fire):
        break
    time.sleep(1)
check("firing" in seen.get("CorswatchBlockedRequestsHigh", ()),
      f"blocked spike alert fires, got {sorted(seen.get('CorswatchBlockedRequestsHigh', []))}")
for n in must_fire:
    check(bool(seen.get(n, set()) & {"pending", "firing"}), f"alert {n} pending or firing, got {sorted(seen.get(n, []))}")
    print(f"  ok  {n}: {', '.join(sorted(seen.get(n, [])))}")
# Silent: never firing. A burst of the replay may make one pending; its `for:` is what keeps
# such a burst from notifying, as in production.
for n in must_not:
    check("firing" not in seen.get(n, ()), f"alert {n} silent, got {sorted(seen.get(n, []))}")
    print(f"  ok  {n}: {'silent' if n not in seen else 'pending at times, never firing'}")
print(f"  (waited {time.time() - began:.0f} s for the alerts)")
spike = [a for a in api("/api/v1/alerts")["alerts"] if a["labels"]["alertname"] == "CorswatchBlockedRequestsHigh"]
if spike:
    a = spike[0]
    check(all(k in a["annotations"] for k in ("summary", "description", "runbook_url")),
          "spike alert has summary, description, runbook_url")
    print(f'  e.g. {a["annotations"]["summary"]}')

print(f"{checks - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
EOF
# --- 6. the event stream of the same agent: JSON lines, counted, rate-limited -----------------
agent /metrics >"$WORK/scrape-events.txt"
python3 - "$WORK/events.jsonl" "$WORK/scrape-events.txt" "$PROM" <<'EOF'
import json, sys, urllib.parse, urllib.request
path, scrape, prom = sys.argv[1:4]
def total(name):
    return sum(float(l.rsplit(" ", 1)[1]) for l in open(scrape)
               if l.startswith(name + "{") or l.startswith(name + " "))
written, suppressed = total("corswatch_events_written_total"), total("corswatch_events_suppressed_total")
lines = [json.loads(l) for l in open(path).read().splitlines()]  # read after the scrape
fails = []
if not lines: fails.append("no event lines")
if len(lines) < written: fails.append(f"{len(lines)} lines < {written} counted as written")
if suppressed <= 0: fails.append("the rate limit suppressed nothing over 30 passes")
for v in lines:
    if v.get("host") != "e2e" or "hop" not in v or "suppressed" not in v or "kind" not in v:
        fails.append(f"bad line {v}"); break
q = urllib.request.urlopen(prom + "/api/v1/query?" + urllib.parse.urlencode(
    {"query": "sum(corswatch_events_suppressed_total)"}), timeout=10)
res = json.load(q)["data"]["result"]
if not res or float(res[0]["value"][1]) <= 0: fails.append("Prometheus has no suppressed events")
print(f"event stream: {len(lines)} lines, {written:.0f} written and {suppressed:.0f} suppressed per the agent")
for f in fails: print(f"  FAIL {f}")
sys.exit(1 if fails else 0)
EOF
# --- 7. the endpoints' guard ----------------------------------------------------------------
prom_value() {
  curl -sf "$PROM/api/v1/query" --data-urlencode "query=$1" |
    python3 -c 'import json, sys; r = json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "none")'
}
up=$(prom_value "up{job=\"corswatch\",instance=\"127.0.0.1:$AGENT_PORT\"}")
[ "$up" = 1 ] || fail "Prometheus's target is not up over TLS with basic auth (up=$up)"
url=$(curl -sf "$PROM/api/v1/targets" | python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["activeTargets"][0]["scrapeUrl"])')
case "$url" in https://*) ;; *) fail "Prometheus scrapes $url, not https" ;; esac
say "Prometheus scrapes $url: up"
before=$(refused unauthorized)
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" -u "$SCRAPE_USER:wrong-password" "$AGENT/metrics")
[ "$code" = 401 ] || fail "a wrong password got $code, not 401"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" "$AGENT/report")
[ "$code" = 401 ] || fail "/report without credentials got $code, not 401"
curl -s -D - -o /dev/null --cacert "$CA" "$AGENT/metrics" | grep -qi '^www-authenticate: Basic' ||
  fail "a 401 without WWW-Authenticate: Basic"
if curl -sf -o /dev/null "http://127.0.0.1:$AGENT_PORT/metrics"; then fail "plain HTTP was answered"; fi
after=$(refused unauthorized)
[ "$after" -ge $((before + 3)) ] || fail "refusals counted $before -> $after, expected 3 more"
[ "$(refused tls_handshake)" -ge 1 ] || fail "the plain-HTTP attempt is not counted as tls_handshake"
grep -q 'web endpoint refused a request' "$WORK/agent.log" || fail "no warn line for the refusals"
# Prometheus sees the counter rise on its next scrapes.
seen_by_prometheus() {
  [ "$(prom_value "corswatch_web_requests_refused_total{reason=\"unauthorized\"} >= $after")" != none ]
}
# (Not wait_for: the alert wait above may have spent the deadline; this is 10 s at most.)
for _ in $(seq 20); do seen_by_prometheus && break; sleep 0.5; done
seen_by_prometheus || fail "Prometheus does not see the refusals counted ($after)"
say "guard: a wrong password, no credentials and plain HTTP refused; unauthorized $before -> $after (agent and Prometheus), tls_handshake $(refused tls_handshake)"

say "done in $((SECONDS - START))s"
