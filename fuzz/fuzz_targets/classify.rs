//! The CORS classifier on exchanges built from the input: method, URL, `Origin`, request and
//! response headers drawn from the CORS vocabulary or raw, status, HAR or packet source, the
//! client failure text and hints; alone, and with a partner preflight (or actual request),
//! a previous hop, a cached response and a page origin.
//!
//! Oracles: no panic; the same input classifies the same twice; the verdicts without their
//! text (`Detail::Counts`) are the same verdicts; a blocked verdict has a non-empty message; an event built from it (as `analyze --format events` builds one)
//! serialises to JSON, is blocked exactly when the classification is, and names its kind.
#![no_main]

use corswatch::cors::{
    self, Classification, Context, Credentials, Detail, Engine, Kind, VerdictClass,
};
use corswatch::event::Event;
use corswatch::model::{Exchange, Pairing};
use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;

#[path = "common/exchange.rs"]
mod exgen;
use exgen::{ORIGINS, exchange};

fn check(ex: &Exchange, ctx: &Context, pairing: Pairing) {
    let c: Classification = cors::classify(ex, ctx);
    assert_eq!(
        c,
        cors::classify(ex, ctx),
        "classification is not deterministic"
    );
    let bare = cors::classify(
        ex,
        &Context {
            detail: Detail::Counts,
            ..*ctx
        },
    );
    let shape = |c: &Classification| {
        c.verdicts
            .iter()
            .map(|v| {
                (
                    v.kind,
                    v.cors_error,
                    v.firefox_error,
                    v.failed_parameter.clone(),
                    v.confidence.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(shape(&bare), shape(&c), "the verdicts depend on the detail");
    assert_eq!(bare.scope, c.scope);
    assert_eq!(bare.pass_assumption, c.pass_assumption);
    let blocked = c.blocked().cloned();
    if let Some(v) = &blocked {
        assert!(
            !v.message.is_empty(),
            "blocked verdict {:?} without a message",
            v.kind
        );
        assert_eq!(v.class(), VerdictClass::Blocked);
        if v.kind == Kind::BlockedReasonUnknown {
            let _ = cors::causes::likely_causes(ex, ctx);
        }
    }
    let _ = c.confidence();
    if let Some(ev) = Event::new(ex, c, pairing, ctx.partner) {
        assert_eq!(ev.blocked, blocked.is_some());
        assert_eq!(ev.kind, blocked.as_ref().map(|v| v.kind));
        if ev.blocked {
            assert!(ev.message.as_deref().is_some_and(|m| !m.is_empty()));
        }
        let json = serde_json::to_string(&ev).expect("event serialises");
        let back: serde_json::Value = serde_json::from_str(&json).expect("event JSON reads back");
        assert!(back.is_object());
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(ex) = exchange(&mut u, 1) else { return };
    check(&ex, &Context::default(), Pairing::Unpaired);
    let Ok(partner) = exchange(&mut u, 0) else {
        return;
    };
    let Ok(other) = exchange(&mut u, 2) else {
        return;
    };
    let page = ORIGINS[usize::from(u.arbitrary::<u8>().unwrap_or(0)) % ORIGINS.len()];
    let ctx = Context {
        partner: Some(&partner),
        pairing: Pairing::ActualAfterPreflight,
        previous_hop: if u.arbitrary().unwrap_or(false) {
            Some(&other)
        } else {
            None
        },
        first_url: if u.arbitrary().unwrap_or(false) {
            Some(other.request.url.as_str())
        } else {
            None
        },
        page_origin: if u.arbitrary().unwrap_or(false) {
            Some(page)
        } else {
            None
        },
        credentials_hint: if u.arbitrary().unwrap_or(false) {
            Some(Credentials::Include)
        } else {
            None
        },
        distinct_reflected_origins: u.arbitrary().unwrap_or(0),
        cached_response: if u.arbitrary().unwrap_or(false) {
            Some(&other)
        } else {
            None
        },
        redirects: u.int_in_range(0..=25).unwrap_or(0),
        engine: if u.arbitrary().unwrap_or(false) {
            Engine::Firefox
        } else {
            Engine::Chromium
        },
        detail: Detail::Full,
    };
    check(&ex, &ctx, Pairing::ActualAfterPreflight);
    // And the other way round: the partner as the preflight that was followed.
    let back = Context {
        partner: Some(&ex),
        pairing: Pairing::PreflightFollowed,
        ..Context::default()
    };
    check(&partner, &back, Pairing::PreflightFollowed);
    let alone = Context {
        pairing: Pairing::PreflightAlone { capture_open: true },
        ..Context::default()
    };
    check(&partner, &alone, alone.pairing);
});
