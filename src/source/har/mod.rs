//! HAR 1.2 files (Chrome DevTools, Firefox DevTools, Playwright `recordHar`, and the many tools
//! that write HAR), streamed entry by entry.
//!
//! A small structural scanner walks the JSON down to `log.entries` and copies one entry at a
//! time into a reusable buffer, dropping the contents of huge strings (response bodies) on the
//! way; serde then parses that entry alone. So memory stays bounded by the largest entry's
//! headers, a malformed entry costs only itself, and a truncated file still yields every entry
//! before the cut.

mod entry;
mod json;
mod scanner;

use super::InputError;
use crate::model::{
    ClientFailure, ClientHints, Exchange, Headers, Location, Request, Response, SourceRef,
    Timestamp,
};
use entry::Entry;
use scanner::{Keep, Member, ScanError, Scanner};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Strings longer than this (bodies, data URLs) are replaced by "" in the entry copy: nothing
/// CORS needs is that long.
const MAX_STRING: usize = 64 * 1024;
/// What the scanner writes for a string longer than [`MAX_STRING`] (a JSON escape), and what
/// it reads back as: a NUL, which no HTTP header value or URL holds.
const TRUNCATED_JSON: &[u8] = br"\u0000truncated";
const TRUNCATED: &[u8] = b"\0truncated";
/// An entry whose remaining JSON is larger than this is skipped with a problem.
const MAX_ENTRY: usize = 16 * 1024 * 1024;
/// At most this many `pages` are remembered (for the page URL of each entry).
const MAX_PAGES: usize = 10_000;

/// What the reader copies of an entry: the members [`HarEntry`] reads. Bodies, timings,
/// cookies (counted only), query strings and initiator stacks are skipped unread.
static ENTRY_KEEP: Keep = Keep(&[
    (b"startedDateTime", Member::Value),
    (b"request", Member::Object(&REQUEST_KEEP)),
    (b"response", Member::Object(&RESPONSE_KEEP)),
    (b"serverIPAddress", Member::Value),
    (b"connection", Member::Value),
    (b"pageref", Member::Value),
    (b"_resourceType", Member::Value),
    (b"_initiator", Member::Object(&INITIATOR_KEEP)),
    (b"_fromCache", Member::Value),
    (b"_requestId", Member::Value),
]);
static REQUEST_KEEP: Keep = Keep(&[
    (b"method", Member::Value),
    (b"url", Member::Value),
    (b"httpVersion", Member::Value),
    (b"headers", Member::Value),
    (b"cookies", Member::Count),
]);
static RESPONSE_KEEP: Keep = Keep(&[
    (b"status", Member::Value),
    (b"headers", Member::Value),
    (b"_error", Member::Value),
    (b"_failureText", Member::Value),
]);
static INITIATOR_KEEP: Keep = Keep(&[
    (b"type", Member::Value),
    (b"url", Member::Value),
    (b"requestId", Member::Value),
]);

/// One item of a HAR: an exchange, or a problem with one entry (or with the file).
#[derive(Debug)]
pub enum Item {
    /// An entry read.
    Exchange(Box<Exchange>),
    /// An entry, or the file, could not be read.
    Problem(InputError),
}

/// The entries of one HAR, as an iterator of [`Item`]s.
pub struct HarSource<R> {
    input: Arc<str>,
    scan: Scanner<R>,
    state: State,
    index: u64,
    /// The copy of the entry just scanned (what [`Converter::item`] reads).
    entry: Vec<u8>,
    log: Arc<LogInfo>,
    saw_entries: bool,
    conv: Converter,
}

/// What `log` says about every entry, as far as the scanner has read.
#[derive(Debug, Clone, Default)]
struct LogInfo {
    pages: HashMap<String, String>,
    producer: Option<String>,
    browser: Option<String>,
}

/// What the scanner found: an entry (its copy in [`HarSource::entry`]), or a problem.
enum Raw {
    Entry(u64),
    Problem(InputError),
}

/// Turns entry copies into exchanges, in file order.
struct Converter {
    input: Arc<str>,
    last_time: Timestamp,
    /// A problem to report after the exchange it belongs to (values cut for size).
    pending: Option<Item>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the top-level object.
    Start,
    /// Inside `log`, looking for the next key.
    InLog,
    /// Inside `log.entries`; `first` until the first element is read.
    InEntries {
        first: bool,
    },
    Done,
}

impl<R: Read> HarSource<R> {
    /// Reads `reader`, naming it `input` in problems.
    pub fn new(input: Arc<str>, reader: R) -> Self {
        let input_name = input.clone();
        HarSource {
            input,
            scan: Scanner::new(reader),
            state: State::Start,
            index: 0,
            entry: Vec::with_capacity(64 * 1024),
            log: Arc::default(),
            saw_entries: false,
            conv: Converter {
                input: input_name,
                last_time: Timestamp::default(),
                pending: None,
            },
        }
    }

    fn syntax(&self, e: ScanError, entry: Option<u64>) -> InputError {
        match e {
            ScanError::Io(e) => InputError::Io {
                input: self.input.clone(),
                message: e.to_string(),
            },
            ScanError::Eof => InputError::HarSyntax {
                input: self.input.clone(),
                offset: self.scan.offset(),
                entry,
                message: "the file ends in the middle of the JSON (truncated?)".into(),
            },
            ScanError::Unexpected(b) => InputError::HarSyntax {
                input: self.input.clone(),
                offset: self.scan.offset(),
                entry,
                message: format!("unexpected {}", describe_byte(b)),
            },
            ScanError::TooLarge => InputError::HarSyntax {
                input: self.input.clone(),
                offset: self.scan.offset(),
                entry,
                message: "a single value is too large".into(),
            },
        }
    }

    /// Advances to the next entry (or problem). Returns `None` at the end.
    fn step(&mut self) -> Option<Raw> {
        loop {
            match self.state {
                State::Done => return None,
                State::Start => {
                    if let Err(e) = self.enter_log() {
                        self.state = State::Done;
                        return Some(Raw::Problem(self.shape_or_syntax(e)));
                    }
                }
                State::InLog => match self.next_log_key() {
                    Ok(true) => {}
                    Ok(false) => {
                        self.state = State::Done;
                        if !self.saw_entries {
                            return Some(Raw::Problem(InputError::HarShape {
                                input: self.input.clone(),
                                message: "not a HAR: `log.entries` is missing".into(),
                            }));
                        }
                    }
                    Err(e) => {
                        self.state = State::Done;
                        return Some(Raw::Problem(self.syntax(e, None)));
                    }
                },
                State::InEntries { first } => return self.next_entry(first),
            }
        }
    }

    fn shape_or_syntax(&self, e: StartError) -> InputError {
        match e {
            StartError::Scan(e) => self.syntax(e, None),
            StartError::Shape(message) => InputError::HarShape {
                input: self.input.clone(),
                message,
            },
        }
    }

    /// Reads up to the inside of the `log` object.
    fn enter_log(&mut self) -> Result<(), StartError> {
        self.scan.skip_bom()?;
        self.scan.skip_ws()?;
        match self.scan.peek()? {
            b'{' => self.scan.bump(),
            b => {
                return Err(StartError::Shape(format!(
                    "not a HAR: the file starts with {} instead of an object",
                    describe_byte(b)
                )));
            }
        }
        let mut key = Vec::new();
        loop {
            if !self.scan.next_key(&mut key)? {
                return Err(StartError::Shape(
                    "not a HAR: the top-level object has no `log`".into(),
                ));
            }
            if key == b"log" {
                self.scan.skip_ws()?;
                match self.scan.peek()? {
                    b'{' => {
                        self.scan.bump();
                        self.state = State::InLog;
                        return Ok(());
                    }
                    _ => {
                        return Err(StartError::Shape(
                            "not a HAR: `log` is not an object".into(),
                        ));
                    }
                }
            }
            self.scan.value(None)?;
        }
    }

    /// Handles one key of `log`. Returns false at the end of `log`.
    fn next_log_key(&mut self) -> Result<bool, ScanError> {
        let mut key = Vec::new();
        if !self.scan.next_key(&mut key)? {
            return Ok(false);
        }
        match key.as_slice() {
            b"entries" => {
                self.scan.skip_ws()?;
                match self.scan.peek()? {
                    b'[' => {
                        self.scan.bump();
                        self.saw_entries = true;
                        self.state = State::InEntries { first: true };
                    }
                    b => return Err(ScanError::Unexpected(b)),
                }
            }
            b"pages" | b"creator" | b"browser" => {
                let mut buf = Vec::new();
                self.scan.value(Some(&mut buf))?;
                self.remember(&key, &buf);
            }
            _ => self.scan.value(None)?,
        }
        Ok(true)
    }

    fn remember(&mut self, key: &[u8], json: &[u8]) {
        let log = Arc::make_mut(&mut self.log);
        match key {
            b"pages" => {
                if let Ok(pages) = serde_json::from_slice::<Vec<HarPage>>(json) {
                    for p in pages.into_iter().take(MAX_PAGES) {
                        if let (Some(id), Some(title)) = (p.id, p.title)
                            && (title.starts_with("http://") || title.starts_with("https://"))
                        {
                            log.pages.insert(id, title);
                        }
                    }
                }
            }
            b"creator" | b"browser" => {
                if let Ok(c) = serde_json::from_slice::<HarCreator>(json) {
                    if key == b"browser" {
                        log.browser.clone_from(&c.name);
                    }
                    if key == b"creator" || log.producer.is_none() {
                        log.producer = c.name;
                    }
                }
            }
            _ => {}
        }
    }

    fn next_entry(&mut self, first: bool) -> Option<Raw> {
        let index = self.index;
        let r = (|| -> Result<bool, ScanError> {
            self.scan.skip_ws()?;
            match self.scan.peek()? {
                b']' => {
                    self.scan.bump();
                    return Ok(false);
                }
                b',' if !first => {
                    self.scan.bump();
                    self.scan.skip_ws()?;
                }
                b if !first => return Err(ScanError::Unexpected(b)),
                _ => {}
            }
            self.entry.clear();
            self.scan.object(&mut self.entry, &ENTRY_KEEP)?;
            Ok(true)
        })();
        match r {
            Ok(false) => {
                self.state = State::InLog;
                self.step()
            }
            Ok(true) => {
                self.state = State::InEntries { first: false };
                self.index += 1;
                Some(Raw::Entry(index))
            }
            Err(ScanError::TooLarge) => {
                // The scanner kept going to the end of the entry, so the next one can be read.
                self.state = State::InEntries { first: false };
                self.index += 1;
                Some(Raw::Problem(InputError::HarEntry {
                    input: self.input.clone(),
                    index,
                    message: format!(
                        "skipped: larger than {} MiB without its bodies",
                        MAX_ENTRY >> 20
                    ),
                }))
            }
            Err(e) => {
                self.state = State::Done;
                Some(Raw::Problem(self.syntax(e, Some(index))))
            }
        }
    }
}

impl Converter {
    /// The item of entry `index`, from its copy `entry`.
    fn item(&mut self, index: u64, entry: &[u8], log: &LogInfo) -> Item {
        match self.convert(index, entry, log) {
            Ok(ex) => Item::Exchange(Box::new(ex)),
            Err(e) => Item::Problem(InputError::HarEntry {
                input: self.input.clone(),
                index,
                message: e.to_string(),
            }),
        }
    }

    fn convert(&mut self, index: u64, entry: &[u8], log: &LogInfo) -> Result<Exchange, EntryError> {
        let e = Entry::read(entry)?;
        let req = e.request.ok_or(EntryError::NoRequest)?;
        let method = req
            .method
            .filter(|m| !m.is_empty())
            .ok_or(EntryError::NoMethod)?
            .into_owned();
        let url = req
            .url
            .filter(|u| !u.is_empty())
            .ok_or(EntryError::NoUrl)?
            .into_owned();

        if url.as_bytes() == TRUNCATED || method.as_bytes() == TRUNCATED {
            return Err(EntryError::Truncated(MAX_STRING >> 10));
        }
        let mut truncated: Vec<String> = req
            .truncated
            .iter()
            .map(|h| format!("request {h}"))
            .collect();
        let mut unreadable = Vec::new();
        if req.unreadable > 0 {
            unreadable.push(format!("{} request", req.unreadable));
        }
        let mut headers = req.headers;
        if !headers.contains("cookie") && req.cookies > 0 {
            // Some producers list cookies only in the array; the header's presence is what
            // proves credentials mode "include".
            headers.push(b"Cookie", b"[from HAR cookies]");
        }

        let time = e
            .started
            .as_deref()
            .and_then(Timestamp::parse_rfc3339)
            .unwrap_or(self.last_time);
        self.last_time = time;

        let (status, resp_headers, error_text) = match e.response {
            Some(r) => {
                let err = r
                    .error
                    .filter(|s| !s.is_empty())
                    .or(r.failure_text.filter(|s| !s.is_empty()))
                    .map(Cow::into_owned);
                truncated.extend(r.truncated.iter().map(|h| format!("response {h}")));
                if r.unreadable > 0 {
                    unreadable.push(format!("{} response", r.unreadable));
                }
                (r.status.map_or(0, |s| s.integer()), r.headers, err)
            }
            None => (0, Headers::new(), None),
        };
        let failed = status <= 0 || error_text.is_some();
        let response = match u16::try_from(status) {
            Ok(s) if s > 0 => Some(Response {
                status: s,
                headers: resp_headers,
            }),
            // Older DevTools exports keep the blocked response's headers with status 0.
            _ if !resp_headers.is_empty() => Some(Response {
                status: 0,
                headers: resp_headers,
            }),
            _ => None,
        };
        let failure = failed.then_some(ClientFailure {
            error_text,
            status_field: status,
        });

        let server_ip = e
            .server_ip
            .as_deref()
            .map(|s| s.trim_matches(|c| c == '[' || c == ']'))
            .and_then(|s| s.parse::<IpAddr>().ok());
        let server = server_ip.map(|ip| SocketAddr::new(ip, url_port(&url)));
        let hints = ClientHints {
            resource_type: e.resource_type.map(Cow::into_owned),
            initiator_type: e.initiator.kind.map(Cow::into_owned),
            initiator_request_id: e.initiator.request_id.map(|v| v.0.into_owned()),
            initiator_url: e.initiator.url.map(Cow::into_owned),
            request_id: e.request_id.map(|v| v.0.into_owned()),
            from_cache: e.from_cache.is_some_and(|c| c.truthy()),
            server_ip,
            page_url: e.pageref.and_then(|p| log.pages.get(p.as_ref()).cloned()),
            sanitized: false,
            producer: log.producer.clone(),
            browser: log.browser.clone(),
            h2_reset: None,
            truncated,
        };
        let mut said = Vec::new();
        if !hints.truncated.is_empty() {
            said.push(format!(
                "{} over {} KiB: not read, verdicts that could depend on it are inferred",
                hints.truncated.join(", "),
                MAX_STRING >> 10
            ));
        }
        if !unreadable.is_empty() {
            said.push(format!(
                "{} header element(s) without a name (or not an object) skipped",
                unreadable.join(" and ")
            ));
        }
        if !said.is_empty() {
            self.pending = Some(Item::Problem(InputError::HarEntry {
                input: self.input.clone(),
                index,
                message: said.join("; "),
            }));
        }
        Ok(Exchange {
            source: SourceRef {
                input: self.input.clone(),
                location: Location::HarEntry(index),
            },
            time,
            client: None,
            server,
            connection: e.connection.and_then(|c| c.0.parse().ok()),
            request: Request {
                method,
                url,
                http_version: req.http_version.map(Cow::into_owned).unwrap_or_default(),
                headers,
            },
            response,
            failure,
            hints,
        })
    }
}

/// Why one entry could not be read (the rest of the file still is).
#[derive(Debug, thiserror::Error)]
enum EntryError {
    #[error("wrong shape: {0}")]
    Shape(&'static str),
    #[error("wrong shape: {0}")]
    Json(#[from] json::JsonError),
    #[error("the entry has no `request`")]
    NoRequest,
    #[error("the request has no `method`")]
    NoMethod,
    #[error("the request has no `url`")]
    NoUrl,
    #[error("skipped: its URL or method is over {0} KiB")]
    Truncated(usize),
}

enum StartError {
    Scan(ScanError),
    Shape(String),
}

impl From<ScanError> for StartError {
    fn from(e: ScanError) -> Self {
        StartError::Scan(e)
    }
}

impl<R: Read> Iterator for HarSource<R> {
    type Item = Item;
    fn next(&mut self) -> Option<Item> {
        if let Some(p) = self.conv.pending.take() {
            return Some(p);
        }
        Some(match self.step()? {
            Raw::Entry(index) => self.conv.item(index, &self.entry, &self.log),
            Raw::Problem(p) => Item::Problem(p),
        })
    }
}

/// Reads a HAR as [`HarSource`] does, into `each` (which returns false to stop), with the
/// scanning on a thread of its own: the scanner is most of the reading, and converting the
/// entry copies beside it takes the rest off its path. The items come in the same order.
pub fn read_threaded<R: Read + Send>(
    input: Arc<str>,
    reader: R,
    each: &mut dyn FnMut(Item) -> bool,
) {
    let mut src = HarSource::new(input.clone(), reader);
    let mut conv = Converter {
        input,
        last_time: Timestamp::default(),
        pending: None,
    };
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Scanned>(256);
        s.spawn(move || {
            while let Some(raw) = src.step() {
                let msg = match raw {
                    Raw::Entry(i) => Scanned::Entry(i, src.entry.clone(), src.log.clone()),
                    Raw::Problem(p) => Scanned::Problem(p),
                };
                if tx.send(msg).is_err() {
                    break;
                }
            }
        });
        for msg in rx.iter() {
            let item = match msg {
                Scanned::Entry(i, bytes, log) => conv.item(i, &bytes, &log),
                Scanned::Problem(p) => Item::Problem(p),
            };
            if !each(item) {
                break;
            }
            if let Some(p) = conv.pending.take()
                && !each(p)
            {
                break;
            }
        }
        // The scanner stops at its next send.
        drop(rx);
    });
}

/// What the scanning thread hands over.
enum Scanned {
    Entry(u64, Vec<u8>, Arc<LogInfo>),
    Problem(InputError),
}

fn describe_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

fn url_port(url: &str) -> u16 {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    let port = match host_port.rfind(':') {
        Some(i) if !host_port[i..].contains(']') => host_port[i + 1..].parse().ok(),
        _ => None,
    };
    port.unwrap_or(
        if scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("wss") {
            443
        } else {
            80
        },
    )
}

// ---- what is read of `log.pages` and `log.creator` (once per file) ----

#[derive(Deserialize)]
struct HarPage {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    title: Option<String>,
}

#[derive(Deserialize)]
struct HarCreator {
    #[serde(default)]
    name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Vec<Item> {
        HarSource::new(Arc::from("t.har"), json.as_bytes()).collect()
    }

    fn exchanges(items: &[Item]) -> Vec<&Exchange> {
        items
            .iter()
            .filter_map(|i| match i {
                Item::Exchange(e) => Some(e.as_ref()),
                Item::Problem(_) => None,
            })
            .collect()
    }

    fn problems(items: &[Item]) -> Vec<String> {
        items
            .iter()
            .filter_map(|i| match i {
                Item::Problem(p) => Some(p.to_string()),
                Item::Exchange(_) => None,
            })
            .collect()
    }

    const ENTRY: &str = r#"{"startedDateTime":"2025-01-02T03:04:05.678Z","request":{"method":"GET","url":"https://api.example/x?t=1","httpVersion":"HTTP/1.1","headers":[{"name":"Origin","value":"https://app.example"}],"cookies":[]},"response":{"status":200,"headers":[{"name":"Access-Control-Allow-Origin","value":"*"}],"content":{"text":"aGVsbG8="}}}"#;

    #[test]
    fn reads_entries_and_fields() {
        let json = format!(
            r#"{{"log":{{"version":"1.2","creator":{{"name":"WebInspector","version":"537.36"}},"pages":[{{"id":"page_1","title":"https://app.example/"}}],"entries":[{ENTRY},{ENTRY}]}}}}"#
        );
        let items = read(&json);
        assert!(problems(&items).is_empty(), "{:?}", problems(&items));
        let ex = exchanges(&items);
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[0].request.method, "GET");
        assert_eq!(ex[0].origin().as_deref(), Some("https://app.example"));
        assert_eq!(ex[1].source.location, Location::HarEntry(1));
        assert_eq!(ex[0].response.as_ref().map(|r| r.status), Some(200));
        assert_eq!(ex[0].hints.producer.as_deref(), Some("WebInspector"));
        assert_eq!(ex[0].time.to_rfc3339(), "2025-01-02T03:04:05.678Z");
    }

    #[test]
    fn blocked_entries_keep_failure_and_initiator() {
        let json = r#"{"log":{"entries":[
          {"request":{"method":"OPTIONS","url":"https://api.example/x","headers":[{"name":"Access-Control-Request-Method","value":"PUT"}]},
           "response":{"status":404,"headers":[]},"_resourceType":"preflight","_initiator":{"type":"preflight","url":"https://api.example/x","requestId":"12.3"}},
          {"request":{"method":"PUT","url":"https://api.example/x","headers":[]},"response":{"status":0,"headers":[],"_error":"net::ERR_FAILED"}},
          {"request":{"method":"GET","url":"https://api.example/y","headers":[]},"response":{"status":-1,"headers":[],"_failureText":"net::ERR_FAILED"}}
        ]}}"#;
        let items = read(json);
        let ex = exchanges(&items);
        assert_eq!(ex.len(), 3);
        assert!(ex[0].is_preflight());
        assert_eq!(ex[0].hints.initiator_request_id.as_deref(), Some("12.3"));
        assert!(ex[1].response.is_none());
        assert_eq!(
            ex[1].failure.as_ref().and_then(|f| f.error_text.as_deref()),
            Some("net::ERR_FAILED")
        );
        assert_eq!(ex[2].failure.as_ref().map(|f| f.status_field), Some(-1));
    }

    #[test]
    fn bad_entries_are_reported_and_skipped() {
        let json = format!(r#"{{"log":{{"entries":[{ENTRY},{{"request":7}},"x",{ENTRY}]}}}}"#);
        let items = read(&json);
        assert_eq!(exchanges(&items).len(), 2);
        let p = problems(&items);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].starts_with("t.har: entry 1: wrong shape"), "{}", p[0]);
        assert!(p[1].starts_with("t.har: entry 2: wrong shape"), "{}", p[1]);
    }

    #[test]
    fn truncated_file_keeps_what_came_before() {
        let json = format!(r#"{{"log":{{"entries":[{ENTRY},{ENTRY}"#);
        let cut = &json[..json.len() - 40];
        let items = read(cut);
        assert_eq!(exchanges(&items).len(), 1);
        let p = problems(&items);
        assert_eq!(p.len(), 1);
        assert!(
            p[0].contains("(in entry 1)") && p[0].contains("truncated"),
            "{}",
            p[0]
        );
    }

    #[test]
    fn shapes_that_are_not_har() {
        assert!(problems(&read(r#"{"log":{"entries":[]}}"#)).is_empty());
        assert!(problems(&read(r#"{"log":{}}"#))[0].contains("`log.entries` is missing"));
        assert!(problems(&read(r#"{"nolog":1}"#))[0].contains("no `log`"));
        assert!(problems(&read(r#"{"log":[1]}"#))[0].contains("not an object"));
        assert!(problems(&read("[1,2]"))[0].contains("instead of an object"));
        assert!(problems(&read(""))[0].contains("truncated"));
    }

    #[test]
    fn huge_strings_are_dropped_not_stored() {
        let body = "A".repeat(MAX_STRING * 3);
        let json = format!(
            r#"{{"log":{{"entries":[{{"request":{{"method":"GET","url":"https://a.example/\"q\"","headers":[]}},"response":{{"status":200,"headers":[],"content":{{"text":"{body}"}}}}}}]}}}}"#
        );
        let items = read(&json);
        let ex = exchanges(&items);
        assert_eq!(ex.len(), 1, "{:?}", problems(&items));
        assert_eq!(ex[0].request.url, "https://a.example/\"q\"");
    }

    #[test]
    fn header_elements_without_a_name_are_counted_in_a_problem() {
        let json = r#"{"log":{"entries":[{"request":{"method":"GET","url":"https://a.example/","headers":[{"name":"Origin","value":"https://b.example"},{"value":"x"},"Origin: y",{"name":":authority","value":"a.example"}]},"response":{"status":200,"headers":[{"name":"","value":"*"},{"name":"Vary","value":"Origin"}]}}]}}"#;
        let items = read(json);
        let ex = exchanges(&items);
        let p = problems(&items);
        assert_eq!(ex.len(), 1, "{p:?}");
        assert_eq!(ex[0].request.headers.len(), 1);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].contains("entry 0")
                && p[0].contains("2 request and 1 response header element(s) without a name"),
            "{p:?}"
        );
    }

    #[test]
    fn values_cut_for_size_are_named_and_make_verdicts_inferred() {
        // A 300 MB Origin once became `''` without a word; now the header is left out, named
        // in the exchange and in a problem, and the verdict says what it could not read.
        let big = "h".repeat(MAX_STRING + 10);
        let entry = |req: &str, resp: &str| {
            format!(
                r#"{{"request":{{"method":"GET","url":"https://api.example/x","headers":[{req}]}},"response":{{"status":200,"headers":[{resp}]}}}}"#
            )
        };
        let long_url = format!(
            r#"{{"request":{{"method":"GET","url":"https://api.example/{big}","headers":[]}}}}"#
        );
        let json = format!(
            r#"{{"log":{{"entries":[{},{},{long_url}]}}}}"#,
            entry(
                &format!(r#"{{"name":"Origin","value":"https://{big}"}}"#),
                ""
            ),
            entry(
                r#"{"name":"Origin","value":"https://app.example"}"#,
                &format!(r#"{{"name":"Access-Control-Allow-Origin","value":"{big}"}}"#)
            ),
        );
        let items = read(&json);
        let ex = exchanges(&items);
        let p = problems(&items);
        assert_eq!(ex.len(), 2, "{p:?}");
        assert_eq!(ex[0].hints.truncated, ["request origin"]);
        assert!(ex[0].origin().is_none());
        assert_eq!(
            ex[1].hints.truncated,
            ["response access-control-allow-origin"]
        );
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(
            p[0].contains("entry 0") && p[0].contains("request origin over 64 KiB"),
            "{p:?}"
        );
        assert!(
            p[2].contains("entry 2") && p[2].contains("URL or method is over 64 KiB"),
            "{p:?}"
        );
        let ctx = crate::cors::Context::default();
        let c = crate::cors::classify(ex[1], &ctx);
        let v = c.blocked().unwrap();
        assert_eq!(v.kind, crate::cors::Kind::AcaoMissing);
        assert!(
            matches!(&v.confidence, crate::cors::Confidence::Inferred(r) if r.contains("response access-control-allow-origin was too large")),
            "{:?}",
            v.confidence
        );
        assert!(v.evidence.iter().any(
            |(n, val)| n == "response access-control-allow-origin" && val.contains("truncated")
        ));
        let c = crate::cors::classify(ex[0], &ctx);
        assert!(c.blocked().is_none());
        assert!(
            c.pass_assumption
                .as_deref()
                .unwrap_or("")
                .contains("request origin")
        );
    }

    #[test]
    fn the_threaded_reader_gives_the_same_items_in_the_same_order() {
        let big = "h".repeat(MAX_STRING + 1);
        let json = format!(
            r#"{{"log":{{"creator":{{"name":"WebInspector"}},"pages":[{{"id":"p1","title":"https://app.example/"}}],"entries":[{ENTRY},{{"request":{{"method":"GET","url":"https://a.example/","headers":[{{"name":"Origin","value":"{big}"}}]}},"pageref":"p1"}},{{"request":{{}}}},{ENTRY}]}}}}"#
        );
        let one: Vec<String> = read(&json).iter().map(|i| format!("{i:?}")).collect();
        let mut two = Vec::new();
        read_threaded(Arc::from("t.har"), json.as_bytes(), &mut |i| {
            two.push(format!("{i:?}"));
            true
        });
        assert_eq!(one.len(), 5, "{one:?}");
        assert_eq!(one, two);
        // A consumer that stops early stops the scanner too.
        let mut n = 0;
        read_threaded(Arc::from("t.har"), json.as_bytes(), &mut |_| {
            n += 1;
            false
        });
        assert_eq!(n, 1);
    }

    #[test]
    fn bom_and_lenient_types() {
        let json = "\u{feff}{\"log\":{\"entries\":[{\"request\":{\"method\":\"GET\",\"url\":\"http://a.example:8080/\",\"headers\":[{\"name\":\"X\",\"value\":5}]},\"response\":{\"status\":\"204\",\"headers\":null},\"serverIPAddress\":\"[::1]\",\"connection\":123,\"_fromCache\":\"disk\"}]}}";
        let items = read(json);
        let ex = exchanges(&items);
        assert_eq!(ex.len(), 1, "{:?}", problems(&items));
        assert_eq!(ex[0].request.headers.get("X"), Some(&b"5"[..]));
        assert_eq!(ex[0].response.as_ref().map(|r| r.status), Some(204));
        assert_eq!(
            ex[0].server.map(|s| s.to_string()).as_deref(),
            Some("[::1]:8080")
        );
        assert_eq!(ex[0].connection, Some(123));
        assert!(ex[0].hints.from_cache);
    }
}
