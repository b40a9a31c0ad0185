//! What the hops of one request tell: which layer set each CORS header (the app, the proxy,
//! both), the proxy's name, and how an inner hop seen alone is judged. The pipeline calls
//! [`judge`] after the classifier, which stays a pure function of the exchange it is given.

use super::{HopConfig, Seen, forwarded_weight};
use crate::cors::{Classification, Confidence, Kind, Verdict, VerdictClass};
use crate::model::{Exchange, Headers, Response};
use serde::Serialize;

/// The CORS response headers whose layer is reported, in report order.
pub const CORS_HEADERS: [&str; 8] = [
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Credentials",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
    "Access-Control-Expose-Headers",
    "Access-Control-Max-Age",
    "Access-Control-Allow-Private-Network",
    "Vary",
];

/// Which hops of a request were visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Visible {
    /// The browser-facing hop and at least one inner hop: judged at the browser-facing one.
    Both,
    /// Only a proxy→app hop (its request shows a proxy in front).
    InnerOnly,
}

/// Who set a CORS header the browser got (or the app sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// The app set it; the proxy passed it on unchanged.
    App,
    /// The app did not send it; the proxy added it.
    Proxy,
    /// The app sent it and the proxy added another line (the browser gets both).
    Both,
    /// The proxy replaced the app's value.
    ProxyChanged,
    /// The app sent it; the proxy dropped it.
    ProxyRemoved,
}

impl Layer {
    /// Every layer, in report order.
    pub const ALL: [Layer; 5] = [
        Layer::App,
        Layer::Proxy,
        Layer::Both,
        Layer::ProxyChanged,
        Layer::ProxyRemoved,
    ];

    /// As reports and metrics spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::App => "app",
            Layer::Proxy => "proxy",
            Layer::Both => "both",
            Layer::ProxyChanged => "proxy_changed",
            Layer::ProxyRemoved => "proxy_removed",
        }
    }

    /// The proxy wrote (part of) what the browser got.
    pub fn by_proxy(self) -> bool {
        self != Layer::App
    }
}

/// One CORS header of a request seen at two hops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeaderLayer {
    /// The header, as [`CORS_HEADERS`] spells it.
    pub header: &'static str,
    /// Who set it.
    pub set_by: Layer,
    /// What the app sent (lines joined with `, `), if anything.
    pub app: Option<String>,
    /// What the browser got, if anything.
    pub browser: Option<String>,
}

/// An inner hop of the request, as evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InnerHop {
    /// First packet of its request in the same input.
    pub index: u64,
    /// The app's status, when its answer was seen.
    pub status: Option<u16>,
    /// The app's address.
    pub server: Option<String>,
}

/// What the hops tell about one judged exchange (the event's `hop`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HopFacts {
    /// Which hops were visible.
    pub visible: Visible,
    /// The proxy, named by its `Server`, `Via` or `X-Forwarded-Server`, or its address.
    pub proxy: Option<String>,
    /// The inner hops (for `both`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inner: Vec<InnerHop>,
    /// Per CORS header present at either hop: which layer set it (for `both`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<HeaderLayer>,
    /// The verdicts are the browser's and counted as such; false for an inner hop seen alone
    /// when the proxy is declared to set the CORS headers: they describe the app's answer.
    pub counted: bool,
    /// One line for people.
    pub note: String,
}

/// An inner hop seen alone: the request as the browser sent it, and who forwarded it.
#[derive(Debug)]
pub struct InnerOnly {
    /// The exchange with the proxy's request headers taken off and, where `X-Forwarded-Proto`
    /// / `X-Forwarded-Host` / `Forwarded` name them, the browser-facing scheme and host.
    pub view: Exchange,
    /// The proxy, as named by the request.
    pub proxy: String,
    /// The forwarding headers that told it, for evidence.
    pub told_by: String,
}

/// Request headers a proxy adds that a browser never sends: taken off an inner hop before it
/// is judged as the browser's request (a browser would have had to preflight them).
fn added_by_proxy(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "x-forwarded-for"
            | "x-forwarded-host"
            | "x-forwarded-proto"
            | "x-forwarded-server"
            | "x-forwarded-port"
            | "x-forwarded-prefix"
            | "x-real-ip"
            | "forwarded"
            | "via"
            | "x-amzn-trace-id"
    ) || n.starts_with("x-envoy-")
}

/// An exchange whose request shows a proxy in front, as an [`InnerOnly`]; `None` when nothing
/// says a proxy forwarded it (or it carries no `Origin`).
pub(super) fn inner_only(ex: &Exchange) -> Option<InnerOnly> {
    let rq = &ex.request;
    if !rq.headers.contains("origin") || forwarded_weight(rq) == 0 {
        return None;
    }
    let mut told = Vec::new();
    let mut headers = Headers::with_capacity(rq.headers.len(), 0);
    for (name, value) in rq.headers.iter() {
        if added_by_proxy(name) {
            if told.len() < 3 {
                told.push(name.to_owned());
            }
        } else {
            headers.push(name.as_bytes(), value);
        }
    }
    let http10 = rq.http_version.eq_ignore_ascii_case("HTTP/1.0");
    if told.is_empty() && http10 {
        told.push("HTTP/1.0 with Sec-Fetch-Mode".to_owned());
    }
    let mut view = ex.clone();
    view.request.headers = headers;
    if let Some(url) = browser_url(ex) {
        view.request.url = url;
    }
    let proxy = proxy_from_request(ex)
        .or_else(|| http10.then(|| "a proxy speaking HTTP/1.0 upstream (nginx's default)".into()))
        .or_else(|| ex.client.map(|c| format!("the proxy at {}", c.ip())))
        .unwrap_or_else(|| "a proxy".into());
    Some(InnerOnly {
        view,
        proxy,
        told_by: told.join(", "),
    })
}

/// The URL the browser asked for, from the forwarding headers' scheme and host.
fn browser_url(ex: &Exchange) -> Option<String> {
    let h = &ex.request.headers;
    let fwd = h.get_str("forwarded");
    let fwd_param = |key: &str| -> Option<String> {
        let v = fwd.as_deref()?;
        let first = v.split(',').next()?;
        first.split(';').find_map(|p| {
            let (k, val) = p.trim().split_once('=')?;
            k.eq_ignore_ascii_case(key)
                .then(|| val.trim().trim_matches('"').to_owned())
        })
    };
    let first_of = |name: &str| {
        h.get_str(name)
            .and_then(|v| v.split(',').next().map(|s| s.trim().to_owned()))
            .filter(|s| !s.is_empty())
    };
    let proto = first_of("x-forwarded-proto").or_else(|| fwd_param("proto"));
    let host = first_of("x-forwarded-host").or_else(|| fwd_param("host"));
    if proto.is_none() && host.is_none() {
        return None;
    }
    let url = &ex.request.url;
    let i = crate::url::scheme_sep(url)?;
    let after = &url[i + 3..];
    let path_at = after.find('/').unwrap_or(after.len());
    let proto = proto.unwrap_or_else(|| url[..i].to_owned());
    let host = host.unwrap_or_else(|| after[..path_at].to_owned());
    let ok = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
    };
    if !matches!(proto.to_ascii_lowercase().as_str(), "http" | "https") || !ok(&host) {
        return None;
    }
    Some(format!(
        "{}://{}{}",
        proto.to_ascii_lowercase(),
        host,
        &after[path_at..]
    ))
}

/// The proxy as an inner hop's request names it: `Via`, then `X-Forwarded-Server`.
fn proxy_from_request(ex: &Exchange) -> Option<String> {
    let h = &ex.request.headers;
    if let Some(via) = h.get_str("via") {
        // `1.1 varnish (Varnish/6.0), 1.1 nginx`: the last proxy is the one in front of the app.
        let last = via.rsplit(',').next().unwrap_or(&via).trim().to_owned();
        let name = last.split_whitespace().nth(1).unwrap_or(&last).to_owned();
        if !name.is_empty() {
            return Some(format!("{} (Via)", short(&name)));
        }
    }
    h.get_str("x-forwarded-server")
        .map(|s| short(s.trim()))
        .filter(|s| !s.is_empty())
        .map(|s| format!("{s} (X-Forwarded-Server)"))
}

/// The proxy as the browser-facing response names it (`Server`), else the inner request.
fn proxy_name(outer: &Exchange, inner: &Exchange) -> Option<String> {
    outer
        .response
        .as_ref()
        .and_then(|r| r.headers.get_str("server"))
        .map(|s| short(s.trim()))
        .filter(|s| !s.is_empty())
        .or_else(|| proxy_from_request(inner))
        .or_else(|| inner.client.map(|c| format!("the proxy at {}", c.ip())))
}

fn short(s: &str) -> String {
    let s: String = s.chars().filter(|c| !c.is_control()).take(60).collect();
    s
}

/// Which layer set each CORS header: `app` is the app's answer (the innermost hop), `browser`
/// what the browser-facing hop delivered.
pub fn layers(app: &Response, browser: &Response) -> Vec<HeaderLayer> {
    let mut out = Vec::new();
    for header in CORS_HEADERS {
        let a: Vec<&[u8]> = app.headers.get_all(header).collect();
        let b: Vec<&[u8]> = browser.headers.get_all(header).collect();
        if a.is_empty() && b.is_empty() {
            continue;
        }
        let set_by = if a.is_empty() {
            Layer::Proxy
        } else if b.is_empty() {
            Layer::ProxyRemoved
        } else if a == b {
            Layer::App
        } else if a.iter().all(|x| b.contains(x)) {
            Layer::Both
        } else {
            Layer::ProxyChanged
        };
        let join = |v: &[&[u8]]| {
            (!v.is_empty()).then(|| {
                let s = v
                    .iter()
                    .map(|x| String::from_utf8_lossy(x).trim().to_owned())
                    .collect::<Vec<_>>()
                    .join(", ");
                s.chars().take(200).collect::<String>()
            })
        };
        out.push(HeaderLayer {
            header,
            set_by,
            app: join(&a),
            browser: join(&b),
        });
    }
    out
}

/// One line: what the proxy did to the app's CORS headers (Access-Control-Allow-Origin first).
fn describe(layers: &[HeaderLayer], proxy: &str) -> String {
    let mut parts = Vec::new();
    let acao = layers.iter().find(|l| l.header == CORS_HEADERS[0]);
    if acao.is_none() {
        parts.push("neither the app nor the proxy set Access-Control-Allow-Origin".to_owned());
    }
    for l in layers
        .iter()
        .filter(|l| l.set_by.by_proxy() || l.header == CORS_HEADERS[0])
    {
        let (h, app, browser) = (
            l.header,
            l.app.as_deref().unwrap_or(""),
            l.browser.as_deref().unwrap_or(""),
        );
        parts.push(match l.set_by {
            Layer::App => format!("the app set {h}; the proxy passed it on"),
            Layer::Proxy => format!("the app answered without {h}; the proxy added it ({browser})"),
            Layer::Both => format!(
                "{h}: the app sent '{app}' and the proxy added another line, so the browser got '{browser}'"
            ),
            Layer::ProxyChanged => {
                format!("the proxy replaced the app's {h} '{app}' with '{browser}'")
            }
            Layer::ProxyRemoved => format!("the proxy dropped the app's {h} ('{app}')"),
        });
        if parts.len() >= 3 {
            break;
        }
    }
    let mut s = parts.join("; ");
    if let Some(c) = s.get(..1) {
        s = c.to_ascii_uppercase() + &s[1..];
    }
    format!("{s} (proxy: {proxy}).")
}

/// Adds what the hops tell to a classification made of the judged exchange (`ex`, or the
/// inner-only view): notes, the confidence of an inner hop judged as the browser's, and the
/// facts for the event. `None` for an exchange seen at one hop with no proxy in front.
pub fn judge(
    cfg: &HopConfig,
    seen: &Seen,
    ex: &Exchange,
    c: &mut Classification,
) -> Option<HopFacts> {
    match seen {
        Seen::Alone => None,
        Seen::Both(inner) => {
            let app = inner.last()?;
            let proxy = proxy_name(ex, inner.first().unwrap_or(app));
            let proxy_s = proxy.clone().unwrap_or_else(|| "unnamed".into());
            let layers = match (&app.response, &ex.response) {
                (Some(a), Some(b)) => layers(a, b),
                _ => Vec::new(),
            };
            let note = match (&app.response, &ex.response) {
                (Some(_), Some(_)) => describe(&layers, &proxy_s),
                (None, _) => format!(
                    "The app's answer was not seen; judged at the browser-facing hop (proxy: {proxy_s})."
                ),
                (_, None) => format!(
                    "The browser-facing hop's answer was not seen; the app's was (proxy: {proxy_s})."
                ),
            };
            if layers.iter().any(|l| l.set_by.by_proxy()) {
                let evidence = layers
                    .iter()
                    .filter(|l| l.set_by.by_proxy())
                    .map(|l| {
                        (
                            format!("{} ({})", l.header, l.set_by.as_str()),
                            format!(
                                "app: {} / browser: {}",
                                l.app.as_deref().unwrap_or("(none)"),
                                l.browser.as_deref().unwrap_or("(none)")
                            ),
                        )
                    })
                    .collect();
                c.verdicts.push(note_verdict(
                    Kind::ProxyChangedCorsHeaders,
                    note.clone(),
                    Confidence::Certain,
                    evidence,
                ));
            }
            Some(HopFacts {
                visible: Visible::Both,
                proxy,
                inner: inner
                    .iter()
                    .map(|h| InnerHop {
                        index: h.source.index(),
                        status: h.response.as_ref().map(|r| r.status),
                        server: h.server.map(|s| s.to_string()),
                    })
                    .collect(),
                layers,
                counted: true,
                note,
            })
        }
        Seen::InnerOnly(io) => {
            let evidence = vec![("forwarded by".to_owned(), io.told_by.clone())];
            let (note, counted) = if cfg.proxy_sets_cors {
                (
                    format!(
                        "Only the proxy→app hop of this request is visible ({}; proxy: {}), and the proxy is declared to set the CORS headers (--proxy-sets-cors): these verdicts describe the app's answer, not what the browser got, and are not counted as blocked.",
                        io.told_by, io.proxy
                    ),
                    false,
                )
            } else {
                let assumption = format!(
                    "only the proxy→app hop is visible ({}; proxy: {}): the app's answer is taken to reach the browser unchanged (if the proxy sets the CORS headers, run with --proxy-sets-cors)",
                    io.told_by, io.proxy
                );
                for v in c.verdicts.iter_mut() {
                    if v.class() == VerdictClass::Blocked && v.confidence == Confidence::Certain {
                        v.confidence = Confidence::Inferred(assumption.clone());
                    }
                }
                if c.blocked().is_none() && c.pass_assumption.is_none() {
                    c.pass_assumption = Some(assumption);
                }
                (
                    format!(
                        "Only the proxy→app hop of this request is visible ({}; proxy: {}): judged as if the app's answer reached the browser unchanged.",
                        io.told_by, io.proxy
                    ),
                    true,
                )
            };
            c.verdicts.push(note_verdict(
                Kind::InnerHopOnly,
                note.clone(),
                Confidence::Inferred(
                    "a proxy's forwarding headers on the request, and no browser-facing hop seen"
                        .into(),
                ),
                evidence,
            ));
            Some(HopFacts {
                visible: Visible::InnerOnly,
                proxy: Some(io.proxy.clone()),
                inner: Vec::new(),
                layers: Vec::new(),
                counted,
                note,
            })
        }
    }
}

fn note_verdict(
    kind: Kind,
    message: String,
    confidence: Confidence,
    evidence: Vec<(String, String)>,
) -> Verdict {
    Verdict {
        kind,
        cors_error: None,
        firefox_error: None,
        failed_parameter: None,
        message,
        confidence,
        evidence,
    }
}
