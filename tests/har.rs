//! `analyze` on the real recordings in `captures/`: snapshots of the text and JSON reports (so
//! that every output change is seen in review), the events stream, and the README demo.

use crate::util::{corswatch, root, run, stdout};

/// Runs from the repository root with a relative path, so that snapshots carry no machine path.
fn analyze(file: &str, args: &[&str]) -> String {
    let out = run(
        corswatch()
            .current_dir(root())
            .arg("analyze")
            .arg(file)
            .args(["--color", "never"])
            .args(args),
        0,
    );
    stdout(&out)
}

fn json_report(file: &str) -> serde_json::Value {
    let text = analyze(file, &["--format", "json"]);
    crate::cli::validate(text.as_bytes());
    serde_json::from_str(&text).unwrap()
}

#[test]
fn devtools_har_text_report() {
    let text = analyze(
        "captures/chromium-devtools.har",
        &["--stack", "nginx", "--stack", "express"],
    );
    insta::assert_snapshot!("devtools_har_text", text);
}

#[test]
fn devtools_har_json_report() {
    let j = json_report("captures/chromium-devtools.har");
    insta::assert_json_snapshot!("devtools_har_json", j, { ".tool.version" => "[version]" });
}

#[test]
fn playwright_har_text_report() {
    let text = analyze("captures/chromium-playwright.har", &["--stack", "fastapi"]);
    insta::assert_snapshot!("playwright_har_text", text);
}

#[test]
fn loopback_pcap_json_report() {
    let j = json_report("captures/chromium-loopback.pcap");
    insta::assert_json_snapshot!("loopback_pcap_json", j, { ".tool.version" => "[version]" });
}

/// The README's first command: every blocked kind is named with Chromium's message and a fix
/// (for the detected stack, or how to print it; `--stack all`: every stack).
#[test]
fn readme_demo_names_kind_message_and_fix() {
    let text = analyze("captures/chromium-devtools.har", &[]);
    let j = json_report("captures/chromium-devtools.har");
    let blocked: Vec<&serde_json::Value> = j["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["class"] == "blocked")
        .collect();
    assert!(blocked.len() >= 20, "{} blocked kinds", blocked.len());
    for k in blocked {
        let id = k["kind"].as_str().unwrap();
        assert!(
            text.contains(&format!("BLOCKED {id} ")),
            "{id} missing from the text report"
        );
        let msg = k["message"].as_str().unwrap();
        assert!(text.contains(msg), "{id}: message missing");
    }
    assert!(text.contains("has been blocked by CORS policy"));
    // No server stack shows in these recordings (the scenario server sends no `Server`): each
    // kind a server fixes says how to print its fix; `--stack all` prints all eight.
    assert!(text.contains(
        "no server stack recognised in the traffic: corswatch explain acao_missing --stack STACK"
    ));
    let text = analyze("captures/chromium-devtools.har", &["--stack", "all"]);
    for stack in [
        "Express:",
        "nginx:",
        "FastAPI:",
        "Flask:",
        "Django:",
        "Spring:",
        "ASP.NET Core:",
        "Apache:",
    ] {
        assert!(text.contains(stack), "no {stack} fix");
    }
}

/// One JSON object per CORS exchange, preflights included, with the documented fields.
#[test]
fn events_have_the_documented_fields() {
    let text = analyze("captures/chromium-devtools.har", &["--format", "events"]);
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let j = json_report("captures/chromium-devtools.har");
    assert_eq!(
        events.len() as u64,
        j["totals"]["cross_origin"].as_u64().unwrap()
    );
    let fields = [
        "source",
        "index",
        "time",
        "origin",
        "method",
        "url",
        "status",
        "type",
        "blocked",
        "kind",
        "cors_error",
        "failed_parameter",
        "confidence",
        "paired_with",
        "warnings",
        "findings",
    ];
    for e in &events {
        for f in fields {
            assert!(e.get(f).is_some(), "event lacks {f}: {e}");
        }
    }
    assert!(events.iter().any(|e| e["type"] == "preflight"));
    // A failed preflight and the request it stopped point at each other.
    let pf = events
        .iter()
        .find(|e| {
            e["type"] == "preflight"
                && e["kind"] == "preflight_acao_missing"
                && !e["paired_with"].is_null()
        })
        .expect("a failed, paired preflight");
    let actual = events
        .iter()
        .find(|e| e["index"] == pf["paired_with"])
        .expect("its actual request");
    assert_eq!(actual["paired_with"], pf["index"]);
    assert_eq!(actual["blocked"], true);
    assert_eq!(actual["cors_error"], "PreflightMissingAllowOriginHeader");
}

/// The same traffic from the browser's HAR and from the wire: the same blocked kinds.
#[test]
fn har_and_pcap_agree_on_kinds() {
    let har = json_report("captures/chromium-devtools.har");
    let pcap = json_report("captures/chromium-loopback.pcap");
    let blocked = |j: &serde_json::Value| -> std::collections::BTreeSet<String> {
        j["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["class"] == "blocked" && k["inferred"] == 0)
            .map(|k| k["kind"].as_str().unwrap().to_string())
            .collect()
    };
    let (h, p) = (blocked(&har), blocked(&pcap));
    let common = h.intersection(&p).count();
    assert!(common >= 20, "har {h:?}\npcap {p:?}");
}
