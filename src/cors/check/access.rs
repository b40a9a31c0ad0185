//! The `Access-Control-Allow-Origin` / `-Credentials` check (Fetch "CORS check", Chromium
//! `cors::CheckAccess`), shared by actual requests and preflights.

use super::{base_evidence, push_header};
use crate::cors::facts::{ACAC, ACAO, lossy, trim_ows};
use crate::cors::{CorsError, Kind};
use crate::model::{Exchange, Headers, Response};
use crate::url::{self, gurl_parseable, split_url};
use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum AccessFail {
    Wildcard,
    Missing,
    /// Combined value (the hint); number of ACAO lines.
    Multiple(String, usize),
    Invalid(String),
    Mismatch(String),
    /// The ACAC value (empty when absent).
    Credentials(String),
}

/// All lines of `name`, each trimmed, joined with ", " (Chromium's `GetNormalizedHeader`).
/// Borrowed for the usual single line.
fn combined<'h>(h: &'h Headers, name: &str) -> Option<Cow<'h, str>> {
    let mut out: Option<Cow<'h, str>> = None;
    for v in h.get_all(name) {
        let v = lossy(trim_ows(v));
        match out.as_mut() {
            None => out = Some(v),
            Some(s) => {
                let s = s.to_mut();
                s.push_str(", ");
                s.push_str(&v);
            }
        }
    }
    out
}

pub(super) fn check_access(h: &Headers, origin: &str, include: bool) -> Result<(), AccessFail> {
    let Some(acao) = combined(h, ACAO) else {
        return Err(AccessFail::Missing);
    };
    if acao == "*" {
        return if include {
            Err(AccessFail::Wildcard)
        } else {
            Ok(())
        };
    }
    if acao != origin {
        if acao.contains([' ', ',']) {
            return Err(AccessFail::Multiple(acao.into_owned(), h.count(ACAO)));
        }
        // `null` first: GURL calls it invalid, Chromium calls it a mismatch.
        if acao == "null" || gurl_parseable(&acao) {
            return Err(AccessFail::Mismatch(acao.into_owned()));
        }
        return Err(AccessFail::Invalid(acao.into_owned()));
    }
    if include {
        let acac = combined(h, ACAC).unwrap_or_default();
        if acac != "true" {
            return Err(AccessFail::Credentials(acac.into_owned()));
        }
    }
    Ok(())
}

/// Which flavour of `AllowOriginMismatch` a single, parseable ACAO value is.
pub(super) fn mismatch_kind(o: &str, acao: &str, redirected: bool) -> Kind {
    if o == "null" {
        return if acao != "null" && redirected {
            Kind::RedirectTaintedOrigin
        } else {
            Kind::AcaoNullMismatch
        };
    }
    if acao == "null" {
        return Kind::AcaoNullMismatch;
    }
    if let Some(rest) = acao.strip_prefix(o)
        && rest.starts_with('/')
    {
        return Kind::AcaoTrailingSlash;
    }
    let (Some(a), Some(b)) = (split_url(acao), split_url(o)) else {
        return Kind::AcaoMismatch;
    };
    let (a_scheme, b_scheme) = (a.scheme.to_ascii_lowercase(), b.scheme.to_ascii_lowercase());
    let a_port = a.port.or_else(|| url::default_port(&a_scheme));
    let b_port = b.port.or_else(|| url::default_port(&b_scheme));
    let same_host = a.host.eq_ignore_ascii_case(b.host);
    if a_scheme != b_scheme && same_host && a.port == b.port {
        return Kind::AcaoSchemeMismatch;
    }
    if a_scheme == b_scheme && same_host {
        if a_port != b_port || a.port != b.port {
            return Kind::AcaoPortMismatch;
        }
        // Same scheme, host and port but bytes differ: case, or a path after the origin.
        if !a.rest.is_empty() {
            return Kind::AcaoTrailingSlash;
        }
        return Kind::AcaoHostSpelling;
    }
    if a_scheme == b_scheme && a_port == b_port && hosts_spelled_alike(a.host, b.host) {
        return Kind::AcaoHostSpelling;
    }
    Kind::AcaoMismatch
}

fn hosts_spelled_alike(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    let loopback = |h: &str| matches!(h, "localhost" | "127.0.0.1" | "[::1]");
    if loopback(&a) && loopback(&b) {
        return true;
    }
    if a.strip_prefix("www.") == Some(b.as_str()) || b.strip_prefix("www.") == Some(a.as_str()) {
        return true;
    }
    // IDN vs punycode: same labels except where one side is `xn--` and the other non-ASCII.
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    la.len() == lb.len()
        && la.iter().zip(&lb).any(|(x, y)| x != y)
        && la.iter().zip(&lb).all(|(x, y)| {
            x == y
                || (x.starts_with("xn--") && !y.is_ascii())
                || (y.starts_with("xn--") && !x.is_ascii())
        })
}

impl AccessFail {
    /// Chromium's error for this failure on an actual request or on its preflight, and the
    /// hint it names (the one mapping both paths use).
    pub(super) fn error(&self, preflight: bool) -> (CorsError, Option<String>) {
        use CorsError as E;
        let pick = |actual: E, on_preflight: E| if preflight { on_preflight } else { actual };
        match self {
            AccessFail::Wildcard => (
                pick(
                    E::WildcardOriginNotAllowed,
                    E::PreflightWildcardOriginNotAllowed,
                ),
                None,
            ),
            AccessFail::Missing => (
                pick(
                    E::MissingAllowOriginHeader,
                    E::PreflightMissingAllowOriginHeader,
                ),
                None,
            ),
            AccessFail::Multiple(v, _) => (
                pick(
                    E::MultipleAllowOriginValues,
                    E::PreflightMultipleAllowOriginValues,
                ),
                Some(v.clone()),
            ),
            AccessFail::Invalid(v) => (
                pick(
                    E::InvalidAllowOriginValue,
                    E::PreflightInvalidAllowOriginValue,
                ),
                Some(v.clone()),
            ),
            AccessFail::Mismatch(v) => (
                pick(E::AllowOriginMismatch, E::PreflightAllowOriginMismatch),
                Some(v.clone()),
            ),
            AccessFail::Credentials(v) => (
                pick(
                    E::InvalidAllowCredentials,
                    E::PreflightInvalidAllowCredentials,
                ),
                Some(v.clone()),
            ),
        }
    }

    /// Fails only because the request is credentialed: the verdict rests on the credentials
    /// mode, which the wire may not prove.
    pub(super) fn rests_on_credentials(&self) -> bool {
        matches!(self, AccessFail::Wildcard | AccessFail::Credentials(_))
    }

    /// Firefox's reason code for this failure.
    pub(super) fn firefox(&self) -> &'static str {
        match self {
            AccessFail::Wildcard => "CORSNotSupportingCredentials",
            AccessFail::Missing => "CORSMissingAllowOrigin",
            AccessFail::Multiple(_, lines) if *lines >= 2 => "CORSMultipleAllowOriginNotAllowed",
            AccessFail::Multiple(..) | AccessFail::Invalid(_) | AccessFail::Mismatch(_) => {
                "CORSAllowOriginNotMatchingOrigin"
            }
            AccessFail::Credentials(_) => "CORSMissingAllowCredentials",
        }
    }
}

pub(super) fn access_evidence(
    ex: &Exchange,
    resp: &Response,
    f: &AccessFail,
) -> Vec<(String, String)> {
    let mut ev = base_evidence(ex);
    push_header(&mut ev, &resp.headers, ACAO);
    if f.rests_on_credentials() {
        push_header(&mut ev, &resp.headers, ACAC);
        push_header(&mut ev, &ex.request.headers, "Cookie");
    }
    ev
}
