//! Hop awareness on real two-hop traffic (`captures/lab/`, recorded by the lab: nginx and
//! Apache in front of a plain app and of Express, both hops on loopback), the inner hops alone,
//! and the stale-cache inference on the lab's DevTools HAR. The lab itself (`tests/lab/`) checks
//! the same against a fresh run with Chromium as the judge.

use crate::util::{corswatch, root, run, stdout};
use serde_json::Value;
use std::collections::BTreeMap;

fn analyze(file: &str, args: &[&str]) -> String {
    stdout(&run(
        corswatch()
            .current_dir(root())
            .arg("analyze")
            .arg(file)
            .args(["--color", "never"])
            .args(args),
        0,
    ))
}

fn events(file: &str, args: &[&str]) -> Vec<Value> {
    analyze(file, &[&["--format", "events"], args].concat())
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn json(file: &str, args: &[&str]) -> Value {
    let text = analyze(file, &[&["--format", "json"], args].concat());
    crate::cli::validate(text.as_bytes());
    serde_json::from_str(&text).unwrap()
}

fn truth() -> Value {
    let text = std::fs::read_to_string(root().join("captures/lab/ground-truth.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn path_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or("/", |i| &rest[i..])
}

/// The events of each scenario (by its URL prefix).
fn by_scenario(evs: &[Value]) -> BTreeMap<String, Vec<&Value>> {
    let mut m: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for e in evs {
        let p = path_of(e["url"].as_str().unwrap());
        if let Some(id) = p.strip_prefix("/s/").and_then(|r| r.split('/').next()) {
            m.entry(id.to_owned()).or_default().push(e);
        }
    }
    m
}

#[test]
fn both_hops_captured_judged_once_as_chromium_did() {
    let t = truth();
    let evs = events("captures/lab/proxies.pcap", &[]);
    let per = by_scenario(&evs);
    let inner_ports: Vec<String> = ["backend", "express-behind"]
        .iter()
        .map(|p| format!(":{}/", t["ports"][p]))
        .collect();
    for e in &evs {
        let url = e["url"].as_str().unwrap();
        assert!(
            !inner_ports.iter().any(|p| url.contains(p.as_str())),
            "an inner hop judged on its own: {e}"
        );
    }
    let mut checked = 0;
    for sc in t["scenarios"].as_array().unwrap() {
        let id = sc["id"].as_str().unwrap();
        let mine = per.get(id).map_or(&[][..], |v| &v[..]);
        let blocked: Vec<&&Value> = mine.iter().filter(|e| e["blocked"] == true).collect();
        if sc["blocked"] == false {
            assert!(
                blocked.is_empty(),
                "{id}: allowed by Chromium, got {blocked:?}"
            );
        } else if sc["no_evidence_pcap"] == true {
            assert!(
                blocked.is_empty(),
                "{id}: nothing on the wire, got {blocked:?}"
            );
        } else {
            assert_eq!(blocked.len(), 1, "{id}: {mine:?}");
            assert_eq!(blocked[0]["cors_error"], sc["cors_error"], "{id}");
        }
        // Every request that reached the app is seen at both hops.
        for e in mine {
            if let Some(h) = e.get("hop") {
                assert_eq!(h["visible"], "both", "{id}: {e}");
            }
        }
        checked += 1;
    }
    assert!(checked >= 30, "{checked} scenarios");
    let j = json("captures/lab/proxies.pcap", &[]);
    // Preflights the proxy answers itself have no inner hop.
    assert!(
        j["hops"]["both_seen"].as_u64().unwrap() >= 20,
        "{}",
        j["hops"]
    );
    assert_eq!(j["hops"]["inner_only"], 0);
    // nginx adds the CORS headers in the nginx group: the proxy wrote them.
    let layers = j["hops"]["layers"].as_array().unwrap();
    assert!(
        layers
            .iter()
            .any(|l| l["route"].as_str().unwrap().starts_with("/s/nginx.")
                && l["header"] == "Access-Control-Allow-Origin"
                && l["set_by"] == "proxy"),
        "{layers:?}"
    );
    assert!(
        layers.iter().any(|l| l["route"]
            .as_str()
            .unwrap()
            .starts_with("/s/nginx.double_acao")
            && l["set_by"] == "both"),
        "{layers:?}"
    );
}

#[test]
fn stacks_detected_and_their_fix_first() {
    let j = json("captures/lab/proxies.pcap", &[]);
    let stacks: Vec<(String, String)> = j["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["stack"].as_str().unwrap().to_owned(),
                s["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for want in [("nginx", "proxy"), ("apache", "proxy"), ("express", "app")] {
        assert!(
            stacks.contains(&(want.0.to_owned(), want.1.to_owned())),
            "{want:?} not in {stacks:?}"
        );
    }
    let text = analyze("captures/lab/proxies.pcap", &[]);
    assert!(text.contains("(detected: proxy):"), "{text}");
    assert!(text.contains("(detected: app):"), "{text}");
    assert!(text.contains("Which layer set the CORS headers (both hops seen)"));
    assert!(text.contains("other stacks: corswatch explain"));
    // Short: one or two stacks per kind, not eight.
    assert!(!text.contains("ASP.NET Core"), "{text}");
    let all = analyze("captures/lab/proxies.pcap", &["--stack", "all"]);
    assert!(all.contains("    ASP.NET Core:"));
    // Rendered with what was seen: the lab page's origin, the scenario's route prefix.
    let origin = truth()["origin"].as_str().unwrap().to_owned();
    assert!(text.contains(&format!("\"{origin}\"")), "{origin}");
}

#[test]
fn inner_hop_alone_judged_as_the_browsers_or_the_apps() {
    let evs = events("captures/lab/proxies-inner.pcap", &[]);
    assert!(!evs.is_empty());
    for e in &evs {
        let h = &e["hop"];
        assert_eq!(h["visible"], "inner_only", "{e}");
        assert_eq!(h["counted"], true);
        assert_eq!(e["confidence"]["level"], "inferred", "{e}");
        assert!(
            e["notes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["kind"] == "inner_hop_only"),
            "{e}"
        );
        // Judged as the browser sent it: Apache's X-Forwarded-* taken off, so a simple GET
        // stays simple.
        let route = e["route"].as_str().unwrap();
        if route.ends_with(".no_cors/data") || route.ends_with(".origin_not_allowed/data") {
            assert_eq!(e["type"], "simple", "{e}");
        }
    }
    let j = json("captures/lab/proxies-inner.pcap", &[]);
    assert!(j["totals"]["blocked"].as_u64().unwrap() > 0);
    assert_eq!(j["hops"]["both_seen"], 0);
    // The proxy is declared to set the CORS headers: the app's answers are not browser blocks.
    let j = json("captures/lab/proxies-inner.pcap", &["--proxy-sets-cors"]);
    assert_eq!(j["totals"]["blocked"], 0);
    assert!(j["hops"]["app_only"].as_u64().unwrap() > 0);
    // Where both hops are visible the option changes nothing.
    let a = json("captures/lab/proxies.pcap", &[]);
    let b = json("captures/lab/proxies.pcap", &["--proxy-sets-cors"]);
    assert_eq!(a["totals"], b["totals"]);
}

#[test]
fn stale_cache_inferred_from_the_recordings_earlier_answer() {
    let evs = events("captures/lab/stale-cache.har", &[]);
    let blocked: Vec<&Value> = evs.iter().filter(|e| e["blocked"] == true).collect();
    assert_eq!(blocked.len(), 2, "{evs:?}");
    for e in blocked {
        assert_eq!(e["kind"], "acao_stale_cache");
        assert_eq!(e["cors_error"], "MissingAllowOriginHeader");
        assert_eq!(e["confidence"]["level"], "inferred");
        let a = e["confidence"]["assumption"].as_str().unwrap();
        assert!(
            a.contains("entry ") && a.contains("without Vary: Origin"),
            "{a}"
        );
    }
}
