//! A file replayed as if it were live traffic: read like any input ([`super::read`]), paced by
//! its own timestamps, and repeated with each round shifted past the previous one in time.

use super::{Format, InputError, Packet, Sender};
use crate::model::{Exchange, Timestamp};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How a replay is paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// As fast as possible.
    Fast,
    /// At N times the recorded speed.
    Speed(f64),
}

/// Replays `path` `repeat` times into `tx`; stops early when `tx` refuses more.
pub fn replay(path: &Path, pace: Pace, repeat: u32, tx: &mut dyn Sender) {
    let name: Arc<str> = Arc::from(path.display().to_string());
    // The span of the first round's timestamps: later rounds start a second after it ends.
    let mut span: Option<(Timestamp, Timestamp)> = None;
    for round in 0..repeat.max(1) {
        if round > 0 {
            // New connections: the same sequence numbers again would look like one long
            // retransmission.
            tx.restart();
        }
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) => {
                return tx.problem(InputError::Io {
                    input: name,
                    message: e.to_string(),
                });
            }
        };
        let mut paced = Paced {
            tx: &mut *tx,
            pace,
            shift: span.map_or(0, |(a, b)| {
                b.since(a)
                    .saturating_add(1_000_000_000)
                    .saturating_mul(i64::from(round))
            }),
            number_offset: u64::from(round) << 40,
            start: Instant::now(),
            first: None,
            seen: None,
            stopped: false,
        };
        super::read(name.clone(), Box::new(file), &mut paced);
        let (stopped, seen) = (paced.stopped, paced.seen);
        if stopped {
            return;
        }
        span = span.or(seen);
    }
}

/// Shifts times and packet numbers for the round, and waits until each item is due.
struct Paced<'t> {
    tx: &'t mut dyn Sender,
    pace: Pace,
    shift: i64,
    /// Packet numbers keep growing across rounds, so that locations stay distinct.
    number_offset: u64,
    start: Instant,
    first: Option<Timestamp>,
    /// The earliest and latest timestamp of this round, as recorded.
    seen: Option<(Timestamp, Timestamp)>,
    stopped: bool,
}

impl Paced<'_> {
    fn time(&mut self, ts: Timestamp) -> Timestamp {
        self.seen = Some(match self.seen {
            None => (ts, ts),
            Some((a, b)) => (a.min(ts), b.max(ts)),
        });
        let ts = Timestamp(ts.0.saturating_add(self.shift));
        if let Pace::Speed(s) = self.pace {
            let first = *self.first.get_or_insert(ts);
            let due = Duration::from_nanos((ts.since(first).max(0) as f64 / s.max(1e-3)) as u64);
            let now = self.start.elapsed();
            if due > now {
                std::thread::sleep((due - now).min(Duration::from_secs(5)));
            }
        }
        ts
    }

    fn go_on(&mut self, ok: bool) -> bool {
        self.stopped |= !ok;
        ok
    }
}

impl Sender for Paced<'_> {
    fn format(&mut self, format: Format) {
        self.tx.format(format);
    }

    fn packet(&mut self, p: Packet<'_>) -> bool {
        let time = self.time(p.time);
        let number = p.number.saturating_add(self.number_offset);
        let ok = self.tx.packet(Packet { time, number, ..p });
        if self.pace != Pace::Fast {
            // The receiver's clock follows each packet.
            self.tx.flush();
        }
        self.go_on(ok)
    }

    fn exchange(&mut self, mut ex: Box<Exchange>) -> bool {
        ex.time = self.time(ex.time);
        let ok = self.tx.exchange(ex);
        self.go_on(ok)
    }

    fn problem(&mut self, problem: InputError) {
        self.tx.problem(problem);
    }

    fn flush(&mut self) {
        self.tx.flush();
    }

    fn secrets(&mut self, key_log: &[u8]) {
        self.tx.secrets(key_log);
    }
}
