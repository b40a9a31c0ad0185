//! The report for people: a summary line, then each kind (blocked first, most frequent
//! first) with the browser's console message, who is affected, the evidence and the fix.

use super::ReportData;
use super::json::capture_warnings;
use crate::aggregate::{KindStats, Ranked};
use crate::cors::VerdictClass;
use crate::fix::{self, Stack};
use std::fmt::Write;

/// How the text report is rendered.
pub struct TextOptions {
    /// ANSI colour.
    pub color: bool,
    /// Stacks to show fixes for (`--stack`; `--stack all` names every one); empty: the stacks
    /// the traffic shows, or none (a line says how to print them).
    pub stacks: Vec<Stack>,
    /// Show notes (lookalikes and explanations), not only failures.
    pub notes: bool,
}

struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
    fn class(&self, c: VerdictClass) -> String {
        let (code, label) = match c {
            VerdictClass::Blocked => ("1;31", "BLOCKED"),
            VerdictClass::Warning => ("1;33", "WARNING"),
            VerdictClass::Finding => ("1;35", "FINDING"),
            VerdictClass::Note => ("1;36", "NOTE"),
        };
        self.paint(code, label)
    }
}

/// The text report.
pub fn render(d: &ReportData<'_>, opts: &TextOptions) -> String {
    let st = Style { on: opts.color };
    let a = d.aggregate;
    let t = &a.totals;
    let mut o = String::new();
    let names: Vec<&str> = d.run.inputs.iter().map(|i| i.name.as_str()).collect();
    let _ = writeln!(
        o,
        "{} {}: {} exchanges, {} cross-origin ({} simple, {} preflight, {} actual)",
        st.bold("corswatch"),
        names.join(", "),
        t.exchanges,
        t.cross_origin,
        t.simple,
        t.preflight,
        t.actual
    );
    let _ = writeln!(
        o,
        "{} blocked, {} warnings, {} security findings{}",
        if t.blocked > 0 {
            st.paint("1;31", &t.blocked.to_string())
        } else {
            "0".into()
        },
        t.warnings,
        t.findings,
        if t.not_cors_network_error > 0 {
            format!(
                "; {} failed requests were not CORS failures (network, ORB, blocked by client)",
                t.not_cors_network_error
            )
        } else {
            String::new()
        }
    );
    let p = &a.pairing;
    if p.preflights > 0 || p.actual_without_preflight > 0 {
        let _ = writeln!(
            o,
            "{}",
            st.dim(&format!(
                "preflights: {} seen, {} followed by their request, {} without one; {} requests needing a preflight had none visible (cached or outside the recording)",
                p.preflights, p.preflight_then_actual, p.preflight_without_actual, p.actual_without_preflight
            ))
        );
    }
    let e = &a.engines;
    if !e.is_zero() {
        let _ = writeln!(
            o,
            "{}",
            st.dim(&format!(
                "engines: {} blocked only by Chromium, {} only by Firefox, {} by both for different reasons (see each event's `engines`)",
                e.only_chromium, e.only_firefox, e.different_reason
            ))
        );
    }
    for w in capture_warnings(&a.health) {
        let _ = writeln!(o, "{} capture: {w}", st.paint("33", "!"));
    }
    for i in &d.run.inputs {
        if i.tls_without_keys.is_empty() {
            continue;
        }
        let names: Vec<String> = i
            .tls_without_keys
            .iter()
            .map(|p| match p.alpn.as_str() {
                "" => format!("{} ({})", p.sni, p.connections),
                alpn => format!("{} ({}, ALPN {alpn})", p.sni, p.connections),
            })
            .collect();
        let _ = writeln!(
            o,
            "{} capture: {}: TLS without keys to: {}",
            st.paint("33", "!"),
            i.name,
            names.join(", ")
        );
    }
    hops_line(&mut o, &st, a);

    let kinds: Vec<&KindStats> = a
        .ranked_kinds()
        .into_iter()
        .filter(|k| opts.notes || k.kind.class() != VerdictClass::Note)
        .collect();
    if kinds.is_empty() && t.cross_origin > 0 {
        let _ = writeln!(
            o,
            "\nNo CORS failures: every cross-origin request passed the browser's checks."
        );
    }
    for k in kinds {
        kind_section(&mut o, &st, d, k, opts);
    }

    layers_section(&mut o, &st, d);

    if t.blocked > 0 {
        let _ = writeln!(o, "\n{}", st.bold("Most affected"));
        top_line(&mut o, "origins", &a.origins.top(d.top));
        top_line(&mut o, "routes", &a.routes.top(d.top));
        top_line(&mut o, "methods", &a.methods.top(d.top));
        top_line(&mut o, "request headers", &a.request_headers.top(d.top));
    }

    if d.run.problems_total > 0 {
        let _ = writeln!(
            o,
            "\n{} ({})",
            st.bold("Input problems"),
            d.run.problems_total
        );
        for pr in &d.run.problems {
            let _ = writeln!(o, "  {pr}");
        }
        if d.run.problems_total as usize > d.run.problems.len() {
            let _ = writeln!(
                o,
                "  … {} more",
                d.run.problems_total as usize - d.run.problems.len()
            );
        }
    }
    let what_if = a.policy.what_if.as_ref().map(super::policy::what_if);
    let drift = a.policy.drift.as_ref().map(super::policy::drift);
    o.push_str(&super::policy::text(
        what_if.as_ref(),
        drift.as_ref(),
        d.top,
    ));
    o
}

fn kind_section(o: &mut String, st: &Style, d: &ReportData<'_>, k: &KindStats, opts: &TextOptions) {
    let f = fix::fix(k.kind);
    let codes: Vec<&str> = k.cors_errors.keys().map(|e| e.as_str()).collect();
    let mut ids = String::new();
    if !codes.is_empty() {
        ids.push_str(&format!("Chromium {}", codes.join(" / ")));
    }
    if let Some(ff) = k.firefox_error {
        if !ids.is_empty() {
            ids.push_str(", ");
        }
        ids.push_str(&format!("Firefox {ff}"));
    }
    let _ = writeln!(
        o,
        "\n{} {} ×{}  {}{}",
        st.class(k.kind.class()),
        st.bold(k.kind.id()),
        k.count,
        f.title,
        if ids.is_empty() {
            String::new()
        } else {
            st.dim(&format!("  ({ids})"))
        }
    );
    if k.inferred > 0 {
        let _ = writeln!(
            o,
            "  {}",
            st.paint(
                "33",
                &format!(
                    "{} of {} inferred (the recording lacks some evidence)",
                    k.inferred, k.count
                )
            )
        );
    }
    if !k.message.is_empty() {
        let label = match k.kind.class() {
            VerdictClass::Blocked => "console",
            _ => "says",
        };
        let _ = writeln!(o, "  {label}: {}", k.message);
    }
    if !k.evidence.is_empty() {
        let ev: Vec<String> = k
            .evidence
            .iter()
            .map(|(h, v)| format!("{h}: {v}"))
            .collect();
        let _ = writeln!(o, "  evidence: {}", ev.join(" | "));
    }
    let params = k.failed_parameters.top(d.top);
    if !params.is_empty() && params.iter().any(|p| !p.value.is_empty()) {
        let _ = writeln!(o, "  failing: {}", ranked(&params));
    }
    let _ = writeln!(o, "  origins: {}", ranked(&k.origins.top(d.top)));
    let routes: Vec<Ranked> = k.routes.top(d.top);
    let _ = writeln!(o, "  routes:  {}", ranked(&routes));
    for ex in &k.examples {
        let _ = writeln!(
            o,
            "  {}",
            st.dim(&format!(
                "e.g. {}: {} {} {} {}",
                location(&ex.source, ex.index),
                ex.method,
                ex.url,
                ex.status
                    .map_or("(no response)".to_string(), |s| format!("→ {s}")),
                ex.time
            ))
        );
    }
    if let Some(h) = &k.hop {
        let _ = writeln!(o, "  hops: {h}");
    }
    likely_causes(o, st, k);
    if !f.summary.is_empty() {
        let _ = writeln!(o, "  {} {}", st.bold("fix:"), f.summary);
    }
    snippets(o, st, d, k, opts);
}

fn location(source: &str, index: u64) -> String {
    let is_har = source.to_ascii_lowercase().ends_with(".har");
    if is_har {
        format!("{source} entry {index}")
    } else {
        format!("{source} #{index}")
    }
}

fn ranked(v: &[Ranked]) -> String {
    if v.is_empty() {
        return "-".into();
    }
    v.iter()
        .map(|r| format!("{} ({})", r.value, r.count))
        .collect::<Vec<_>>()
        .join(", ")
}

fn top_line(o: &mut String, label: &str, v: &[Ranked]) {
    if !v.is_empty() {
        let _ = writeln!(o, "  {label:<16} {}", ranked(v));
    }
}

// ----- hops, detected stacks, likely causes (issue 9) -----

/// How many requests were seen at two hops, or only at the inner one, and the stacks seen.
fn hops_line(o: &mut String, st: &Style, a: &crate::aggregate::Aggregate) {
    let h = &a.hops;
    if !h.is_empty() {
        let mut parts = Vec::new();
        if h.both_seen > 0 {
            parts.push(format!(
                "{} requests seen at two hops (browser→proxy→app), judged once at the browser-facing hop",
                h.both_seen
            ));
        }
        if h.inner_only > 0 {
            parts.push(format!(
                "{} seen only at the proxy→app hop, judged as the browser's (inferred; --proxy-sets-cors if the proxy sets CORS)",
                h.inner_only
            ));
        }
        if h.app_only > 0 {
            parts.push(format!(
                "{} seen only at the proxy→app hop, the app's answer only (--proxy-sets-cors), not counted",
                h.app_only
            ));
        }
        if h.evicted > 0 {
            parts.push(format!(
                "{} let go by the hop table's cap before their other hop was looked for",
                h.evicted
            ));
        }
        let _ = writeln!(o, "{}", st.dim(&format!("hops: {}", parts.join("; "))));
    }
    if !a.stacks.is_empty() {
        let seen: Vec<String> = a
            .stacks
            .rows()
            .iter()
            .map(|r| format!("{} ({}) ×{}", r.stack, r.role, r.count))
            .collect();
        let _ = writeln!(
            o,
            "{}",
            st.dim(&format!("server stacks seen: {}", seen.join(", ")))
        );
    }
}

/// Per route, which layer set each CORS header, where both hops were seen and the proxy wrote
/// some.
fn layers_section(o: &mut String, st: &Style, d: &ReportData<'_>) {
    let rows: Vec<_> = d
        .aggregate
        .hops
        .rows(d.top)
        .into_iter()
        .filter(|r| r.set_by != "app")
        .collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "\n{}",
        st.bold("Which layer set the CORS headers (both hops seen)")
    );
    for r in rows {
        let what = match r.set_by.as_str() {
            "proxy" => "the app sent none; the proxy added it",
            "both" => "the app and the proxy both sent it (two lines)",
            "proxy_changed" => "the proxy replaced the app's value",
            "proxy_removed" => "the app sent it; the proxy dropped it",
            _ => "the app set it",
        };
        let _ = writeln!(o, "  {}  {}: {what} ×{}", r.route, r.header, r.count);
    }
}

/// For `cors_blocked_unknown`: the likely causes, each with what tells it apart and its fix.
fn likely_causes(o: &mut String, st: &Style, k: &KindStats) {
    if k.causes.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "  {} (ranked by what the recording shows):",
        st.bold("likely causes")
    );
    for (i, (c, _)) in k.causes.iter().take(4).enumerate() {
        let f = fix::fix(c.kind);
        let first = f.summary.split(". ").next().unwrap_or(f.summary);
        let _ = writeln!(o, "    {}. {} — {}: {}", i + 1, c.kind, f.title, c.why);
        let _ = writeln!(o, "       {}", st.dim(&format!("tells apart: {}", c.tell)));
        let _ = writeln!(
            o,
            "       fix: {}{} (corswatch explain {})",
            first.trim_end_matches('.'),
            if first.ends_with('.') { "" } else { "." },
            c.kind
        );
    }
}

/// The fix snippets of a kind: the `--stack` ones; else those of the stacks the traffic
/// shows, the layer to fix first first, and a line on how to see the others; else a line on how
/// to print them. Rendered with the origin and route this kind was seen with.
fn snippets(o: &mut String, st: &Style, d: &ReportData<'_>, k: &KindStats, opts: &TextOptions) {
    let f = fix::fix(k.kind);
    if f.stacks.is_empty() {
        return;
    }
    let values = observed_values(d, k);
    let show = |o: &mut String, stack: Stack, label: String| {
        let text = f
            .render(stack, &values)
            .and_then(Result::ok)
            .or_else(|| f.snippet(stack).map(str::to_owned))
            .unwrap_or_default();
        let _ = writeln!(o, "    {}:", st.bold(&label));
        for line in text.lines() {
            let _ = writeln!(o, "      {line}");
        }
    };
    if !opts.stacks.is_empty() {
        for &(stack, _) in f.stacks {
            if opts.stacks.contains(&stack) {
                show(o, stack, stack.name().to_owned());
            }
        }
        return;
    }
    let detected = k.stacks.stacks();
    let all: Vec<&str> = Stack::ALL.iter().map(|s| crate::stack::id(*s)).collect();
    if detected.is_empty() {
        let _ = writeln!(
            o,
            "    {}",
            st.dim(&format!(
                "no server stack recognised in the traffic: corswatch explain {} --stack STACK prints the fix ({}), or --stack STACK / --stack all here",
                k.kind,
                all.join(", ")
            ))
        );
        return;
    }
    for &(stack, role) in detected.iter().take(2) {
        show(
            o,
            stack,
            format!("{} (detected: {})", stack.name(), role.as_str()),
        );
    }
    let _ = writeln!(
        o,
        "    {}",
        st.dim(&format!(
            "other stacks: corswatch explain {} --stack STACK, or --stack all here",
            k.kind
        ))
    );
}

/// The origin and route prefix a kind was seen with, for its snippets; the example values
/// where they do not fit a snippet.
fn observed_values(d: &ReportData<'_>, k: &KindStats) -> fix::Values {
    let mut v = fix::Values::new();
    let origins = k.origins.top(1);
    if let Some(origin) = origins.first().map(|r| r.value.as_str())
        && crate::url::Origin::parse(origin).is_some_and(|p| p.serialize() == origin)
        && origin != "null"
    {
        let _ = v.set("origin", origin);
    }
    let routes: Vec<String> = k
        .routes
        .top(d.top)
        .into_iter()
        .map(|r| r.value)
        .filter(|r| r.starts_with('/'))
        .collect();
    if let Some(path) = common_prefix(&routes) {
        let _ = v.set("path", &path);
    }
    v
}

/// The longest directory (`/a/b/`) every route lies under, cut before a templated segment.
fn common_prefix(routes: &[String]) -> Option<String> {
    let dir = |r: &str| -> String {
        let r = r.split('{').next().unwrap_or(r);
        r[..r.rfind('/').map_or(0, |i| i + 1)].to_owned()
    };
    let mut prefix = dir(routes.first()?);
    for r in &routes[1..] {
        let d = dir(r);
        while !d.starts_with(&prefix) {
            prefix.pop();
            prefix.truncate(prefix.rfind('/').map_or(0, |i| i + 1));
        }
    }
    (!prefix.is_empty()).then_some(prefix)
}
