//! The policy work of the pipeline: for every CORS exchange, the what-if under a proposed
//! policy, the drift from a declared one, and what a suggestion needs. Pure: the pipeline
//! hands each exchange in with its classification and context, the books keep the results.

use super::Policy;
use super::drift::{self, Drift, DriftBook, DriftExample};
use super::suggest::SuggestBook;
use super::whatif::{self, Item, WhatIfBook};
use crate::cors::{self, Classification, Context, ExchangeType};
use crate::model::{Exchange, Pairing};
use crate::url::route;
use std::sync::Arc;

/// What the pipeline does with policies.
#[derive(Debug, Clone, Default)]
pub struct PolicyConfig {
    /// Re-judge the traffic as if the server answered per this policy (`--policy`).
    pub what_if: Option<Arc<Policy>>,
    /// Compare the server's answers with this policy (`--declared`).
    pub declared: Option<Arc<Policy>>,
    /// Collect what a suggested policy needs (`policy suggest`).
    pub suggest: bool,
}

impl PolicyConfig {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        self.what_if.is_none() && self.declared.is_none() && !self.suggest
    }
}

/// The results, beside the aggregate.
#[derive(Debug, Clone, Default)]
pub struct PolicyBook {
    /// With `--policy`.
    pub what_if: Option<WhatIfBook>,
    /// With `--declared`.
    pub drift: Option<DriftBook>,
    /// For `policy suggest`.
    pub suggest: Option<SuggestBook>,
}

/// Observes one CORS exchange (`c` its classification, `ctx` what it was judged with) into
/// `book`; returns its drift from the declared policy.
pub fn observe(
    cfg: &PolicyConfig,
    ex: &Exchange,
    ctx: &Context<'_>,
    c: &Classification,
    book: &mut PolicyBook,
) -> Vec<Drift> {
    if cfg.is_empty() || c.exchange_type().is_none() {
        return Vec::new();
    }
    let origin = ex
        .origin()
        .map(|o| o.into_owned())
        .or_else(|| c.origin.clone());
    let preflight = matches!(c.exchange_type(), Some(ExchangeType::Preflight));
    // A preflight guarding a request seen is counted through that request.
    let counted = !(preflight && ctx.partner.is_some());
    let item = || Item {
        source: ex.source.input.to_string(),
        index: ex.source.index(),
        origin: origin.clone(),
        method: ex.request.method.clone(),
        route: route(&ex.request.url),
        before: c.blocked().map(|v| v.kind),
        after: None,
    };
    if let Some(p) = &cfg.what_if
        && counted
    {
        let synthetic = whatif::synthesize(p, ex, origin.as_deref());
        let partner = ctx.partner.map(|q| {
            let o = q
                .origin()
                .map(|o| o.into_owned())
                .or_else(|| origin.clone());
            whatif::synthesize(p, q, o.as_deref())
        });
        // A preflight no request followed: its answer kept the request back, so the absence
        // says nothing about the request under the policy (e.g. that only credentials explain it).
        let pairing = match ctx.pairing {
            Pairing::PreflightAlone { .. } => Pairing::Unpaired,
            p => p,
        };
        let ctx2 = Context {
            partner: partner.as_ref(),
            pairing,
            distinct_reflected_origins: 0,
            cached_response: None,
            ..*ctx
        };
        let after = cors::classify(&synthetic, &ctx2);
        let mut it = item();
        it.after = after.blocked().map(|v| v.kind);
        book.what_if
            .get_or_insert_with(WhatIfBook::default)
            .record(it, c, &after);
    }
    if cfg.suggest {
        book.suggest
            .get_or_insert_with(SuggestBook::default)
            .record(ex, origin.as_deref(), c, counted);
    }
    let Some(p) = &cfg.declared else {
        return Vec::new();
    };
    let found = drift::check(p, ex, origin.as_deref(), c);
    let it = item();
    book.drift.get_or_insert_with(DriftBook::default).record(
        &DriftExample {
            source: it.source,
            index: it.index,
            origin: it.origin,
            method: it.method,
            route: it.route,
            rule: drift::DriftRule::OriginNotInPolicy,
            detail: String::new(),
        },
        &found,
    );
    found
}
