//! HAR 1.2 files (Chrome DevTools, Firefox DevTools, Playwright `recordHar`, and the many tools
//! that write HAR), streamed entry by entry.
//!
//! A small structural scanner walks the JSON down to `log.entries` and copies one entry at a
//! time into a reusable buffer, dropping the contents of huge strings (response bodies) on the
//! way; serde then parses that entry alone. So memory stays bounded by the largest entry's
//! headers, a malformed entry costs only itself, and a truncated file still yields every entry
//! before the cut.

use super::{Format, InputError, Source, SourceItem};
use crate::model::{
    ClientFailure, ClientHints, Exchange, Headers, Location, Request, Response, SourceRef,
    Timestamp,
};
use serde::Deserialize;
use serde::de::IgnoredAny;
use std::collections::HashMap;
use std::io::{self, Read};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Strings longer than this (bodies, data URLs) are replaced by "" in the entry copy: nothing
/// CORS needs is that long.
const MAX_STRING: usize = 64 * 1024;
/// An entry whose remaining JSON is larger than this is skipped with a problem.
const MAX_ENTRY: usize = 16 * 1024 * 1024;
/// At most this many `pages` are remembered (for the page URL of each entry).
const MAX_PAGES: usize = 10_000;

pub struct HarSource<R> {
    input: Arc<str>,
    scan: Scanner<R>,
    state: State,
    index: u64,
    entry: Vec<u8>,
    pages: HashMap<String, String>,
    producer: Option<String>,
    saw_entries: bool,
    last_time: Timestamp,
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

#[derive(Debug)]
enum ScanError {
    Io(io::Error),
    Eof,
    Unexpected(u8),
    TooLarge,
}

impl<R: Read> HarSource<R> {
    pub fn new(input: Arc<str>, reader: R) -> Self {
        HarSource {
            input,
            scan: Scanner::new(reader),
            state: State::Start,
            index: 0,
            entry: Vec::with_capacity(64 * 1024),
            pages: HashMap::new(),
            producer: None,
            saw_entries: false,
            last_time: Timestamp::default(),
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
    fn step(&mut self) -> Option<SourceItem> {
        loop {
            match self.state {
                State::Done => return None,
                State::Start => {
                    if let Err(e) = self.enter_log() {
                        self.state = State::Done;
                        return Some(SourceItem::Problem(self.shape_or_syntax(e)));
                    }
                }
                State::InLog => match self.next_log_key() {
                    Ok(true) => {}
                    Ok(false) => {
                        self.state = State::Done;
                        if !self.saw_entries {
                            return Some(SourceItem::Problem(InputError::HarShape {
                                input: self.input.clone(),
                                message: "not a HAR: `log.entries` is missing".into(),
                            }));
                        }
                    }
                    Err(e) => {
                        self.state = State::Done;
                        return Some(SourceItem::Problem(self.syntax(e, None)));
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
        match key {
            b"pages" => {
                if let Ok(pages) = serde_json::from_slice::<Vec<HarPage>>(json) {
                    for p in pages.into_iter().take(MAX_PAGES) {
                        if let (Some(id), Some(title)) = (p.id, p.title)
                            && (title.starts_with("http://") || title.starts_with("https://"))
                        {
                            self.pages.insert(id, title);
                        }
                    }
                }
            }
            b"creator" | b"browser" => {
                if let Ok(c) = serde_json::from_slice::<HarCreator>(json)
                    && (key == b"creator" || self.producer.is_none())
                {
                    self.producer = c.name;
                }
            }
            _ => {}
        }
    }

    fn next_entry(&mut self, first: bool) -> Option<SourceItem> {
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
            self.scan.value(Some(&mut self.entry))?;
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
                Some(match self.convert(index) {
                    Ok(ex) => SourceItem::Exchange(Box::new(ex)),
                    Err(message) => SourceItem::Problem(InputError::HarEntry {
                        input: self.input.clone(),
                        index,
                        message,
                    }),
                })
            }
            Err(ScanError::TooLarge) => {
                // The scanner kept going to the end of the entry, so the next one can be read.
                self.state = State::InEntries { first: false };
                self.index += 1;
                Some(SourceItem::Problem(InputError::HarEntry {
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
                Some(SourceItem::Problem(self.syntax(e, Some(index))))
            }
        }
    }

    fn convert(&mut self, index: u64) -> Result<Exchange, String> {
        let e: HarEntry =
            serde_json::from_slice(&self.entry).map_err(|e| shape_message(&e.to_string()))?;
        let req = e
            .request
            .ok_or_else(|| "the entry has no `request`".to_string())?;
        let method = req
            .method
            .filter(|m| !m.is_empty())
            .ok_or_else(|| "the request has no `method`".to_string())?;
        let url = req
            .url
            .filter(|u| !u.is_empty())
            .ok_or_else(|| "the request has no `url`".to_string())?;

        let mut headers = Headers::with_capacity(req.headers.len(), 1024);
        let mut has_cookie = false;
        for h in &req.headers {
            // HTTP/2 and HTTP/3 pseudo-headers are framing, not request headers.
            if h.name.starts_with(':') {
                continue;
            }
            has_cookie |= h.name.eq_ignore_ascii_case("cookie");
            headers.push(h.name.as_bytes(), h.value.as_bytes());
        }
        if !has_cookie && req.cookies.0.0 > 0 {
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
                let mut hs = Headers::with_capacity(r.headers.len(), 1024);
                for h in &r.headers {
                    if !h.name.starts_with(':') {
                        hs.push(h.name.as_bytes(), h.value.as_bytes());
                    }
                }
                let err = r
                    .error
                    .filter(|s| !s.is_empty())
                    .or(r.failure_text.filter(|s| !s.is_empty()));
                (r.status.map_or(0, |s| s.0), hs, err)
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
        let initiator = e.initiator.unwrap_or_default();
        let hints = ClientHints {
            resource_type: e.resource_type,
            initiator_type: initiator.kind,
            initiator_request_id: initiator.request_id.map(|v| v.0),
            initiator_url: initiator.url,
            request_id: e.request_id.map(|v| v.0),
            from_cache: e.from_cache.is_some_and(|c| c.0),
            server_ip,
            page_url: e.pageref.and_then(|p| self.pages.get(&p).cloned()),
            sanitized: false,
            producer: self.producer.clone(),
            h2_reset: None,
        };
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
                http_version: req.http_version.unwrap_or_default(),
                headers,
            },
            response,
            failure,
            hints,
        })
    }
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
    type Item = SourceItem;
    fn next(&mut self) -> Option<SourceItem> {
        self.step()
    }
}

impl<R: Read> Source for HarSource<R> {
    fn format(&self) -> Format {
        Format::Har
    }
}

fn describe_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

/// serde's messages mention "line 1 column N" of the entry copy, which means nothing to a
/// user: keep only the reason.
fn shape_message(m: &str) -> String {
    let reason = m.split(" at line ").next().unwrap_or(m);
    format!("wrong shape: {reason}")
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

// ---- the entry as serde sees it: lenient, unknown fields ignored ----

#[derive(Deserialize)]
struct HarEntry {
    #[serde(rename = "startedDateTime", default)]
    started: Option<String>,
    #[serde(default)]
    request: Option<HarRequest>,
    #[serde(default)]
    response: Option<HarResponse>,
    #[serde(rename = "serverIPAddress", default)]
    server_ip: Option<String>,
    #[serde(default)]
    connection: Option<Lenient<String>>,
    #[serde(default)]
    pageref: Option<String>,
    #[serde(rename = "_resourceType", default)]
    resource_type: Option<String>,
    #[serde(rename = "_initiator", default)]
    initiator: Option<HarInitiator>,
    #[serde(rename = "_fromCache", default)]
    from_cache: Option<Lenient<bool>>,
    #[serde(rename = "_requestId", default)]
    request_id: Option<Lenient<String>>,
}

#[derive(Deserialize)]
struct HarRequest {
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(rename = "httpVersion", default)]
    http_version: Option<String>,
    #[serde(default, deserialize_with = "headers")]
    headers: Vec<HarHeader>,
    #[serde(default)]
    cookies: Lenient<Count>,
}

#[derive(Deserialize)]
struct HarResponse {
    #[serde(default)]
    status: Option<Lenient<i64>>,
    #[serde(default, deserialize_with = "headers")]
    headers: Vec<HarHeader>,
    #[serde(rename = "_error", default)]
    error: Option<String>,
    #[serde(rename = "_failureText", default)]
    failure_text: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(from = "InitiatorForm")]
struct HarInitiator {
    kind: Option<String>,
    url: Option<String>,
    request_id: Option<Lenient<String>>,
}

/// DevTools writes `_initiator` as an object; WebPageTest and chrome-har as a bare URL.
#[derive(Deserialize)]
#[serde(untagged)]
enum InitiatorForm {
    Object(InitiatorObject),
    Url(String),
    Other(IgnoredAny),
}

impl From<InitiatorForm> for HarInitiator {
    fn from(f: InitiatorForm) -> Self {
        match f {
            InitiatorForm::Object(o) => HarInitiator {
                kind: o.kind,
                url: o.url,
                request_id: o.request_id,
            },
            InitiatorForm::Url(u) => HarInitiator {
                kind: None,
                url: Some(u).filter(|u| !u.is_empty()),
                request_id: None,
            },
            InitiatorForm::Other(_) => HarInitiator::default(),
        }
    }
}

#[derive(Deserialize)]
struct InitiatorObject {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(rename = "requestId", default)]
    request_id: Option<Lenient<String>>,
}

#[derive(Deserialize)]
struct HarHeader {
    #[serde(default)]
    name: String,
    #[serde(default)]
    value: Lenient<String>,
}

impl std::ops::Deref for Lenient<String> {
    type Target = String;
    fn deref(&self) -> &String {
        &self.0
    }
}

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

/// The length of an array that producers sometimes write as an object or null.
#[derive(Default)]
struct Count(usize);

impl<'de> Deserialize<'de> for Lenient<Count> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Lenient(Count(match serde_json::Value::deserialize(d)? {
            serde_json::Value::Array(a) => a.len(),
            _ => 0,
        })))
    }
}

/// `headers` may be missing, null, or hold odd elements; keep what has a name.
fn headers<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<HarHeader>, D::Error> {
    let v: Option<Vec<Option<HarHeader>>> = Deserialize::deserialize(d)?;
    Ok(v.unwrap_or_default()
        .into_iter()
        .flatten()
        .filter(|h| !h.name.is_empty())
        .collect())
}

/// A value that producers write with different JSON types (a status as `"200"`, a
/// `_fromCache` as `"disk"`, a connection id as a number).
#[derive(Default)]
struct Lenient<T>(T);

impl<'de> Deserialize<'de> for Lenient<String> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Lenient(match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => s,
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        }))
    }
}

impl<'de> Deserialize<'de> for Lenient<i64> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Lenient(match serde_json::Value::deserialize(d)? {
            serde_json::Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f as i64))
                .unwrap_or(0),
            serde_json::Value::String(s) => s.trim().parse().unwrap_or(0),
            _ => 0,
        }))
    }
}

impl<'de> Deserialize<'de> for Lenient<bool> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Lenient(match serde_json::Value::deserialize(d)? {
            serde_json::Value::Bool(b) => b,
            serde_json::Value::String(s) => !s.is_empty() && s != "false",
            serde_json::Value::Null => false,
            _ => true,
        }))
    }
}

// ---- the structural scanner ----

struct Scanner<R> {
    r: R,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    /// Bytes consumed before `buf[0]`.
    base: u64,
}

impl<R: Read> Scanner<R> {
    fn new(r: R) -> Self {
        Scanner {
            r,
            buf: vec![0; 1 << 20],
            pos: 0,
            len: 0,
            base: 0,
        }
    }

    fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Makes at least one byte available; `Eof` at the end of input.
    fn fill(&mut self) -> Result<(), ScanError> {
        if self.pos < self.len {
            return Ok(());
        }
        self.base += self.len as u64;
        self.pos = 0;
        self.len = 0;
        loop {
            match self.r.read(&mut self.buf) {
                Ok(0) => return Err(ScanError::Eof),
                Ok(n) => {
                    self.len = n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ScanError::Io(e)),
            }
        }
    }

    fn peek(&mut self) -> Result<u8, ScanError> {
        self.fill()?;
        Ok(self.buf[self.pos])
    }

    fn bump(&mut self) {
        self.pos += 1;
    }

    fn skip_ws(&mut self) -> Result<(), ScanError> {
        loop {
            self.fill()?;
            while self.pos < self.len {
                if !matches!(self.buf[self.pos], b' ' | b'\n' | b'\r' | b'\t') {
                    return Ok(());
                }
                self.pos += 1;
            }
        }
    }

    fn skip_bom(&mut self) -> Result<(), ScanError> {
        for &b in b"\xef\xbb\xbf" {
            if self.peek()? != b {
                return Ok(());
            }
            self.bump();
        }
        Ok(())
    }

    /// Inside an object: reads the next key (raw bytes, escapes kept) and the `:` after it.
    /// Returns false at the closing `}`.
    fn next_key(&mut self, key: &mut Vec<u8>) -> Result<bool, ScanError> {
        self.skip_ws()?;
        let mut b = self.peek()?;
        if b == b',' {
            self.bump();
            self.skip_ws()?;
            b = self.peek()?;
        }
        match b {
            b'}' => {
                self.bump();
                Ok(false)
            }
            b'"' => {
                key.clear();
                self.bump();
                self.string_body(Some(key), 1024)?;
                key.pop(); // the closing quote
                self.skip_ws()?;
                match self.peek()? {
                    b':' => {
                        self.bump();
                        Ok(true)
                    }
                    b => Err(ScanError::Unexpected(b)),
                }
            }
            b => Err(ScanError::Unexpected(b)),
        }
    }

    /// Consumes one JSON value, copying it into `out` when given (huge strings emptied).
    fn value(&mut self, mut out: Option<&mut Vec<u8>>) -> Result<(), ScanError> {
        self.skip_ws()?;
        let mut depth = 0usize;
        let mut too_large = false;
        loop {
            self.fill()?;
            let b = self.buf[self.pos];
            if let Some(o) = out.as_deref_mut()
                && o.len() > MAX_ENTRY
            {
                // Keep scanning to the end of the value so the caller can go on.
                too_large = true;
                o.clear();
            }
            let out_now = if too_large { None } else { out.as_deref_mut() };
            match b {
                b'"' => {
                    self.bump();
                    match out_now {
                        Some(o) => {
                            o.push(b'"');
                            self.string_body(Some(o), MAX_STRING)?;
                        }
                        None => self.string_body(None, 0)?,
                    }
                    if depth == 0 {
                        break;
                    }
                }
                b'{' | b'[' => {
                    depth += 1;
                    self.bump();
                    if let Some(o) = out_now {
                        o.push(b);
                    }
                }
                b'}' | b']' => {
                    if depth == 0 {
                        return Err(ScanError::Unexpected(b));
                    }
                    depth -= 1;
                    self.bump();
                    if let Some(o) = out_now {
                        o.push(b);
                    }
                    if depth == 0 {
                        break;
                    }
                }
                _ if depth == 0 => {
                    // A scalar: number, true, false, null.
                    let mut o = out_now;
                    loop {
                        let c = self.buf[self.pos];
                        if matches!(c, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                            break;
                        }
                        if let Some(o) = o.as_deref_mut() {
                            o.push(c);
                        }
                        self.bump();
                        if self.fill().is_err() {
                            break;
                        }
                    }
                    break;
                }
                _ => {
                    self.bump();
                    if let Some(o) = out_now {
                        o.push(b);
                    }
                }
            }
        }
        if too_large {
            return Err(ScanError::TooLarge);
        }
        Ok(())
    }

    /// After an opening quote: consumes the string up to and including its closing quote,
    /// copying it (with the quote) into `out`. A string longer than `cap` is copied as empty.
    fn string_body(&mut self, mut out: Option<&mut Vec<u8>>, cap: usize) -> Result<(), ScanError> {
        let start = out.as_ref().map_or(0, |o| o.len());
        let mut dropped = false;
        loop {
            self.fill()?;
            let avail = &self.buf[self.pos..self.len];
            let found = memchr::memchr2(b'"', b'\\', avail);
            let take = found.unwrap_or(avail.len());
            if let Some(o) = out.as_deref_mut()
                && !dropped
            {
                if o.len() - start + take > cap {
                    o.truncate(start);
                    dropped = true;
                } else {
                    o.extend_from_slice(&avail[..take]);
                }
            }
            self.pos += take;
            let Some(_) = found else { continue };
            let c = self.buf[self.pos];
            self.pos += 1;
            if c == b'"' {
                if let Some(o) = out.as_deref_mut() {
                    o.push(b'"');
                }
                return Ok(());
            }
            // A backslash: the next byte is escaped, whatever it is.
            self.fill()?;
            let e = self.buf[self.pos];
            self.pos += 1;
            if let Some(o) = out.as_deref_mut()
                && !dropped
            {
                o.push(b'\\');
                o.push(e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Vec<SourceItem> {
        HarSource::new(Arc::from("t.har"), json.as_bytes()).collect()
    }

    fn exchanges(items: &[SourceItem]) -> Vec<&Exchange> {
        items
            .iter()
            .filter_map(|i| match i {
                SourceItem::Exchange(e) => Some(e.as_ref()),
                SourceItem::Problem(_) => None,
            })
            .collect()
    }

    fn problems(items: &[SourceItem]) -> Vec<String> {
        items
            .iter()
            .filter_map(|i| match i {
                SourceItem::Problem(p) => Some(p.to_string()),
                SourceItem::Exchange(_) => None,
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
