//! The policy sections of the HTML report: the what-if of `--policy` and the drift from
//! `--declared`, the same figures and lists as the JSON report's `what_if` and
//! `policy_drift`. Absent when the run had no policy.

use super::esc;
use crate::report::json::Report;
use crate::report::policy::{OriginCount, WhatIfItem};
use std::fmt::Write;

/// The navigation links of the sections present.
pub fn nav(r: &Report) -> String {
    let mut s = String::new();
    if r.what_if.is_some() {
        s.push_str(r##" <a href="#what-if">What if</a>"##);
    }
    if r.policy_drift.is_some() {
        s.push_str(r##" <a href="#drift">Drift</a>"##);
    }
    s
}

/// Both sections, each when its report is present.
pub fn sections(o: &mut String, r: &Report) {
    if let Some(w) = &r.what_if {
        let _ = writeln!(
            o,
            r##"<section id="what-if"><h2>What if the server answered per the policy</h2>
<p>Every recorded exchange re-judged with the policy's answers: <strong>{}</strong> now pass, <strong class="{}">{}</strong> now break, {} still blocked, {} still pass.</p>"##,
            w.now_pass,
            if w.now_break > 0 { "bad" } else { "" },
            w.now_break,
            w.still_blocked,
            w.still_pass
        );
        for (title, list, origins) in [
            ("Now break", &w.now_break_list, &w.now_break_origins),
            ("Now pass", &w.now_pass_list, &w.now_pass_origins),
            (
                "Still blocked",
                &w.still_blocked_list,
                &w.still_blocked_origins,
            ),
        ] {
            if !list.is_empty() {
                items(o, title, list, origins);
            }
        }
        for (k, n) in &w.new_findings {
            let _ = writeln!(
                o,
                r##"<p class="bad">New security finding under the policy: <code>{}</code> ({n})</p>"##,
                esc(k)
            );
        }
        let _ = writeln!(o, "</section>");
    }
    if let Some(d) = &r.policy_drift {
        let total: u64 = d.rules.iter().map(|r| r.count).sum();
        let _ = writeln!(
            o,
            r##"<section id="drift"><h2>Drift from the declared policy</h2>
<p><strong class="{}">{total}</strong> departures in {} exchanges compared.</p>
<table class="sortable"><thead><tr><th>rule</th><th>count</th><th>routes</th></tr></thead><tbody>"##,
            if total > 0 { "bad" } else { "" },
            d.checked
        );
        for rule in &d.rules {
            let routes: Vec<String> = rule
                .routes
                .iter()
                .map(|x| format!("<code>{}</code> ({})", esc(&x.route), x.count))
                .collect();
            let _ = writeln!(
                o,
                r##"<tr><td><code>{}</code></td><td class="n" data-v="{n}">{n}</td><td>{}</td></tr>"##,
                esc(&rule.rule),
                routes.join(", "),
                n = rule.count
            );
        }
        let _ = writeln!(o, "</tbody></table>");
        if !d.examples.is_empty() {
            let _ = writeln!(
                o,
                r##"<table class="sortable"><thead><tr><th>rule</th><th>request</th><th>origin</th><th>where</th><th>seen</th></tr></thead><tbody>"##
            );
            for e in &d.examples {
                let _ = writeln!(
                    o,
                    r##"<tr><td><code>{}</code></td><td><code>{} {}</code></td><td><code>{}</code></td><td>{}: {}</td><td><code>{}</code></td></tr>"##,
                    esc(&e.rule),
                    esc(&e.method),
                    esc(&e.route),
                    esc(e.origin.as_deref().unwrap_or("(none)")),
                    esc(&e.source),
                    e.index,
                    esc(&e.detail)
                );
            }
            let _ = writeln!(o, "</tbody></table>");
        }
        let _ = writeln!(o, "</section>");
    }
}

fn items(o: &mut String, title: &str, list: &[WhatIfItem], origins: &[OriginCount]) {
    let by: Vec<String> = origins
        .iter()
        .map(|x| format!("<code>{}</code> ({})", esc(&x.origin), x.count))
        .collect();
    let _ = writeln!(
        o,
        r##"<h3>{title}</h3><p>By origin: {}</p>
<table class="sortable"><thead><tr><th>request</th><th>origin</th><th>where</th><th>today</th><th>under the policy</th></tr></thead><tbody>"##,
        by.join(", ")
    );
    for i in list {
        let _ = writeln!(
            o,
            r##"<tr><td><code>{} {}</code></td><td><code>{}</code></td><td>{}: {}</td><td>{}</td><td>{}</td></tr>"##,
            esc(&i.method),
            esc(&i.route),
            esc(i.origin.as_deref().unwrap_or("(none)")),
            esc(&i.source),
            i.index,
            esc(i.before.as_deref().unwrap_or("passes")),
            esc(i.after.as_deref().unwrap_or("passes"))
        );
    }
    let _ = writeln!(o, "</tbody></table>");
}
