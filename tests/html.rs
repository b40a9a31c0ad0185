//! The HTML report (`analyze --format html`), checked from Rust: one self-contained page (no
//! network reference of any kind), every kind of the JSON report with its section, charts drawn,
//! size bounds on real recordings and on a flood of distinct values, and escaping.
//! `tests/browser/html-report.sh` opens it in real Chromium.

use crate::cli::{entry, har, temp_file};
use crate::util::{capture, corswatch, run, stdout};
use serde_json::Value;

fn html(args: &[&str], file: &std::path::Path) -> String {
    let out = run(
        corswatch()
            .arg("analyze")
            .arg(file)
            .args(["--format", "html"])
            .args(args),
        0,
    );
    stdout(&out)
}

fn json(file: &std::path::Path) -> Value {
    let out = run(
        corswatch()
            .arg("analyze")
            .arg(file)
            .args(["--format", "json"]),
        0,
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Nothing in the page can make the browser fetch anything: no external URL in an attribute
/// that loads, no stylesheet link, no CSS url(), no import, and a CSP that forbids it anyway.
fn assert_self_contained(page: &str) {
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(
        page.contains(r#"<meta http-equiv="Content-Security-Policy" content="default-src 'none';"#)
    );
    let lower = page.to_ascii_lowercase();
    for bad in [
        " src=",
        "<link",
        "url(",
        "@import",
        "<iframe",
        "<object",
        "<embed",
        "srcset",
        "<base",
        "http-equiv=\"refresh\"",
        "<img",
        "<form",
    ] {
        assert!(!lower.contains(bad), "the page contains {bad}");
    }
    // The one script uses no network API (text in the page may mention fetch(): it is escaped).
    let script = lower
        .split("<script>")
        .nth(1)
        .unwrap()
        .split("</script>")
        .next()
        .unwrap();
    for api in [
        "fetch",
        "xmlhttprequest",
        "websocket",
        "sendbeacon",
        "eventsource",
        "import",
        "src",
        "location",
        "open(",
    ] {
        assert!(!script.contains(api), "the script uses {api}");
    }
    // Links only to anchors in the page.
    for (i, _) in page.match_indices("href=\"") {
        let rest = &page[i + 6..];
        assert!(
            rest.starts_with('#'),
            "link out of the page: {}",
            &rest[..40.min(rest.len())]
        );
    }
    for (open, close) in [
        ("<section", "</section>"),
        ("<article", "</article>"),
        ("<table", "</table>"),
        ("<svg", "</svg>"),
        ("<script", "</script>"),
        ("<details", "</details>"),
    ] {
        assert_eq!(
            page.matches(open).count(),
            page.matches(close).count(),
            "{open} not balanced"
        );
    }
}

#[test]
fn real_recordings_give_a_small_complete_page() {
    for (name, limit) in [
        ("chromium-devtools.har", 400_000),
        ("chromium-loopback.pcap", 400_000),
    ] {
        let path = capture(name);
        let page = html(&[], &path);
        let report = json(&path);
        assert_self_contained(&page);
        assert!(page.len() < limit, "{name}: {} bytes", page.len());
        let t = &report["totals"];
        assert!(page.contains(&format!(
            "blocked <b>{}</b> of {} cross-origin requests",
            t["blocked"], t["cross_origin"]
        )));
        // Every kind but notes has its section, in the report's order, with its message.
        let kinds: Vec<&Value> = report["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["class"] != "note")
            .collect();
        let mut last = 0;
        for k in &kinds {
            let id = k["kind"].as_str().unwrap();
            let at = page
                .find(&format!(r#"id="kind-{id}""#))
                .unwrap_or_else(|| panic!("{name}: no section for {id}"));
            assert!(at > last, "{name}: {id} out of order");
            last = at;
        }
        assert_eq!(page.matches("<article").count(), kinds.len());
        // Charts: the timeline with bars, four top lists and the preflight outcomes.
        assert!(page.contains(r#"<svg class="chart timeline""#));
        assert!(page.matches(r#"<svg class="chart bars""#).count() >= 4);
        let timeline = page.split(r#"<svg class="chart timeline""#).nth(1).unwrap();
        let timeline = timeline.split("</svg>").next().unwrap();
        assert!(timeline.matches("<rect").count() > 20);
        // A fix tab per stack for a kind with server snippets, the first one checked.
        let first = kinds[0]["kind"].as_str().unwrap();
        let section = page.split(&format!(r#"id="kind-{first}""#)).nth(1).unwrap();
        let section = section.split("</article>").next().unwrap();
        assert_eq!(section.matches(r#"type="radio""#).count(), 8);
        assert_eq!(section.matches(" checked>").count(), 1);
    }
}

#[test]
fn stacks_choose_and_order_the_tabs() {
    let page = html(
        &["--stack", "nginx", "--stack", "express"],
        &capture("chromium-devtools.har"),
    );
    let section = page.split(r#"id="kind-acao_missing""#).nth(1).unwrap();
    let section = section.split("</article>").next().unwrap();
    let tabs: Vec<&str> = section
        .split("<label for=")
        .skip(1)
        .map(|l| l.split('>').nth(1).unwrap().split('<').next().unwrap())
        .collect();
    assert_eq!(tabs, ["nginx", "Express"]);
    assert!(section.contains("data-stack=\"nginx\""));
    assert!(!section.contains("data-stack=\"Django\""));
}

/// Thousands of distinct origins and routes: the page stays small, lists say "and others",
/// and text from the traffic is escaped everywhere.
#[test]
fn bounded_and_escaped() {
    let mut entries = Vec::new();
    for i in 0..3000 {
        entries.push(entry(
            "GET",
            &format!("https://api.example/r{i}/<b>x</b>"),
            &[
                ("Origin", &format!("https://o{i}.example")),
                ("Sec-Fetch-Mode", "cors"),
            ],
            200,
            &[],
            "",
        ));
    }
    entries.push(entry(
        "GET",
        "https://api.example/xss",
        &[
            ("Origin", "https://a.example\"><script>alert(1)</script>"),
            ("Sec-Fetch-Mode", "cors"),
        ],
        200,
        &[("Access-Control-Allow-Origin", "<script>alert(2)</script>")],
        "",
    ));
    let (_d, p) = temp_file("many.har", har(&entries).as_bytes());
    let page = html(&[], &p);
    assert_self_contained(&page);
    assert!(page.len() < 200_000, "{} bytes", page.len());
    assert!(page.contains("… and others"));
    assert_eq!(
        page.matches("<script").count(),
        1,
        "only the page's own script"
    );
    assert!(!page.contains("<b>x</b>"));
}

#[test]
fn empty_input_gives_a_page_too() {
    let (_d, p) = temp_file("empty.har", har(&[]).as_bytes());
    let page = html(&[], &p);
    assert_self_contained(&page);
    assert!(page.contains("No cross-origin requests in this recording."));
    assert!(page.contains("The recording carries no times."));
}
