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
    /// Stacks to show fixes for; empty = all.
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
    if !f.summary.is_empty() {
        let _ = writeln!(o, "  {} {}", st.bold("fix:"), f.summary);
    }
    for (stack, snippet) in f.stacks {
        if !opts.stacks.is_empty() && !opts.stacks.contains(stack) {
            continue;
        }
        let _ = writeln!(o, "    {}:", st.bold(stack.name()));
        for line in snippet.lines() {
            let _ = writeln!(o, "      {line}");
        }
    }
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
