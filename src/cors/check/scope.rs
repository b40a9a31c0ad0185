//! Is this a CORS request at all? Mode, WebSocket, navigations, network errors, same origin,
//! and what kind of CORS request it is.

use super::{LazyLine, base_evidence, is_redirect, line_for, lna, no_cors, push_header};
use crate::cors::facts::{list_elements, trim_ows};
use crate::cors::{
    Classification, Confidence, Context, CorsError, ExchangeType, Kind, NotCors, Scope, Verdict,
};
use crate::model::{Exchange, Headers, Location, Pairing};
use crate::redact;
use crate::url::{self, Origin, UrlParts, split_url};

/// Settles the requests whose scope their mode or failure decides before any origin is read:
/// WebSocket, `no-cors` (with its notes), `same-origin` (a cross-origin redirect is
/// `DisallowedByMode`), navigations, Local Network Access errors and non-CORS network errors.
/// Returns true when `c` is final.
pub(super) fn settled_before_origin(
    ex: &Exchange,
    ctx: &Context<'_>,
    c: &mut Classification,
) -> bool {
    let h = &ex.request.headers;
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
        return true;
    }
    match mode {
        Some("no-cors") => {
            c.scope = Scope::NotCors(NotCors::Mode("no-cors".into()));
            no_cors::notes(ex, &mut c.verdicts);
            return true;
        }
        Some("same-origin") => {
            if let Some(v) = disallowed_by_mode(ex, ctx) {
                c.scope = Scope::Cors(ExchangeType::Simple);
                c.verdicts.push(v);
            } else {
                c.scope = Scope::NotCors(NotCors::Mode("same-origin".into()));
            }
            return true;
        }
        Some(m @ ("navigate" | "nested-navigate")) => {
            c.scope = Scope::NotCors(NotCors::Mode(m.to_owned()));
            return true;
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
        return true;
    }

    let is_preflight = ex.is_preflight();
    if let Some(text) = failure_text(ex) {
        match net_error(text) {
            NetError::Cors => {}
            NetError::InvalidRedirect if is_preflight => {}
            NetError::Lna(which) => {
                c.scope = Scope::Cors(exchange_type(ex, ctx, is_preflight));
                c.verdicts
                    .push(lna::verdict(ex, ctx, which, c.origin.as_deref()));
                return true;
            }
            NetError::InvalidRedirect | NetError::Other => {
                // Chromium reports a preflight that got no answer (refused, reset, DNS) as that
                // net error, not as a CORS error: verified against real Chromium (scenario
                // conn_refused_pf). It is a network failure, not a CORS one.
                c.scope = Scope::NotCors(NotCors::NetworkError(text.to_owned()));
                return true;
            }
        }
    }

    false
}

pub(super) fn failure_text(ex: &Exchange) -> Option<&str> {
    ex.failure
        .as_ref()
        .and_then(|f| f.error_text.as_deref())
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lna {
    /// `ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS`; `pna` for the older
    /// `ERR_BLOCKED_BY_PRIVATE_NETWORK_ACCESS_CHECKS` (address-space words differ).
    Checks { pna: bool },
    /// `ERR_INCONSISTENT_IP_ADDRESS_SPACE`.
    Inconsistent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NetError {
    /// What a CORS failure completes with (or a recorder's CORS wording).
    Cors,
    Lna(Lna),
    /// `net::ERR_INVALID_REDIRECT`: how DevTools shows a redirected preflight.
    InvalidRedirect,
    /// Anything else: not CORS (ORB, CORP, refused, DNS, mixed content, blocked by client...).
    Other,
}

pub(super) fn net_error(text: &str) -> NetError {
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

pub(super) fn is_extension_origin(o: &str) -> bool {
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
pub(super) fn provisional_origin(ex: &Exchange, ctx: &Context<'_>) -> Option<String> {
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
    let page = ctx.page_origin?;
    let target = Origin::parse(&ex.request.url)?;
    if Origin::parse(page)? != target {
        return Some(page.to_owned());
    }
    // Back at the page's own origin after a cross-origin hop (A -> B -> A): still a CORS
    // request, and a tainted one, so the wire carried `Origin: null`.
    let previous = ctx.previous_hop?;
    (Origin::parse(&previous.request.url)? != target).then(|| "null".to_owned())
}

pub(super) fn exchange_type(ex: &Exchange, ctx: &Context<'_>, is_preflight: bool) -> ExchangeType {
    if is_preflight {
        ExchangeType::Preflight
    } else if ctx.pairing == Pairing::ActualAfterPreflight
        || ctx.partner.is_some_and(Exchange::is_preflight)
        || !matches!(ex.request.method.as_str(), "GET" | "HEAD" | "POST")
        || crate::cors::facts::has_unsafe_header(&ex.request.headers)
    {
        ExchangeType::Actual
    } else {
        ExchangeType::Simple
    }
}

/// Same origin as the request URL. `Sec-Fetch-Site` decides where the browser sent it. Packet
/// captures rebuild the URL as `http://{Host}{target}`, so the scheme there is a guess (TLS may
/// end in front of the capture point): compare host and port only, leniently.
/// `o` is the origin as [`url::origin_parts`] splits it.
pub(super) fn is_same_origin(
    ex: &Exchange,
    o: Option<UrlParts<'_>>,
    url: Option<UrlParts<'_>>,
) -> bool {
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

/// [`url::default_port`] for a scheme in any case.
fn default_port_ci(scheme: &str) -> Option<u16> {
    ["http", "ws", "https", "wss", "ftp"]
        .into_iter()
        .find(|s| s.eq_ignore_ascii_case(scheme))
        .and_then(url::default_port)
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
pub(super) fn disallowed_by_mode(ex: &Exchange, ctx: &Context<'_>) -> Option<Verdict> {
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
    let page = ctx
        .page_origin
        .map(str::to_owned)
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
pub(super) fn cors_disabled_scheme(ex: &Exchange, line: &LazyLine<'_, '_>) -> Option<Verdict> {
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
