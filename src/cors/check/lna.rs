//! Private Network Access preflights (warning-only in Chromium) and Local Network Access
//! failures (client recordings only: the wire shows none).

use super::scope::Lna;
use super::{LazyLine, base_evidence, failure_text, line_for, push_header};
use crate::cors::facts::{self, ACAPN, ACRPN, Space, server_space, trim_ows};
use crate::cors::message::Line;
use crate::cors::{Confidence, Context, CorsError, Kind, Verdict, VerdictClass};
use crate::model::{Exchange, Response};
use crate::url::Origin;

/// Private Network Access preflights (Chromium ≈ M104–2025): warning-only by default.
pub(super) fn pna(ex: &Exchange, resp: &Response, line: &LazyLine<'_, '_>, out: &mut Vec<Verdict>) {
    let rq = &ex.request.headers;
    if !rq
        .get(ACRPN)
        .is_some_and(|v| trim_ows(v).eq_ignore_ascii_case(b"true"))
    {
        return;
    }
    let rh = &resp.headers;
    let space = match server_space(ex) {
        Some(Space::Loopback) => "loopback",
        Some(Space::Public) => "public",
        _ => "private",
    };
    let mut ev = base_evidence(ex);
    push_header(&mut ev, rq, ACRPN);
    push_header(&mut ev, rh, ACAPN);
    let acapn = rh.get(ACAPN).map(trim_ows);
    if acapn != Some(b"true".as_slice()) {
        let (err, hint) = match acapn {
            None => (
                CorsError::PreflightMissingAllowPrivateNetwork,
                space.to_owned(),
            ),
            Some(v) => (
                CorsError::PreflightInvalidAllowPrivateNetwork,
                format!("{}|{space}", String::from_utf8_lossy(v)),
            ),
        };
        out.push(Verdict {
            kind: Kind::PnaPreflightMissingAcapn,
            cors_error: Some(err),
            firefox_error: None,
            failed_parameter: acapn.map(|v| String::from_utf8_lossy(v).into_owned()),
            message: line.chromium(err, &hint),
            confidence: Confidence::Certain,
            evidence: ev,
        });
        return;
    }
    // The permission-prompt flow needs both headers; one without the other shows the server
    // takes part in it and forgot the second.
    let id = rh.contains("private-network-access-id");
    let name = rh.contains("private-network-access-name");
    if id != name {
        let err = if id {
            CorsError::PreflightMissingPrivateNetworkAccessName
        } else {
            CorsError::PreflightMissingPrivateNetworkAccessId
        };
        push_header(&mut ev, rh, "Private-Network-Access-ID");
        push_header(&mut ev, rh, "Private-Network-Access-Name");
        let v = Verdict {
            kind: Kind::PnaPermissionHeadersMissing,
            cors_error: Some(err),
            firefox_error: None,
            failed_parameter: None,
            message: line.chromium(err, space),
            confidence: Confidence::Inferred(
                "the request used targetAddressSpace (the server sends one of the two permission headers)".into(),
            ),
            evidence: ev,
        };
        // At most one blocked verdict.
        if !out.iter().any(|x| x.class() == VerdictClass::Blocked) {
            out.push(v);
        }
    }
}

pub(super) fn verdict(
    ex: &Exchange,
    ctx: &Context<'_>,
    which: Lna,
    wire_origin: Option<&str>,
) -> Verdict {
    let page = ctx
        .page_origin
        .or(wire_origin)
        .map(str::to_owned)
        .unwrap_or_else(|| "null".into());
    let line = Line {
        origin: page.clone(),
        ..line_for(ex, ctx, &page)
    };
    let pna = matches!(which, Lna::Checks { pna: true });
    let space = match server_space(ex) {
        Some(Space::Loopback) => "loopback",
        Some(Space::Local) if pna => "private",
        Some(Space::Local) => "local",
        Some(Space::Public) => "public",
        None => "unknown",
    };
    let parsed = Origin::parse(&page);
    let insecure = parsed.as_ref().is_some_and(|p| {
        p.scheme() == Some("http") && !p.host().is_some_and(facts::is_loopback_host)
    });
    let mut evidence = base_evidence(ex);
    if let Some(t) = failure_text(ex) {
        evidence.push(("error".into(), t.to_owned()));
    }
    if let Some(ip) = ex.hints.server_ip.or_else(|| ex.server.map(|s| s.ip())) {
        evidence.push(("serverIPAddress".into(), ip.to_string()));
    }
    let (kind, err, hint) = match which {
        Lna::Inconsistent => (
            Kind::LnaTargetSpaceMismatch,
            CorsError::InvalidLocalNetworkAccess,
            format!("unknown|{space}"),
        ),
        Lna::Checks { .. } if insecure => (
            Kind::LnaInsecureContext,
            CorsError::InsecureLocalNetwork,
            space.to_owned(),
        ),
        Lna::Checks { .. } => (
            Kind::LnaPermissionDenied,
            CorsError::LocalNetworkAccessPermissionDenied,
            space.to_owned(),
        ),
    };
    let confidence = if parsed.is_some() || kind == Kind::LnaTargetSpaceMismatch {
        Confidence::Certain
    } else {
        Confidence::Inferred("the page origin is unknown; assuming a secure context".into())
    };
    Verdict {
        kind,
        cors_error: Some(err),
        firefox_error: None,
        failed_parameter: Some(space.to_owned()),
        message: line.chromium(err, &hint),
        confidence,
        evidence,
    }
}
