//! The Grafana dashboard, the alert rules and the runbook, checked without Grafana or Prometheus
//! (tests/e2e-prometheus.sh runs them against a real Prometheus): the dashboard's structure, and
//! that every PromQL expression names only metrics that the agent exports.

use crate::util::root;
use serde_json::Value;
use std::collections::{BTreeSet, HashSet};

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn dashboard() -> Value {
    serde_json::from_str(&read("dashboards/corswatch.json"))
        .unwrap_or_else(|e| panic!("dashboard is not JSON: {e}"))
}

/// Metric names the agent exports: those a fresh registry renders, plus the families that only
/// appear once they have samples (their label sets are open: kind, origin, route).
fn exported() -> HashSet<String> {
    let text = corswatch::metrics::Metrics::new(&corswatch::metrics::MetricsConfig::default())
        .render_prometheus();
    let mut names: HashSet<String> = text
        .lines()
        .filter_map(|l| match l.strip_prefix("# TYPE ") {
            Some(rest) => rest.split(' ').next(),
            None if !l.starts_with('#') => l.split(['{', ' ']).next(),
            None => None,
        })
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect();
    assert!(names.contains("corswatch_requests_total"), "{text}");
    for family in ["blocked", "warnings", "findings", "notes", "policy_drift"] {
        names.insert(format!("corswatch_{family}_total"));
    }
    // One series per stack once seen: none before.
    names.insert("corswatch_stack_info".into());
    names
}

/// The metric names an expression reads. A small lexer, not a parser: strings, label matchers,
/// range and subquery brackets and grouping label lists are dropped; what is left that is an
/// identifier, not a keyword and not called like a function, is a metric name.
fn metric_names(expr: &str) -> BTreeSet<String> {
    const KEYWORDS: &[&str] = &[
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "and",
        "or",
        "unless",
        "offset",
        "bool",
        "inf",
        "nan",
        // Aggregations may put `by (...)` between their name and their parenthesis.
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
    ];
    const GROUPING: &[&str] = &[
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
    ];
    let mut out = BTreeSet::new();
    let b = expr.as_bytes();
    let mut i = 0;
    let mut last_word = String::new();
    while i < b.len() {
        let c = b[i] as char;
        if c == '"' || c == '\'' || c == '`' {
            let end = expr[i + 1..].find(c).map_or(b.len(), |j| i + 1 + j);
            i = end + 1;
        } else if c == '{' || c == '[' {
            let close = if c == '{' { '}' } else { ']' };
            // Label values may hold braces (routes like /users/{id}): skip strings inside.
            let mut j = i + 1;
            while j < b.len() && b[j] as char != close {
                if b[j] == b'"' {
                    j = expr[j + 1..].find('"').map_or(b.len(), |k| j + 1 + k);
                }
                j += 1;
            }
            i = j + 1;
        } else if c == '(' && GROUPING.contains(&last_word.as_str()) {
            i = expr[i..].find(')').map_or(b.len(), |j| i + j + 1);
            last_word.clear();
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < b.len()
                && ((b[i] as char).is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':')
            {
                i += 1;
            }
            let word = &expr[start..i];
            let called = expr[i..].trim_start().starts_with('(');
            if !called && !KEYWORDS.contains(&word.to_ascii_lowercase().as_str()) {
                out.insert(word.to_string());
            }
            last_word = word.to_string();
        } else if c.is_ascii_digit() || c == '.' {
            // Numbers and durations (`offset 1h`).
            while i < b.len() && (b[i] as char).is_ascii_alphanumeric() {
                i += 1;
            }
            if i < b.len() && b[i] == b'.' {
                i += 1;
            }
        } else {
            if !c.is_whitespace() {
                last_word.clear();
            }
            i += 1;
        }
    }
    out
}

#[test]
fn lexer_finds_metric_names() {
    let names = metric_names(
        r#"sum by (job, kind) (rate(corswatch_blocked_total{route="/u/{id}",job=~"$job"}[$__rate_interval]))
           / on (job) group_left job:corswatch_requests:rate5m > 0.1
           unless max_over_time(up[1d] offset 1h) and topk(10, corswatch_packets_total)"#,
    );
    let want: BTreeSet<String> = [
        "corswatch_blocked_total",
        "job:corswatch_requests:rate5m",
        "up",
        "corswatch_packets_total",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(names, want);
}

/// `expr:` values of alerts.yml: one line, or a `|` / `>-` block (the file's own style).
fn rule_exprs(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        let Some(pos) = line.find("expr:") else {
            continue;
        };
        if line.trim_start().starts_with('#') {
            continue;
        }
        let value = line[pos + 5..].trim();
        if !matches!(value, "|" | ">" | ">-" | "|-") {
            out.push(value.to_string());
            continue;
        }
        let mut body = Vec::new();
        while i < lines.len() && (lines[i].trim().is_empty() || indent(lines[i]) > indent(line)) {
            body.push(lines[i].trim());
            i += 1;
        }
        out.push(body.join(" ").trim().to_string());
    }
    out
}

/// Values of `key:` lines (`- alert: X`, `record: Y`, `runbook_url: Z`).
fn yaml_values(text: &str, key: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let t = l.trim_start().trim_start_matches("- ");
            t.strip_prefix(key)?
                .strip_prefix(':')
                .map(|v| v.trim().to_string())
        })
        .collect()
}

fn panels(d: &Value) -> Vec<&Value> {
    d["panels"]
        .as_array()
        .unwrap_or_else(|| panic!("no panels"))
        .iter()
        .collect()
}

/// Panels on the Loki data source (the event stream, `watch --events`).
fn is_loki(p: &Value) -> bool {
    p["datasource"]["type"] == "loki"
}

/// A logs panel on the `loki` variable, reading the stream the shipping configs in
/// `dashboards/logs/` label `job="corswatch-events"`, with LogQL that parses the JSON lines.
fn check_loki_panel(p: &Value) {
    let title = p["title"].as_str().unwrap_or("?");
    let ds = serde_json::json!({"type": "loki", "uid": "${loki}"});
    assert_eq!(p["datasource"], ds, "{title}: datasource");
    assert_eq!(p["type"], "logs", "{title}: a logs panel");
    assert!(
        p["description"].as_str().is_some_and(|s| !s.is_empty()),
        "{title}: description"
    );
    let targets = p["targets"].as_array().expect("targets");
    assert!(!targets.is_empty(), "{title}: no query");
    for t in targets {
        assert_eq!(t["datasource"], ds, "{title}: target datasource");
        let expr = t["expr"].as_str().expect("expr");
        assert!(
            expr.starts_with(r#"{job="corswatch-events"}"#),
            "{title}: stream selector: {expr}"
        );
        assert!(expr.contains("| json"), "{title}: parse the lines: {expr}");
        // Every field the query names is a field of the event lines.
        for field in expr.split("{{.").skip(1) {
            let name = field.split("}}").next().unwrap_or("");
            assert!(
                EVENT_LINE_FIELDS.contains(&name),
                "{title}: {name} is not a field of the event lines"
            );
        }
    }
}

/// Top-level fields of a `watch --events` line (`--format events` plus host, hop, suppressed).
const EVENT_LINE_FIELDS: &[&str] = &[
    "source",
    "index",
    "time",
    "origin",
    "method",
    "url",
    "route",
    "status",
    "type",
    "blocked",
    "kind",
    "cors_error",
    "failed_parameter",
    "confidence",
    "message",
    "pairing",
    "paired_with",
    "host",
    "hop",
    "suppressed",
];

#[test]
fn dashboard_structure() {
    let d = dashboard();
    let uid = d["uid"].as_str().expect("uid");
    assert!((8..=40).contains(&uid.len()), "uid {uid}");
    assert!(d["schemaVersion"].as_u64().expect("schemaVersion") >= 36);
    assert!(d["title"].as_str().is_some_and(|t| !t.is_empty()));
    // No `__inputs`: a `${DS_...}` placeholder breaks file provisioning.
    assert!(d.get("__inputs").is_none());

    let vars = d["templating"]["list"].as_array().expect("templating");
    let var = |name: &str| {
        vars.iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("variable {name}"))
    };
    assert_eq!(var("datasource")["type"], "datasource");
    assert_eq!(var("datasource")["query"], "prometheus");
    assert_eq!(var("loki")["type"], "datasource");
    assert_eq!(var("loki")["query"], "loki");
    for name in ["job", "instance"] {
        assert_eq!(var(name)["type"], "query");
        assert_eq!(var(name)["datasource"]["uid"], "${datasource}");
    }

    let mut ids = HashSet::new();
    let mut boxes: Vec<(&str, [u64; 4])> = Vec::new();
    for p in panels(&d) {
        let title = p["title"].as_str().expect("title");
        assert!(
            ids.insert(p["id"].as_u64().expect("id")),
            "duplicate id in {title}"
        );
        let g = &p["gridPos"];
        let [x, y, w, h] = ["x", "y", "w", "h"].map(|k| {
            g[k].as_u64()
                .unwrap_or_else(|| panic!("{title}: gridPos.{k}"))
        });
        assert!(w > 0 && h > 0 && x + w <= 24, "{title}: gridPos {g}");
        for (other, [ox, oy, ow, oh]) in &boxes {
            let apart = x + w <= *ox || ox + ow <= x || y + h <= *oy || oy + oh <= y;
            assert!(apart, "{title} overlaps {other}");
        }
        boxes.push((title, [x, y, w, h]));
        if p["type"] == "row" {
            continue;
        }
        if is_loki(p) {
            check_loki_panel(p);
            continue;
        }
        let ds = serde_json::json!({"type": "prometheus", "uid": "${datasource}"});
        assert_eq!(p["datasource"], ds, "{title}: datasource");
        assert!(
            p["description"].as_str().is_some_and(|s| !s.is_empty()),
            "{title}: description"
        );
        assert!(
            p["fieldConfig"]["defaults"]["unit"].is_string(),
            "{title}: unit"
        );
        let targets = p["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{title}: no query");
        let mut refs = HashSet::new();
        for t in targets {
            assert_eq!(t["datasource"], ds, "{title}: target datasource");
            assert!(
                refs.insert(t["refId"].as_str().expect("refId")),
                "{title}: refId"
            );
        }
    }
}

#[test]
fn dashboard_queries_use_exported_metrics_and_the_variables() {
    let d = dashboard();
    let exported = exported();
    let mut used = BTreeSet::new();
    for p in panels(&d).into_iter().filter(|p| !is_loki(p)) {
        for t in p["targets"].as_array().into_iter().flatten() {
            let expr = t["expr"].as_str().expect("expr");
            let title = p["title"].as_str().unwrap_or("?");
            // Many hosts: every panel aggregates, and never over a raw `instance` sum by accident.
            assert!(
                expr.contains("sum by ("),
                "{title}: aggregate with `sum by`: {expr}"
            );
            assert!(
                !expr.contains("[5m]") && !expr.contains("[1m]"),
                "{title}: use $__rate_interval or $__range: {expr}"
            );
            // Every selector filters by the job and instance variables.
            let selectors = expr.matches("corswatch_").count();
            assert_eq!(
                expr.matches(r#"job=~"$job""#).count(),
                selectors,
                "{title}: {expr}"
            );
            assert_eq!(
                expr.matches(r#"instance=~"$instance""#).count(),
                selectors,
                "{title}: {expr}"
            );
            for name in metric_names(expr) {
                assert!(exported.contains(&name), "{title}: {name} is not exported");
                used.insert(name);
            }
        }
    }
    // The panels cover the contract: every exported family has a panel.
    let unused: Vec<_> = exported.iter().filter(|n| !used.contains(*n)).collect();
    assert!(unused.is_empty(), "no panel shows {unused:?}");
}

#[test]
fn alert_rules_use_exported_metrics_and_have_runbooks() {
    let text = read("dashboards/alerts.yml");
    let exported = exported();
    let records: HashSet<String> = yaml_values(&text, "record").into_iter().collect();
    let alerts = yaml_values(&text, "alert");
    let exprs = rule_exprs(&text);
    assert_eq!(
        exprs.len(),
        records.len() + alerts.len(),
        "one expr per rule"
    );
    for expr in &exprs {
        for name in metric_names(expr) {
            // `up` is Prometheus's own; `level:metric:op` names are this file's recording rules.
            let known = exported.contains(&name) || records.contains(&name) || name == "up";
            assert!(
                known,
                "{name} in {expr} is neither exported nor recorded here"
            );
        }
    }
    for r in &records {
        assert!(
            r.contains(":corswatch_"),
            "recording rule {r}: level:metric:operations"
        );
    }

    let runbook = read("dashboards/RUNBOOK.md");
    let anchors: HashSet<String> = runbook
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(|h| {
            h.trim()
                .to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
                .map(|c| if c == ' ' { '-' } else { c })
                .collect()
        })
        .collect();
    let urls = yaml_values(&text, "runbook_url");
    assert_eq!(urls.len(), alerts.len(), "one runbook_url per alert");
    for (alert, url) in alerts.iter().zip(&urls) {
        assert!(alert.starts_with("Corswatch"), "{alert}: shared prefix");
        let anchor = url
            .strip_prefix("dashboards/RUNBOOK.md#")
            .unwrap_or_else(|| panic!("{alert}: runbook_url {url}"));
        assert_eq!(anchor, alert.to_lowercase(), "{alert}: runbook anchor");
        assert!(
            anchors.contains(anchor),
            "RUNBOOK.md has no section for {alert}"
        );
    }
    // Every alert block carries the mixin's mandatory fields.
    for block in text.split("- alert: ").skip(1) {
        let name = block.lines().next().unwrap_or("?");
        for key in [
            "expr:",
            "for:",
            "severity:",
            "summary:",
            "description:",
            "runbook_url:",
        ] {
            assert!(block.contains(key), "{name}: no {key}");
        }
    }
}

/// The shipping configurations of the event stream (`dashboards/logs/`) read the file the
/// docs name and label the stream as the dashboard's Loki panel selects it; the README's LogQL
/// is the panel's. Vector and Fluent Bit cannot be installed here: structure only.
#[test]
fn log_shipping_configs_match_the_panel() {
    let path = "/var/log/corswatch/events.jsonl";
    let vector: toml::Table = toml::from_str(&read("dashboards/logs/vector.toml"))
        .unwrap_or_else(|e| panic!("vector.toml: {e}"));
    let source = &vector["sources"]["corswatch_events"];
    assert_eq!(source["type"].as_str(), Some("file"));
    assert_eq!(source["include"][0].as_str(), Some(path));
    let remap = &vector["transforms"]["corswatch_parsed"];
    assert_eq!(remap["type"].as_str(), Some("remap"));
    assert_eq!(remap["inputs"][0].as_str(), Some("corswatch_events"));
    assert!(remap["source"].as_str().unwrap().contains("parse_json!"));
    let sink = &vector["sinks"]["loki"];
    assert_eq!(sink["type"].as_str(), Some("loki"));
    assert_eq!(sink["inputs"][0].as_str(), Some("corswatch_parsed"));
    assert_eq!(sink["labels"]["job"].as_str(), Some("corswatch-events"));
    assert_eq!(sink["encoding"]["codec"].as_str(), Some("json"));

    let fb = read("dashboards/logs/fluent-bit.yaml");
    for line in [
        "- name: tail",
        &format!("path: {path}"),
        "parser: corswatch_events",
        "format: json",
        "time_key: time",
        "- name: loki",
        "match: corswatch.events",
        "labels: job=corswatch-events, host=$host",
        "line_format: json",
    ] {
        assert!(fb.contains(line), "fluent-bit.yaml: {line}");
    }
    assert!(
        !fb.contains('\t'),
        "fluent-bit.yaml: tabs are not YAML indentation"
    );

    let d = dashboard();
    let panel = panels(&d)
        .into_iter()
        .find(|p| is_loki(p))
        .expect("a Loki panel");
    let expr = panel["targets"][0]["expr"].as_str().unwrap();
    let readme = read("dashboards/logs/README.md");
    assert!(
        readme.contains(expr),
        "dashboards/logs/README.md shows another query than the panel's"
    );
    assert!(readme.contains(path));
}

#[test]
fn provisioning_and_deploy_files_exist() {
    for f in [
        "dashboards/provisioning/dashboards/corswatch.yaml",
        "dashboards/provisioning/datasources/prometheus.yaml",
        "dashboards/deploy/corswatch.service",
        "dashboards/deploy/k8s-sidecar.yaml",
        "dashboards/deploy/k8s-daemonset.yaml",
        "dashboards/deploy/prometheus.yml",
        "dashboards/deploy/prometheus-agent.yml",
        "dashboards/alerts_test.yml",
        "dashboards/README.md",
        "dashboards/check.sh",
    ] {
        assert!(root().join(f).is_file(), "{f} missing");
    }
    let unit = read("dashboards/deploy/corswatch.service");
    for line in [
        "AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN",
        "NoNewPrivileges=yes",
        "DynamicUser=yes",
    ] {
        assert!(unit.contains(line), "corswatch.service: {line}");
    }
}

/// `corswatch::report::merge` on real reports (the CLI's `merge` wraps it).
#[test]
fn merge_real_reports() {
    let report = |capture: &str| -> Value {
        let out = crate::util::corswatch()
            .args(["analyze", "--format", "json"])
            .arg(crate::util::capture(capture))
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{capture}: {e}\n{}", String::from_utf8_lossy(&out.stderr)))
    };
    let har = report("chromium-devtools.har");
    let pcap = report("chromium-loopback.pcap");
    let merge = |rs: &[&Value]| -> Value {
        use corswatch::report::merge;
        let parsed = rs
            .iter()
            .map(|r| merge::parse(r.to_string().as_bytes()).unwrap())
            .collect();
        serde_json::to_value(merge::merge(parsed).unwrap()).unwrap()
    };
    let merged = merge(&[&har, &pcap]);
    crate::cli::validate(&serde_json::to_vec(&merged).unwrap());
    for key in ["exchanges", "cross_origin", "blocked", "findings"] {
        let sum = har["totals"][key].as_u64().unwrap() + pcap["totals"][key].as_u64().unwrap();
        assert_eq!(merged["totals"][key], sum, "totals.{key}");
    }
    let kind_sum = |r: &Value| -> u64 {
        r["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["count"].as_u64().unwrap())
            .sum()
    };
    assert_eq!(kind_sum(&merged), kind_sum(&har) + kind_sum(&pcap));
    // Every top list keeps its total: re-ranking moves counts into `other`, never drops them.
    for list in ["origins", "routes", "methods", "request_headers"] {
        let total = |r: &Value| -> u64 {
            r["top"][list]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["count"].as_u64().unwrap())
                .sum()
        };
        assert_eq!(total(&merged), total(&har) + total(&pcap), "top.{list}");
    }
    let twice = merge(&[&pcap, &pcap]);
    crate::cli::validate(&serde_json::to_vec(&twice).unwrap());
    assert_eq!(
        twice["totals"]["blocked"],
        2 * pcap["totals"]["blocked"].as_u64().unwrap()
    );
}

/// The runbook's fix tables name every kind that alerts can quote (blocked, warning, finding).
#[test]
fn runbook_covers_every_alerting_kind() {
    let runbook = read("dashboards/RUNBOOK.md");
    for k in corswatch::cors::Kind::ALL {
        if k.class() == corswatch::cors::VerdictClass::Note {
            continue;
        }
        let id = k.id();
        let by_prefix = id.starts_with("lna_") && runbook.contains("`lna_*`");
        assert!(
            runbook.contains(&format!("`{id}`")) || by_prefix,
            "RUNBOOK.md fix table has no row for {id}"
        );
    }
}
