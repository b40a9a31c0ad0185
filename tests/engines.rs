//! Integration tests: engines. The engine an input is judged as (a HAR's browser, or
//! `analyze --browser`), and each event's `engines` where Chromium and Firefox part, checked
//! against the two real recordings of the same scenarios (`captures/chromium-*`,
//! `captures/firefox-*`; see `tests/firefox.rs`).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::util;

fn events(file: &str, browser: Option<&str>) -> Vec<Value> {
    let mut cmd = util::corswatch();
    cmd.arg("analyze")
        .arg(util::capture(file))
        .args(["--format", "events"]);
    if let Some(b) = browser {
        cmd.args(["--browser", b]);
    }
    util::stdout(&util::run(&mut cmd, 0))
        .lines()
        .map(|l| serde_json::from_str(l).expect("event JSON"))
        .collect()
}

fn scenario(ev: &Value) -> String {
    let url = ev["url"].as_str().unwrap_or("");
    url.split("/s/")
        .nth(1)
        .and_then(|r| r.split(['/', '?']).next())
        .unwrap_or("")
        .to_string()
}

/// Each recording's verdict per scenario: (blocked, code).
fn truth(file: &str) -> BTreeMap<String, (bool, Option<String>)> {
    let text = std::fs::read_to_string(util::capture(file)).expect("ground truth");
    let doc: Value = serde_json::from_str(&text).expect("ground truth JSON");
    doc["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .map(|t| {
            (
                t["scenario"].as_str().unwrap_or("").to_string(),
                (
                    t["blocked"] == true,
                    t["cors_error"].as_str().map(str::to_string),
                ),
            )
        })
        .collect()
}

/// On Chromium's pcap (judged as Chromium), the events that carry `engines` are those of the
/// scenarios the two recordings decide differently, and each side names the verdict its browser
/// gave: the classifier predicts the Firefox recording from Chromium's traffic.
#[test]
fn engine_splits_predict_the_other_browser() {
    let (cr, ff) = (
        truth("chromium-ground-truth.json"),
        truth("firefox-ground-truth.json"),
    );
    let mut split: BTreeMap<String, Value> = BTreeMap::new();
    for ev in events("chromium-loopback.pcap", None) {
        if let Some(e) = ev.get("engines") {
            split.entry(scenario(&ev)).or_insert_with(|| e.clone());
        }
    }
    let names: Vec<&str> = split.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "pf_redirect_307_no_acao",
            "redir_loop",
            "redir_to_data_url",
            "redir_userinfo"
        ]
    );
    for (name, e) in &split {
        let (ff_blocked, ff_code) = &ff[name];
        assert_eq!(e["firefox"]["blocked"], *ff_blocked, "{name}: {e}");
        assert_eq!(e["firefox"]["code"].as_str(), ff_code.as_deref(), "{name}");
        let (cr_blocked, cr_code) = &cr[name];
        assert_eq!(e["chromium"]["blocked"], *cr_blocked, "{name}: {e}");
        assert_eq!(e["chromium"]["code"].as_str(), cr_code.as_deref(), "{name}");
    }
    // Where the engines agree, events are as before: no `engines`.
    assert!(split.len() < 10);
}

/// `--browser` overrides what the input says: Firefox's HAR judged as Chromium gives Chromium's
/// verdict with Firefox's beside it, Chromium's pcap judged as Firefox the reverse.
#[test]
fn browser_flag_overrides_detection() {
    let first = |evs: &[Value], name: &str| -> Value {
        evs.iter()
            .find(|e| scenario(e) == name && e["blocked"] == true)
            .cloned()
            .unwrap_or_else(|| panic!("no blocked event for {name}"))
    };
    let detected = events("firefox-devtools.har", None);
    let ev = first(&detected, "pf_redirect_307_no_acao");
    assert_eq!(ev["kind"], "preflight_acao_missing", "{ev}");
    assert!(
        ev["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Cross-Origin Request Blocked:")),
        "{ev}"
    );
    let as_chromium = events("firefox-devtools.har", Some("chromium"));
    let ev = first(&as_chromium, "pf_redirect_307_no_acao");
    assert_eq!(ev["kind"], "preflight_redirect", "{ev}");
    assert_eq!(ev["engines"]["firefox"]["kind"], "preflight_acao_missing");
    let as_firefox = events("chromium-loopback.pcap", Some("firefox"));
    let ev = first(&as_firefox, "redir_to_data_url");
    assert_eq!(ev["kind"], "redirect_refused", "{ev}");
    assert_eq!(ev["blocked_detail"]["firefox_error"], "CORSDidNotSucceed");
    assert_eq!(ev["engines"]["chromium"]["blocked"], false, "{ev}");
    // An unknown engine is a usage error.
    let out = util::run(
        util::corswatch()
            .arg("analyze")
            .arg(util::capture("chromium-loopback.pcap"))
            .args(["--browser", "webkit"]),
        2,
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("firefox"));
}

/// The JSON report counts failures only one engine blocks.
#[test]
fn report_counts_engine_splits() {
    let out = util::run(
        util::corswatch()
            .arg("analyze")
            .arg(util::capture("chromium-loopback.pcap"))
            .args(["--format", "json"]),
        0,
    );
    let r: Value = serde_json::from_str(&util::stdout(&out)).expect("report");
    assert_eq!(r["engines"]["only_firefox"], 2, "{}", r["engines"]);
    assert_eq!(r["engines"]["only_chromium"], 0);
    assert_eq!(r["engines"]["different_reason"], 2);
}
