//! Request facts: origins, safelisted headers, tokens, whether a preflight is needed.
//! (Stub: filled in by the classifier work.)

use crate::model::Exchange;

/// A parsed, serialized origin (`scheme://host[:port]`, or the opaque `null`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Null,
    Tuple {
        scheme: String,
        host: String,
        port: Option<u16>,
    },
}

/// What the request itself says about CORS.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestFacts {
    /// Lower-cased names of the request headers that are not CORS-safelisted.
    pub unsafe_headers: Vec<String>,
    /// The request would need a preflight.
    pub needs_preflight: bool,
}

pub fn request_facts(_ex: &Exchange) -> RequestFacts {
    RequestFacts::default()
}
