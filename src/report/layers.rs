//! The report's parts on hops, layers, detected stacks and likely causes (issue 9): their JSON
//! shape, built from the aggregate, and how `corswatch merge` adds them up. All additive to
//! schema version 1: reports without them read as empty.

use crate::aggregate::{Aggregate, KindStats};
use crate::cors::causes::Cause;
use crate::fix;
use crate::hop::book::LayerRow;
use crate::stack::StackRow;
use serde::{Deserialize, Serialize};

/// Rows of the per-route layer table kept in a report.
const LAYER_ROWS: usize = 50;

/// Requests seen at two hops, or only at the inner one (the report's `hops`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HopsReport {
    /// CORS requests seen at two hops or more, judged once at the browser-facing one.
    pub both_seen: u64,
    /// Inner-hop exchanges folded into them.
    pub inner_hops: u64,
    /// CORS requests seen only at a proxy→app hop, judged as the browser's (inferred).
    pub inner_only: u64,
    /// Inner hops seen alone with `--proxy-sets-cors`: the app's answer, not counted.
    pub app_only: u64,
    /// Exchanges the hop stage let go past its cap.
    pub evicted: u64,
    /// Per route, which layer set each CORS header (requests seen at two hops), the proxy's
    /// doing first.
    pub layers: Vec<LayerRow>,
}

/// A likely cause of a `cors_blocked_unknown` block, in a kind's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CauseReport {
    /// The kind it would be (its fix is the server-side fix).
    pub kind: String,
    /// That kind's title.
    pub title: String,
    /// What in the recording points to it (the first example's words).
    pub why: String,
    /// What would tell it apart.
    pub tell: String,
    /// Rank-weighted score over the examples (higher: more likely).
    pub score: u64,
}

/// The run's hop counts.
pub fn hops(a: &Aggregate) -> HopsReport {
    let h = &a.hops;
    HopsReport {
        both_seen: h.both_seen,
        inner_hops: h.inner_hops,
        inner_only: h.inner_only,
        app_only: h.app_only,
        evicted: h.evicted,
        layers: h.rows(LAYER_ROWS),
    }
}

/// A kind's likely causes.
pub fn causes(k: &KindStats) -> Vec<CauseReport> {
    k.causes
        .iter()
        .map(|(c, score): &(Cause, u64)| CauseReport {
            kind: c.kind.id().to_owned(),
            title: fix::fix(c.kind).title.to_owned(),
            why: c.why.clone(),
            tell: c.tell.to_owned(),
            score: *score,
        })
        .collect()
}

/// Adds another report's hop counts.
pub fn merge_hops(into: &mut HopsReport, o: HopsReport) {
    into.both_seen = into.both_seen.saturating_add(o.both_seen);
    into.inner_hops = into.inner_hops.saturating_add(o.inner_hops);
    into.inner_only = into.inner_only.saturating_add(o.inner_only);
    into.app_only = into.app_only.saturating_add(o.app_only);
    into.evicted = into.evicted.saturating_add(o.evicted);
    for row in o.layers {
        match into
            .layers
            .iter_mut()
            .find(|r| r.route == row.route && r.header == row.header && r.set_by == row.set_by)
        {
            Some(r) => r.count = r.count.saturating_add(row.count),
            None => into.layers.push(row),
        }
    }
    into.layers.sort_by(|a, b| {
        (a.set_by == "app")
            .cmp(&(b.set_by == "app"))
            .then(b.count.cmp(&a.count))
            .then_with(|| a.route.cmp(&b.route))
            .then_with(|| a.header.cmp(&b.header))
    });
    into.layers.truncate(LAYER_ROWS);
}

/// Adds another report's stack rows.
pub fn merge_stacks(into: &mut Vec<StackRow>, o: Vec<StackRow>) {
    for row in o {
        match into
            .iter_mut()
            .find(|r| r.stack == row.stack && r.role == row.role)
        {
            Some(r) => {
                r.count = r.count.saturating_add(row.count);
                r.fix_here = r.fix_here.saturating_add(row.fix_here);
            }
            None => into.push(row),
        }
    }
    into.sort_by(|a, b| {
        b.fix_here
            .cmp(&a.fix_here)
            .then(b.count.cmp(&a.count))
            .then_with(|| a.stack.cmp(&b.stack))
    });
}

/// Adds another report's likely causes (scores add; the first report's words stay).
pub fn merge_causes(into: &mut Vec<CauseReport>, o: Vec<CauseReport>) {
    for c in o {
        match into.iter_mut().find(|x| x.kind == c.kind) {
            Some(x) => x.score = x.score.saturating_add(c.score),
            None => into.push(c),
        }
    }
    into.sort_by(|a, b| b.score.cmp(&a.score).then_with(|| a.kind.cmp(&b.kind)));
}
