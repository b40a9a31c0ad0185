//! The checks, in Chromium's order (taxonomy §1.4 and §9): scope first (is this a CORS request at
//! all?), then the actual response or the preflight, then warnings, findings and notes.

use super::facts::{
    self, Origin, Space, UrlParts, gurl_parseable, is_token, list_elements, lossy, request_facts,
    split_url, trim_ows, unsafe_header_names,
};
use super::findings;
use super::message::{AUTHORIZATION_WILDCARD_DEPRECATION, Line, resource_word};
use super::{
    Classification, Confidence, Context, CorsError, Credentials, ExchangeType, Kind, NotCors,
    Scope, Verdict,
};
use crate::model::{Exchange, Headers, Location, Pairing, Response};
use crate::redact;
use std::borrow::Cow;

pub(super) const ACAO: &str = "Access-Control-Allow-Origin";
pub(super) const ACAC: &str = "Access-Control-Allow-Credentials";
const ACAM: &str = "Access-Control-Allow-Methods";
const ACAH: &str = "Access-Control-Allow-Headers";
const ACRM: &str = "Access-Control-Request-Method";
const ACRH: &str = "Access-Control-Request-Headers";
const ACMA: &str = "Access-Control-Max-Age";
const ACRPN: &str = "Access-Control-Request-Private-Network";
pub(super) const ACAPN: &str = "Access-Control-Allow-Private-Network";

pub(super) fn classify(ex: &Exchange, ctx: &Context<'_>) -> Classification {
    let h = &ex.request.headers;
    let origin = h.get("origin").map(|v| lossy(trim_ows(v)).into_owned());
    let mut c = Classification {
        scope: Scope::NotCors(NotCors::NoOrigin),
        origin,
        verdicts: Vec::new(),
        pass_assumption: None,
    };
    // The modes that matter, lowercased; anything else is as good as absent.
    let mode = h.get("sec-fetch-mode").and_then(|v| {
        let v = trim_ows(v);
        [
            "websocket",
            "no-cors",
            "same-origin",
            "navigate",
            "nested-navigate",
        ]
        .into_iter()
        .find(|m| v.eq_ignore_ascii_case(m.as_bytes()))
    });
    let upgrade_ws = h
        .get_all("upgrade")
        .any(|v| trim_ows(v).eq_ignore_ascii_case(b"websocket"));
    let ws_entry = ex
        .hints
        .resource_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("websocket"));
    if upgrade_ws || ws_entry || mode == Some("websocket") {
        c.scope = Scope::NotCors(NotCors::WebSocket);
        return c;
    }
    match mode {
        Some("no-cors") => {
            c.scope = Scope::NotCors(NotCors::Mode("no-cors".into()));
            no_cors_notes(ex, &mut c.verdicts);
            return c;
        }
        Some("same-origin") => {
            if let Some(v) = disallowed_by_mode(ex, ctx) {
                c.scope = Scope::Cors(ExchangeType::Simple);
                c.verdicts.push(v);
            } else {
                c.scope = Scope::NotCors(NotCors::Mode("same-origin".into()));
            }
            return c;
        }
        Some(m @ ("navigate" | "nested-navigate")) => {
            c.scope = Scope::NotCors(NotCors::Mode(m.to_owned()));
            return c;
        }
        _ => {}
    }
    if ex
        .hints
        .resource_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("document"))
    {
        c.scope = Scope::NotCors(NotCors::Mode("navigate".into()));
        return c;
    }

    let is_preflight = ex.is_preflight();
    if let Some(text) = failure_text(ex) {
        match net_error(text) {
            NetError::Cors => {}
            NetError::InvalidRedirect if is_preflight => {}
            NetError::Lna(which) => {
                c.scope = Scope::Cors(exchange_type(ex, ctx, is_preflight));
                c.verdicts
                    .push(lna_verdict(ex, ctx, which, c.origin.as_deref()));
                return c;
            }
            NetError::InvalidRedirect | NetError::Other => {
                // Chromium reports a preflight that got no answer (refused, reset, DNS) as that
                // net error, not as a CORS error: verified against real Chromium (scenario
                // conn_refused_pf). It is a network failure, not a CORS one.
                c.scope = Scope::NotCors(NotCors::NetworkError(text.to_owned()));
                return c;
            }
        }
    }

    if c.origin.is_none() {
        c.origin = provisional_origin(ex, ctx);
    }
    let Some(o) = c.origin.as_deref() else {
        return c;
    };
    // The request URL and the origin, split once for the checks that need their parts.
    let url = split_url(&ex.request.url);
    let o_parts = facts::origin_parts(o);
    if is_same_origin(ex, o_parts, url) {
        c.scope = Scope::NotCors(NotCors::SameOrigin);
        return c;
    }
    let ty = exchange_type(ex, ctx, is_preflight);
    c.scope = Scope::Cors(ty);
    let line = LazyLine::new(ex, ctx, o);
    if let Some(v) = cors_disabled_scheme(ex, &line) {
        c.verdicts.push(v);
        return c;
    }
    let (creds, creds_assumption) = credentials(ex, ctx, is_preflight);

    if is_preflight {
        check_preflight(ex, ctx, o, creds, creds_assumption, &line, &mut c.verdicts);
    } else if let Some(mut v) = check_actual(ex, ctx, o, creds, creds_assumption, &line) {
        if har_shows_success(ex) && v.confidence == Confidence::Certain {
            v.confidence = Confidence::Inferred(
                "the recording shows no error for this entry, so the browser may not have applied CORS to it (a no-cors load)".into(),
            );
        }
        c.verdicts.push(v);
    } else if creds == Credentials::Unknown
        // A recording says whether the browser failed the request; the wire does not.
        && matches!(ex.source.location, Location::Packets { .. })
        && let Some(kind) = fails_with_credentials(ex, ctx, o)
    {
        c.pass_assumption = Some(
            [
                "passes because no Cookie shows the request was credentialed; with credentials: 'include' the browser blocks it (",
                kind.id(),
                ")",
            ]
            .concat(),
        );
    }
    if is_extension_origin(o) {
        // Extension pages and workers with host permissions are exempt from CORS.
        for v in c.verdicts.iter_mut() {
            if v.class() == super::VerdictClass::Blocked && v.confidence == Confidence::Certain {
                v.confidence = Confidence::Inferred(
                    "the extension lacks host permissions for this URL (with them, CORS does not apply)".into(),
                );
            }
        }
    }

    if let Some(resp) = ex.response.as_ref() {
        findings::security(ex, ctx, o, o_parts, url, resp, &mut c.verdicts);
        if !is_preflight && c.blocked().is_none() {
            credentials_not_sent(ex, ctx, resp, &mut c.verdicts);
        }
    }
    // Blocked first, then warnings, findings, notes; stable, so check order is kept within each.
    c.verdicts.sort_by_key(Verdict::class);
    c
}

// ----- scope -----

fn failure_text(ex: &Exchange) -> Option<&str> {
    ex.failure
        .as_ref()
        .and_then(|f| f.error_text.as_deref())
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lna {
    /// `ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS`; `pna` for the older
    /// `ERR_BLOCKED_BY_PRIVATE_NETWORK_ACCESS_CHECKS` (address-space words differ).
    Checks { pna: bool },
    /// `ERR_INCONSISTENT_IP_ADDRESS_SPACE`.
    Inconsistent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NetError {
    /// What a CORS failure completes with (or a recorder's CORS wording).
    Cors,
    Lna(Lna),
    /// `net::ERR_INVALID_REDIRECT`: how DevTools shows a redirected preflight.
    InvalidRedirect,
    /// Anything else: not CORS (ORB, CORP, refused, DNS, mixed content, blocked by client...).
    Other,
}

fn net_error(text: &str) -> NetError {
    if text.contains("ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS") {
        return NetError::Lna(Lna::Checks { pna: false });
    }
    if text.contains("ERR_BLOCKED_BY_PRIVATE_NETWORK_ACCESS_CHECKS") {
        return NetError::Lna(Lna::Checks { pna: true });
    }
    if text.contains("ERR_INCONSISTENT_IP_ADDRESS_SPACE") {
        return NetError::Lna(Lna::Inconsistent);
    }
    if text.contains("ERR_INVALID_REDIRECT") {
        return NetError::InvalidRedirect;
    }
    let t = text.trim_start_matches("net::");
    if t == "ERR_FAILED"
        || text == "NS_ERROR_DOM_BAD_URI"
        // WebKit (Playwright) words CORS failures itself.
        || text.contains("Access-Control-Allow-")
        || text.contains("access control checks")
        || text.contains("Preflight response is not successful")
    {
        return NetError::Cors;
    }
    NetError::Other
}

fn is_extension_origin(o: &str) -> bool {
    [
        "chrome-extension://",
        "moz-extension://",
        "safari-web-extension://",
    ]
    .iter()
    .any(|p| o.starts_with(p))
}

/// The origin of a failed request whose recording kept only the renderer's provisional
/// headers (DevTools, Playwright): those often lack `Origin`, which the network service adds.
/// The page origin stands in when the request goes elsewhere and is CORS-mode by nature.
fn provisional_origin(ex: &Exchange, ctx: &Context<'_>) -> Option<String> {
    let f = ex.failure.as_ref()?;
    if f.error_text
        .as_deref()
        .is_some_and(|t| net_error(t.trim()) != NetError::Cors)
    {
        return None;
    }
    let cors_type = ex.hints.resource_type.as_deref().is_none_or(|t| {
        ["fetch", "xhr", "font", "preflight", "eventsource"]
            .iter()
            .any(|x| t.eq_ignore_ascii_case(x))
    });
    if !cors_type {
        return None;
    }
    let page = page_origin(ex, ctx)?;
    let target = Origin::parse(&ex.request.url)?;
    if Origin::parse(&page)? != target {
        return Some(page);
    }
    // Back at the page's own origin after a cross-origin hop (A -> B -> A): still a CORS
    // request, and a tainted one, so the wire carried `Origin: null`.
    let previous = ctx.previous_hop?;
    (Origin::parse(&previous.request.url)? != target).then(|| "null".to_owned())
}

fn exchange_type(ex: &Exchange, ctx: &Context<'_>, is_preflight: bool) -> ExchangeType {
    if is_preflight {
        ExchangeType::Preflight
    } else if ctx.pairing == Pairing::ActualAfterPreflight
        || ctx.partner.is_some_and(Exchange::is_preflight)
        || !matches!(ex.request.method.as_str(), "GET" | "HEAD" | "POST")
        || request_facts(ex).needs_preflight
    {
        ExchangeType::Actual
    } else {
        ExchangeType::Simple
    }
}

/// Same origin as the request URL. `Sec-Fetch-Site` decides where the browser sent it. Packet
/// captures rebuild the URL as `http://{Host}{target}`, so the scheme there is a guess (TLS may
/// end in front of the capture point): compare host and port only, leniently.
/// `o` is the origin as [`facts::origin_parts`] splits it.
fn is_same_origin(ex: &Exchange, o: Option<UrlParts<'_>>, url: Option<UrlParts<'_>>) -> bool {
    if let Some(site) = ex.request.headers.get("sec-fetch-site") {
        let site = trim_ows(site);
        if site.eq_ignore_ascii_case(b"same-origin") {
            return true;
        }
        if site.eq_ignore_ascii_case(b"same-site") || site.eq_ignore_ascii_case(b"cross-site") {
            return false;
        }
    }
    // `Origin::parse` without its allocations: hosts and schemes compare case-insensitively.
    let Some(parsed) = o else {
        return false;
    };
    let Some(u) = url else {
        return false;
    };
    let o_port = parsed.port.or_else(|| default_port_ci(parsed.scheme));
    let o_host = parsed.host;
    if matches!(ex.source.location, Location::Packets { .. }) {
        // Lenient host:port match: a port-less Host means a default port of either scheme.
        let host_port_match = |host: &str, port: Option<u16>| {
            host.eq_ignore_ascii_case(o_host)
                && match port {
                    None => matches!(o_port, Some(80 | 443)),
                    Some(p) => Some(p) == o_port,
                }
        };
        if host_port_match(u.host, u.port) {
            return true;
        }
        // Behind a reverse proxy the Host may be the backend's; the proxy names the public one.
        return forwarded_hosts(&ex.request.headers).any(|fh| {
            let fake = format!("http://{fh}");
            split_url(&fake).is_some_and(|p| host_port_match(p.host, p.port))
        });
    }
    if !u.host.eq_ignore_ascii_case(o_host) {
        return false;
    }
    parsed.scheme.eq_ignore_ascii_case(u.scheme)
        && u.port.or_else(|| default_port_ci(u.scheme)) == o_port
}

/// [`facts::default_port`] for a scheme in any case.
fn default_port_ci(scheme: &str) -> Option<u16> {
    ["http", "ws", "https", "wss", "ftp"]
        .into_iter()
        .find(|s| s.eq_ignore_ascii_case(scheme))
        .and_then(facts::default_port)
}

/// `X-Forwarded-Host` values and `Forwarded: host=` parameters, as text.
fn forwarded_hosts(h: &Headers) -> impl Iterator<Item = String> + '_ {
    let xfh = list_elements(h, "x-forwarded-host").map(|v| String::from_utf8_lossy(v).into_owned());
    let fwd = list_elements(h, "forwarded").flat_map(|el| {
        el.split(|&b| b == b';')
            .filter_map(|pair| {
                let pair = trim_ows(pair);
                let (k, v) = pair.split_at(pair.iter().position(|&b| b == b'=')?);
                k.eq_ignore_ascii_case(b"host").then(|| {
                    String::from_utf8_lossy(&v[1..])
                        .trim_matches('"')
                        .to_owned()
                })
            })
            .collect::<Vec<_>>()
    });
    xfh.chain(fwd)
}

/// A `mode: "same-origin"` request redirected to another origin (Chromium `kDisallowedByMode`).
/// The only wire evidence of that error: a 3xx whose `Location` leaves the request's origin.
fn disallowed_by_mode(ex: &Exchange, ctx: &Context<'_>) -> Option<Verdict> {
    let resp = ex.response.as_ref()?;
    if !is_redirect(resp.status) {
        return None;
    }
    let loc = resp.headers.get_str("location")?;
    let loc = loc.trim();
    // A relative Location stays on the origin; `split_url` only takes absolute URLs.
    let target = split_url(loc)?;
    let here = split_url(&ex.request.url)?;
    let cross = if matches!(ex.source.location, Location::Packets { .. }) {
        // The captured scheme is a guess: only a host change is certain.
        !target.host.eq_ignore_ascii_case(here.host)
    } else {
        Origin::parse(loc) != Origin::parse(&ex.request.url)
    };
    if !cross {
        return None;
    }
    let own = Origin::parse(&ex.request.url).map(|o| o.serialize());
    let page = page_origin(ex, ctx)
        .or(own)
        .unwrap_or_else(|| "null".into());
    let line = line_for(ex, ctx, &page);
    let mut evidence = Vec::new();
    push_header(&mut evidence, &ex.request.headers, "Sec-Fetch-Mode");
    evidence.push(("Location".into(), redact::url(loc).into_owned()));
    Some(Verdict {
        kind: Kind::DisallowedByMode,
        cors_error: Some(CorsError::DisallowedByMode),
        firefox_error: None,
        failed_parameter: None,
        message: line.chromium(CorsError::DisallowedByMode, ""),
        confidence: Confidence::Certain,
        evidence,
    })
}

/// The schemes Chromium's message lists as CORS-enabled.
const CORS_SCHEMES: &str =
    "http, data, isolated-app, chrome-extension, chrome, https, chrome-untrusted";

/// A failed cross-origin request to a scheme CORS does not cover (`file:`...). Only a client
/// recording can show one; packet captures are HTTP by construction.
fn cors_disabled_scheme(ex: &Exchange, line: &LazyLine<'_, '_>) -> Option<Verdict> {
    ex.failure.as_ref()?;
    let scheme = ex.request.url.split_once(':')?.0.to_ascii_lowercase();
    if CORS_SCHEMES.split(", ").any(|s| s == scheme) {
        return None;
    }
    Some(Verdict {
        kind: Kind::CorsDisabledScheme,
        cors_error: Some(CorsError::CorsDisabledScheme),
        firefox_error: Some("CORSRequestNotHttp"),
        failed_parameter: Some(scheme),
        message: line.chromium(CorsError::CorsDisabledScheme, CORS_SCHEMES),
        confidence: Confidence::Certain,
        evidence: base_evidence(ex),
    })
}

// ----- shared helpers -----

/// The console line, built on first use: most exchanges pass and never print one, and building
/// it redacts and copies URLs.
struct LazyLine<'a, 'c> {
    ex: &'a Exchange,
    ctx: &'a Context<'c>,
    wire_origin: &'a str,
    line: std::cell::OnceCell<Line>,
}

impl<'a, 'c> LazyLine<'a, 'c> {
    fn new(ex: &'a Exchange, ctx: &'a Context<'c>, wire_origin: &'a str) -> Self {
        LazyLine {
            ex,
            ctx,
            wire_origin,
            line: std::cell::OnceCell::new(),
        }
    }
}

impl std::ops::Deref for LazyLine<'_, '_> {
    type Target = Line;

    fn deref(&self) -> &Line {
        self.line
            .get_or_init(|| line_for(self.ex, self.ctx, self.wire_origin))
    }
}

fn line_for(ex: &Exchange, ctx: &Context<'_>, wire_origin: &str) -> Line {
    // A preflight entry's own type is `preflight`: the console names the actual request's type.
    let own = ex
        .hints
        .resource_type
        .as_deref()
        .filter(|t| !t.eq_ignore_ascii_case("preflight"));
    let rt = own.or_else(|| ctx.partner.and_then(|p| p.hints.resource_type.as_deref()));
    Line {
        kind: resource_word(rt),
        url: redact::url(&ex.request.url).into_owned(),
        first_url: ctx.first_url.map(|u| redact::url(u).into_owned()),
        origin: page_origin(ex, ctx).unwrap_or_else(|| wire_origin.to_owned()),
    }
}

/// The page's origin: the context's, else the wire `Origin` (which is the page origin unless a
/// redirect tainted it), else `Referer`'s origin or the recording's page URL.
fn page_origin(ex: &Exchange, ctx: &Context<'_>) -> Option<String> {
    if let Some(p) = ctx.page_origin {
        return Some(p.to_owned());
    }
    let redirected = ctx.previous_hop.is_some() || ctx.first_url.is_some();
    if let Some(o) = ex.request.headers.get("origin") {
        let o = trim_ows(o);
        // After a tainting redirect the wire says `null`, but the console names the page.
        if !(redirected && o == b"null") {
            return Some(lossy(o).into_owned());
        }
    }
    let referer = ex.request.headers.get_str("referer");
    referer
        .as_deref()
        .or(ex.hints.page_url.as_deref())
        .and_then(Origin::parse)
        .map(|o| o.serialize())
}

fn credentials(
    ex: &Exchange,
    ctx: &Context<'_>,
    is_preflight: bool,
) -> (Credentials, Option<&'static str>) {
    // A preflight never carries cookies; the actual request's credentials mode is what counts.
    let carrier = if is_preflight { ctx.partner } else { Some(ex) };
    if carrier.is_some_and(|e| e.request.headers.contains("cookie")) {
        return (Credentials::Include, None);
    }
    match ctx.credentials_hint {
        Some(Credentials::Include) => (
            Credentials::Include,
            Some(
                "credentials mode taken from other requests of this client to this host, which carried cookies",
            ),
        ),
        _ => (Credentials::Unknown, None),
    }
}

fn confidence(assumption: Option<&str>) -> Confidence {
    match assumption {
        Some(a) => Confidence::Inferred(a.to_owned()),
        None => Confidence::Certain,
    }
}

fn push_header(out: &mut Vec<(String, String)>, h: &Headers, name: &str) {
    for v in h.get_all(name) {
        out.push((
            name.to_owned(),
            redact::header_value(name, trim_ows(v)).into_owned(),
        ));
    }
}

fn base_evidence(ex: &Exchange) -> Vec<(String, String)> {
    let mut ev = Vec::with_capacity(4);
    push_header(&mut ev, &ex.request.headers, "Origin");
    ev
}

/// A response whose headers can be checked. A failed recording entry without headers (Playwright,
/// old DevTools, an unsent request) has a status at most, which proves nothing.
fn has_headers(r: &Response, failed: bool) -> bool {
    !r.headers.is_empty() || (r.status > 0 && !failed)
}

fn is_redirect(status: u16) -> bool {
    (300..400).contains(&status) && status != 304
}

/// A recording that writes errors (Chromium's `_resourceType` marks one) shows this entry as a
/// success: the browser did not block it.
fn har_shows_success(ex: &Exchange) -> bool {
    matches!(ex.source.location, Location::HarEntry(_))
        && ex.failure.is_none()
        && ex.hints.resource_type.is_some()
}

fn vary_has_origin(h: &Headers) -> bool {
    list_elements(h, "vary").any(|e| e.eq_ignore_ascii_case(b"origin") || e == b"*")
}

// ----- the ACAO / ACAC check (Fetch "CORS check", Chromium `cors::CheckAccess`) -----

#[derive(Debug, Clone, PartialEq, Eq)]
enum AccessFail {
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

fn check_access(h: &Headers, origin: &str, include: bool) -> Result<(), AccessFail> {
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
fn mismatch_kind(o: &str, acao: &str, redirected: bool) -> Kind {
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
    let a_port = a.port.or_else(|| facts::default_port(&a_scheme));
    let b_port = b.port.or_else(|| facts::default_port(&b_scheme));
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

fn firefox_for_access(f: &AccessFail) -> &'static str {
    match f {
        AccessFail::Wildcard => "CORSNotSupportingCredentials",
        AccessFail::Missing => "CORSMissingAllowOrigin",
        AccessFail::Multiple(_, lines) if *lines >= 2 => "CORSMultipleAllowOriginNotAllowed",
        AccessFail::Multiple(..) | AccessFail::Invalid(_) | AccessFail::Mismatch(_) => {
            "CORSAllowOriginNotMatchingOrigin"
        }
        AccessFail::Credentials(_) => "CORSMissingAllowCredentials",
    }
}

fn access_evidence(ex: &Exchange, resp: &Response, f: &AccessFail) -> Vec<(String, String)> {
    let mut ev = base_evidence(ex);
    push_header(&mut ev, &resp.headers, ACAO);
    if matches!(f, AccessFail::Credentials(_) | AccessFail::Wildcard) {
        push_header(&mut ev, &resp.headers, ACAC);
        push_header(&mut ev, &ex.request.headers, "Cookie");
    }
    ev
}

// ----- actual (and simple) requests -----

fn check_actual(
    ex: &Exchange,
    ctx: &Context<'_>,
    o: &str,
    creds: Credentials,
    creds_assumption: Option<&str>,
    line: &LazyLine<'_, '_>,
) -> Option<Verdict> {
    let har_failed = ex.failure.is_some();
    let resp = ex.response.as_ref().filter(|r| has_headers(r, har_failed));
    let Some(resp) = resp else {
        return if har_failed {
            Some(blocked_without_headers(
                ex,
                ctx,
                o,
                creds,
                creds_assumption,
                line,
            ))
        } else {
            None
        };
    };
    if resp.status == 304 {
        return None;
    }
    let include = creds == Credentials::Include;
    match check_access(&resp.headers, o, include) {
        Err(f) => Some(actual_access_verdict(
            ex,
            ctx,
            o,
            resp,
            &f,
            line,
            // Only the credential failures rest on the credentials assumption.
            if matches!(f, AccessFail::Wildcard | AccessFail::Credentials(_)) {
                confidence(creds_assumption)
            } else {
                Confidence::Certain
            },
        )),
        Ok(()) => {
            if is_redirect(resp.status)
                && let Some(v) = redirect_userinfo(ex, resp, line)
            {
                return Some(v);
            }
            if har_failed && creds == Credentials::Unknown {
                // The browser refused a response that passes without credentials: it must
                // have been credentialed.
                if let Err(f) = check_access(&resp.headers, o, true) {
                    return Some(actual_access_verdict(
                        ex,
                        ctx,
                        o,
                        resp,
                        &f,
                        line,
                        Confidence::Inferred(
                            "the browser blocked a response that passes without credentials, so the request was credentialed (credentials: 'include' or withCredentials); no Cookie is visible".into(),
                        ),
                    ));
                }
            }
            if har_failed {
                return Some(blocked_unknown(
                    ex,
                    line,
                    "the recording marks the request failed, but its response headers pass every CORS check that traffic shows",
                ));
            }
            None
        }
    }
}

fn actual_access_verdict(
    ex: &Exchange,
    ctx: &Context<'_>,
    o: &str,
    resp: &Response,
    f: &AccessFail,
    line: &LazyLine<'_, '_>,
    confidence: Confidence,
) -> Verdict {
    let (kind, err, hint) = access_failure(ex, ctx, o, resp, f);
    let mut evidence = access_evidence(ex, resp, f);
    if kind == Kind::AcaoStaleCache {
        push_header(&mut evidence, &resp.headers, "Vary");
        push_header(&mut evidence, &resp.headers, "Age");
    }
    Verdict {
        kind,
        cors_error: Some(err),
        firefox_error: Some(firefox_for_access(f)),
        message: line.chromium(err, hint.as_deref().unwrap_or("")),
        failed_parameter: hint,
        confidence,
        evidence,
    }
}

/// What an actual request's failed ACAO/ACAC check is: kind, Chromium error and hint.
fn access_failure(
    ex: &Exchange,
    ctx: &Context<'_>,
    o: &str,
    resp: &Response,
    f: &AccessFail,
) -> (Kind, CorsError, Option<String>) {
    // Only a seen redirect explains `Origin: null`; a sandboxed or file: page sends it too.
    let redirected =
        ctx.previous_hop.is_some() || ctx.first_url.is_some_and(|u| u != ex.request.url);
    let stale = ex.hints.from_cache && !vary_has_origin(&resp.headers);
    match f {
        AccessFail::Wildcard => (
            Kind::WildcardWithCredentials,
            CorsError::WildcardOriginNotAllowed,
            None,
        ),
        AccessFail::Missing => {
            let kind = if stale {
                Kind::AcaoStaleCache
            } else if is_redirect(resp.status) {
                Kind::AcaoMissingOnRedirect
            } else if resp.status >= 400 {
                Kind::AcaoMissingErrorPath
            } else {
                Kind::AcaoMissing
            };
            (kind, CorsError::MissingAllowOriginHeader, None)
        }
        AccessFail::Multiple(v, _) => (
            Kind::AcaoMultipleValues,
            CorsError::MultipleAllowOriginValues,
            Some(v.clone()),
        ),
        AccessFail::Invalid(v) => (
            Kind::AcaoInvalidValue,
            CorsError::InvalidAllowOriginValue,
            Some(v.clone()),
        ),
        AccessFail::Mismatch(v) => {
            let kind = if stale && o != "null" {
                Kind::AcaoStaleCache
            } else {
                mismatch_kind(o, v, redirected)
            };
            (kind, CorsError::AllowOriginMismatch, Some(v.clone()))
        }
        AccessFail::Credentials(v) => (
            Kind::AcacInvalid,
            CorsError::InvalidAllowCredentials,
            Some(v.clone()),
        ),
    }
}

/// The kind a request that passes `check_actual` without credentials would fail with under
/// `credentials: 'include'`. Only the ACAO/ACAC check depends on the credentials mode, and the
/// rest of `check_actual` already passed, so only that check reruns (no verdict is built).
fn fails_with_credentials(ex: &Exchange, ctx: &Context<'_>, o: &str) -> Option<Kind> {
    let resp = ex
        .response
        .as_ref()
        .filter(|r| has_headers(r, ex.failure.is_some()))?;
    if resp.status == 304 {
        return None;
    }
    let f = check_access(&resp.headers, o, true).err()?;
    Some(access_failure(ex, ctx, o, resp, &f).0)
}

fn redirect_userinfo(ex: &Exchange, resp: &Response, line: &LazyLine<'_, '_>) -> Option<Verdict> {
    let loc = resp.headers.get_str("location")?;
    let parts = split_url(loc.trim())?;
    if !parts.has_userinfo {
        return None;
    }
    let shown = redact::url(loc.trim()).into_owned();
    let mut evidence = base_evidence(ex);
    evidence.push(("Location".into(), shown.clone()));
    Some(Verdict {
        kind: Kind::RedirectUserinfo,
        cors_error: Some(CorsError::RedirectContainsCredentials),
        firefox_error: None,
        message: line.chromium(CorsError::RedirectContainsCredentials, &shown),
        failed_parameter: Some(shown),
        confidence: Confidence::Certain,
        evidence,
    })
}

/// A failed entry with no response headers: the preflight (when known) tells why; otherwise
/// nothing does.
fn blocked_without_headers(
    ex: &Exchange,
    ctx: &Context<'_>,
    o: &str,
    creds: Credentials,
    creds_assumption: Option<&str>,
    line: &LazyLine<'_, '_>,
) -> Verdict {
    if let Some(pf) = ctx.partner.filter(|p| p.is_preflight()) {
        // The preflight's own `Origin` is what its ACAO was checked against: after a tainting
        // redirect it is `null`, while this entry's (provisional) headers name none.
        let pf_origin = pf
            .request
            .headers
            .get("origin")
            .map(|v| lossy(trim_ows(v)).into_owned());
        let o = pf_origin.as_deref().unwrap_or(o);
        let include = creds == Credentials::Include;
        if let Some(v) = preflight_blocked(pf, Some(ex), o, include, creds_assumption, line) {
            return v;
        }
        if creds == Credentials::Unknown
            && let Some(mut v) = preflight_blocked(pf, Some(ex), o, true, None, line)
        {
            v.confidence = Confidence::Inferred(
                "the browser blocked the request although its preflight passes without credentials, so the request was credentialed; no Cookie is visible".into(),
            );
            return v;
        }
        return blocked_unknown(
            ex,
            line,
            "the recording keeps no response headers for this request, and its preflight passes every check that traffic shows",
        );
    }
    blocked_unknown(
        ex,
        line,
        "the recording keeps neither the response headers nor the preflight of this request, so the browser's reason is not visible",
    )
}

fn blocked_unknown(ex: &Exchange, line: &LazyLine<'_, '_>, assumption: &str) -> Verdict {
    let err = failure_text(ex).unwrap_or("net::ERR_FAILED");
    Verdict {
        kind: Kind::BlockedReasonUnknown,
        cors_error: None,
        firefox_error: None,
        failed_parameter: None,
        message: format!(
            "The browser blocked the {} request to '{}' from origin '{}' ({err}), and the recording does not show why.",
            line.kind, line.url, line.origin
        ),
        confidence: Confidence::Inferred(assumption.to_owned()),
        evidence: base_evidence(ex),
    }
}

fn credentials_not_sent(ex: &Exchange, ctx: &Context<'_>, resp: &Response, out: &mut Vec<Verdict>) {
    // With an Authorization header the 401 is about the token, not cookies.
    if !matches!(resp.status, 401 | 403)
        || ex.request.headers.contains("cookie")
        || ex.request.headers.contains("authorization")
        || ex.hints.sanitized
    {
        return;
    }
    let confidence = if ctx.credentials_hint == Some(Credentials::Include) {
        Confidence::Certain
    } else {
        Confidence::Inferred("the endpoint expects cookies that this request did not carry".into())
    };
    let mut evidence = base_evidence(ex);
    push_header(&mut evidence, &resp.headers, "WWW-Authenticate");
    out.push(Verdict {
        kind: Kind::CredentialsNotSent,
        cors_error: None,
        firefox_error: None,
        failed_parameter: None,
        message: format!(
            "The server answered {} to a cross-origin request that carried no cookies; CORS passed. fetch() sends cookies cross-origin only with credentials: 'include' (XMLHttpRequest: withCredentials), and SameSite or third-party cookie blocking can drop them.",
            resp.status
        ),
        confidence,
        evidence,
    });
}

// ----- preflights -----

fn check_preflight(
    ex: &Exchange,
    ctx: &Context<'_>,
    o: &str,
    creds: Credentials,
    creds_assumption: Option<&str>,
    line: &LazyLine<'_, '_>,
    out: &mut Vec<Verdict>,
) {
    let include = creds == Credentials::Include;
    let mut blocked = preflight_blocked(ex, ctx.partner, o, include, creds_assumption, line);
    // No actual request followed, and only credentials explain it.
    // A recording that marks the preflight itself failed says as much.
    let failed = ex.failure.is_some();
    let alone = match ctx.pairing {
        Pairing::PreflightAlone { capture_open } => Some(capture_open),
        _ if failed || actual_never_sent(ctx) => Some(false),
        _ => None,
    };
    if blocked.is_none()
        && creds == Credentials::Unknown
        && let Some(capture_open) = alone
        && let Some(mut v) = preflight_blocked(ex, ctx.partner, o, true, None, line)
    {
        v.confidence = Confidence::Inferred(if capture_open {
            "no actual request followed before the capture ended; assuming it was credentialed"
                .into()
        } else {
            "no actual request followed; assuming it was credentialed".into()
        });
        blocked = Some(v);
    }
    if blocked.is_none() && failed {
        blocked = Some(blocked_unknown(
            ex,
            line,
            "the recording marks the preflight failed, but its response passes every check that traffic shows",
        ));
    }
    if let Some(v) = blocked {
        push_preflight_blocked(out, ctx, v);
    }
    preflight_extras(ex, ctx, o, creds, line, out);
}

/// The partner actual request is a client recording's failed entry with no response: the
/// browser created it but never sent it (its preflight failed), whatever pairing concluded.
fn actual_never_sent(ctx: &Context<'_>) -> bool {
    ctx.partner.is_some_and(|a| {
        !a.is_preflight()
            && a.failure.is_some()
            && a.response
                .as_ref()
                .is_none_or(|r| r.headers.is_empty() && r.status == 0)
    })
}

/// Pushes a preflight's blocked verdict, unless the actual request followed: then the browser
/// accepted the preflight, and the failure becomes a note about the contradiction.
fn push_preflight_blocked(out: &mut Vec<Verdict>, ctx: &Context<'_>, v: Verdict) {
    let guessed_no_response =
        v.kind == Kind::PreflightNoResponse && v.confidence != Confidence::Certain;
    if guessed_no_response && ctx.pairing == (Pairing::PreflightAlone { capture_open: true }) {
        // The capture ended before the answer could be seen.
        return;
    }
    if ctx.pairing != Pairing::PreflightFollowed || actual_never_sent(ctx) {
        out.push(v);
        return;
    }
    if guessed_no_response {
        // The capture missed the answer; the browser evidently got one.
        return;
    }
    out.push(Verdict {
        kind: Kind::PreflightFollowedDespiteFailure,
        cors_error: None,
        firefox_error: None,
        failed_parameter: v.failed_parameter,
        // Concatenated rather than formatted: every failing preflight that was followed.
        message: [
            "The actual request followed this preflight although its response fails the browser's check (",
            v.kind.id(),
            ": ",
            &v.message,
            "); the pairing may be wrong, or the client was not a browser.",
        ]
        .concat(),
        confidence: Confidence::Inferred(
            "the actual request paired with this preflight came from the same browser".into(),
        ),
        evidence: v.evidence,
    });
}

/// The first failing preflight check in Chromium's order, with the actual request's credentials
/// mode (`include`). `actual` is the request it guards, when known.
fn preflight_blocked(
    pf: &Exchange,
    actual: Option<&Exchange>,
    o: &str,
    include: bool,
    creds_assumption: Option<&str>,
    line: &LazyLine<'_, '_>,
) -> Option<Verdict> {
    let mk = |kind: Kind,
              err: Option<CorsError>,
              ff: Option<&'static str>,
              hint: Option<String>,
              confidence: Confidence,
              evidence: Vec<(String, String)>| {
        let message = match err {
            Some(e) => line.chromium(e, hint.as_deref().unwrap_or("")),
            None => String::new(),
        };
        Verdict {
            kind,
            cors_error: err,
            firefox_error: ff,
            failed_parameter: hint,
            message,
            confidence,
            evidence,
        }
    };
    let resp = pf
        .response
        .as_ref()
        .filter(|r| has_headers(r, pf.failure.is_some()));
    let Some(resp) = resp else {
        if failure_text(pf).is_some_and(|t| net_error(t) == NetError::InvalidRedirect) {
            return Some(mk(
                Kind::PreflightRedirect,
                Some(CorsError::PreflightDisallowedRedirect),
                Some("CORSExternalRedirectNotAllowed"),
                None,
                Confidence::Certain,
                vec![("error".into(), "net::ERR_INVALID_REDIRECT".into())],
            ));
        }
        if pf.failure.is_some() {
            // A failed preflight entry without headers: the reason is not in the recording.
            return Some(blocked_unknown(
                pf,
                line,
                "the recording keeps no response headers for this preflight",
            ));
        }
        if matches!(pf.source.location, Location::Packets { .. }) {
            let mut v = mk(
                Kind::PreflightNoResponse,
                None,
                Some("CORSDidNotSucceed"),
                None,
                Confidence::Inferred(
                    "no response was seen; the connection failed, or the capture missed it".into(),
                ),
                base_evidence(pf),
            );
            v.message = format!(
                "The preflight request to '{}' got no response, so the browser fails the actual request with a network error.",
                line.url
            );
            return Some(v);
        }
        return None;
    };
    let rh = &resp.headers;
    let status_ev = || {
        let mut ev = base_evidence(pf);
        ev.push((":status".into(), resp.status.to_string()));
        push_header(&mut ev, rh, "WWW-Authenticate");
        ev
    };

    // 1. Any redirect.
    if (300..400).contains(&resp.status) {
        let mut ev = status_ev();
        push_header(&mut ev, rh, "Location");
        return Some(mk(
            Kind::PreflightRedirect,
            Some(CorsError::PreflightDisallowedRedirect),
            Some("CORSExternalRedirectNotAllowed"),
            None,
            Confidence::Certain,
            ev,
        ));
    }
    let auth_rejected = matches!(resp.status, 401 | 403);
    let conf = || confidence(creds_assumption);

    // 2. ACAO / ACAC with the actual request's credentials mode, whatever the status.
    if let Err(f) = check_access(rh, o, include) {
        let (kind, err, hint) = match &f {
            AccessFail::Missing => (
                if auth_rejected {
                    Kind::PreflightAuthRejected
                } else {
                    Kind::PreflightAcaoMissing
                },
                CorsError::PreflightMissingAllowOriginHeader,
                None,
            ),
            AccessFail::Multiple(v, _) => (
                Kind::PreflightAcaoMismatch,
                CorsError::PreflightMultipleAllowOriginValues,
                Some(v.clone()),
            ),
            AccessFail::Invalid(v) => (
                Kind::PreflightAcaoMismatch,
                CorsError::PreflightInvalidAllowOriginValue,
                Some(v.clone()),
            ),
            AccessFail::Mismatch(v) => (
                Kind::PreflightAcaoMismatch,
                CorsError::PreflightAllowOriginMismatch,
                Some(v.clone()),
            ),
            AccessFail::Wildcard => (
                Kind::PreflightCredentialsFail,
                CorsError::PreflightWildcardOriginNotAllowed,
                None,
            ),
            AccessFail::Credentials(v) => (
                Kind::PreflightCredentialsFail,
                CorsError::PreflightInvalidAllowCredentials,
                Some(v.clone()),
            ),
        };
        let mut ev = status_ev();
        ev.extend(access_evidence(pf, resp, &f).into_iter().skip(1));
        if let Some(a) = actual
            && matches!(f, AccessFail::Wildcard | AccessFail::Credentials(_))
        {
            push_header(&mut ev, &a.request.headers, "Cookie");
        }
        let conf = if matches!(f, AccessFail::Wildcard | AccessFail::Credentials(_)) {
            conf()
        } else {
            Confidence::Certain
        };
        return Some(mk(
            kind,
            Some(err),
            Some(firefox_for_access(&f)),
            hint,
            conf,
            ev,
        ));
    }

    // 3. Status.
    if !(200..300).contains(&resp.status) {
        let mut ev = status_ev();
        push_header(&mut ev, rh, ACAO);
        return Some(mk(
            if auth_rejected {
                Kind::PreflightAuthRejected
            } else {
                Kind::PreflightStatusNotOk
            },
            Some(CorsError::PreflightInvalidStatus),
            Some("CORSPreflightDidNotSucceed"),
            None,
            Confidence::Certain,
            ev,
        ));
    }

    // 4. ACAM and ACAH must be lists of tokens (empty elements skipped). Collected once: steps
    // 5 and 6 scan them again.
    let acam: Vec<&[u8]> = list_elements(rh, ACAM).collect();
    let acah: Vec<&[u8]> = list_elements(rh, ACAH).collect();
    for (name, list, kind, err, ff) in [
        (
            ACAM,
            &acam,
            Kind::AcamUnparseable,
            CorsError::InvalidAllowMethodsPreflightResponse,
            "CORSInvalidAllowMethod",
        ),
        (
            ACAH,
            &acah,
            Kind::AcahUnparseable,
            CorsError::InvalidAllowHeadersPreflightResponse,
            "CORSInvalidAllowHeader",
        ),
    ] {
        if let Some(bad) = list.iter().find(|e| !is_token(e)) {
            let mut ev = base_evidence(pf);
            push_header(&mut ev, rh, name);
            let mut v = mk(kind, Some(err), Some(ff), None, Confidence::Certain, ev);
            // Chromium gives no hint here; Firefox names the bad token.
            v.failed_parameter = Some(String::from_utf8_lossy(bad).into_owned());
            return Some(v);
        }
    }

    // 5. Method: safelisted, listed (case-sensitive), or `*` without credentials.
    // Raw bytes compare as the text would: ACAM holds only tokens (step 4), all ASCII.
    let method = pf.request.headers.get(ACRM).map_or(&b""[..], trim_ows);
    let methods = || acam.iter().copied();
    let has_star = || methods().any(|m| m == b"*");
    let safelisted = ["GET", "HEAD", "POST"]
        .iter()
        .any(|m| m.as_bytes().eq_ignore_ascii_case(method));
    if !safelisted && !methods().any(|m| m == method) && (!has_star() || include) {
        let method = String::from_utf8_lossy(method).into_owned();
        let kind = if methods().any(|m| m.eq_ignore_ascii_case(method.as_bytes())) {
            Kind::MethodCaseMismatch
        } else if has_star() {
            Kind::MethodWildcardWithCredentials
        } else {
            Kind::MethodNotAllowed
        };
        let mut ev = base_evidence(pf);
        push_header(&mut ev, &pf.request.headers, ACRM);
        push_header(&mut ev, rh, ACAM);
        let conf = if kind == Kind::MethodWildcardWithCredentials {
            conf()
        } else {
            Confidence::Certain
        };
        return Some(mk(
            kind,
            Some(CorsError::MethodDisallowedByPreflightResponse),
            Some("CORSMethodNotFound"),
            Some(method),
            conf,
            ev,
        ));
    }

    // 6. Headers: every requested name in ACAH (case-insensitive), or `*` without credentials.
    // Usually every requested name is allowed: that is checked on the raw bytes, which compare
    // as the lowercased text would since ACAH holds only tokens (step 4).
    let star = acah.iter().any(|a| *a == b"*");
    let all_allowed = || {
        list_elements(&pf.request.headers, ACRH)
            .all(|r| acah.iter().any(|a| a.eq_ignore_ascii_case(r)))
    };
    if (!star || include) && !all_allowed() {
        let allowed: Vec<String> = acah
            .iter()
            .map(|e| String::from_utf8_lossy(e).to_ascii_lowercase())
            .collect();
        if let Some(missing) = first_missing_header(pf, actual, &allowed) {
            let kind = if star {
                Kind::HeaderWildcardWithCredentials
            } else {
                Kind::HeaderNotAllowed
            };
            let mut ev = base_evidence(pf);
            push_header(&mut ev, &pf.request.headers, ACRH);
            push_header(&mut ev, rh, ACAH);
            let conf = if star { conf() } else { Confidence::Certain };
            return Some(mk(
                kind,
                Some(CorsError::HeaderDisallowedByPreflightResponse),
                Some("CORSMissingAllowHeaderFromPreflight"),
                Some(missing),
                conf,
                ev,
            ));
        }
    }
    None
}

/// The first header name the preflight asked for that `allowed` (lowercase) lacks, in the order
/// Chromium checks them: the actual request's own header order when it is known, then whatever
/// else ACRH names.
fn first_missing_header(
    pf: &Exchange,
    actual: Option<&Exchange>,
    allowed: &[String],
) -> Option<String> {
    let acrh: Vec<String> = list_elements(&pf.request.headers, ACRH)
        .map(|e| String::from_utf8_lossy(e).to_ascii_lowercase())
        .collect();
    let missing = |n: &String| !allowed.contains(n);
    if let Some(actual) = actual
        && let Some(n) = unsafe_header_names(&actual.request.headers)
            .into_iter()
            .find(|n| acrh.contains(n) && missing(n))
    {
        return Some(n);
    }
    // Names in both lists were checked above, and were allowed.
    acrh.into_iter().find(missing)
}

/// Warnings and notes a preflight earns whatever its outcome.
fn preflight_extras(
    ex: &Exchange,
    ctx: &Context<'_>,
    o: &str,
    creds: Credentials,
    line: &LazyLine<'_, '_>,
    out: &mut Vec<Verdict>,
) {
    let rq = &ex.request.headers;
    // Compared with ASCII names only, so raw bytes do (no lowercased copies).
    let requested = || list_elements(rq, ACRH);

    if let Some(resp) = ex
        .response
        .as_ref()
        .filter(|r| (200..300).contains(&r.status))
    {
        let rh = &resp.headers;
        // Authorization covered only by `*`: allowed today, with a deprecation warning.
        let allowed = || list_elements(rh, ACAH);
        if creds != Credentials::Include
            && requested().any(|n| n.eq_ignore_ascii_case(b"authorization"))
            && allowed().any(|a| a == b"*")
            && !allowed().any(|a| a.eq_ignore_ascii_case(b"authorization"))
        {
            let mut ev = base_evidence(ex);
            push_header(&mut ev, rq, ACRH);
            push_header(&mut ev, rh, ACAH);
            out.push(Verdict {
                kind: Kind::AuthorizationUnderWildcard,
                cors_error: None,
                firefox_error: Some("CORSAllowHeaderFromPreflightDeprecation"),
                failed_parameter: Some("authorization".into()),
                message: AUTHORIZATION_WILDCARD_DEPRECATION.into(),
                confidence: Confidence::Certain,
                evidence: ev,
            });
        }
        // Max-Age above the browsers' caps.
        if let Some(v) = rh.get(ACMA) {
            let v = trim_ows(v);
            let secs = std::str::from_utf8(v)
                .ok()
                .and_then(|s| s.parse::<u64>().ok());
            if let Some(secs) = secs.filter(|s| *s > 7200) {
                let firefox = if secs > 86_400 {
                    " and Firefox at 86400 s (24 hours)"
                } else {
                    ""
                };
                let mut ev = Vec::new();
                push_header(&mut ev, rh, ACMA);
                out.push(Verdict {
                    kind: Kind::MaxAgeAboveCap,
                    cors_error: None,
                    firefox_error: None,
                    failed_parameter: Some(secs.to_string()),
                    message: format!(
                        "Access-Control-Max-Age is {secs} s, but Chromium caps the preflight cache at 7200 s (2 hours){firefox}: preflights repeat sooner than the server intends."
                    ),
                    confidence: Confidence::Certain,
                    evidence: ev,
                });
            }
        }
        pna(ex, resp, line, out);
    }

    // Safelisted names in ACRH: a value over the limits or a non-safelisted MIME type.
    let overflow: Vec<&str> = requested()
        .filter_map(|n| {
            SAFELISTED_NAMES
                .into_iter()
                .find(|s| n.eq_ignore_ascii_case(s.as_bytes()))
        })
        .collect();
    if !overflow.is_empty() {
        let why = ctx
            .partner
            .and_then(|a| overflow_reason(&a.request.headers, &overflow))
            .unwrap_or_else(|| {
                "a value over 128 bytes, over 1024 bytes of safelisted values in total, a forbidden byte, a Content-Type other than form/text-plain, or a Range that is not one simple range".into()
            });
        let mut ev = base_evidence(ex);
        push_header(&mut ev, rq, ACRH);
        out.push(Verdict {
            kind: Kind::SafelistOverflowPreflight,
            cors_error: None,
            firefox_error: None,
            failed_parameter: Some(overflow.join(",")),
            message: [
                "This preflight was sent for normally safelisted header(s) ",
                &overflow.join(", "),
                ": ",
                &why,
                ".",
            ]
            .concat(),
            confidence: Confidence::Certain,
            evidence: ev,
        });
    }

    if ctx.previous_hop.is_some() {
        let mut ev = base_evidence(ex);
        if let Some(prev) = ctx.previous_hop {
            ev.push((
                "previous".into(),
                redact::url(&prev.request.url).into_owned(),
            ));
        }
        out.push(Verdict {
            kind: Kind::RedirectNewPreflight,
            cors_error: None,
            firefox_error: None,
            failed_parameter: None,
            message: format!(
                "After a cross-origin redirect the browser sent a new preflight to '{}'{}.",
                line.url,
                if o == "null" {
                    " with Origin: null (the redirect tainted the origin)"
                } else {
                    ""
                }
            ),
            confidence: Confidence::Certain,
            evidence: ev,
        });
    }
}

/// The request-header names that can be CORS-safelisted (lowercase).
const SAFELISTED_NAMES: [&str; 5] = [
    "accept",
    "accept-language",
    "content-language",
    "content-type",
    "range",
];

fn overflow_reason(h: &Headers, names: &[&str]) -> Option<String> {
    let mut reasons = Vec::new();
    let mut total = 0usize;
    for (name, value) in h.iter() {
        // Only the safelistable names matter here: no lowercased copy of the others.
        let Some(lower) = SAFELISTED_NAMES
            .into_iter()
            .find(|s| s.eq_ignore_ascii_case(name))
        else {
            continue;
        };
        let value = trim_ows(value);
        if !names.contains(&lower) {
            if facts::is_safelisted(lower, value) {
                total += value.len();
            }
            continue;
        }
        total += value.len();
        let shown = || redact::header_value(name, value);
        if value.len() > 128 {
            reasons.push(format!("{lower} is {} bytes (limit 128)", value.len()));
        } else if lower == "content-type" && !facts::safelisted_content_type(value) {
            reasons.push(
                [
                    "content-type '",
                    &shown(),
                    "' is not application/x-www-form-urlencoded, multipart/form-data or text/plain",
                ]
                .concat(),
            );
        } else if !facts::is_safelisted(lower, value) {
            reasons.push(format!("{lower} '{}' is not a safelisted value", shown()));
        }
    }
    if reasons.is_empty() && total > 1024 {
        reasons.push(format!(
            "the safelisted header values add up to {total} bytes (limit 1024)"
        ));
    }
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// Private Network Access preflights (Chromium ≈ M104–2025): warning-only by default.
fn pna(ex: &Exchange, resp: &Response, line: &LazyLine<'_, '_>, out: &mut Vec<Verdict>) {
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
        if !out
            .iter()
            .any(|x| x.class() == super::VerdictClass::Blocked)
        {
            out.push(v);
        }
    }
}

pub(super) fn server_space(ex: &Exchange) -> Option<Space> {
    ex.hints
        .server_ip
        .or_else(|| ex.server.map(|s| s.ip()))
        .map(facts::ip_space)
}

// ----- Local Network Access (client recordings only) -----

fn lna_verdict(ex: &Exchange, ctx: &Context<'_>, which: Lna, wire_origin: Option<&str>) -> Verdict {
    let page = page_origin(ex, ctx)
        .or_else(|| wire_origin.map(str::to_owned))
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

// ----- no-cors lookalikes -----

/// Notes for a script's `mode: "no-cors"` request to another origin. Images, scripts and
/// styles load in no-cors mode all the time: those are left alone (their `Sec-Fetch-Dest` is
/// not `empty`), and so are same-origin ones (their response is not opaque).
fn no_cors_notes(ex: &Exchange, out: &mut Vec<Verdict>) {
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
