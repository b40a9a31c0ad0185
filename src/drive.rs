//! The one driver, for `analyze` and `watch` alike: whatever a source sends (packets, HAR
//! exchanges, problems) goes through the decoder into the pipeline, and the driver keeps the
//! books of the run (inputs, problems, capture health). `analyze` reads its inputs in the
//! driver's thread; `watch` delivers what its capture thread sent
//! ([`crate::source::channel::Feed`]).
//!
//! With two threads or more, decoding and the pipeline run apart: the driver forwards each
//! exchange in the order the decoder completed it ([`Forward`]), and the [`Pipeline`] matches
//! hops, pairs, judges and counts them in that order in another thread, as one thread does, so
//! the verdicts, events and reports are the same as with one. The two halves take about the
//! same time (on the 20 MB generated capture under callgrind: 160 M instructions reading and
//! decoding, 170 M in the pipeline).

use crate::aggregate::{Aggregate, Limits};
use crate::cors::Detail;
use crate::event::Event;
use crate::model::{CaptureHealth, Exchange, Timestamp};
use crate::net::{self, Decoder};
use crate::pair::PairConfig;
use crate::pipeline::Analyzer;
use crate::report::{InputInfo, RunInfo};
use crate::source::progress::ProgressReader;
use crate::source::{self, Format, InputError, Packet, Sender};
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::SyncSender;
use std::sync::mpsc::sync_channel;

/// How the pipeline is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Preflight pairing windows and caps.
    pub pairing: PairConfig,
    /// Caps of the aggregate.
    pub limits: Limits,
    /// Caps of the decoder.
    pub net: net::Limits,
    /// 1: everything in one thread; 2 or more: reading and decoding in one, the pipeline in
    /// another.
    pub threads: usize,
    /// The sink wants the event of every CORS exchange, clean passes included (events
    /// output, metrics); otherwise those are only counted.
    pub every_event: bool,
    /// The sink shows each event's text (messages, evidence): events output, the event
    /// stream; metrics alone count and label events without reading it.
    pub event_text: bool,
    /// How the two hops of one request (browser→proxy, proxy→app) are recognised and judged.
    pub hops: crate::hop::HopConfig,
    /// The browser engine the user stated (`--browser`); `None`: each recording's producer
    /// decides, Chromium for packet captures.
    pub engine: Option<crate::cors::Engine>,
    /// What-if, drift and suggestion (`--policy`, `--declared`, `policy suggest`).
    pub policy: crate::policy::stage::PolicyConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            pairing: PairConfig::default(),
            limits: Limits::default(),
            net: net::Limits::default(),
            threads: 1,
            every_event: true,
            event_text: true,
            hops: crate::hop::HopConfig::default(),
            engine: None,
            policy: crate::policy::stage::PolicyConfig::default(),
        }
    }
}

/// The cores this machine offers (at least 1).
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// What the driver feeds exchanges into: the pipeline, or (tests, benchmarks) a collector.
pub trait Consumer {
    /// One exchange, in the order the decoder completed it.
    fn exchange(&mut self, exchange: Box<Exchange>);
    /// The consumer runs in a thread of its own (the run has two threads or more).
    fn parallel(&self) -> bool {
        false
    }
}

/// A consumer that is the pipeline, or stands for it: it also learns the clock of a quiet link
/// and the books of the run.
pub trait Downstream: Consumer {
    /// Time passed without an exchange.
    fn advance(&mut self, now: Timestamp);
    /// The driver's books, at this point of the stream.
    fn books(&mut self, books: Books);
    /// Hands over whatever is batched.
    fn flush(&mut self) {}
}

/// The driver's books at one point: what was read, the capture's health, the flows open and
/// the drops a live capture reported.
#[derive(Debug, Clone, Default)]
pub struct Books {
    /// Inputs (the current one included) and problems.
    pub run: RunInfo,
    /// Capture health of every decoder so far.
    pub health: CaptureHealth,
    /// TCP flows open now.
    pub open_flows: usize,
    /// Cumulative (kernel, interface) drops of a live capture.
    pub drops: (u64, u64),
}

impl Consumer for Vec<Exchange> {
    fn exchange(&mut self, exchange: Box<Exchange>) {
        self.push(*exchange);
    }
}

/// A run's result: the aggregate (capture health included) and what was read.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The counts, capture health included.
    pub aggregate: Aggregate,
    /// The inputs read and their problems.
    pub run: RunInfo,
}

/// Problems with how the driver was asked to run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriveError {
    /// Standard input can be read once.
    #[error("`-` (stdin) given twice")]
    StdinTwice,
}

/// Feeds sources into a [`Consumer`] (normally the [`Analyzer`]).
pub struct Driver<C> {
    consumer: C,
    net: net::Limits,
    /// The decoder of the current packet input (one per input; a replay's rounds share it).
    decoder: Option<Decoder>,
    /// Capture health of the decoders already finished.
    health: CaptureHealth,
    run: RunInfo,
    input: Option<(Arc<str>, InputInfo)>,
    /// Cumulative (kernel, interface) drops of a live capture.
    drops: (u64, u64),
    /// Threads the sources may use beside this one (a HAR's scanner), when the consumer
    /// runs in this thread.
    threads: usize,
}

impl<'s> Driver<Pipeline<'s>> {
    /// A driver into a new pipeline in this thread, whose events go to `sink`.
    pub fn new(cfg: &Config, sink: impl FnMut(&Event) + 's) -> Self {
        Driver::with_consumer(cfg.net.clone(), Pipeline::new(cfg, sink))
    }

    /// Ends the current input, settles everything held, and returns the results.
    pub fn finish(mut self) -> Outcome {
        self.end(None);
        self.publish();
        self.consumer.finish()
    }
}

impl<D: Downstream> Driver<D> {
    /// Moves the clock forward on a quiet link, so that lone preflights settle in time.
    pub fn advance(&mut self, now: Timestamp) {
        self.consumer.advance(now);
    }

    /// Sends the books downstream, after every exchange completed so far.
    pub fn publish(&mut self) {
        let books = self.books();
        self.consumer.flush();
        self.consumer.books(books);
    }
}

impl<C: Consumer> Driver<C> {
    /// A driver into any consumer (decoding with `net` limits).
    pub fn with_consumer(net: net::Limits, consumer: C) -> Self {
        Driver {
            consumer,
            net,
            decoder: None,
            health: CaptureHealth::default(),
            run: RunInfo::default(),
            input: None,
            drops: (0, 0),
            threads: 1,
        }
    }

    /// Starts an input: what is sent next comes from it. Ends the previous one.
    pub fn begin(&mut self, name: &str) {
        self.end(None);
        let info = InputInfo {
            name: name.to_owned(),
            ..InputInfo::default()
        };
        self.input = Some((Arc::from(name), info));
    }

    /// Ends the current input (`bytes` read, when known): its connections end and its
    /// exchanges are flushed.
    pub fn end(&mut self, bytes: Option<u64>) {
        self.end_decoder();
        if let Some((_, mut info)) = self.input.take() {
            if let Some(b) = bytes {
                info.bytes = b;
            }
            self.run.inputs.push(info);
        }
    }

    /// Reads one input to its end in this thread.
    pub fn read(&mut self, name: &str, reader: Box<dyn Read + Send>, size: Option<u64>) {
        self.begin(name);
        let reader = ProgressReader::new(reader, size, name);
        let bytes = reader.counter();
        source::read(Arc::from(name), Box::new(reader), self);
        self.end(Some(bytes.load(Ordering::Relaxed)));
    }

    /// Reads every input in turn (`-` is standard input, once); an input that cannot be opened
    /// is a problem of the run, and the others are still read.
    pub fn read_paths(&mut self, paths: &[PathBuf]) -> Result<(), DriveError> {
        if paths.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
            return Err(DriveError::StdinTwice);
        }
        for path in paths {
            let name = path.to_string_lossy();
            if path.as_os_str() == "-" {
                self.read(&name, Box::new(std::io::stdin()), None);
                continue;
            }
            match std::fs::File::open(path) {
                Ok(f) => {
                    let size = f.metadata().ok().map(|m| m.len());
                    self.read(&name, Box::new(f), size);
                }
                Err(e) => {
                    self.begin(&name);
                    self.problem(InputError::Io {
                        input: Arc::from(name.as_ref()),
                        message: e.to_string(),
                    });
                    self.end(None);
                }
            }
        }
        Ok(())
    }

    /// What was read so far: inputs finished, problems.
    pub fn run(&self) -> &RunInfo {
        &self.run
    }

    /// The books now (the current input included).
    pub fn books(&self) -> Books {
        let mut run = self.run.clone();
        if let Some((_, info)) = &self.input {
            let mut info = info.clone();
            if let Some(d) = &self.decoder {
                info.tls_without_keys = d.tls_without_keys();
            }
            run.inputs.push(info);
        }
        Books {
            run,
            health: self.health(),
            open_flows: self.open_flows(),
            drops: self.drops,
        }
    }

    /// The consumer.
    pub fn consumer_mut(&mut self) -> &mut C {
        &mut self.consumer
    }

    /// Capture health of every decoder so far.
    pub fn health(&self) -> CaptureHealth {
        let mut h = self.health;
        if let Some(d) = &self.decoder {
            h.add(&d.health());
        }
        h
    }

    /// TCP flows open in the current decoder.
    pub fn open_flows(&self) -> usize {
        self.decoder.as_ref().map_or(0, Decoder::open_flows)
    }

    /// Cumulative (kernel, interface) drops reported by a live capture.
    pub fn capture_drops(&self) -> (u64, u64) {
        self.drops
    }

    /// The consumer, for a caller that collected into it.
    pub fn into_consumer(mut self) -> C {
        self.end(None);
        self.consumer
    }

    /// The decoder of the current input, made on its first packet (a key log that cannot be
    /// read is a problem of the input).
    fn decoder(&mut self) -> &mut Decoder {
        let d = match self.decoder.take() {
            Some(d) => d,
            None => {
                let name = self
                    .input
                    .as_ref()
                    .map_or_else(|| Arc::from(""), |i| i.0.clone());
                let mut d = Decoder::new(name.clone(), self.net.clone());
                if let Some(message) = d.take_keylog_error() {
                    self.problem(InputError::Capture {
                        input: name,
                        message,
                    });
                }
                d
            }
        };
        self.decoder.insert(d)
    }

    fn end_decoder(&mut self) {
        if let Some(mut d) = self.decoder.take() {
            d.finish();
            drain(&mut d, &mut self.input, &mut self.consumer);
            self.health.add(&d.health());
            if let Some((_, info)) = self.input.as_mut() {
                info.tls_without_keys = d.tls_without_keys();
            }
        }
    }
}

/// Hands every exchange the decoder completed to the consumer.
fn drain<C: Consumer>(
    d: &mut Decoder,
    input: &mut Option<(Arc<str>, InputInfo)>,
    consumer: &mut C,
) {
    while let Some(ex) = d.pop() {
        if let Some((_, info)) = input.as_mut() {
            info.exchanges += 1;
        }
        consumer.exchange(Box::new(ex));
    }
}

impl<C: Consumer> Sender for Driver<C> {
    fn threads(&self) -> usize {
        if self.consumer.parallel() {
            2
        } else {
            self.threads
        }
    }

    fn format(&mut self, format: Format) {
        if let Some((_, info)) = self.input.as_mut() {
            info.format = Some(format.name());
        }
    }

    fn packet(&mut self, p: Packet<'_>) -> bool {
        if self.decoder.is_none() {
            self.decoder();
        }
        if let Some(d) = self.decoder.as_mut() {
            d.packet(p.time, p.link, p.data, p.number);
            drain(d, &mut self.input, &mut self.consumer);
        }
        true
    }

    fn secrets(&mut self, key_log: &[u8]) {
        self.decoder().add_secrets(key_log);
    }

    fn exchange(&mut self, exchange: Box<Exchange>) -> bool {
        if let Some((_, info)) = self.input.as_mut() {
            info.exchanges += 1;
        }
        self.health.truncated_values = self
            .health
            .truncated_values
            .saturating_add(exchange.hints.truncated.len() as u64);
        self.consumer.exchange(exchange);
        true
    }

    fn problem(&mut self, problem: InputError) {
        tracing::warn!(problem = %problem, "input problem");
        if let Some((_, info)) = self.input.as_mut() {
            info.problems += 1;
        }
        self.run.problem(problem);
    }

    fn drops(&mut self, kernel: u64, interface: u64) {
        self.drops = (kernel, interface);
    }

    fn restart(&mut self) {
        if let Some(d) = self.decoder.as_mut() {
            d.next_round();
        }
    }
}

/// What a split driver sends to its pipeline.
pub enum Msg {
    /// Exchanges, in the order the decoder completed them.
    Exchanges(Vec<Box<Exchange>>),
    /// [`Downstream::advance`].
    Advance(Timestamp),
    /// [`Downstream::books`].
    Books(Box<Books>),
}

/// Exchanges batched per message: few enough sends to cost nothing per exchange, small enough
/// to keep memory and latency low.
const FORWARD_BATCH: usize = 64;

/// Messages in flight to the pipeline thread: 512 exchanges at most. The agent's RSS follows
/// how full this queue happens to be: over the 600-s soak, 16 messages of 256 (and huge pages)
/// made an 18.9 % spread, 8 full messages of 128 9.2 %, of 64 6.3 %. Less slack can cost a
/// replay that oversubscribes two cores 10 to 20 %; full messages (`watch` flushes only when it
/// has caught up) win some back.
pub const FORWARD_DEPTH: usize = 8;

/// The driver's end of a split run: forwards exchanges in batches to the [`Pipeline`]'s
/// thread, which runs every stage from hop recognition on, as one thread does. Reading,
/// decoding and HTTP framing are the larger half of a capture's work: the pipeline thread
/// has the room for the hop matcher (measured in issue 11), and the split stays invisible to
/// every stage.
pub struct Forward {
    tx: SyncSender<Msg>,
    #[allow(clippy::vec_box)] // boxed as the pipeline holds them
    batch: Vec<Box<Exchange>>,
}

impl Forward {
    /// Sends into `tx`.
    pub fn new(tx: SyncSender<Msg>) -> Self {
        Forward {
            tx,
            batch: Vec::with_capacity(FORWARD_BATCH),
        }
    }

    fn send(&mut self, m: Msg) {
        // The pipeline thread ends only after this side: a failed send has no one to tell.
        let _ = self.tx.send(m);
    }
}

impl Consumer for Forward {
    fn parallel(&self) -> bool {
        true
    }

    fn exchange(&mut self, exchange: Box<Exchange>) {
        self.batch.push(exchange);
        if self.batch.len() >= FORWARD_BATCH {
            self.flush();
        }
    }
}

impl Downstream for Forward {
    fn advance(&mut self, now: Timestamp) {
        self.flush();
        self.send(Msg::Advance(now));
    }

    fn books(&mut self, books: Books) {
        self.flush();
        self.send(Msg::Books(Box::new(books)));
    }

    fn flush(&mut self) {
        if !self.batch.is_empty() {
            let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(FORWARD_BATCH));
            self.send(Msg::Exchanges(batch));
        }
    }
}

impl Drop for Forward {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Called with the results so far (and the books they came with) each time the pipeline
/// learns new books: the agent publishes its metrics and report from it.
pub type OnBooks<'s> = Box<dyn FnMut(&mut Outcome, &Books) + 's>;

/// The pipeline, with the books the driver last sent.
pub struct Pipeline<'s> {
    analyzer: Analyzer<'s>,
    books: Books,
    on_books: Option<OnBooks<'s>>,
}

impl<'s> Pipeline<'s> {
    /// A pipeline whose events go to `sink`.
    pub fn new(cfg: &Config, sink: impl FnMut(&Event) + 's) -> Self {
        Pipeline {
            analyzer: Analyzer::new(cfg.pairing, cfg.limits, cfg.every_event, sink)
                .with_detail(if cfg.event_text {
                    Detail::Full
                } else {
                    Detail::Counts
                })
                .with_hops(cfg.hops)
                .with_engine(cfg.engine)
                .with_policy(cfg.policy.clone()),
            books: Books::default(),
            on_books: None,
        }
    }

    /// Calls `f` with the results so far whenever new books arrive.
    pub fn on_books(mut self, f: impl FnMut(&mut Outcome, &Books) + 's) -> Self {
        self.on_books = Some(Box::new(f));
        self
    }

    /// Applies what a [`Forward`] sent.
    pub fn apply(&mut self, m: Msg) {
        match m {
            Msg::Exchanges(batch) => {
                // Written by the other thread, so not in this core's cache: the batch's own
                // bytes asked for at once (a few KiB), each one's heads while the one before
                // is judged.
                for ex in &batch {
                    ex.prefetch_self();
                }
                let mut batch = batch.into_iter().peekable();
                while let Some(ex) = batch.next() {
                    if let Some(next) = batch.peek() {
                        next.prefetch();
                    }
                    self.analyzer.push(ex);
                }
            }
            Msg::Advance(now) => self.analyzer.advance(now),
            Msg::Books(b) => self.books(*b),
        }
    }

    /// The results so far, for a running report.
    pub fn snapshot(&self) -> Outcome {
        let mut aggregate = self.analyzer.snapshot();
        aggregate.health = self.books.health;
        aggregate.book_evictions();
        Outcome {
            aggregate,
            run: self.books.run.clone(),
        }
    }

    /// Settles everything held and returns the results (with the last books).
    pub fn finish(self) -> Outcome {
        let mut aggregate = self.analyzer.finish();
        aggregate.health = self.books.health;
        aggregate.book_evictions();
        Outcome {
            aggregate,
            run: self.books.run,
        }
    }

    /// The last books.
    pub fn last_books(&self) -> &Books {
        &self.books
    }
}

impl Consumer for Pipeline<'_> {
    fn exchange(&mut self, exchange: Box<Exchange>) {
        self.analyzer.push(exchange);
    }
}

impl Downstream for Pipeline<'_> {
    fn advance(&mut self, now: Timestamp) {
        self.analyzer.advance(now);
    }

    fn books(&mut self, books: Books) {
        self.books = books;
        if self.on_books.is_some() {
            let mut o = self.snapshot();
            if let Some(f) = self.on_books.as_mut() {
                f(&mut o, &self.books);
            }
        }
    }
}

/// Every path is a regular file that starts as a HAR does (not compressed). Only regular
/// files are sniffed: a pipe (`<(zcat …)`) or standard input would lose what was read.
fn all_har(paths: &[PathBuf]) -> bool {
    paths.iter().all(|p| {
        if p.as_os_str() == "-" || !std::fs::metadata(p).is_ok_and(|m| m.is_file()) {
            return false;
        }
        let mut start = [0u8; 512];
        let n = std::fs::File::open(p)
            .and_then(|mut f| f.read(&mut start))
            .unwrap_or(0);
        source::Format::detect(&start[..n]) == Some(source::Format::Har)
    })
}

/// `analyze`: reads every input in turn (`-` is standard input, once) into one pipeline, on
/// `cfg.threads` threads, and returns the results.
pub fn analyze(
    cfg: &Config,
    paths: &[PathBuf],
    sink: impl FnMut(&Event),
) -> Result<Outcome, DriveError> {
    if cfg.threads <= 1 || all_har(paths) {
        // HARs only: the scanner takes a thread of its own and the pipeline stays here, beside
        // the conversion. Two busy threads on two cores; a third (the split below) made three
        // share them, which cost more than it gave.
        let mut d = Driver::new(cfg, sink);
        d.threads = cfg.threads;
        d.read_paths(paths)?;
        return Ok(d.finish());
    }
    let (tx, rx) = sync_channel(FORWARD_DEPTH);
    let net = cfg.net.clone();
    std::thread::scope(|s| {
        let reader = s.spawn(move || {
            let mut d = Driver::with_consumer(net, Forward::new(tx));
            let r = d.read_paths(paths);
            d.end(None);
            d.publish();
            r
        });
        let mut p = Pipeline::new(cfg, sink);
        for m in rx {
            p.apply(m);
        }
        let outcome = p.finish();
        match reader.join() {
            Ok(r) => r.map(|()| outcome),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}
