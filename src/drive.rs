//! The one driver, for `analyze` and `watch` alike: whatever a source sends (packets, HAR
//! exchanges, problems) goes through the decoder into the pipeline, and the driver keeps the
//! books of the run (inputs, problems, capture health). `analyze` reads its inputs in this
//! thread; `watch` delivers what its capture thread sent ([`crate::source::channel::Feed`]).

use crate::aggregate::{Aggregate, Limits};
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

/// How the pipeline is set up.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Preflight pairing windows and caps.
    pub pairing: PairConfig,
    /// Caps of the aggregate.
    pub limits: Limits,
    /// Caps of the decoder.
    pub net: net::Limits,
}

/// What the driver feeds exchanges into: the pipeline, or (tests, benchmarks) a collector.
pub trait Consumer {
    /// One exchange, in the order the decoder completed it.
    fn exchange(&mut self, exchange: Box<Exchange>);
}

impl Consumer for Analyzer<'_> {
    fn exchange(&mut self, exchange: Box<Exchange>) {
        self.push(exchange);
    }
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
    /// The decoder of the current packet input (one per input, per replay round).
    decoder: Option<Decoder>,
    /// Capture health of the decoders already finished.
    health: CaptureHealth,
    run: RunInfo,
    input: Option<(Arc<str>, InputInfo)>,
    /// Cumulative (kernel, interface) drops of a live capture.
    drops: (u64, u64),
}

impl<'s> Driver<Analyzer<'s>> {
    /// A driver into a new pipeline whose events go to `sink`.
    pub fn new(cfg: &Config, sink: impl FnMut(&Event) + 's) -> Self {
        Driver::with_consumer(
            cfg.net.clone(),
            Analyzer::new(cfg.pairing, cfg.limits, sink),
        )
    }

    /// Moves the clock forward on a quiet link, so that lone preflights settle in time.
    pub fn advance(&mut self, now: Timestamp) {
        self.consumer.advance(now);
    }

    /// The results so far (the current input included), for a running report.
    pub fn snapshot(&self) -> Outcome {
        let mut aggregate = self.consumer.snapshot();
        aggregate.health = self.health();
        let mut run = self.run.clone();
        if let Some((_, info)) = &self.input {
            run.inputs.push(info.clone());
        }
        Outcome { aggregate, run }
    }

    /// Ends the current input, settles everything held, and returns the results.
    pub fn finish(mut self) -> Outcome {
        self.end(None);
        let mut aggregate = self.consumer.finish();
        aggregate.health = self.health;
        Outcome {
            aggregate,
            run: self.run,
        }
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

    fn end_decoder(&mut self) {
        if let Some(mut d) = self.decoder.take() {
            d.finish();
            drain(&mut d, &mut self.input, &mut self.consumer);
            self.health.add(&d.health());
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
    fn format(&mut self, format: Format) {
        if let Some((_, info)) = self.input.as_mut() {
            info.format = Some(format.name());
        }
    }

    fn packet(&mut self, p: Packet<'_>) -> bool {
        let (input, net) = (&self.input, &self.net);
        let d = self.decoder.get_or_insert_with(|| {
            let name = input
                .as_ref()
                .map_or_else(|| Arc::from(""), |i| i.0.clone());
            Decoder::new(name, net.clone())
        });
        d.packet(p.time, p.link, p.data, p.number);
        drain(d, &mut self.input, &mut self.consumer);
        true
    }

    fn exchange(&mut self, exchange: Box<Exchange>) -> bool {
        if let Some((_, info)) = self.input.as_mut() {
            info.exchanges += 1;
        }
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
        self.end_decoder();
    }
}
