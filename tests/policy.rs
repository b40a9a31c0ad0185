//! CORS policies on the real recordings: `policy suggest` → `analyze --policy` round trips,
//! a policy that drops one origin, drift from a declared policy, located parse errors, the
//! policy schema, and a snapshot of one suggestion.

use crate::util::{corswatch, root, run, stdout};
use serde_json::Value;
use std::path::Path;

/// Every capture the round trip runs on.
const CAPTURES: [&str; 10] = [
    "captures/chromium-devtools.har",
    "captures/chromium-devtools-cdp.har",
    "captures/chromium-loopback.pcap",
    "captures/chromium-playwright.har",
    "captures/firefox-devtools.har",
    "captures/firefox-loopback.pcap",
    "captures/lab/proxies.pcap",
    "captures/lab/proxies-inner.pcap",
    "captures/lab/stale-cache.har",
    "captures/lab/reflecting-curl.pcap",
];

/// Blocking kinds no response header can lift: the browser refuses the redirect itself.
const NOT_HEADER_FIXABLE: [&str; 2] = ["redirect_userinfo", "redirect_refused"];

fn suggest(file: &str, out: &Path) {
    run(
        corswatch()
            .current_dir(root())
            .args(["policy", "suggest", file, "-o"])
            .arg(out),
        0,
    );
}

fn what_if(file: &str, policy: &Path) -> Value {
    let out = run(
        corswatch()
            .current_dir(root())
            .args(["analyze", file, "--format", "json", "--policy"])
            .arg(policy),
        0,
    );
    crate::cli::validate(&out.stdout);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    report["what_if"].clone()
}

fn legitimate(origin: &Value) -> bool {
    origin
        .as_str()
        .is_some_and(|o| o != "null" && (o.starts_with("http://") || o.starts_with("https://")))
}

#[test]
fn suggest_then_what_if_leaves_no_legitimate_origin_blocked() {
    let dir = tempfile::tempdir().unwrap();
    let mut figures = Vec::new();
    for file in CAPTURES {
        let p = dir.path().join("policy.toml");
        suggest(file, &p);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(!text.contains("\"*\""), "{file}: a wildcard\n{text}");
        assert!(!text.contains("\"null\""), "{file}: null\n{text}");
        let w = what_if(file, &p);
        let still = w["still_blocked_list"].as_array().unwrap();
        assert_eq!(
            still.len() as u64,
            w["still_blocked"].as_u64().unwrap(),
            "{file}: the list is complete"
        );
        for i in still.iter().filter(|i| legitimate(&i["origin"])) {
            let after = i["after"].as_str().unwrap_or_default();
            assert!(
                NOT_HEADER_FIXABLE.contains(&after),
                "{file}: still blocked from a legitimate origin: {i}"
            );
        }
        for i in w["now_break_list"].as_array().unwrap() {
            assert!(
                !legitimate(&i["origin"]),
                "{file}: the suggestion breaks a legitimate request: {i}"
            );
        }
        assert_eq!(
            w["new_findings"],
            serde_json::json!({}),
            "{file}: the suggestion brings security findings"
        );
        figures.push(format!(
            "{file}: now_pass {} now_break {} still_blocked {} still_pass {}",
            w["now_pass"], w["now_break"], w["still_blocked"], w["still_pass"]
        ));
    }
    eprintln!("{}", figures.join("\n"));
}

#[test]
fn a_policy_without_one_origin_breaks_exactly_its_requests() {
    let dir = tempfile::tempdir().unwrap();
    let file = "captures/lab/reflecting-curl.pcap";
    let full = dir.path().join("full.toml");
    suggest(file, &full);
    let w = what_if(file, &full);
    assert_eq!(w["now_break"], 0, "{w}");
    assert_eq!(w["still_blocked"], 0, "{w}");
    let text = std::fs::read_to_string(&full).unwrap();
    // https://app.example.com: one GET of /v1/profile, and the PUT of /v1/things/42 (its
    // preflight counted through it).
    for (origin, requests) in [("https://evil.example", 1), ("https://app.example.com", 2)] {
        let quoted = format!("\"{origin}\"");
        let dropped: String = text
            .lines()
            .map(|l| {
                if l.starts_with("origins = [") {
                    let kept: Vec<&str> = l["origins = [".len()..l.len() - 1]
                        .split(", ")
                        .filter(|o| *o != quoted && !o.is_empty())
                        .collect();
                    format!("origins = [{}]", kept.join(", "))
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let p = dir.path().join("dropped.toml");
        std::fs::write(&p, dropped).unwrap();
        let w = what_if(file, &p);
        assert_eq!(w["now_break"], requests, "{origin}: {w}");
        assert_eq!(
            w["now_break_origins"],
            serde_json::json!([{"origin": origin, "count": requests}]),
            "{origin}"
        );
        assert!(
            w["now_break_list"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["origin"] == origin && i["before"].is_null()),
            "{w}"
        );
        assert_eq!(w["now_pass"], 0);
        // The gate.
        run(
            corswatch()
                .current_dir(root())
                .args([
                    "analyze",
                    file,
                    "-q",
                    "--fail-on",
                    "policy-break",
                    "--policy",
                ])
                .arg(&p),
            1,
        );
    }
    run(
        corswatch()
            .current_dir(root())
            .args([
                "analyze",
                file,
                "-q",
                "--fail-on",
                "policy-break",
                "--policy",
            ])
            .arg(&full),
        0,
    );
}

const DECLARED: &str = r#"
[[route]]
prefix = "/v1/"
origins = ["https://app.example.com", "https://*.example.com"]
methods = ["PUT"]
request_headers = ["content-type"]
credentials = true
"#;

#[test]
fn declared_policy_reports_a_reflecting_server() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("declared.toml");
    std::fs::write(&p, DECLARED).unwrap();
    let file = "captures/lab/reflecting-curl.pcap";
    let out = run(
        corswatch()
            .current_dir(root())
            .args(["analyze", file, "--format", "json", "--declared"])
            .arg(&p),
        0,
    );
    crate::cli::validate(&out.stdout);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules: Vec<(String, u64)> = r["policy_drift"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["rule"].as_str().unwrap().to_owned(),
                x["count"].as_u64().unwrap(),
            )
        })
        .collect();
    let count = |rule: &str| rules.iter().find(|(r, _)| r == rule).map_or(0, |x| x.1);
    assert!(count("reflected_origin") > 0, "{rules:?}");
    // Three origins outside the policy were allowed: `https://*.example.com` covers
    // admin.example.com, never the lookalike app.example.com.evil.net.
    assert_eq!(count("origin_not_in_policy"), 3, "{rules:?}");
    assert_eq!(count("methods_beyond_policy"), 1, "{rules:?}");
    assert_eq!(count("policy_origin_refused"), 0, "{rules:?}");
    assert!(count("missing_vary_origin") > 0);
    let examples = r["policy_drift"]["examples"].as_array().unwrap();
    assert!(examples.iter().any(|e| e["rule"] == "origin_not_in_policy"
        && e["origin"] == "https://app.example.com.evil.net"));
    // Events carry it; the gate fires.
    let ev = run(
        corswatch()
            .current_dir(root())
            .args(["analyze", file, "--format", "events", "--declared"])
            .arg(&p),
        0,
    );
    let reflected = stdout(&ev)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| {
            e["policy_drift"]
                .as_array()
                .is_some_and(|d| d.iter().any(|d| d["rule"] == "reflected_origin"))
        })
        .count() as u64;
    assert_eq!(reflected, count("reflected_origin"));
    run(
        corswatch()
            .current_dir(root())
            .args([
                "analyze",
                file,
                "-q",
                "--fail-on",
                "policy-drift",
                "--declared",
            ])
            .arg(&p),
        1,
    );
    // Without a policy nothing changes: no section, no event field.
    let plain = run(
        corswatch()
            .current_dir(root())
            .args(["analyze", file, "--format", "json"]),
        0,
    );
    let plain: Value = serde_json::from_slice(&plain.stdout).unwrap();
    assert!(plain.get("policy_drift").is_none() && plain.get("what_if").is_none());
}

#[test]
fn policy_errors_name_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("policy.toml");
    std::fs::write(
        &p,
        "[[route]]\nprefix = \"/v1/\"\norigins = [\"https://a.example\"]\ncolour = \"red\"\n",
    )
    .unwrap();
    let out = run(
        corswatch()
            .current_dir(root())
            .args(["analyze", "captures/lab/stale-cache.har", "--policy"])
            .arg(&p),
        2,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:4: colour: ", p.display())),
        "{err}"
    );
    std::fs::write(&p, "[default]\norigins = [\"https://evilexample.com/\"]\n").unwrap();
    let out = run(
        corswatch()
            .current_dir(root())
            .args(["analyze", "captures/lab/stale-cache.har", "--declared"])
            .arg(&p),
        2,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(":2: origins: "), "{err}");
    // --fail-on policy-break without --policy is a usage error.
    run(
        corswatch().current_dir(root()).args([
            "analyze",
            "captures/lab/stale-cache.har",
            "--fail-on",
            "policy-break",
        ]),
        2,
    );
}

#[test]
fn schemas_and_render() {
    let s = run(corswatch().args(["schema", "policy"]), 0);
    assert_eq!(stdout(&s), corswatch::policy::SCHEMA);
    let s = run(corswatch().arg("schema"), 0);
    assert_eq!(stdout(&s), corswatch::report::json::SCHEMA);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("policy.toml");
    suggest("captures/lab/proxies.pcap", &p);
    let out = run(
        corswatch()
            .args(["policy", "render", "--stack", "all"])
            .arg(&p),
        0,
    );
    let text = stdout(&out);
    for stack in [
        "nginx",
        "Express",
        "FastAPI",
        "Flask",
        "Django",
        "Spring",
        "ASP.NET Core",
        "Apache",
    ] {
        assert!(text.contains(&format!("# ===== {stack} =====")), "{stack}");
    }
    assert!(text.contains("http://localhost:44061"));
    assert!(
        !text.contains("app.example.com"),
        "an example value left:\n{text}"
    );
}

#[test]
fn suggestion_snapshot() {
    let out = run(
        corswatch()
            .current_dir(root())
            .args(["policy", "suggest", "captures/lab/proxies.pcap"]),
        0,
    );
    insta::assert_snapshot!("policy_suggest_proxies_pcap", stdout(&out));
}

#[test]
fn the_html_report_shows_the_what_if_and_the_drift() {
    let dir = tempfile::tempdir().unwrap();
    let file = "captures/lab/reflecting-curl.pcap";
    let full = dir.path().join("full.toml");
    suggest(file, &full);
    // The suggested policy without the lookalike origin: its one request now breaks.
    let text = std::fs::read_to_string(&full)
        .unwrap()
        .replace("\"https://evil.example\", ", "")
        .replace(", \"https://evil.example\"", "");
    let proposed = dir.path().join("proposed.toml");
    std::fs::write(&proposed, text).unwrap();
    let declared = dir.path().join("declared.toml");
    std::fs::write(&declared, DECLARED).unwrap();
    let html = stdout(&run(
        corswatch()
            .current_dir(root())
            .args(["analyze", file, "--format", "html", "--policy"])
            .arg(&proposed)
            .arg("--declared")
            .arg(&declared),
        0,
    ));
    for want in [
        r##"<a href="#what-if">What if</a>"##,
        r##"<a href="#drift">Drift</a>"##,
        r#"<section id="what-if">"#,
        "<h3>Now break</h3>",
        "<code>https://evil.example</code> (1)",
        r#"<section id="drift">"#,
        "<td><code>reflected_origin</code></td>",
    ] {
        assert!(html.contains(want), "{want} missing");
    }
    // Without a policy, neither section.
    let plain = stdout(&run(
        corswatch()
            .current_dir(root())
            .args(["analyze", file, "--format", "html"]),
        0,
    ));
    assert!(!plain.contains("id=\"what-if\"") && !plain.contains("id=\"drift\""));
}
