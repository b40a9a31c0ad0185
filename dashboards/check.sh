#!/usr/bin/env bash
# Static checks of the dashboard and the rules with Prometheus's own tools; no server needed.
#   bash dashboards/check.sh      (needs promtool: apt-get install prometheus; and python3)
# tests/e2e-prometheus.sh runs this first, then everything against a real Prometheus.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d /tmp/corswatch-check.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

echo "promtool check rules dashboards/alerts.yml"
promtool check rules dashboards/alerts.yml
echo "promtool test rules dashboards/alerts_test.yml"
promtool test rules dashboards/alerts_test.yml

# Every dashboard query through Prometheus's parser: written as recording rules, with the
# Grafana variables replaced by values of the same syntax.
python3 - dashboards/corswatch.json "$tmp/panels.yml" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
out = ["groups:", "  - name: dashboard", "    rules:"]
n = 0
for p in d["panels"]:
    # Loki panels (LogQL, the event stream) are checked by tests/dashboards.rs.
    if p.get("datasource", {}).get("type") == "loki":
        continue
    for t in p.get("targets", []):
        expr = (t["expr"].replace("$__rate_interval", "1m").replace("$__range", "1h")
                .replace("$job", ".+").replace("$instance", ".+"))
        n += 1
        out += [f"      - record: dashboard:panel_{p['id']}_{t['refId']}", f"        expr: {json.dumps(expr)}"]
open(sys.argv[2], "w").write("\n".join(out) + "\n")
print(f"dashboard: {n} queries")
EOF
echo "promtool check rules (dashboard queries)"
promtool check rules "$tmp/panels.yml"

for c in dashboards/deploy/prometheus.yml dashboards/deploy/prometheus-agent.yml; do
  echo "promtool check config $c"
  # The examples name the rule file by its deployed path; check them against the shipped one.
  sed "s#/etc/prometheus/corswatch-alerts.yml#$PWD/dashboards/alerts.yml#" "$c" >"$tmp/$(basename "$c")"
  promtool check config --syntax-only "$tmp/$(basename "$c")"
done
