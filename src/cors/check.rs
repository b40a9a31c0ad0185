//! The checks, in the browser's order. (Stub: filled in by the classifier work.)

use super::{Classification, Context, NotCors, Scope};
use crate::model::Exchange;

pub(super) fn classify(ex: &Exchange, _ctx: &Context<'_>) -> Classification {
    Classification {
        scope: Scope::NotCors(NotCors::NoOrigin),
        origin: ex.origin().map(|o| o.into_owned()),
        verdicts: Vec::new(),
    }
}
