//! The HTML report: one self-contained page to open in a browser, attach to a ticket or print.
//! Everything is inline (CSS, a small script, charts as SVG drawn here), and a
//! Content-Security-Policy forbids the page any network access, so it works from `file://`
//! and offline. Without JavaScript every section still reads: the fix tabs are CSS radio
//! buttons, the charts are SVG; the script only adds sorting and filtering to the tables.
//!
//! It shows what the JSON report shows (built by [`super::json::build`], so redacted the same
//! way), plus blocked requests over time from the aggregate's bounded timeline. Lists are
//! bounded by the report's `top`; what does not fit is counted in an "other" row.

mod policy;
mod svg;

use super::ReportData;
use super::json::{self, KindReport, Report};
use crate::aggregate::Ranked;
use crate::cors::{Kind, VerdictClass};
use crate::fix::{self, Stack, Values};
use std::fmt::Write;

const CSS: &str = include_str!("report.css");
const JS: &str = include_str!("report.js");

/// Examples shown per kind (the report keeps at most a few).
const EXAMPLES: usize = 5;

/// How the HTML report is rendered.
#[derive(Debug, Clone, Default)]
pub struct HtmlOptions {
    /// Stacks to show fixes for; empty = all.
    pub stacks: Vec<Stack>,
    /// Stacks whose tab comes first, in this order (e.g. the stacks detected in the traffic);
    /// the first one is the tab open by default.
    pub preferred: Vec<Stack>,
    /// Show notes (lookalikes and explanations), not only failures.
    pub notes: bool,
}

impl HtmlOptions {
    /// The stacks to show, in tab order: the preferred ones first, then the rest in
    /// [`Stack::ALL`] order.
    pub fn tab_order(&self) -> Vec<Stack> {
        let shown = |s: &Stack| self.stacks.is_empty() || self.stacks.contains(s);
        let mut v: Vec<Stack> = Vec::new();
        for s in self.preferred.iter().chain(self.stacks.iter()) {
            if shown(s) && !v.contains(s) {
                v.push(*s);
            }
        }
        for s in Stack::ALL {
            if shown(&s) && !v.contains(&s) {
                v.push(s);
            }
        }
        v
    }
}

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Escaped text in which `backquoted` words become code.
fn prose(s: &str) -> String {
    let parts: Vec<String> = esc(s).split('`').map(str::to_string).collect();
    if parts.len().is_multiple_of(2) {
        // An odd number of backquotes: leave them as they are.
        return esc(s);
    }
    let mut o = String::new();
    for (i, p) in parts.iter().enumerate() {
        if !i.is_multiple_of(2) {
            let _ = write!(o, "<code>{p}</code>");
        } else {
            o.push_str(p);
        }
    }
    o
}

/// The version line: the package version and, when the build knew it, the commit.
fn version() -> String {
    match option_env!("CORSWATCH_COMMIT") {
        Some(c) if !c.is_empty() => format!("{} ({c})", env!("CARGO_PKG_VERSION")),
        _ => env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// The HTML report.
pub fn render(d: &ReportData<'_>, opts: &HtmlOptions) -> String {
    let r = json::build(d);
    let mut o = String::with_capacity(64 * 1024);
    let names: Vec<&str> = r.inputs.iter().map(|i| i.name.as_str()).collect();
    let title = format!("corswatch: {}", names.join(", "));
    let _ = write!(
        o,
        r##"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="corswatch {ver}">
<title>{t}</title>
<style>{CSS}</style></head>
<body>
<header><h1>CORS report</h1><p class="inputs">{inputs}</p>
<nav><a href="#summary">Summary</a> <a href="#timeline">Over time</a> <a href="#top">Most affected</a> <a href="#preflights">Preflights</a> <a href="#health">Capture health</a>{policy_nav} <a href="#kinds">Kinds</a></nav></header>
<main>
"##,
        ver = esc(&version()),
        t = esc(&title),
        policy_nav = policy::nav(&r),
        inputs = r
            .inputs
            .iter()
            .map(|i| format!(
                "<span class=\"input\">{}</span> <span class=\"muted\">({}, {} exchanges)</span>",
                esc(&i.name),
                esc(i.format.as_deref().unwrap_or("unrecognised")),
                i.exchanges
            ))
            .collect::<Vec<_>>()
            .join(" · "),
    );
    let kinds: Vec<&KindReport> = r
        .kinds
        .iter()
        .filter(|k| opts.notes || k.class != VerdictClass::Note.as_str())
        .collect();
    summary(&mut o, &r, &kinds);
    timeline(&mut o, d);
    top(&mut o, &r);
    preflights(&mut o, &r);
    health(&mut o, &r);
    policy::sections(&mut o, &r);
    let _ = writeln!(o, r##"<section id="kinds"><h2>Kinds</h2>"##);
    if kinds.is_empty() {
        let _ = writeln!(
            o,
            "<p>No CORS failures: every cross-origin request passed the browser's checks.</p>"
        );
    }
    let tabs = opts.tab_order();
    for k in &kinds {
        kind_section(&mut o, k, &tabs);
    }
    let _ = write!(
        o,
        r##"</section>
</main>
<footer>Made by corswatch {ver}. Header values such as Cookie, Authorization and API keys, and query-string values, are redacted. This page loads nothing from the network.</footer>
<script>{JS}</script>
</body></html>
"##,
        ver = esc(&version())
    );
    o
}

fn class_badge(class: &str) -> String {
    format!(r##"<span class="badge {c}">{c}</span>"##, c = esc(class))
}

fn summary(o: &mut String, r: &Report, kinds: &[&KindReport]) {
    let t = &r.totals;
    let _ = write!(
        o,
        r##"<section id="summary"><h2>Summary</h2>
<p class="verdict">{verdict}</p>
<div class="cards">
<div class="card blocked"><b>{}</b> blocked</div>
<div class="card warning"><b>{}</b> warnings</div>
<div class="card finding"><b>{}</b> security findings</div>
<div class="card"><b>{}</b> cross-origin requests <small>{} simple · {} preflight · {} actual</small></div>
<div class="card"><b>{}</b> exchanges read</div>
</div>
"##,
        t.blocked,
        t.warnings,
        t.findings,
        t.cross_origin,
        t.simple,
        t.preflight,
        t.actual,
        t.exchanges,
        verdict = verdict(r),
    );
    if t.not_cors_network_error > 0 {
        let _ = writeln!(
            o,
            "<p class=\"muted\">{} failed requests were not CORS failures (network errors, ORB, blocked by the client).</p>",
            t.not_cors_network_error
        );
    }
    if !kinds.is_empty() {
        let _ = writeln!(
            o,
            r##"<table class="sortable" id="kind-table"><thead><tr><th>kind</th><th>class</th><th>count</th><th>what the browser saw</th></tr></thead><tbody>"##
        );
        for k in kinds {
            let _ = writeln!(
                o,
                r##"<tr><td><a href="#kind-{id}"><code>{id}</code></a></td><td data-v="{rank}">{badge}</td><td class="n" data-v="{n}">{n}</td><td>{title}</td></tr>"##,
                id = esc(&k.kind),
                rank = class_rank(&k.class),
                badge = class_badge(&k.class),
                n = k.count,
                title = esc(&k.title),
            );
        }
        let _ = writeln!(o, "</tbody></table>");
    }
    let _ = writeln!(o, "</section>");
}

fn class_rank(class: &str) -> u8 {
    match class {
        "blocked" => 0,
        "warning" => 1,
        "finding" => 2,
        _ => 3,
    }
}

fn verdict(r: &Report) -> String {
    let t = &r.totals;
    let blocked_kinds = r.kinds.iter().filter(|k| k.class == "blocked").count();
    if t.cross_origin == 0 {
        "No cross-origin requests in this recording.".into()
    } else if t.blocked > 0 {
        format!(
            "A browser blocked <b>{}</b> of {} cross-origin requests, for {} reason{}.",
            t.blocked,
            t.cross_origin,
            blocked_kinds,
            if blocked_kinds == 1 { "" } else { "s" }
        )
    } else {
        format!(
            "A browser allowed all {} cross-origin requests.",
            t.cross_origin
        )
    }
}

fn timeline(o: &mut String, d: &ReportData<'_>) {
    let t = &d.aggregate.timeline;
    let _ = writeln!(
        o,
        r##"<section id="timeline"><h2>Blocked requests over time</h2>"##
    );
    match svg::timeline(t) {
        Some(chart) => {
            let _ = writeln!(o, r##"<figure>{chart}<figcaption class="legend">"##);
            for (k, c) in svg::timeline_kinds(t) {
                let _ = write!(
                    o,
                    r##"<span><i style="background:{c}"></i><a href="#kind-{id}">{id}</a></span> "##,
                    id = k.id()
                );
            }
            let shown = svg::timeline_kinds(t).len();
            let all: std::collections::BTreeSet<Kind> = t
                .buckets()
                .flat_map(|(_, b)| b.blocked.keys().copied().collect::<Vec<_>>())
                .collect();
            if all.len() > shown {
                let _ = write!(
                    o,
                    r##"<span><i style="background:{}"></i>{} other kinds</span>"##,
                    svg::PALETTE[7],
                    all.len() - shown
                );
            }
            let _ = writeln!(o, "</figcaption></figure>");
        }
        None => {
            let _ = writeln!(o, "<p class=\"muted\">The recording carries no times.</p>");
        }
    }
    if t.untimed > 0 {
        let _ = writeln!(
            o,
            "<p class=\"muted\">{} requests had no recorded time and are not on the chart.</p>",
            t.untimed
        );
    }
    let _ = writeln!(o, "</section>");
}

/// A bounded table of a ranked list; an `other` row reads "all others".
fn ranked_table(o: &mut String, what: &str, rows: &[Ranked]) {
    let _ = writeln!(
        o,
        r##"<table class="sortable"><thead><tr><th>{}</th><th>count</th></tr></thead><tbody>"##,
        esc(what)
    );
    for r in rows {
        if r.value == "other" {
            let _ = writeln!(
                o,
                r##"<tr class="other"><td>… and others</td><td class="n" data-v="{n}">{n}</td></tr>"##,
                n = r.count
            );
        } else {
            let _ = writeln!(
                o,
                r##"<tr><td><code>{}</code></td><td class="n" data-v="{n}">{n}</td></tr>"##,
                esc(&r.value),
                n = r.count
            );
        }
    }
    let _ = writeln!(o, "</tbody></table>");
}

fn top(o: &mut String, r: &Report) {
    let _ = writeln!(
        o,
        r##"<section id="top"><h2>Most affected</h2><p class="muted">Over blocked requests.</p><div class="grid">"##
    );
    for (heading, what, rows) in [
        ("Origins", "origin", &r.top.origins),
        ("Routes", "route", &r.top.routes),
        ("Methods", "method", &r.top.methods),
        (
            "Request headers refused",
            "request header",
            &r.top.request_headers,
        ),
    ] {
        let _ = writeln!(o, r##"<div class="panel-box"><h3>{heading}</h3>"##);
        if rows.is_empty() {
            let _ = writeln!(o, "<p class=\"muted\">none</p></div>");
            continue;
        }
        o.push_str(&svg::bars(
            &format!("Blocked requests by {what}"),
            rows,
            "blocked",
        ));
        ranked_table(o, what, rows);
        let _ = writeln!(o, "</div>");
    }
    let _ = writeln!(o, "</div></section>");
}

fn preflights(o: &mut String, r: &Report) {
    let p = &r.pairing;
    let rows = vec![
        Ranked {
            value: "followed by its request".into(),
            count: p.preflight_then_actual,
        },
        Ranked {
            value: "not followed (stopped)".into(),
            count: p.preflight_without_actual,
        },
        Ranked {
            value: "request, no preflight seen".into(),
            count: p.actual_without_preflight,
        },
    ];
    let _ = writeln!(
        o,
        r##"<section id="preflights"><h2>Preflight outcomes</h2><p>{} preflights seen. A request that needed a preflight with none visible was served from the browser's preflight cache, or the preflight is outside the recording.</p>"##,
        p.preflights
    );
    o.push_str(&svg::bars("Preflight outcomes", &rows, "exchanges"));
    ranked_table(o, "outcome", &rows);
    let _ = writeln!(o, "</section>");
}

fn health(o: &mut String, r: &Report) {
    let _ = writeln!(
        o,
        r##"<section id="health"><h2>Capture health</h2><p class="muted">Read this before trusting a change in the numbers above: a capture that misses traffic can look like a fix.</p>"##
    );
    if r.capture_health.packets == 0 {
        let _ = writeln!(
            o,
            "<p>Read from HAR files: no packets, so nothing to lose in capture.</p>"
        );
    } else if r.capture_warnings.is_empty() {
        let _ = writeln!(
            o,
            "<p>No capture problem found in {} packets.</p>",
            r.capture_health.packets
        );
    } else {
        let _ = writeln!(o, "<ul class=\"warnings\">");
        for w in &r.capture_warnings {
            let _ = writeln!(o, "<li>{}</li>", esc(w));
        }
        let _ = writeln!(o, "</ul>");
    }
    // Every counter, whatever the model adds later.
    if let Ok(serde_json::Value::Object(m)) = serde_json::to_value(r.capture_health) {
        let _ = writeln!(
            o,
            r##"<details><summary>Counters</summary><table class="sortable"><thead><tr><th>counter</th><th>value</th></tr></thead><tbody>"##
        );
        for (k, v) in m {
            let _ = writeln!(
                o,
                r##"<tr><td>{}</td><td class="n" data-v="{v}">{v}</td></tr>"##,
                esc(&k.replace('_', " ")),
                v = esc(&v.to_string())
            );
        }
        let _ = writeln!(o, "</tbody></table></details>");
    }
    if r.problems_total > 0 {
        let _ = writeln!(
            o,
            "<h3>Input problems ({})</h3><ul class=\"problems\">",
            r.problems_total
        );
        for p in &r.problems {
            let _ = writeln!(o, "<li>{}</li>", esc(p));
        }
        let more = r.problems_total.saturating_sub(r.problems.len() as u64);
        if more > 0 {
            let _ = writeln!(o, "<li>… and {more} more</li>");
        }
        let _ = writeln!(o, "</ul>");
    }
    let _ = writeln!(o, "</section>");
}

fn list_line(o: &mut String, label: &str, rows: &[Ranked]) {
    if rows.is_empty() {
        return;
    }
    let items: Vec<String> = rows
        .iter()
        .map(|r| {
            if r.value == "other" {
                format!("… others ({})", r.count)
            } else {
                format!("<code>{}</code> ({})", esc(&r.value), r.count)
            }
        })
        .collect();
    let _ = writeln!(o, "<dt>{label}</dt><dd>{}</dd>", items.join(", "));
}

fn kind_section(o: &mut String, k: &KindReport, tabs: &[Stack]) {
    let id = esc(&k.kind);
    let _ = writeln!(
        o,
        r##"<article class="kind {class}" id="kind-{id}"><h3>{badge} <code>{id}</code> <span class="count">×{n}</span> {title}</h3>"##,
        class = esc(&k.class),
        badge = class_badge(&k.class),
        n = k.count,
        title = esc(&k.title),
    );
    let mut ids: Vec<String> = k
        .cors_errors
        .keys()
        .map(|e| format!("Chromium <code>{}</code>", esc(e)))
        .collect();
    if let Some(ff) = &k.firefox_error {
        ids.push(format!("Firefox <code>{}</code>", esc(ff)));
    }
    if !ids.is_empty() {
        let _ = writeln!(o, "<p class=\"muted\">{}</p>", ids.join(" · "));
    }
    if k.inferred > 0 {
        let _ = writeln!(
            o,
            "<p class=\"inferred\">{} of {} inferred: the recording lacks some evidence.</p>",
            k.inferred, k.count
        );
    }
    if !k.message.is_empty() {
        let label = if k.class == "blocked" {
            "The browser's console says"
        } else {
            "What it means"
        };
        let _ = writeln!(
            o,
            r##"<p class="label">{label}</p><pre class="console">{}</pre>"##,
            esc(&k.message)
        );
    }
    if !k.evidence.is_empty() {
        let _ = writeln!(
            o,
            r##"<p class="label">Evidence</p><table class="evidence"><tbody>"##
        );
        for e in &k.evidence {
            let _ = writeln!(
                o,
                "<tr><th>{}</th><td><code>{}</code></td></tr>",
                esc(&e.header),
                esc(&e.value)
            );
        }
        let _ = writeln!(o, "</tbody></table>");
    }
    let _ = writeln!(o, "<dl class=\"who\">");
    if k.failed_parameters.iter().any(|p| !p.value.is_empty()) {
        list_line(o, "failing", &k.failed_parameters);
    }
    list_line(o, "origins", &k.origins);
    list_line(o, "routes", &k.routes);
    list_line(o, "methods", &k.methods);
    let _ = writeln!(o, "</dl>");
    if !k.examples.is_empty() {
        let _ = writeln!(
            o,
            r##"<details open><summary>Examples</summary><table class="examples sortable"><thead><tr><th>where</th><th>time</th><th>method</th><th>URL</th><th>status</th></tr></thead><tbody>"##
        );
        for e in k.examples.iter().take(EXAMPLES) {
            let place = if e.source.to_ascii_lowercase().ends_with(".har") {
                format!("{} entry {}", e.source, e.index)
            } else {
                format!("{} packet {}", e.source, e.index)
            };
            let _ = writeln!(
                o,
                r##"<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td class="n">{}</td></tr>"##,
                esc(&place),
                esc(&e.time),
                esc(&e.method),
                esc(&e.url),
                e.status.map_or("none".to_string(), |s| s.to_string())
            );
        }
        let _ = writeln!(o, "</tbody></table></details>");
    }
    if let Some(kind) = Kind::from_id(&k.kind) {
        fix_section(o, kind, k, tabs);
    }
    let _ = writeln!(o, "</article>");
}

/// The fix: what to change, the client side where it applies, and one tab per stack. The
/// tabs are radio buttons styled by CSS: they switch without JavaScript.
fn fix_section(o: &mut String, kind: Kind, k: &KindReport, tabs: &[Stack]) {
    let f = fix::fix(kind);
    let _ = writeln!(o, r##"<div class="fix"><p class="label">Fix</p>"##);
    if !f.summary.is_empty() {
        let _ = writeln!(o, "<p>{}</p>", prose(f.summary));
    }
    if let Some(c) = f.client {
        let _ = writeln!(o, "<p><b>In the page:</b> {}</p>", prose(c));
    }
    // The observed origin goes into the snippets when it is a real one; the other placeholders
    // keep their example values.
    let mut values = Values::new();
    let origin = k
        .origins
        .iter()
        .find(|r| r.value != "other" && values.clone().set("origin", &r.value).is_ok());
    if let Some(r) = origin {
        let _ = values.set("origin", &r.value);
    }
    let snippets: Vec<(Stack, String)> = tabs
        .iter()
        .filter_map(|s| {
            let text = match f.render(*s, &values) {
                Some(Ok(t)) => t,
                _ => f.snippet(*s)?.to_string(),
            };
            Some((*s, text))
        })
        .collect();
    if snippets.is_empty() {
        let _ = writeln!(o, "</div>");
        return;
    }
    let name = format!("fix-{}", kind.id());
    let _ = writeln!(
        o,
        r##"<div class="tabs" role="group" aria-label="Fix per server stack">"##
    );
    for (i, (s, _)) in snippets.iter().enumerate() {
        let _ = writeln!(
            o,
            r##"<input type="radio" name="{name}" id="{name}-{i}"{}><label for="{name}-{i}">{}</label>"##,
            if i == 0 { " checked" } else { "" },
            esc(s.name())
        );
    }
    let _ = writeln!(o, r##"<div class="panels">"##);
    for (s, text) in &snippets {
        let _ = writeln!(
            o,
            r##"<div class="panel" data-stack="{}"><pre><code>{}</code></pre></div>"##,
            esc(s.name()),
            esc(text)
        );
    }
    let _ = writeln!(o, "</div></div>");
    let note = match origin {
        Some(r) => format!(
            "The snippets allow <code>{}</code>, the origin seen most; the other values are examples: <code>corswatch explain {} --stack STACK --snippet --set NAME=VALUE</code> fills in yours.",
            esc(&r.value),
            kind.id()
        ),
        None => format!(
            "The values are examples: <code>corswatch explain {} --stack STACK --snippet --set NAME=VALUE</code> fills in yours.",
            kind.id()
        ),
    };
    let _ = writeln!(o, "<p class=\"muted\">{note}</p></div>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prose_turns_backquotes_into_code() {
        assert_eq!(
            prose("add `Vary: Origin` <now>"),
            "add <code>Vary: Origin</code> &lt;now&gt;"
        );
        assert_eq!(prose("a ` b"), "a ` b");
    }

    #[test]
    fn escapes_everything_that_matters() {
        assert_eq!(
            esc(r##"<a href="x">'&'</a>"##),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn preferred_stacks_come_first() {
        let o = HtmlOptions {
            preferred: vec![Stack::Nginx, Stack::Django],
            ..HtmlOptions::default()
        };
        let t = o.tab_order();
        assert_eq!(t.len(), 8);
        assert_eq!(&t[..3], &[Stack::Nginx, Stack::Django, Stack::Express]);
        let o = HtmlOptions {
            stacks: vec![Stack::Flask, Stack::Apache],
            preferred: vec![Stack::Apache, Stack::Nginx],
            notes: false,
        };
        assert_eq!(o.tab_order(), vec![Stack::Apache, Stack::Flask]);
    }
}
