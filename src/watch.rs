//! `corswatch watch`: the agent. A capture thread (libpcap, or a file replayed with its
//! timestamps) sends into a channel; a processing thread delivers it to the same driver and
//! pipeline as `analyze`, and publishes the metrics and the running report; a small tokio
//! runtime serves them. Stops cleanly on SIGINT/SIGTERM.

use crate::drive::{self, Books, Downstream, Driver, Forward, Outcome, Pipeline};
use crate::eventlog::{EventLog, EventLogConfig, Target};
use crate::metrics::{Metrics, MetricsConfig};
use crate::model::Timestamp;
use crate::pair::PairConfig;
use crate::report::{self, ReportData};
use crate::serve::{self, Shared};
use crate::source::channel::{self, Feed};
use crate::source::live::{self, LiveError, LiveOptions};
use crate::source::replay::{self, Pace};
use crate::web;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// What the agent watches.
#[derive(Debug, Clone)]
pub enum WatchInput {
    /// A live interface (needs the `live` feature).
    Live(LiveOptions),
    /// A pcap/pcapng or HAR file fed through the live path with its timestamps.
    Replay {
        /// The file.
        path: PathBuf,
        /// How fast.
        pace: Pace,
        /// Rounds.
        repeat: u32,
    },
}

/// The agent's configuration.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    /// What to watch.
    pub input: WatchInput,
    /// Address of `/metrics`, `/report`, `/healthz`.
    pub listen: SocketAddr,
    /// Label bounds.
    pub metrics: MetricsConfig,
    /// Pairing windows.
    pub pairing: PairConfig,
    /// Hop recognition, and whether the proxy in front is declared to set the CORS headers.
    pub hops: crate::hop::HopConfig,
    /// The declared CORS policy to compare the server's answers with (`--declared`).
    pub policy: crate::policy::stage::PolicyConfig,
    /// Threads for decoding and the pipeline (1: one thread for both).
    pub threads: usize,
    /// NSS key log to decrypt TLS with, followed as it grows (net/tls reads it).
    pub keylog: Option<PathBuf>,
    /// Where the final JSON report goes when the agent stops.
    pub report_out: Option<PathBuf>,
    /// Stop when a replay ends (instead of serving until a signal).
    pub exit_when_done: bool,
    /// The event stream (`--events`), if any.
    pub events: Option<EventLogConfig>,
    /// No start and stop lines on stderr.
    pub quiet: bool,
    /// TLS, auth, limits and routes of the endpoints (`--web.config.file`).
    pub web: crate::web::WebOptions,
    /// The memory budget's caps (`--max-memory`), for every stage (the metrics' series cap is
    /// in `metrics`).
    pub budget: crate::budget::Budget,
}

/// Why the agent could not run.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The listen address is taken or not allowed.
    #[error("cannot listen on {addr}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The capture could not be opened.
    #[error(transparent)]
    Capture(#[from] LiveError),
    /// A thread or the runtime could not start.
    #[error("cannot start: {0}")]
    Runtime(std::io::Error),
    /// The events file could not be opened.
    #[error("cannot open the events file {path}")]
    Events {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The final report could not be written.
    #[error("cannot write the report to {path}")]
    ReportOut {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Runs the agent until a signal (or the end of a replay with `exit_when_done`).
pub fn run(cfg: WatchConfig) -> Result<RunSummary, WatchError> {
    // Open the capture first, then give up privileges, then start threads: capabilities are
    // per thread on Linux, so every thread started later inherits the dropped set.
    let live = match &cfg.input {
        WatchInput::Live(opts) => Some(live::open(opts)?),
        WatchInput::Replay { .. } => None,
    };
    // The events file too, while the agent may still write where it was told to.
    let events = match &cfg.events {
        Some(e) => Some(Arc::new(EventLog::open(e.clone()).map_err(|source| {
            WatchError::Events {
                path: match &e.target {
                    Target::File(p) => p.clone(),
                    Target::Stdout => PathBuf::from("-"),
                },
                source,
            }
        })?)),
        None => None,
    };
    let dropped = live::drop_privileges();
    let listener =
        std::net::TcpListener::bind(cfg.listen).map_err(|source| WatchError::Listen {
            addr: cfg.listen,
            source,
        })?;
    listener
        .set_nonblocking(true)
        .map_err(WatchError::Runtime)?;

    let shared = Arc::new(Shared::new(Metrics::new(&cfg.metrics)));
    let web_config = cfg.web.config.clone().unwrap_or_default();
    let (scheme, security) = match &cfg.web.config {
        Some(w) => (
            if w.tls.is_some() { "https" } else { "http" },
            format!(" ({} from {})", w.describe(), w.path.display()),
        ),
        None => ("http", String::new()),
    };
    let current = Arc::new(web::Current::new(web_config));
    let guard = web::Guard::new(
        current.clone(),
        shared.metrics.clone(),
        cfg.web.request_timeout,
    );
    // Batches of 256 KiB: a live capture gets slack for bursts, a sixteenth of the memory
    // budget (16 at 64 MiB, at most 32), in its reserve beside the kernel buffer. A replay
    // waits instead, so 4 are enough.
    let depth = if live.is_some() {
        cfg.budget.capture_queue_batches()
    } else {
        4
    };
    let (producer, rx) = channel::channel(depth, live.is_none());
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
    // The runtime first, so that SIGHUP is caught (not fatal) before anything runs.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(WatchError::Runtime)?;
    let hangup = {
        let _in_runtime = rt.enter();
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .map_err(WatchError::Runtime)?
    };
    if !cfg.quiet {
        eprintln!(
            "corswatch {}: watching {describe}; serving {scheme}://{}/metrics{}, /healthz{security}{}{}",
            env!("CARGO_PKG_VERSION"),
            cfg.listen,
            if cfg.web.report_endpoint {
                ", /report"
            } else {
                ""
            },
            match dropped {
                Ok(true) => "; capabilities dropped",
                Ok(false) => "",
                Err(_) => "; could not drop capabilities",
            },
            match events.as_ref().map(|e| e.target()) {
                Some(Target::File(p)) =>
                    format!("; events to {} (reopened on SIGHUP)", p.display()),
                Some(Target::Stdout) => "; events to stdout".to_string(),
                None => String::new(),
            }
        );
    }
    tracing::info!(input = %describe, listen = %cfg.listen, "started");

    let done = Arc::new(AtomicBool::new(false));
    let producer_thread = {
        let mut tx = producer.clone();
        let input = cfg.input.clone();
        std::thread::Builder::new()
            .name("corswatch-capture".into())
            .spawn(move || {
                match (input, live) {
                    (WatchInput::Replay { path, pace, repeat }, _) => {
                        replay::replay(&path, pace, repeat, &mut tx)
                    }
                    (WatchInput::Live(_), Some(cap)) => {
                        let stop = tx.clone();
                        live::capture(cap, &mut tx, &|| stop.stopped());
                    }
                    (WatchInput::Live(_), None) => {}
                }
                tx.end();
            })
            .map_err(WatchError::Runtime)?
    };
    let processing = {
        let shared = shared.clone();
        let done = done.clone();
        let queue_drops = producer.queue_drops();
        let mut drive = drive::Config {
            pairing: cfg.pairing,
            threads: cfg.threads,
            net: crate::net::Limits {
                keylog: cfg.keylog.clone(),
                ..crate::net::Limits::default()
            },
            hops: cfg.hops,
            policy: cfg.policy.clone(),
            // Metrics count and label events; only the event stream shows their text.
            event_text: cfg.events.is_some(),
            ..drive::Config::default()
        };
        cfg.budget.apply(&mut drive);
        let name = input_name.clone();
        let events = events.clone();
        std::thread::Builder::new()
            .name("corswatch-process".into())
            .spawn(move || {
                let r = process(rx, &shared, &drive, &name, &queue_drops, events);
                done.store(true, Ordering::Relaxed);
                r
            })
            .map_err(WatchError::Runtime)?
    };

    let exit_when_done = cfg.exit_when_done;
    let serve_result = rt.block_on(async {
        tokio::spawn(reopen_on_hangup(hangup, events.clone(), current));
        let listener = tokio::net::TcpListener::from_std(listener).map_err(WatchError::Runtime)?;
        let app = web::guard(
            serve::router(shared.clone(), cfg.web.report_endpoint),
            guard.clone(),
        );
        let done = done.clone();
        web::serve(
            listener,
            app,
            guard,
            cfg.web.limits,
            shutdown_signal(done, exit_when_done),
        )
        .await
        .map_err(WatchError::Runtime)
    });

    producer.stop();
    drop(producer);
    let _ = producer_thread.join();
    let summary = processing.join().unwrap_or_else(|_| RunSummary::default());
    serve_result?;
    if let Some(path) = &cfg.report_out {
        std::fs::write(path, shared.report()).map_err(|source| WatchError::ReportOut {
            path: path.clone(),
            source,
        })?;
    }
    if !cfg.quiet {
        eprintln!(
            "corswatch: stopped after {} exchanges ({} cross-origin, {} blocked)",
            summary.exchanges, summary.cross_origin, summary.blocked
        );
    }
    Ok(summary)
}

/// SIGHUP: reopen the events file (logrotate moved it away) and reread the web config (a
/// renewed certificate). Without either there is nothing to do, and the signal is only logged
/// instead of ending the agent.
async fn reopen_on_hangup(
    mut hangup: tokio::signal::unix::Signal,
    events: Option<Arc<EventLog>>,
    web: Arc<web::Current>,
) {
    while hangup.recv().await.is_some() {
        let path = web.get().path.clone();
        if !path.as_os_str().is_empty() {
            match web.reload() {
                Ok(()) => tracing::info!(file = %path.display(), "SIGHUP: web config reread"),
                Err(e) => tracing::error!(error = %e, "SIGHUP: web config kept as it was"),
            }
        }
        match &events {
            Some(log) => match log.reopen() {
                Ok(()) => tracing::info!("SIGHUP: events file reopened"),
                Err(e) => tracing::error!(error = %e, "SIGHUP: cannot reopen the events file"),
            },
            None => tracing::debug!("SIGHUP: no events file to reopen"),
        }
    }
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

/// What the agent saw, for its last log line.
#[derive(Debug, Default, Clone, Copy)]
pub struct RunSummary {
    /// Exchanges read.
    pub exchanges: u64,
    /// CORS exchanges.
    pub cross_origin: u64,
    /// Blocked requests.
    pub blocked: u64,
}

/// The processing thread: channel -> driver -> pipeline -> metrics and the running report.
/// With two threads or more the pipeline gets a thread of its own.
fn process(
    rx: Receiver<Feed>,
    shared: &Arc<Shared>,
    cfg: &drive::Config,
    name: &str,
    queue_drops: &Arc<AtomicU64>,
    events: Option<Arc<EventLog>>,
) -> RunSummary {
    let inline = |rx: &Receiver<Feed>| {
        let p = pipeline(cfg, shared.clone(), queue_drops.clone(), events.clone());
        let mut driver = Driver::with_consumer(cfg.net.clone(), p);
        intake(rx, &mut driver, name, shared);
        driver.into_consumer()
    };
    let outcome = if cfg.threads <= 1 {
        finish(inline(&rx), shared, queue_drops)
    } else {
        // As `analyze`: a few hundred exchanges in flight (memory in the budget's reserve).
        let (tx, to_pipeline) = std::sync::mpsc::sync_channel(drive::FORWARD_DEPTH);
        let (c, s, q) = (cfg.clone(), shared.clone(), queue_drops.clone());
        let e = events.clone();
        let thread = std::thread::Builder::new()
            .name("corswatch-pipeline".into())
            .spawn(move || {
                let mut p = pipeline(&c, s.clone(), q.clone(), e);
                for m in to_pipeline {
                    p.apply(m);
                }
                finish(p, &s, &q)
            });
        match thread {
            Ok(thread) => {
                let mut driver = Driver::with_consumer(cfg.net.clone(), Forward::new(tx));
                intake(&rx, &mut driver, name, shared);
                drop(driver);
                match thread.join() {
                    Ok(outcome) => outcome,
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot start the pipeline thread: running in one");
                finish(inline(&rx), shared, queue_drops)
            }
        }
    };
    shared.capturing.store(false, Ordering::Relaxed);
    let t = outcome.aggregate.totals;
    RunSummary {
        exchanges: t.exchanges,
        cross_origin: t.cross_origin,
        blocked: t.blocked,
    }
}

/// Settles the pipeline and publishes the final results.
fn finish(p: Pipeline<'_>, shared: &Shared, queue_drops: &AtomicU64) -> Outcome {
    let books = p.last_books().clone();
    let mut outcome = p.finish();
    publish(shared, queue_drops, &mut outcome, &books);
    outcome
}

/// A pipeline that counts events in the metrics, writes them to the event stream (if any),
/// and publishes with every book.
fn pipeline(
    cfg: &drive::Config,
    shared: Arc<Shared>,
    queue_drops: Arc<AtomicU64>,
    log: Option<Arc<EventLog>>,
) -> Pipeline<'static> {
    let events = shared.clone();
    Pipeline::new(cfg, move |ev| {
        events.metrics.event(ev);
        if let Some(log) = &log {
            events.metrics.event_line(log.write(ev));
        }
    })
    .on_books(move |o, b| publish(&shared, &queue_drops, o, b))
}

/// Delivers what the capture thread sends to the driver, moves the clock on a quiet link, and
/// publishes the books twice a second, until the capture ends.
fn intake<D: Downstream>(rx: &Receiver<Feed>, driver: &mut Driver<D>, name: &str, shared: &Shared) {
    driver.begin(name);
    let mut last_publish = Instant::now();
    // The packet clock, and when it last moved: on a quiet link, time goes on from there.
    let mut clock: Option<(Timestamp, Instant)> = None;
    loop {
        // Exchanges go on to the pipeline in full batches while the capture is ahead, and at
        // once when it has nothing more: fewer, fuller messages, and no wait on a quiet link.
        let next = rx.try_recv().or_else(|_| {
            driver.consumer_mut().flush();
            rx.recv_timeout(Duration::from_millis(250))
        });
        match next {
            Ok(feed) => {
                let (seen, time) = match &feed {
                    Feed::Packets(b) => (b.len() as u64, b.last_time()),
                    Feed::Exchange(ex) => (1, Some(ex.time)),
                    _ => (0, None),
                };
                shared.seen.fetch_add(seen, Ordering::Relaxed);
                if let Some(t) = time {
                    clock = Some((t, Instant::now()));
                }
                if !feed.deliver(driver) {
                    break;
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                if let Some((ts, at)) = clock {
                    driver.advance(Timestamp(
                        ts.0.saturating_add(at.elapsed().as_nanos() as i64),
                    ));
                }
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if last_publish.elapsed() >= Duration::from_millis(500) {
            driver.publish();
            last_publish = Instant::now();
        }
    }
    driver.end(None);
    driver.publish();
}

/// Brings the metrics and the running report up to `o`.
fn publish(shared: &Shared, queue_drops: &AtomicU64, o: &mut Outcome, books: &Books) {
    // Label sets are the one part of the budget that lives in the metrics, not the pipeline.
    o.aggregate.health.evictions.labels = shared.metrics.label_evictions();
    shared.metrics.totals(&o.aggregate.totals);
    shared.metrics.hops(&o.aggregate);
    shared.metrics.health(&o.aggregate.health, books.open_flows);
    shared.metrics.drops(
        books.drops.0,
        books.drops.1,
        queue_drops.load(Ordering::Relaxed),
    );
    let data = ReportData {
        run: &o.run,
        aggregate: &o.aggregate,
        top: 10,
    };
    if let Ok(json) = report::json::render(&data) {
        shared.set_report(json);
    }
}
