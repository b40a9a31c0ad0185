//! The agent's event stream (`watch --events PATH|-`): one JSON object per line for every
//! blocked request, warning and security finding, for log pipelines (Vector, Fluent Bit,
//! Loki, Elasticsearch). Each line is the `--format events` object plus `host`, `hop` and
//! `suppressed`.
//!
//! A token bucket per (kind, origin, route) limits what a storm of one failure can write: a
//! key may write `burst` lines at once and `per_second` lines a second after that, in the
//! traffic's own time. What the limit holds back is counted (the agent exports it as
//! `corswatch_events_suppressed_total`), and the next line written for that key says how
//! many it stands for (`suppressed`). The table of keys is bounded: keys whose bucket is full
//! again are forgotten first, then the least recently seen.
//!
//! The file is opened for appending and reopened by [`EventLog::reopen`] (the agent calls it
//! on SIGHUP), so logrotate can move it away and signal, without `copytruncate`.

use crate::cors::{Verdict, VerdictClass};
use crate::event::Event;
use serde::Serialize;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::Mutex;

/// Where the lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Standard output (`-`).
    Stdout,
    /// A file, appended to, reopened on request.
    File(PathBuf),
}

/// The event stream's settings.
#[derive(Debug, Clone)]
pub struct EventLogConfig {
    /// Where the lines go.
    pub target: Target,
    /// Lines a (kind, origin, route) may write at once.
    pub burst: u32,
    /// Lines a second per (kind, origin, route) once the burst is spent.
    pub per_second: f64,
    /// Keys remembered by the rate limit.
    pub keys: usize,
    /// The `host` field of every line.
    pub host: String,
}

impl Default for EventLogConfig {
    fn default() -> Self {
        EventLogConfig {
            target: Target::Stdout,
            burst: 10,
            per_second: 1.0,
            keys: 10_000,
            host: hostname(),
        }
    }
}

/// This machine's host name (`unknown` when the system does not say).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// What happened to one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Not a blocked request, warning, finding or policy drift: not for the stream.
    Skipped,
    /// Written; the class of its first verdict (or `drift`).
    Written(LineClass),
    /// Held back by the rate limit.
    Suppressed(LineClass),
    /// The write failed (counted, logged).
    Failed(LineClass),
}

/// The class of a line: its first verdict's, or `drift` for an answer that only departs from
/// the declared policy (`--declared`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineClass {
    /// A blocked request, a warning or a finding.
    Verdict(VerdictClass),
    /// Policy drift only.
    Drift,
}

impl LineClass {
    /// The `class` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            LineClass::Verdict(c) => c.as_str(),
            LineClass::Drift => "drift",
        }
    }
}

/// One line: the event, flattened, plus where it was seen.
#[derive(Serialize)]
struct Line<'a> {
    #[serde(flatten)]
    event: &'a Event,
    /// The host the agent runs on.
    host: &'a str,
    /// Which hop of a proxied request this exchange is; see [`hop`].
    hop: Option<serde_json::Value>,
    /// Lines of the same (kind, origin, route) held back by the rate limit since the last
    /// one written.
    suppressed: u64,
}

/// The hop of an exchange, for the `hop` field: `null` until the pipeline tells a
/// browser-side hop from a proxy-to-application hop. HOOK: when the event carries its hop,
/// return it here (e.g. `{"position": "browser", "via": "..."}`); nothing else changes.
fn hop(_ev: &Event) -> Option<serde_json::Value> {
    None
}

/// The verdict that names an event's line and rate-limit key: the blocking verdict (the
/// line's `kind`), else the first warning, else the first finding. `None` for events not
/// written: no verdict of those classes, or a failed preflight with nothing else to say whose
/// refused request has a line of its own (the one blocked request counts once).
fn primary(ev: &Event) -> Option<&Verdict> {
    let extra = ev.warnings.first().or_else(|| ev.findings.first());
    match &ev.blocked_detail {
        Some(b) if ev.counted || extra.is_some() => Some(b),
        _ => extra,
    }
}

/// Keys are cut to this many bytes: origins and routes come from the traffic.
const KEY_BYTES: usize = 256;

fn cut(s: &str) -> &str {
    if s.len() <= KEY_BYTES {
        return s;
    }
    let mut end = KEY_BYTES;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    /// Traffic time of the last refill, nanoseconds.
    at: i64,
    /// Held back since the last line written.
    suppressed: u64,
}

/// Token buckets per (kind, origin, route), bounded.
#[derive(Debug)]
struct Limiter {
    burst: f64,
    per_ns: f64,
    cap: usize,
    table: HashMap<(&'static str, String, String), Bucket>,
    /// Keys dropped to stay under the cap.
    evicted: u64,
}

impl Limiter {
    fn new(burst: u32, per_second: f64, cap: usize) -> Self {
        Limiter {
            burst: f64::from(burst.max(1)),
            per_ns: per_second.max(0.0) / 1e9,
            cap: cap.max(1),
            table: HashMap::new(),
            evicted: 0,
        }
    }

    fn refill(&self, b: &mut Bucket, now: i64) {
        if now > b.at {
            b.tokens = (b.tokens + (now - b.at) as f64 * self.per_ns).min(self.burst);
            b.at = now;
        }
    }

    /// Takes a token for `key` at traffic time `now`: `Some(held back before)` when the line
    /// may be written, `None` when it is suppressed.
    fn take(&mut self, kind: &'static str, origin: &str, route: &str, now: i64) -> Option<u64> {
        let key = (kind, cut(origin).to_string(), cut(route).to_string());
        if !self.table.contains_key(&key) && self.table.len() >= self.cap {
            self.make_room(now);
        }
        let fresh = Bucket {
            tokens: self.burst,
            at: now,
            suppressed: 0,
        };
        let mut b = *self.table.get(&key).unwrap_or(&fresh);
        self.refill(&mut b, now);
        let out = if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Some(std::mem::take(&mut b.suppressed))
        } else {
            b.suppressed += 1;
            None
        };
        self.table.insert(key, b);
        out
    }

    /// Forgets the keys whose bucket is full again (they behave like new ones); if that is not
    /// enough, the least recently refilled half.
    fn make_room(&mut self, now: i64) {
        let (burst, per_ns) = (self.burst, self.per_ns);
        let before = self.table.len();
        self.table.retain(|_, b| {
            let t = if now > b.at {
                (b.tokens + (now - b.at) as f64 * per_ns).min(burst)
            } else {
                b.tokens
            };
            t < burst || b.suppressed > 0
        });
        if self.table.len() >= self.cap {
            let mut ats: Vec<i64> = self.table.values().map(|b| b.at).collect();
            let mid = ats.len() / 2;
            let (_, median, _) = ats.select_nth_unstable(mid);
            let median = *median;
            self.table.retain(|_, b| b.at > median);
        }
        self.evicted += (before - self.table.len()) as u64;
    }
}

enum Out {
    Stdout(io::Stdout),
    File(BufWriter<File>),
}

impl Out {
    fn open(target: &Target) -> io::Result<Out> {
        Ok(match target {
            Target::Stdout => Out::Stdout(io::stdout()),
            Target::File(p) => Out::File(BufWriter::new(
                OpenOptions::new().create(true).append(true).open(p)?,
            )),
        })
    }

    /// Writes one whole line and hands it to the system, so that a reader tailing the file
    /// never sees half a line from us.
    fn line(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Out::Stdout(s) => {
                let mut l = s.lock();
                l.write_all(bytes)?;
                l.flush()
            }
            Out::File(f) => {
                f.write_all(bytes)?;
                f.flush()
            }
        }
    }
}

struct Inner {
    out: Out,
    limiter: Limiter,
    buf: Vec<u8>,
    errors: u64,
}

/// The event stream: rate-limited JSON Lines, reopened on request.
pub struct EventLog {
    cfg: EventLogConfig,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for EventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLog")
            .field("target", &self.cfg.target)
            .finish_non_exhaustive()
    }
}

impl EventLog {
    /// Opens the target (a file is created if missing, and appended to).
    pub fn open(cfg: EventLogConfig) -> io::Result<EventLog> {
        let out = Out::open(&cfg.target)?;
        Ok(EventLog {
            inner: Mutex::new(Inner {
                out,
                limiter: Limiter::new(cfg.burst, cfg.per_second, cfg.keys),
                buf: Vec::with_capacity(2048),
                errors: 0,
            }),
            cfg,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Writes the event's line if it is a blocked request, a warning or a finding and its
    /// (kind, origin, route) has a token left.
    pub fn write(&self, ev: &Event) -> Outcome {
        let (key, class) = match (primary(ev), ev.policy_drift.first()) {
            (Some(v), _) => (v.kind.id(), LineClass::Verdict(v.class())),
            (None, Some(d)) => (d.rule.id(), LineClass::Drift),
            (None, None) => return Outcome::Skipped,
        };
        let mut g = self.lock();
        let origin = ev.origin.as_deref().unwrap_or("(none)");
        let Some(suppressed) = g.limiter.take(key, origin, &ev.route, ev.time.0) else {
            return Outcome::Suppressed(class);
        };
        let line = Line {
            event: ev,
            host: &self.cfg.host,
            hop: hop(ev),
            suppressed,
        };
        let inner = &mut *g;
        inner.buf.clear();
        let r = serde_json::to_writer(&mut inner.buf, &line)
            .map_err(io::Error::from)
            .and_then(|()| {
                inner.buf.push(b'\n');
                inner.out.line(&inner.buf)
            });
        match r {
            Ok(()) => Outcome::Written(class),
            Err(e) => {
                inner.errors += 1;
                if inner.errors == 1 || inner.errors.is_power_of_two() {
                    tracing::warn!(error = %e, failed = inner.errors, "cannot write an event line");
                }
                Outcome::Failed(class)
            }
        }
    }

    /// Reopens the file (after logrotate moved it away); a no-op for stdout.
    pub fn reopen(&self) -> io::Result<()> {
        if self.cfg.target == Target::Stdout {
            return Ok(());
        }
        let new = Out::open(&self.cfg.target)?;
        let mut g = self.lock();
        if let Out::File(f) = &mut g.out {
            let _ = f.flush();
        }
        g.out = new;
        Ok(())
    }

    /// Where the lines go.
    pub fn target(&self) -> &Target {
        &self.cfg.target
    }

    /// Keys the rate limit forgot to stay bounded.
    pub fn keys_evicted(&self) -> u64 {
        self.lock().limiter.evicted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cors::Kind;

    const S: i64 = 1_000_000_000;

    #[test]
    fn token_bucket_per_key() {
        let mut l = Limiter::new(3, 1.0, 100);
        let k = Kind::AcaoMissing.id();
        let t0 = 1_700_000_000 * S;
        assert_eq!(l.take(k, "a", "/x", t0), Some(0));
        assert_eq!(l.take(k, "a", "/x", t0), Some(0));
        assert_eq!(l.take(k, "a", "/x", t0), Some(0));
        assert_eq!(l.take(k, "a", "/x", t0), None);
        assert_eq!(l.take(k, "a", "/x", t0), None);
        // Another key has its own bucket.
        assert_eq!(l.take(k, "b", "/x", t0), Some(0));
        assert_eq!(l.take(Kind::HeaderNotAllowed.id(), "a", "/x", t0), Some(0));
        // A second later one token is back, and the line says what was held back.
        assert_eq!(l.take(k, "a", "/x", t0 + S), Some(2));
        assert_eq!(l.take(k, "a", "/x", t0 + S), None);
        // Time going backwards refills nothing.
        assert_eq!(l.take(k, "a", "/x", t0), None);
    }

    #[test]
    fn the_table_stays_bounded() {
        let mut l = Limiter::new(1, 1.0, 50);
        let t0 = 1_700_000_000 * S;
        for i in 0..10_000 {
            let _ = l.take(
                Kind::AcaoMissing.id(),
                &format!("https://o{i}.example"),
                "/",
                t0 + i,
            );
            assert!(l.table.len() <= 50);
        }
        assert!(l.evicted >= 9_950);
        // Long keys are cut.
        let long = "x".repeat(10_000);
        let _ = l.take(Kind::AcaoMissing.id(), &long, &long, t0);
        assert!(
            l.table
                .keys()
                .all(|(_, o, r)| o.len() <= 256 && r.len() <= 256)
        );
    }
}
