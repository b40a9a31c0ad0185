//! The agent's event stream (`watch --events`): JSON Lines for log pipelines, rate-limited per
//! (kind, origin, route), counted in the metrics, and a file that survives logrotate (moved
//! away, then SIGHUP) under a running agent.

use crate::util::{capture, corswatch};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let status = buf.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, buf.split_once("\r\n\r\n")?.1.to_string()))
}

fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// The agent, killed if the test ends early; its stdout and stderr read as they come (a full
/// pipe would stop it).
struct Agent(Child, Vec<std::thread::JoinHandle<Vec<u8>>>);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn drain(r: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut r) = r {
            let _ = r.read_to_end(&mut buf);
        }
        buf
    })
}

impl Agent {
    fn start(port: u16, args: &[&str]) -> Agent {
        let child = corswatch()
            .args(["watch", "--listen", &format!("127.0.0.1:{port}")])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut child = child;
        let readers = vec![drain(child.stdout.take()), drain(child.stderr.take())];
        let a = Agent(child, readers);
        assert!(
            wait_for(Duration::from_secs(20), || get(port, "/healthz").is_some()),
            "the agent did not start"
        );
        a
    }

    fn signal(&self, sig: &str) {
        let ok = std::process::Command::new("kill")
            .args([sig, &self.0.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig}");
    }

    /// Waits for the end of the replay (healthz says the input ended).
    fn replay_done(&self, port: u16, limit: Duration) {
        assert!(
            wait_for(limit, || get(port, "/healthz")
                .is_some_and(|(s, _)| s == 503)),
            "the replay did not end within {limit:?}"
        );
    }

    /// SIGINT, and its exit within 20 s.
    fn stop(mut self) -> std::process::Output {
        self.signal("-INT");
        let start = Instant::now();
        while self.0.try_wait().unwrap().is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no exit on SIGINT"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let status = self.0.wait().unwrap();
        let mut readers = std::mem::take(&mut self.1).into_iter();
        let mut next = || {
            readers
                .next()
                .map(|h| h.join().unwrap())
                .unwrap_or_default()
        };
        std::process::Output {
            status,
            stdout: next(),
            stderr: next(),
        }
    }
}

fn lines(p: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(p).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}: {l}", p.display())))
        .collect()
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// What identifies a line: where the exchange was read, and its verdict.
fn key(v: &Value) -> (u64, String) {
    (
        v["index"].as_u64().unwrap(),
        format!("{}|{}|{}", v["type"], v["kind"], v["pairing"]),
    )
}

/// Every line is the `--format events` object plus `host`, `hop` and `suppressed`, and only
/// blocked requests, warnings and findings are written.
fn check_line(v: &Value) {
    for f in [
        "source",
        "index",
        "time",
        "origin",
        "method",
        "url",
        "route",
        "type",
        "blocked",
        "kind",
        "cors_error",
        "confidence",
        "pairing",
        "warnings",
        "findings",
        "notes",
    ] {
        assert!(v.get(f).is_some(), "no {f} in {v}");
    }
    assert_eq!(v["host"], "test-host", "{v}");
    assert!(v["hop"].is_null(), "{v}");
    assert!(v["suppressed"].is_u64(), "{v}");
    let counts = v["blocked"] == true
        || !v["warnings"].as_array().unwrap().is_empty()
        || !v["findings"].as_array().unwrap().is_empty();
    assert!(counts, "neither blocked, warning nor finding: {v}");
}

/// logrotate without copytruncate: the file is moved away while the agent writes, then SIGHUP;
/// the lines before the signal are in the old file, the rest in a new one at the same path,
/// none lost, none twice, none torn. Compared with a run that was not rotated.
#[test]
fn events_file_survives_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = capture("chromium-loopback.pcap");
    let pcap = pcap.to_str().unwrap();

    // The reference: the same replay, as fast as possible, not rotated.
    let reference = dir.path().join("reference.jsonl");
    let port = free_port();
    let a = Agent::start(
        port,
        &[
            "--replay",
            pcap,
            "--fast",
            "--events",
            reference.to_str().unwrap(),
            "--events-host",
            "test-host",
        ],
    );
    a.replay_done(port, Duration::from_secs(60));
    let (_, metrics) = get(port, "/metrics").unwrap();
    let out = a.stop();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = lines(&reference);
    assert!(want.len() > 40, "{} lines", want.len());
    want.iter().for_each(check_line);
    assert_eq!(
        metric(&metrics, "corswatch_events_written_total"),
        want.len() as f64
    );
    assert_eq!(metric(&metrics, "corswatch_events_suppressed_total"), 0.0);

    // The rotated run: the 52 s recording at 4x takes 13 s; rotate a few seconds in.
    let live = dir.path().join("events.jsonl");
    let rotated = dir.path().join("events.jsonl.1");
    let port = free_port();
    let a = Agent::start(
        port,
        &[
            "--replay",
            pcap,
            "--speed",
            "4",
            "--events",
            live.to_str().unwrap(),
            "--events-host",
            "test-host",
        ],
    );
    assert!(
        wait_for(Duration::from_secs(30), || lines(&live).len() >= 10),
        "no events written"
    );
    std::fs::rename(&live, &rotated).unwrap();
    a.signal("-HUP");
    assert!(
        wait_for(Duration::from_secs(10), || live.exists()),
        "the file was not reopened on SIGHUP"
    );
    a.replay_done(port, Duration::from_secs(60));
    let out = a.stop();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("events file reopened"), "{stderr}");

    let (old, new) = (lines(&rotated), lines(&live));
    assert!(
        old.len() >= 10 && !new.is_empty(),
        "{} + {}",
        old.len(),
        new.len()
    );
    old.iter().chain(&new).for_each(check_line);
    let mut got: Vec<(u64, String)> = old.iter().chain(&new).map(key).collect();
    let mut want: Vec<(u64, String)> = want.iter().map(key).collect();
    got.sort();
    want.sort();
    let n = got.len();
    got.dedup();
    assert_eq!(got.len(), n, "a line written twice");
    assert_eq!(
        got, want,
        "the rotated files hold other lines than the reference"
    );
}

/// The key of the rate limit: the line's first verdict (counted blocking one, else the first
/// warning, else the first finding), origin and route.
fn limit_key(v: &Value) -> String {
    let kind = if v["blocked"] == true && !v["kind"].is_null() {
        v["kind"].clone()
    } else if let Some(w) = v["warnings"].as_array().unwrap().first() {
        w["kind"].clone()
    } else {
        v["findings"][0]["kind"].clone()
    };
    format!("{kind}|{}|{}", v["origin"], v["route"])
}

/// Replays the DevTools HAR with these event-stream flags: the lines and the metrics.
fn stream(extra: &[&str]) -> (Vec<Value>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let port = free_port();
    let har = capture("chromium-devtools.har");
    let mut args = vec![
        "--replay",
        har.to_str().unwrap(),
        "--fast",
        "--events",
        path.to_str().unwrap(),
        "--events-host",
        "test-host",
    ];
    args.extend_from_slice(extra);
    let a = Agent::start(port, &args);
    a.replay_done(port, Duration::from_secs(60));
    let (_, metrics) = get(port, "/metrics").unwrap();
    drop(a.stop());
    let got = lines(&path);
    got.iter().for_each(check_line);
    (got, metrics)
}

/// The rate limit: with one line per (kind, origin, route) and no refill, each key writes
/// once and the rest is counted as suppressed; written + suppressed is what an unlimited
/// stream writes.
#[test]
fn events_are_rate_limited_per_key() {
    let (all, m) = stream(&["--events-burst", "1000"]);
    assert_eq!(
        metric(&m, "corswatch_events_written_total"),
        all.len() as f64
    );
    assert_eq!(metric(&m, "corswatch_events_suppressed_total"), 0.0);

    let (limited, m) = stream(&["--events-burst", "1", "--events-rate", "0"]);
    let written = metric(&m, "corswatch_events_written_total");
    let suppressed = metric(&m, "corswatch_events_suppressed_total");
    assert_eq!(written, limited.len() as f64);
    assert!(suppressed > 0.0, "nothing suppressed:\n{m}");
    assert_eq!(written + suppressed, all.len() as f64, "{m}");
    let mut seen = std::collections::BTreeSet::new();
    for v in &limited {
        assert!(seen.insert(limit_key(v)), "{} written twice", limit_key(v));
    }
    let keys: std::collections::BTreeSet<String> = all.iter().map(limit_key).collect();
    assert_eq!(seen, keys, "every key writes its first line");
}

/// `--events -` writes to stdout (the agent's own messages stay on stderr).
#[test]
fn events_to_stdout() {
    let port = free_port();
    let a = Agent::start(
        port,
        &[
            "--replay",
            capture("chromium-loopback.pcap").to_str().unwrap(),
            "--fast",
            "--events",
            "-",
            "--events-host",
            "test-host",
        ],
    );
    a.replay_done(port, Duration::from_secs(60));
    let out = a.stop();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().count() > 40);
    for l in text.lines() {
        check_line(&serde_json::from_str(l).unwrap());
    }
}
