//! The policy sections of the reports: the what-if under `--policy` and the drift from
//! `--declared`, for JSON (typed, read back by `merge`) and for the text report. Absent from
//! both when the run had no policy, so that the default output does not change.

use crate::policy::drift::{DriftBook, DriftRule};
use crate::policy::whatif::{Bucket, Item, WhatIfBook};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One request in a what-if list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhatIfItem {
    /// The input.
    pub source: String,
    /// HAR entry index or first packet number.
    pub index: u64,
    /// The request's origin.
    pub origin: Option<String>,
    /// The method as sent.
    pub method: String,
    /// The route template.
    pub route: String,
    /// The blocking kind today (`null`: passes).
    pub before: Option<String>,
    /// The blocking kind under the policy (`null`: passes).
    pub after: Option<String>,
}

/// An origin and how many requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginCount {
    /// The origin (`other`: past the cap).
    pub origin: String,
    /// Requests.
    pub count: u64,
}

/// The what-if of `analyze --policy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhatIfReport {
    /// Requests blocked today that pass under the policy.
    pub now_pass: u64,
    /// Requests passing today that the policy would break.
    pub now_break: u64,
    /// Requests blocked today and under the policy.
    pub still_blocked: u64,
    /// Requests passing today and under the policy.
    pub still_pass: u64,
    /// Security findings (by kind) the policy's answers raise and today's did not.
    pub new_findings: BTreeMap<String, u64>,
    /// `now_pass` per origin.
    pub now_pass_origins: Vec<OriginCount>,
    /// `now_break` per origin.
    pub now_break_origins: Vec<OriginCount>,
    /// `still_blocked` per origin.
    pub still_blocked_origins: Vec<OriginCount>,
    /// The first requests of `now_pass` (at most 50).
    pub now_pass_list: Vec<WhatIfItem>,
    /// The first requests of `now_break` (at most 50).
    pub now_break_list: Vec<WhatIfItem>,
    /// The first requests of `still_blocked` (at most 50).
    pub still_blocked_list: Vec<WhatIfItem>,
}

/// One drifting exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftItem {
    /// The input.
    pub source: String,
    /// HAR entry index or first packet number.
    pub index: u64,
    /// The request's origin.
    pub origin: Option<String>,
    /// The method as sent.
    pub method: String,
    /// The route template.
    pub route: String,
    /// The rule (`reflected_origin`...).
    pub rule: String,
    /// What was seen.
    pub detail: String,
}

/// One rule's drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftRuleReport {
    /// The rule.
    pub rule: String,
    /// Exchanges.
    pub count: u64,
    /// Per route.
    pub routes: Vec<RouteCount>,
}

/// A route and how many exchanges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteCount {
    /// The route template (`other`: past the cap).
    pub route: String,
    /// Exchanges.
    pub count: u64,
}

/// The drift of `--declared`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftReport {
    /// Exchanges compared with the declared policy.
    pub checked: u64,
    /// Drift per rule (every rule of the closed set, zero or not).
    pub rules: Vec<DriftRuleReport>,
    /// The first drifting exchanges (at most 50).
    pub examples: Vec<DriftItem>,
}

fn item(i: &Item) -> WhatIfItem {
    WhatIfItem {
        source: i.source.clone(),
        index: i.index,
        origin: i.origin.clone(),
        method: i.method.clone(),
        route: i.route.clone(),
        before: i.before.map(|k| k.id().to_owned()),
        after: i.after.map(|k| k.id().to_owned()),
    }
}

fn origins(b: &Bucket) -> Vec<OriginCount> {
    b.origins
        .ranked()
        .into_iter()
        .map(|(origin, count)| OriginCount { origin, count })
        .collect()
}

/// The what-if section.
pub fn what_if(w: &WhatIfBook) -> WhatIfReport {
    WhatIfReport {
        now_pass: w.now_pass.count,
        now_break: w.now_break.count,
        still_blocked: w.still_blocked.count,
        still_pass: w.still_pass,
        new_findings: w
            .new_findings
            .iter()
            .map(|(k, n)| (k.id().to_owned(), *n))
            .collect(),
        now_pass_origins: origins(&w.now_pass),
        now_break_origins: origins(&w.now_break),
        still_blocked_origins: origins(&w.still_blocked),
        now_pass_list: w.now_pass.items.iter().map(item).collect(),
        now_break_list: w.now_break.items.iter().map(item).collect(),
        still_blocked_list: w.still_blocked.items.iter().map(item).collect(),
    }
}

/// The drift section.
pub fn drift(d: &DriftBook) -> DriftReport {
    DriftReport {
        checked: d.checked,
        rules: DriftRule::ALL
            .iter()
            .map(|r| DriftRuleReport {
                rule: r.id().to_owned(),
                count: d.rules.get(r).copied().unwrap_or(0),
                routes: d
                    .routes
                    .get(r)
                    .map(|c| {
                        c.ranked()
                            .into_iter()
                            .map(|(route, count)| RouteCount { route, count })
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect(),
        examples: d
            .examples
            .iter()
            .map(|e| DriftItem {
                source: e.source.clone(),
                index: e.index,
                origin: e.origin.clone(),
                method: e.method.clone(),
                route: e.route.clone(),
                rule: e.rule.id().to_owned(),
                detail: e.detail.clone(),
            })
            .collect(),
    }
}

/// The text sections (empty without a policy). `top`: rows per list.
pub fn text(w: Option<&WhatIfReport>, d: Option<&DriftReport>, top: usize) -> String {
    let mut o = String::new();
    if let Some(w) = w {
        let _ = writeln!(
            o,
            "\nWhat if the server answered per the policy: {} now pass, {} now break, {} still blocked, {} still pass",
            w.now_pass, w.now_break, w.still_blocked, w.still_pass
        );
        for (title, list, origins) in [
            ("now break", &w.now_break_list, &w.now_break_origins),
            ("now pass", &w.now_pass_list, &w.now_pass_origins),
            (
                "still blocked",
                &w.still_blocked_list,
                &w.still_blocked_origins,
            ),
        ] {
            if list.is_empty() {
                continue;
            }
            let by: Vec<String> = origins
                .iter()
                .take(top)
                .map(|o| format!("{} ({})", o.origin, o.count))
                .collect();
            let _ = writeln!(o, "  {title}: {}", by.join(", "));
            for i in list.iter().take(top) {
                let _ = writeln!(
                    o,
                    "    {} {} from {} ({}: {}): {} -> {}",
                    i.method,
                    i.route,
                    i.origin.as_deref().unwrap_or("(none)"),
                    i.source,
                    i.index,
                    i.before.as_deref().unwrap_or("passes"),
                    i.after.as_deref().unwrap_or("passes")
                );
            }
        }
        for (k, n) in &w.new_findings {
            let _ = writeln!(o, "  new security finding under the policy: {k} ({n})");
        }
    }
    if let Some(d) = d {
        let total: u64 = d.rules.iter().map(|r| r.count).sum();
        let _ = writeln!(
            o,
            "\nDrift from the declared policy: {total} departures in {} exchanges",
            d.checked
        );
        for r in d.rules.iter().filter(|r| r.count > 0) {
            let routes: Vec<String> = r
                .routes
                .iter()
                .take(top)
                .map(|x| format!("{} ({})", x.route, x.count))
                .collect();
            let _ = writeln!(o, "  {}: {} on {}", r.rule, r.count, routes.join(", "));
            for e in d.examples.iter().filter(|e| e.rule == r.rule).take(3) {
                let _ = writeln!(
                    o,
                    "    {} {} from {} ({}: {}): {}",
                    e.method,
                    e.route,
                    e.origin.as_deref().unwrap_or("(none)"),
                    e.source,
                    e.index,
                    e.detail
                );
            }
        }
    }
    o
}

/// Adds `b`'s origin counts into `a`, most frequent first.
fn merge_origins(a: &mut Vec<OriginCount>, b: Vec<OriginCount>) {
    for o in b {
        match a.iter_mut().find(|x| x.origin == o.origin) {
            Some(x) => x.count += o.count,
            None => a.push(o),
        }
    }
    a.sort_by(|x, y| y.count.cmp(&x.count).then(x.origin.cmp(&y.origin)));
}

fn merge_list<T>(a: &mut Vec<T>, b: Vec<T>) {
    let room = crate::policy::whatif::LIST_CAP.saturating_sub(a.len());
    a.extend(b.into_iter().take(room));
}

/// `corswatch merge`: the what-if of several reports (counts add, lists fill up to their cap).
pub fn merge_what_if(a: &mut Option<WhatIfReport>, b: Option<WhatIfReport>) {
    let Some(b) = b else { return };
    let Some(x) = a else {
        *a = Some(b);
        return;
    };
    x.now_pass += b.now_pass;
    x.now_break += b.now_break;
    x.still_blocked += b.still_blocked;
    x.still_pass += b.still_pass;
    for (k, n) in b.new_findings {
        *x.new_findings.entry(k).or_default() += n;
    }
    merge_origins(&mut x.now_pass_origins, b.now_pass_origins);
    merge_origins(&mut x.now_break_origins, b.now_break_origins);
    merge_origins(&mut x.still_blocked_origins, b.still_blocked_origins);
    merge_list(&mut x.now_pass_list, b.now_pass_list);
    merge_list(&mut x.now_break_list, b.now_break_list);
    merge_list(&mut x.still_blocked_list, b.still_blocked_list);
}

/// `corswatch merge`: the drift of several reports.
pub fn merge_drift(a: &mut Option<DriftReport>, b: Option<DriftReport>) {
    let Some(b) = b else { return };
    let Some(x) = a else {
        *a = Some(b);
        return;
    };
    x.checked += b.checked;
    for r in b.rules {
        match x.rules.iter_mut().find(|y| y.rule == r.rule) {
            Some(y) => {
                y.count += r.count;
                for rc in r.routes {
                    match y.routes.iter_mut().find(|z| z.route == rc.route) {
                        Some(z) => z.count += rc.count,
                        None => y.routes.push(rc),
                    }
                }
                y.routes
                    .sort_by(|p, q| q.count.cmp(&p.count).then(p.route.cmp(&q.route)));
            }
            None => x.rules.push(r),
        }
    }
    merge_list(&mut x.examples, b.examples);
}
