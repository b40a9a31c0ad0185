//! The agent: `watch --replay` through the live path, the endpoints, bounded label cardinality,
//! and (as root, with the `live` feature) real libpcap capture on loopback.

use crate::util::{corswatch, root};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A minimal HTTP/1.1 client: one request per connection, the body as text.
fn http(port: u16, raw: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(raw.as_bytes()).ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((status, body))
}

pub(crate) fn get(port: u16, path: &str) -> Option<(u16, String)> {
    http(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"),
    )
}

/// Kills the child (SIGKILL) if the test ends early.
pub(crate) struct Guard(pub(crate) Option<Child>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Guard {
    /// SIGINT, then the exit status within `limit`.
    fn interrupt(&mut self, limit: Duration) -> std::process::ExitStatus {
        let c = self.0.as_mut().unwrap();
        let pid = c.id() as i32;
        unsafe_kill(pid, 2);
        let start = Instant::now();
        loop {
            if let Some(st) = c.try_wait().unwrap() {
                self.0 = None;
                return st;
            }
            assert!(
                start.elapsed() < limit,
                "watch did not stop on SIGINT within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn unsafe_kill(pid: i32, sig: i32) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

pub(crate) fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// Sum of a metric's samples whose label set contains every `label="value"` in `with`.
pub(crate) fn metric(text: &str, name: &str, with: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter(|l| with.iter().all(|w| l.contains(w)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn series(text: &str, name: &str) -> usize {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .count()
}

pub(crate) fn start_replay(file: &std::path::Path, port: u16, extra: &[&str]) -> Guard {
    let child = corswatch()
        .args([
            "watch",
            "--fast",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--replay",
        ])
        .arg(file)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Guard(Some(child))
}

/// Waits until the replay has been fully processed (healthz says the input ended).
fn replay_done(port: u16) {
    assert!(
        wait_for(Duration::from_secs(60), || get(port, "/healthz")
            .is_some_and(|(s, _)| s == 503)),
        "replay did not finish"
    );
}

#[test]
fn replay_serves_metrics_and_report() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("final.json");
    let mut w = start_replay(
        &root().join("captures/chromium-loopback.pcap"),
        port,
        &["--report-out", out.to_str().unwrap()],
    );
    replay_done(port);

    let (status, m) = get(port, "/metrics").unwrap();
    assert_eq!(status, 200);
    // The same numbers `analyze` gives for this capture.
    let analyze = crate::util::run(
        corswatch()
            .arg("analyze")
            .arg(root().join("captures/chromium-loopback.pcap"))
            .args(["--format", "json"]),
        0,
    );
    let a: serde_json::Value = serde_json::from_slice(&analyze.stdout).unwrap();
    let t = &a["totals"];
    assert_eq!(
        metric(&m, "corswatch_blocked_total", &[]),
        t["blocked"].as_f64().unwrap()
    );
    assert_eq!(
        metric(&m, "corswatch_requests_total", &["type=\"preflight\""]),
        t["preflight"].as_f64().unwrap()
    );
    assert_eq!(
        metric(&m, "corswatch_requests_total", &["type=\"simple\""]),
        t["simple"].as_f64().unwrap()
    );
    for k in a["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["class"] == "blocked")
    {
        let kind = k["kind"].as_str().unwrap();
        assert_eq!(
            metric(
                &m,
                "corswatch_blocked_total",
                &[&format!("kind=\"{kind}\"")]
            ),
            k["count"].as_f64().unwrap(),
            "blocked count of {kind}"
        );
    }
    assert!(
        metric(
            &m,
            "corswatch_blocked_total",
            &[
                "kind=\"preflight_acao_missing\"",
                "route=\"/s/pf_404_no_acao\"",
                "origin=\"http://localhost:"
            ]
        ) == 1.0
    );
    assert!(metric(&m, "corswatch_packets_total", &[]) > 100.0);
    assert!(m.contains("corswatch_build_info{version="));

    // OpenMetrics when asked for.
    let (_, om) = http(port, "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: application/openmetrics-text\r\nConnection: close\r\n\r\n").unwrap();
    assert!(om.trim_end().ends_with("# EOF"));

    let (status, report) = get(port, "/report").unwrap();
    assert_eq!(status, 200);
    let r: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(r["totals"]["blocked"], t["blocked"]);
    assert_eq!(r["inputs"][0]["format"], "pcap");
    crate::cli::validate(report.as_bytes());

    // Read-only: nothing else answers.
    let (status, _) = http(
        port,
        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    assert_eq!(status, 405);

    let st = w.interrupt(Duration::from_secs(10));
    assert!(st.success(), "{st:?}");
    let fin: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(fin["totals"]["blocked"], t["blocked"]);
}

/// 100,000 distinct origins and routes: the series stay under the caps and the overflow
/// counter says how many values were folded into `other`.
#[test]
fn label_cardinality_is_bounded() {
    const N: usize = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let har = dir.path().join("many.har");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&har).unwrap());
    write!(f, r#"{{"log":{{"entries":["#).unwrap();
    for i in 0..N {
        let sep = if i == 0 { "" } else { "," };
        write!(
            f,
            r#"{sep}{{"startedDateTime":"2025-01-01T00:00:00.000Z","request":{{"method":"GET","url":"https://api.example/r{i}/x","headers":[{{"name":"Origin","value":"https://o{i}.example"}}]}},"response":{{"status":200,"headers":[]}}}}"#
        )
        .unwrap();
    }
    write!(f, "]}}}}").unwrap();
    drop(f);

    let port = free_port();
    let mut w = start_replay(&har, port, &["--top-origins", "20", "--top-routes", "30"]);
    replay_done(port);
    let (_, m) = get(port, "/metrics").unwrap();
    w.interrupt(Duration::from_secs(10));

    assert_eq!(metric(&m, "corswatch_blocked_total", &[]), N as f64);
    let n = series(&m, "corswatch_blocked_total");
    assert!(n <= 20 + 30 + 1, "{n} blocked series");
    assert_eq!(
        metric(&m, "corswatch_label_overflow_total", &["label=\"origin\""]),
        (N - 20) as f64
    );
    assert_eq!(
        metric(&m, "corswatch_label_overflow_total", &["label=\"route\""]),
        (N - 30) as f64
    );
    assert_eq!(
        metric(
            &m,
            "corswatch_blocked_total",
            &["origin=\"other\"", "route=\"other\""]
        ),
        (N - 30) as f64
    );
}

/// The memory budget in the agent: the flow table and the series cap evict, and both the
/// metrics (`corswatch_evictions_total{part}`) and `/report` count it.
#[test]
fn budget_evictions_are_counted_in_metrics_and_report() {
    use corswatch::net::flood::{self, Flood};
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("origins.pcap");
    let f = std::io::BufWriter::new(std::fs::File::create(&pcap).unwrap());
    flood::write(f, Flood::Origins, 2000).unwrap();
    let port = free_port();
    let mut w = start_replay(
        &pcap,
        port,
        &[
            "--top-origins",
            "1000",
            "--max-series",
            "10",
            "--max-flows",
            "8",
        ],
    );
    replay_done(port);
    let (_, m) = get(port, "/metrics").unwrap();
    let (_, report) = get(port, "/report").unwrap();
    w.interrupt(Duration::from_secs(10));

    let flows = metric(&m, "corswatch_evictions_total", &["part=\"flows\""]);
    let labels = metric(&m, "corswatch_evictions_total", &["part=\"labels\""]);
    assert!(flows > 0.0 && labels > 0.0, "{m}");
    // Ten series, then the `other` one per kind.
    assert!(series(&m, "corswatch_blocked_total") <= 12, "{m}");
    let r: serde_json::Value = serde_json::from_str(&report).unwrap();
    let e = &r["capture_health"]["evictions"];
    assert_eq!(e["flows"].as_f64(), Some(flows), "{e}");
    assert_eq!(e["labels"].as_f64(), Some(labels), "{e}");
}

#[test]
fn watch_without_live_feature_or_with_bad_input_says_why() {
    if cfg!(feature = "live") {
        return;
    }
    let out = crate::util::run(
        corswatch().args(["watch", "-i", "lo", "--listen", "127.0.0.1:0"]),
        2,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--features live"), "{err}");
}

/// The agent as root, or, with `user`, the unprivileged path the README documents: a copy of the
/// binary given `cap_net_raw,cap_net_admin` as file capabilities, run as `user` (`setpriv` execs
/// it, so the child is the agent itself). `dir` becomes writable for that user.
#[cfg(feature = "live")]
fn agent_command(user: Option<&str>, dir: &std::path::Path) -> Command {
    use std::os::unix::fs::PermissionsExt;
    let Some(user) = user else {
        return corswatch();
    };
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let bin = dir.join("corswatch");
    std::fs::copy(env!("CARGO_BIN_EXE_corswatch"), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let st = Command::new("setcap")
        .args(["cap_net_raw,cap_net_admin+ep"])
        .arg(&bin)
        .status()
        .unwrap();
    assert!(st.success(), "setcap failed");
    let mut c = Command::new("setpriv");
    c.args([
        &format!("--reuid={user}"),
        &format!("--regid={user}"),
        "--init-groups",
        "--inh-caps=-all",
    ])
    .arg(&bin);
    c
}

/// Real libpcap capture on loopback (root and the `live` feature): a server with chosen CORS
/// behaviour, real requests, then the counts by kind, origin and route.
#[cfg(feature = "live")]
#[test]
#[ignore = "needs root (CAP_NET_RAW): run by .ci/run with --features live -- --ignored"]
fn live_capture_on_loopback() {
    use std::io::{BufRead, BufReader};
    let server_bin = std::path::Path::new(env!("CARGO_BIN_EXE_corswatch"))
        .parent()
        .unwrap()
        .join("examples/scenario_server");
    assert!(
        server_bin.exists(),
        "build the examples first: {}",
        server_bin.display()
    );
    let mut server = Guard(Some(
        Command::new(&server_bin)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    ));
    let mut line = String::new();
    let stdout = server.0.as_mut().unwrap().stdout.take().unwrap();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let ports: serde_json::Value = serde_json::from_str(&line).unwrap();
    let api = ports["api"]
        .as_u64()
        .or_else(|| ports["api_port"].as_u64())
        .expect("api port") as u16;
    let page = format!(
        "http://localhost:{}",
        ports["page"]
            .as_u64()
            .or_else(|| ports["page_port"].as_u64())
            .unwrap()
    );

    let listen = free_port();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("final.json");
    let user = std::env::var("CW_LIVE_AS_USER").ok();
    let mut w = Guard(Some(
        agent_command(user.as_deref(), dir.path())
            .args([
                "watch",
                "-i",
                "lo",
                "--filter",
                &format!("tcp port {api}"),
                "--listen",
                &format!("127.0.0.1:{listen}"),
                "--report-out",
                out.to_str().unwrap(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    ));
    assert!(
        wait_for(Duration::from_secs(20), || get(listen, "/healthz")
            .is_some_and(|(s, _)| s == 200)),
        "agent did not start"
    );
    // Once the capture is open the agent keeps no capability, whoever started it.
    let pid = w.0.as_ref().unwrap().id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    for set in ["CapPrm:", "CapEff:"] {
        let line = status.lines().find(|l| l.starts_with(set)).unwrap();
        assert!(line.ends_with("0000000000000000"), "{line}");
    }
    if let Some(u) = &user {
        let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        assert!(!uid.split_whitespace().any(|x| x == "0"), "{u}: {uid}");
    }

    let req = |raw: String| http(api, &raw).expect("scenario server answers");
    let o = &page;
    // A preflight answered 404 without ACAO; the browser would stop here.
    req(format!(
        "OPTIONS /s/pf_404_no_acao HTTP/1.1\r\nHost: 127.0.0.1:{api}\r\nOrigin: {o}\r\nAccess-Control-Request-Method: PUT\r\nConnection: close\r\n\r\n"
    ));
    // Two simple requests without ACAO.
    for _ in 0..2 {
        req(format!(
            "GET /s/acao_missing_200 HTTP/1.1\r\nHost: 127.0.0.1:{api}\r\nOrigin: {o}\r\nSec-Fetch-Mode: cors\r\nConnection: close\r\n\r\n"
        ));
    }
    // A success.
    req(format!(
        "GET /s/ok_acao_exact HTTP/1.1\r\nHost: 127.0.0.1:{api}\r\nOrigin: {o}\r\nSec-Fetch-Mode: cors\r\nConnection: close\r\n\r\n"
    ));

    let mut m = String::new();
    let counted = wait_for(Duration::from_secs(20), || {
        m = get(listen, "/metrics").map(|(_, b)| b).unwrap_or_default();
        metric(&m, "corswatch_requests_total", &[]) >= 4.0
            && metric(&m, "corswatch_blocked_total", &[]) >= 3.0
    });
    assert!(counted, "metrics never showed the traffic:\n{m}");
    assert_eq!(
        metric(
            &m,
            "corswatch_blocked_total",
            &[
                "kind=\"acao_missing\"",
                "route=\"/s/acao_missing_200\"",
                &format!("origin=\"{o}\"")
            ]
        ),
        2.0,
        "{m}"
    );
    assert_eq!(
        metric(
            &m,
            "corswatch_blocked_total",
            &[
                "kind=\"preflight_acao_missing\"",
                "route=\"/s/pf_404_no_acao\""
            ]
        ),
        1.0,
        "{m}"
    );
    assert_eq!(
        metric(&m, "corswatch_preflights_total", &["outcome=\"failed\""]),
        1.0,
        "{m}"
    );
    assert_eq!(
        metric(&m, "corswatch_requests_total", &["type=\"simple\""]),
        3.0
    );
    assert!(metric(&m, "corswatch_packets_total", &[]) > 10.0);
    assert_eq!(
        metric(&m, "corswatch_packets_dropped_total", &["where=\"queue\""]),
        0.0
    );

    // The report is re-rendered twice a second: wait for it to catch up with the metrics.
    let mut r = serde_json::Value::Null;
    let caught_up = wait_for(Duration::from_secs(5), || {
        r = get(listen, "/report")
            .and_then(|(_, b)| serde_json::from_str(&b).ok())
            .unwrap_or_default();
        r["totals"]["blocked"] == 3
    });
    assert!(caught_up, "{r}");

    let st = w.interrupt(Duration::from_secs(10));
    assert!(st.success(), "{st:?}");
    assert!(out.exists());
    drop(server);
}

/// HTTPS + HTTP/2 through the agent: the Chromium recording replayed with `--keylog`, and its
/// pcapng whose Decryption Secrets Block carries the keys, give the numbers `analyze` gives.
#[test]
fn replay_decrypts_https_with_a_key_log_or_embedded_secrets() {
    let pcap = root().join("captures/chromium-https-loopback.pcap");
    let keys = root().join("captures/chromium-https-keys.log");
    let analyze = crate::util::run(
        corswatch()
            .arg("analyze")
            .arg(&pcap)
            .arg("--keylog")
            .arg(&keys)
            .args(["--format", "json"]),
        0,
    );
    let a: serde_json::Value = serde_json::from_slice(&analyze.stdout).unwrap();
    let blocked = a["totals"]["blocked"].as_f64().unwrap();
    assert!(blocked > 50.0, "{blocked}");
    for (file, extra) in [
        (pcap.clone(), vec!["--keylog", keys.to_str().unwrap()]),
        (
            root().join("captures/chromium-https-loopback.pcapng"),
            vec![],
        ),
    ] {
        let port = free_port();
        let mut w = start_replay(&file, port, &extra);
        replay_done(port);
        let (_, m) = get(port, "/metrics").unwrap();
        assert_eq!(
            metric(&m, "corswatch_blocked_total", &[]),
            blocked,
            "{file:?}"
        );
        assert_eq!(
            metric(
                &m,
                "corswatch_tls_connections_total",
                &["outcome=\"decrypted\""]
            ),
            a["capture_health"]["tls_decrypted"].as_f64().unwrap(),
            "{file:?}"
        );
        assert_eq!(
            metric(
                &m,
                "corswatch_tls_connections_total",
                &["outcome=\"no_keys\""]
            ),
            0.0
        );
        assert!(metric(&m, "corswatch_http2_connections_total", &[]) >= 1.0);
        assert!(metric(&m, "corswatch_http2_streams_reset_total", &[]) >= 1.0);
        // No secret reaches the metrics or the report.
        let (_, report) = get(port, "/report").unwrap();
        let text = std::fs::read_to_string(&keys).unwrap();
        for secret in text.split_whitespace().filter(|s| s.len() >= 64) {
            assert!(!m.contains(secret) && !report.contains(secret));
        }
        let st = w.interrupt(Duration::from_secs(10));
        assert!(st.success(), "{st:?}");
    }
    // Without keys: counted, and the report names the servers.
    let port = free_port();
    let mut w = start_replay(&pcap, port, &[]);
    replay_done(port);
    let (_, m) = get(port, "/metrics").unwrap();
    assert!(
        metric(
            &m,
            "corswatch_tls_connections_total",
            &["outcome=\"no_keys\""]
        ) > 0.0
    );
    let (_, report) = get(port, "/report").unwrap();
    let r: serde_json::Value = serde_json::from_str(&report).unwrap();
    let peers = r["inputs"][0]["tls_without_keys"]
        .as_array()
        .expect("tls_without_keys");
    assert!(peers.iter().any(|p| p["sni"] == "localhost"), "{peers:?}");
    assert!(report.contains("--keylog"));
    let st = w.interrupt(Duration::from_secs(10));
    assert!(st.success(), "{st:?}");
}

/// `watch --declared`: drift counted per rule and route in /metrics, as `analyze` counts it, and
/// listed in /report.
#[test]
fn replay_with_a_declared_policy_counts_drift() {
    let dir = tempfile::tempdir().unwrap();
    let declared = dir.path().join("declared.toml");
    std::fs::write(
        &declared,
        "[[route]]\nprefix = \"/v1/\"\norigins = [\"https://app.example.com\"]\nmethods = [\"PUT\"]\nrequest_headers = [\"content-type\"]\ncredentials = true\n",
    )
    .unwrap();
    let capture = root().join("captures/lab/reflecting-curl.pcap");
    let port = free_port();
    let events = dir.path().join("events.jsonl");
    let _w = start_replay(
        &capture,
        port,
        &[
            "--declared",
            declared.to_str().unwrap(),
            "--events",
            events.to_str().unwrap(),
        ],
    );
    replay_done(port);
    let (_, m) = get(port, "/metrics").unwrap();
    // A departure with nothing else wrong is a line of its own, class `drift`.
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let drift_only = lines
        .iter()
        .filter(|l| {
            l["policy_drift"].as_array().is_some_and(|d| !d.is_empty())
                && l["blocked"] == false
                && l["warnings"].as_array().is_some_and(Vec::is_empty)
                && l["findings"].as_array().is_some_and(Vec::is_empty)
        })
        .count();
    assert!(drift_only > 0, "{lines:?}");
    assert_eq!(
        metric(&m, "corswatch_events_written_total", &["class=\"drift\""]),
        drift_only as f64
    );
    let analyze = crate::util::run(
        corswatch()
            .arg("analyze")
            .arg(&capture)
            .args(["--format", "json", "--declared"])
            .arg(&declared),
        0,
    );
    let a: serde_json::Value = serde_json::from_slice(&analyze.stdout).unwrap();
    let rules = a["policy_drift"]["rules"].as_array().unwrap();
    let mut seen = 0.0;
    for r in rules {
        let rule = r["rule"].as_str().unwrap();
        let n = metric(
            &m,
            "corswatch_policy_drift_total",
            &[&format!("rule=\"{rule}\"")],
        );
        assert_eq!(n, r["count"].as_f64().unwrap(), "{rule}\n{m}");
        seen += n;
    }
    assert!(
        metric(
            &m,
            "corswatch_policy_drift_total",
            &["rule=\"reflected_origin\"", "route=\"/v1/profile\""]
        ) > 0.0,
        "{m}"
    );
    assert!(seen > 0.0);
    let (_, report) = get(port, "/report").unwrap();
    let r: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(r["policy_drift"]["rules"], a["policy_drift"]["rules"]);
}
