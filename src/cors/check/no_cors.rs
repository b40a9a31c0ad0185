//! `no-cors` lookalikes: opaque responses and silently dropped headers, which users take for
//! CORS errors.

use super::push_header;
use crate::cors::facts::trim_ows;
use crate::cors::{Confidence, Kind, Verdict};
use crate::model::Exchange;

/// Notes for a script's `mode: "no-cors"` request to another origin. Images, scripts and
/// styles load in no-cors mode all the time: those are left alone (their `Sec-Fetch-Dest` is
/// not `empty`), and so are same-origin ones (their response is not opaque).
pub(super) fn notes(ex: &Exchange, out: &mut Vec<Verdict>) {
    let h = &ex.request.headers;
    let scripted = match h.get("sec-fetch-dest").map(trim_ows) {
        Some(d) => d.eq_ignore_ascii_case(b"empty"),
        None => ex.hints.resource_type.as_deref().is_some_and(|t| {
            ["fetch", "xhr", "ping", "beacon"]
                .iter()
                .any(|x| t.eq_ignore_ascii_case(x))
        }),
    };
    let same_origin = h
        .get("sec-fetch-site")
        .is_some_and(|s| trim_ows(s).eq_ignore_ascii_case(b"same-origin"));
    if !scripted || same_origin {
        return;
    }
    let mut ev = Vec::new();
    push_header(&mut ev, &ex.request.headers, "Sec-Fetch-Mode");
    out.push(Verdict {
        kind: Kind::OpaqueNoCors,
        cors_error: None,
        firefox_error: None,
        failed_parameter: None,
        message: "A no-cors request: the page gets an opaque response (status 0, no headers, no body) and no error; CORS headers play no part.".into(),
        confidence: Confidence::Certain,
        evidence: ev.clone(),
    });
    let method = ex.request.method.as_str();
    if matches!(method, "GET" | "HEAD") {
        return;
    }
    let ct = ex.request.headers.get("content-type").map(trim_ows);
    let plain = ct.is_none_or(|v| v.len() >= 10 && v[..10].eq_ignore_ascii_case(b"text/plain"));
    let status = ex.response.as_ref().map(|r| r.status);
    if plain && status.is_some_and(|s| (400..500).contains(&s)) {
        push_header(&mut ev, &ex.request.headers, "Content-Type");
        out.push(Verdict {
            kind: Kind::NoCorsHeadersDropped,
            cors_error: None,
            firefox_error: None,
            failed_parameter: None,
            message: format!(
                "A no-cors {method} can carry only safelisted headers: a JSON Content-Type, Authorization and custom headers were silently dropped (the body went as text/plain), and the server answered {}.",
                status.unwrap_or(0)
            ),
            confidence: Confidence::Inferred(
                "the page meant to send headers that no-cors mode drops".into(),
            ),
            evidence: ev,
        });
    }
}
