//! `corswatch watch`: the agent. A producer thread (libpcap capture, or a file replayed with
//! its timestamps) feeds a processing thread (the same decoder, pairing and classifier as
//! `analyze`), which updates the metrics and the running report; a small tokio runtime serves
//! them. Stops cleanly on SIGINT/SIGTERM.

use crate::Analyzer;
use crate::aggregate::Aggregate;
use crate::aggregate::Limits;
use crate::event::Event;
use crate::metrics::{Metrics, MetricsConfig};
use crate::model::{CaptureHealth, Exchange, Timestamp};
use crate::net::{self, Decoder};
use crate::pair::PairConfig;
use crate::report::{self, InputInfo, ReportData, RunInfo};
use crate::serve::{self, Shared};
use crate::source::{self, InputError, SourceItem};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

/// How a replay is paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// As fast as possible.
    Fast,
    /// At N times the recorded speed.
    Speed(f64),
}

#[derive(Debug, Clone)]
pub enum WatchInput {
    /// A live interface (needs the `live` feature).
    Live(LiveOptions),
    /// A pcap/pcapng or HAR file fed through the live path with its timestamps.
    Replay {
        path: PathBuf,
        pace: Pace,
        repeat: u32,
    },
}

#[derive(Debug, Clone)]
pub struct LiveOptions {
    pub interface: String,
    pub filter: String,
    pub snaplen: i32,
    pub buffer_size: i32,
    pub promiscuous: bool,
}

#[derive(Debug, Clone)]
pub struct WatchConfig {
    pub input: WatchInput,
    pub listen: SocketAddr,
    pub metrics: MetricsConfig,
    pub pairing: PairConfig,
    pub report_out: Option<PathBuf>,
    /// Stop when a replay ends (instead of serving until a signal).
    pub exit_when_done: bool,
    /// NSS key log to decrypt TLS with, followed as it grows (net/tls reads it).
    pub keylog: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("cannot listen on {addr}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Capture(String),
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("cannot start: {0}")]
    Runtime(std::io::Error),
    #[error("cannot write the report to {path}")]
    ReportOut {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Packets travel in batches, to keep the channel cheap at line rate.
pub struct Batch {
    pub data: Vec<u8>,
    /// (timestamp, link type, start, end, packet number) into `data`.
    pub packets: Vec<(Timestamp, u32, usize, usize, u64)>,
}

impl Batch {
    pub fn with_capacity(bytes: usize) -> Self {
        Batch {
            data: Vec::with_capacity(bytes),
            packets: Vec::with_capacity(bytes / 256),
        }
    }

    pub fn push(&mut self, ts: Timestamp, link: u32, bytes: &[u8], number: u64) {
        let start = self.data.len();
        self.data.extend_from_slice(bytes);
        self.packets
            .push((ts, link, start, self.data.len(), number));
    }
}

/// What producers send to the processing thread.
pub enum Feed {
    /// The format of what follows (replay).
    Format(&'static str),
    Packets(Batch),
    Exchange(Box<Exchange>),
    /// Cumulative drop counts from libpcap.
    Drops {
        kernel: u64,
        interface: u64,
    },
    Problem(InputError),
    /// TLS key log text from a pcapng Decryption Secrets Block (replay).
    Secrets(Vec<u8>),
    /// A replay starts its next round: close the connections of the previous one.
    Restart,
    /// The input ended (replay) or the capture stopped.
    End,
}

/// The producer side: a channel that counts what it had to drop instead of blocking the
/// capture (blocking would only move the drops into the kernel).
#[derive(Clone)]
pub struct Producer {
    tx: SyncSender<Feed>,
    pub stop: Arc<AtomicBool>,
    pub queue_drops: Arc<AtomicU64>,
    lossless: bool,
}

impl Producer {
    /// Sends; a live producer drops (and counts) when the queue is full, a replay waits.
    pub fn send(&self, f: Feed) -> bool {
        if self.lossless {
            return self.tx.send(f).is_ok();
        }
        match self.tx.try_send(f) {
            Ok(()) => true,
            Err(TrySendError::Full(Feed::Packets(b))) => {
                self.queue_drops
                    .fetch_add(b.packets.len() as u64, Ordering::Relaxed);
                true
            }
            Err(TrySendError::Full(other)) => self.tx.send(other).is_ok(),
            Err(TrySendError::Disconnected(_)) => false,
        }
    }

    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// Runs the agent until a signal (or the end of a replay with `exit_when_done`).
pub fn run(cfg: WatchConfig) -> Result<RunSummary, WatchError> {
    // Open the capture first, then give up privileges, then start threads: capabilities are
    // per thread on Linux, so every thread started later inherits the dropped set.
    let live = match &cfg.input {
        WatchInput::Live(opts) => {
            Some(crate::source::live::open(opts).map_err(WatchError::Capture)?)
        }
        WatchInput::Replay { .. } => None,
    };
    let dropped = crate::source::live::drop_privileges();
    let listener =
        std::net::TcpListener::bind(cfg.listen).map_err(|source| WatchError::Listen {
            addr: cfg.listen,
            source,
        })?;
    listener
        .set_nonblocking(true)
        .map_err(WatchError::Runtime)?;

    let shared = Arc::new(Shared::new(Metrics::new(&cfg.metrics)));
    // 32 batches of 256 KiB: enough slack for bursts, little memory (a replay waits instead).
    let (tx, rx) = sync_channel::<Feed>(32);
    let producer = Producer {
        tx,
        stop: Arc::new(AtomicBool::new(false)),
        queue_drops: Arc::new(AtomicU64::new(0)),
        lossless: live.is_none(),
    };
    let (input_name, describe) = match &cfg.input {
        WatchInput::Live(o) => (
            o.interface.clone(),
            format!("interface {} (filter: {})", o.interface, o.filter),
        ),
        WatchInput::Replay { path, pace, .. } => (
            path.display().to_string(),
            format!(
                "replay of {} ({})",
                path.display(),
                match pace {
                    Pace::Fast => "as fast as possible".to_string(),
                    Pace::Speed(s) => format!("{s}x recorded speed"),
                }
            ),
        ),
    };
    eprintln!(
        "corswatch {}: watching {describe}; serving http://{}/metrics, /report, /healthz{}",
        env!("CARGO_PKG_VERSION"),
        cfg.listen,
        match dropped {
            Ok(true) => "; capabilities dropped",
            Ok(false) => "",
            Err(_) => "; could not drop capabilities",
        }
    );
    tracing::info!(input = %describe, listen = %cfg.listen, "started");

    let done = Arc::new(AtomicBool::new(false));
    let producer_thread = {
        let p = producer.clone();
        let input = cfg.input.clone();
        std::thread::Builder::new()
            .name("corswatch-capture".into())
            .spawn(move || {
                match (input, live) {
                    (WatchInput::Replay { path, pace, repeat }, _) => {
                        replay(&path, pace, repeat, &p)
                    }
                    (WatchInput::Live(_), Some(cap)) => crate::source::live::capture(cap, &p),
                    (WatchInput::Live(_), None) => {}
                }
                p.send(Feed::End);
            })
            .map_err(WatchError::Runtime)?
    };
    let processing = {
        let shared = shared.clone();
        let done = done.clone();
        let queue_drops = producer.queue_drops.clone();
        let pairing = cfg.pairing;
        let name = input_name.clone();
        let net_limits = net::Limits {
            keylog: cfg.keylog.clone(),
            ..net::Limits::default()
        };
        std::thread::Builder::new()
            .name("corswatch-process".into())
            .spawn(move || {
                let r = process(rx, &shared, pairing, &name, &queue_drops, net_limits);
                done.store(true, Ordering::Relaxed);
                r
            })
            .map_err(WatchError::Runtime)?
    };

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(WatchError::Runtime)?;
    let exit_when_done = cfg.exit_when_done;
    let serve_result = rt.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener).map_err(WatchError::Runtime)?;
        let app = serve::router(shared.clone());
        let done = done.clone();
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                shutdown_signal(done, exit_when_done).await;
            })
            .await
            .map_err(WatchError::Runtime)
    });

    producer.stop.store(true, Ordering::Relaxed);
    drop(producer);
    let _ = producer_thread.join();
    let summary = processing.join().unwrap_or_else(|_| RunSummary::default());
    serve_result?;
    if let Some(path) = &cfg.report_out {
        std::fs::write(path, shared.report().as_bytes()).map_err(|source| {
            WatchError::ReportOut {
                path: path.clone(),
                source,
            }
        })?;
    }
    eprintln!(
        "corswatch: stopped after {} exchanges ({} cross-origin, {} blocked)",
        summary.exchanges, summary.cross_origin, summary.blocked
    );
    Ok(summary)
}

async fn shutdown_signal(done: Arc<AtomicBool>, exit_when_done: bool) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    let finished = async {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if exit_when_done && done.load(Ordering::Relaxed) {
                // One more scrape interval for whoever is watching the last numbers.
                tokio::time::sleep(Duration::from_millis(200)).await;
                break;
            }
        }
    };
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT: stopping"),
        _ = term => tracing::info!("SIGTERM: stopping"),
        _ = finished => tracing::info!("input ended: stopping"),
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct RunSummary {
    pub exchanges: u64,
    pub cross_origin: u64,
    pub blocked: u64,
}

/// The processing thread: decoder -> analyzer -> metrics and report.
fn process(
    rx: Receiver<Feed>,
    shared: &Shared,
    pairing: PairConfig,
    name: &str,
    queue_drops: &AtomicU64,
    net_limits: net::Limits,
) -> RunSummary {
    let mut decoder = Decoder::new(Arc::from(name), net_limits.clone());
    if let Some(e) = decoder.take_keylog_error() {
        tracing::warn!(problem = %e, "TLS is not decrypted");
    }
    let mut run = RunInfo::default();
    let mut info = InputInfo {
        name: name.to_string(),
        ..InputInfo::default()
    };
    let mut analyzer = Analyzer::new(pairing, Limits::default(), |ev: &Event| {
        shared.metrics.event(ev);
    });
    let mut drops = (0u64, 0u64);
    let mut last_publish = Instant::now();
    // The packet clock, and when it last moved: on a quiet link, time goes on from there.
    let mut clock: Option<(Timestamp, Instant)> = None;
    // Capture health of the decoders of earlier replay rounds.
    let mut finished_health = CaptureHealth::default();
    let publish = |mut agg: Aggregate,
                   decoder: &Decoder,
                   earlier: &CaptureHealth,
                   run: &RunInfo,
                   info: &InputInfo,
                   drops: (u64, u64)| {
        let mut h = decoder.health();
        h.add(earlier);
        shared.metrics.health(&h, decoder.open_flows());
        shared
            .metrics
            .drops(drops.0, drops.1, queue_drops.load(Ordering::Relaxed));
        agg.health = h;
        let mut run = run.clone();
        run.inputs = vec![InputInfo {
            tls_without_keys: decoder.tls_without_keys(),
            ..info.clone()
        }];
        let data = ReportData {
            run: &run,
            aggregate: &agg,
            top: 10,
        };
        if let Ok(json) = report::json::render(&data) {
            shared.set_report(json);
        }
    };
    loop {
        let feed = match rx.recv_timeout(Duration::from_millis(250)) {
            Ok(f) => Some(f),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => None,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Some(Feed::End),
        };
        let mut end = false;
        match feed {
            Some(Feed::Packets(b)) => {
                if let Some(&(ts, ..)) = b.packets.last() {
                    clock = Some((ts, Instant::now()));
                }
                for &(ts, link, s, e, n) in &b.packets {
                    if let Some(bytes) = b.data.get(s..e) {
                        decoder.packet(ts, link, bytes, n);
                    }
                }
                shared
                    .seen
                    .fetch_add(b.packets.len() as u64, Ordering::Relaxed);
                while let Some(ex) = decoder.pop() {
                    info.exchanges += 1;
                    shared.metrics.exchange();
                    analyzer.push(Box::new(ex));
                }
            }
            Some(Feed::Exchange(ex)) => {
                clock = Some((ex.time, Instant::now()));
                shared.seen.fetch_add(1, Ordering::Relaxed);
                info.exchanges += 1;
                shared.metrics.exchange();
                analyzer.push(ex);
            }
            Some(Feed::Drops { kernel, interface }) => drops = (kernel, interface),
            Some(Feed::Format(f)) => info.format = Some(f),
            Some(Feed::Problem(p)) => {
                tracing::warn!(problem = %p, "input problem");
                info.problems += 1;
                run.problem(p);
            }
            Some(Feed::Secrets(s)) => decoder.add_secrets(&s),
            Some(Feed::End) => end = true,
            Some(Feed::Restart) => {
                decoder.finish();
                while let Some(ex) = decoder.pop() {
                    info.exchanges += 1;
                    shared.metrics.exchange();
                    analyzer.push(Box::new(ex));
                }
                finished_health.add(&decoder.health());
                decoder = Decoder::new(Arc::from(name), net_limits.clone());
            }
            None => {
                if let Some((ts, at)) = clock {
                    let now = Timestamp(ts.0.saturating_add(at.elapsed().as_nanos() as i64));
                    analyzer.advance(now);
                }
            }
        }
        if end {
            decoder.finish();
            while let Some(ex) = decoder.pop() {
                info.exchanges += 1;
                shared.metrics.exchange();
                analyzer.push(Box::new(ex));
            }
            break;
        }
        if last_publish.elapsed() >= Duration::from_millis(500) {
            publish(
                analyzer.snapshot(),
                &decoder,
                &finished_health,
                &run,
                &info,
                drops,
            );
            last_publish = Instant::now();
        }
    }
    let agg = analyzer.finish();
    let t = agg.totals;
    publish(agg, &decoder, &finished_health, &run, &info, drops);
    shared.capturing.store(false, Ordering::Relaxed);
    RunSummary {
        exchanges: t.exchanges,
        cross_origin: t.cross_origin,
        blocked: t.blocked,
    }
}

/// Feeds a file through the live path, pacing by its timestamps.
fn replay(path: &std::path::Path, pace: Pace, repeat: u32, p: &Producer) {
    // Each round is shifted past the previous one in time, and starts with fresh connection
    // state: replaying the same timestamps and sequence numbers again would look like one long
    // retransmission.
    let mut span: Option<(Timestamp, Timestamp)> = None;
    for round in 0..repeat.max(1) {
        if p.stopped() {
            return;
        }
        if round > 0 && !p.send(Feed::Restart) {
            return;
        }
        let shift = span.map_or(0, |(a, b)| {
            b.since(a)
                .saturating_add(1_000_000_000)
                .saturating_mul(i64::from(round))
        });
        let mut seen: Option<(Timestamp, Timestamp)> = None;
        let mut note = |ts: Timestamp| {
            seen = Some(match seen {
                None => (ts, ts),
                Some((a, b)) => (a.min(ts), b.max(ts)),
            });
            Timestamp(ts.0.saturating_add(shift))
        };
        let name: Arc<str> = Arc::from(path.display().to_string());
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) => {
                p.send(Feed::Problem(InputError::Io {
                    input: name,
                    message: e.to_string(),
                }));
                return;
            }
        };
        let start = Instant::now();
        let mut first: Option<Timestamp> = None;
        let mut pace_to = |ts: Timestamp| {
            if let Pace::Speed(s) = pace {
                let f = *first.get_or_insert(ts);
                let due = Duration::from_nanos((ts.since(f).max(0) as f64 / s.max(1e-3)) as u64);
                let now = start.elapsed();
                if due > now {
                    std::thread::sleep((due - now).min(Duration::from_secs(5)));
                }
            }
        };
        let reader: Box<dyn std::io::Read + Send> = Box::new(file);
        match source::packets::open(name.clone(), reader) {
            Ok(source::packets::Opened::Packets(mut packets)) => {
                p.send(Feed::Format(packets.format().name()));
                let mut batch = Batch::with_capacity(256 * 1024);
                let offset = packets_offset(round);
                let mut alive = true;
                loop {
                    let step = packets.read(&mut |ts, link, data, n| {
                        let ts = note(ts);
                        pace_to(ts);
                        batch.push(ts, link, data, n + offset);
                        if batch.data.len() >= 240 * 1024 || pace != Pace::Fast {
                            let full =
                                std::mem::replace(&mut batch, Batch::with_capacity(256 * 1024));
                            alive = p.send(Feed::Packets(full)) && !p.stopped();
                        }
                        alive
                    });
                    while let Some(s) = packets.secrets.pop_front() {
                        p.send(Feed::Secrets(s));
                    }
                    while let Some(e) = packets.problems.pop_front() {
                        p.send(Feed::Problem(e));
                    }
                    if !alive {
                        return;
                    }
                    if step == source::packets::Step::Ended {
                        break;
                    }
                }
                if !batch.packets.is_empty() {
                    p.send(Feed::Packets(batch));
                }
            }
            Ok(source::packets::Opened::Other(src)) => {
                // HAR: exchanges, already decoded.
                p.send(Feed::Format(src.format().name()));
                for item in src {
                    if p.stopped() {
                        return;
                    }
                    match item {
                        SourceItem::Exchange(mut ex) => {
                            ex.time = note(ex.time);
                            pace_to(ex.time);
                            if !p.send(Feed::Exchange(ex)) {
                                return;
                            }
                        }
                        SourceItem::Problem(e) => {
                            p.send(Feed::Problem(e));
                        }
                    }
                }
            }
            Err(e) => {
                p.send(Feed::Problem(e));
                return;
            }
        }
        if span.is_none() {
            span = seen;
        }
    }
}

/// Packet numbers keep growing across replay rounds, so that locations stay distinct.
fn packets_offset(round: u32) -> u64 {
    u64::from(round) << 40
}
