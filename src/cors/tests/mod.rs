//! One test per kind the classifier produces, from small hand-made exchanges, asserting the kind,
//! the Chromium `CorsError` and the exact console message. Split as the checks are (`check/`);
//! this file holds the exchange builder and the assertions they share.

mod actual;
mod engines;
mod facts;
mod findings;
mod inferred;
mod lna;
mod preflight;
mod scope;
mod shortcuts;

use super::*;
use crate::model::{
    ClientFailure, ClientHints, Exchange, Headers, Location, Request, Response, SourceRef,
    Timestamp,
};
use std::sync::Arc;

const API: &str = "https://api.example/data";
const APP: &str = "https://app.example";
const PREFIX: &str = "Access to fetch at 'https://api.example/data' from origin 'https://app.example' has been blocked by CORS policy: ";

struct B(Exchange);

fn req(method: &str, url: &str) -> B {
    B(Exchange {
        source: SourceRef {
            input: Arc::from("test.har"),
            location: Location::HarEntry(0),
        },
        time: Timestamp(0),
        client: None,
        server: None,
        connection: None,
        request: Request {
            method: method.into(),
            url: url.into(),
            http_version: "HTTP/1.1".into(),
            headers: Headers::new(),
        },
        response: None,
        failure: None,
        hints: ClientHints::default(),
    })
}

/// A cross-origin GET from the app to the API.
fn get() -> B {
    req("GET", API).h("Origin", APP)
}

/// A preflight for `method` with ACRH `acrh` (empty: none).
fn preflight(method: &str, acrh: &str) -> B {
    let b = req("OPTIONS", API)
        .h("Origin", APP)
        .h("Access-Control-Request-Method", method);
    if acrh.is_empty() {
        b
    } else {
        b.h("Access-Control-Request-Headers", acrh)
    }
}

impl B {
    fn h(mut self, n: &str, v: &str) -> Self {
        self.0.request.headers.push(n.as_bytes(), v.as_bytes());
        self
    }
    fn status(mut self, s: u16) -> Self {
        self.0.response = Some(Response {
            status: s,
            headers: Headers::new(),
        });
        self
    }
    fn rh(mut self, n: &str, v: &str) -> Self {
        if let Some(r) = self.0.response.as_mut() {
            r.headers.push(n.as_bytes(), v.as_bytes());
        }
        self
    }
    fn fail(mut self, text: &str) -> Self {
        self.0.failure = Some(ClientFailure {
            error_text: Some(text.into()),
            status_field: 0,
        });
        self
    }
    fn rt(mut self, t: &str) -> Self {
        self.0.hints.resource_type = Some(t.into());
        self
    }
    fn ip(mut self, ip: &str) -> Self {
        self.0.hints.server_ip = Some(ip.parse().unwrap());
        self
    }
    fn packets(mut self) -> Self {
        self.0.source.location = Location::Packets {
            request: 1,
            response: Some(2),
        };
        self
    }
    fn ex(self) -> Exchange {
        self.0
    }
}

/// A preflight answered 204 with ACAO for the app.
fn pf_ok(method: &str, acrh: &str) -> B {
    preflight(method, acrh)
        .status(204)
        .rh("Access-Control-Allow-Origin", APP)
}

fn run(ex: &Exchange) -> Classification {
    classify(ex, &Context::default())
}

/// [`super::classify`] with the page origin worked out as the pipeline does when the test's
/// context names none.
fn classify(ex: &Exchange, ctx: &Context<'_>) -> Classification {
    let redirected = ctx.previous_hop.is_some() || ctx.first_url.is_some();
    let page = match ctx.page_origin {
        Some(p) => Some(p.to_owned()),
        None => crate::url::page_origin(ex, None, redirected),
    };
    super::classify(
        ex,
        &Context {
            page_origin: page.as_deref(),
            ..*ctx
        },
    )
}

fn blocked(c: &Classification) -> &Verdict {
    c.blocked()
        .unwrap_or_else(|| panic!("expected a blocked verdict: {c:#?}"))
}

fn assert_blocked(c: &Classification, kind: Kind, err: Option<CorsError>, message: &str) {
    let v = blocked(c);
    assert_eq!(v.kind, kind, "{c:#?}");
    assert_eq!(v.cors_error, err, "{c:#?}");
    assert_eq!(v.message, message);
    assert_eq!(
        c.verdicts
            .iter()
            .filter(|v| v.class() == VerdictClass::Blocked)
            .count(),
        1
    );
}

fn find(c: &Classification, kind: Kind) -> &Verdict {
    c.verdicts
        .iter()
        .find(|v| v.kind == kind)
        .unwrap_or_else(|| panic!("no {kind}: {c:#?}"))
}

fn has(c: &Classification, kind: Kind) -> bool {
    c.verdicts.iter().any(|v| v.kind == kind)
}
