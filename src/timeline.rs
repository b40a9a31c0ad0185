//! Blocked requests over time, by kind, in a bounded number of buckets: the chart of the HTML
//! report. The bucket width grows (1 s, 2 s, 10 s, 20 s, 1 min ... 1 week, then doubling) so
//! that the whole run always fits in [`MAX_BUCKETS`]; each width divides the next, so buckets
//! merge exactly when the width grows. Kinds are a closed set, so no map here grows with
//! attacker-controlled text.

use crate::cors::Kind;
use crate::model::Timestamp;
use std::collections::BTreeMap;

/// At most this many buckets, whatever the span of the run.
pub const MAX_BUCKETS: usize = 120;

/// Bucket widths, seconds; each divides the next. Past the last, widths double.
const WIDTHS: [i64; 13] = [
    1, 2, 10, 20, 60, 120, 600, 1200, 3600, 7200, 21_600, 86_400, 604_800,
];

const NS: i64 = 1_000_000_000;

/// One bucket: cross-origin requests and blocked requests by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bucket {
    /// Cross-origin requests that started in it.
    pub requests: u64,
    /// Blocked requests that started in it, by kind.
    pub blocked: BTreeMap<Kind, u64>,
}

impl Bucket {
    /// Blocked requests in it, every kind.
    pub fn blocked_total(&self) -> u64 {
        self.blocked.values().sum()
    }

    fn add(&mut self, o: &Bucket) {
        self.requests += o.requests;
        for (k, n) in &o.blocked {
            *self.blocked.entry(*k).or_default() += n;
        }
    }
}

/// Requests and blocked requests per time bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    /// Index into the width ladder (past [`WIDTHS`]: doublings of the last).
    step: usize,
    /// Index of the first bucket (start / width), once something was counted.
    first: Option<i64>,
    buckets: Vec<Bucket>,
    /// Events without a usable time (none recorded): counted nowhere on the chart.
    pub untimed: u64,
}

fn width_of(step: usize) -> i64 {
    match WIDTHS.get(step) {
        Some(w) => *w,
        None => {
            let extra = (step - (WIDTHS.len() - 1)).min(30) as u32;
            WIDTHS[WIDTHS.len() - 1].saturating_mul(1 << extra)
        }
    }
}

impl Timeline {
    /// The bucket width, in seconds.
    pub fn width_secs(&self) -> i64 {
        width_of(self.step)
    }

    /// The buckets with their start times, oldest first (empty ones included).
    pub fn buckets(&self) -> impl Iterator<Item = (Timestamp, &Bucket)> {
        let w = self.width_secs();
        let first = self.first.unwrap_or(0);
        self.buckets
            .iter()
            .enumerate()
            .map(move |(i, b)| (Timestamp::from_secs((first + i as i64) * w), b))
    }

    /// Counts a cross-origin request at `t`, blocked with `kind` or not.
    pub fn add(&mut self, t: Timestamp, blocked: Option<Kind>) {
        // A time of zero or before is "not recorded" (a HAR entry without startedDateTime).
        if t.0 <= 0 {
            self.untimed += 1;
            return;
        }
        let secs = t.0.div_euclid(NS);
        let b = self.slot(secs);
        b.requests += 1;
        if let Some(k) = blocked {
            *b.blocked.entry(k).or_default() += 1;
        }
    }

    /// The bucket of second `secs`, growing the range (and the width, when needed) to hold it.
    fn slot(&mut self, secs: i64) -> &mut Bucket {
        loop {
            let w = self.width_secs();
            let idx = secs.div_euclid(w);
            let first = *self.first.get_or_insert(idx);
            let last = first + (self.buckets.len() as i64).max(1) - 1;
            let (lo, hi) = (first.min(idx), last.max(idx));
            if hi - lo < MAX_BUCKETS as i64 {
                if idx < first {
                    let mut v = vec![Bucket::default(); (first - idx) as usize];
                    v.append(&mut self.buckets);
                    self.buckets = v;
                    self.first = Some(idx);
                }
                let i = (idx - lo) as usize;
                if self.buckets.len() <= i {
                    self.buckets.resize(i + 1, Bucket::default());
                }
                return &mut self.buckets[i];
            }
            self.widen();
        }
    }

    /// The next width: buckets merge into the wider ones that contain them.
    fn widen(&mut self) {
        let old = self.width_secs();
        self.step += 1;
        let new = self.width_secs();
        let Some(first) = self.first else {
            return;
        };
        let new_first = (first * old).div_euclid(new);
        let mut merged: Vec<Bucket> = Vec::new();
        for (i, b) in std::mem::take(&mut self.buckets).into_iter().enumerate() {
            let j = ((first + i as i64) * old).div_euclid(new) - new_first;
            let j = j as usize;
            if merged.len() <= j {
                merged.resize(j + 1, Bucket::default());
            }
            merged[j].add(&b);
        }
        self.first = Some(new_first);
        self.buckets = merged;
    }

    /// Adds another timeline's counts (another run, or a thread's share).
    pub fn merge(&mut self, o: &Timeline) {
        self.untimed += o.untimed;
        for (start, b) in o.buckets() {
            if b.requests == 0 && b.blocked.is_empty() {
                continue;
            }
            // The whole bucket lands where its start lands: a wider bucket here holds it
            // whole, a narrower one takes it at its start.
            let dst = self.slot(start.0.div_euclid(NS));
            dst.add(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_secs(1_700_000_000 + secs)
    }

    #[test]
    fn stays_bounded_and_keeps_every_count() {
        let mut t = Timeline::default();
        for s in 0..100_000 {
            t.add(at(s * 7), (s % 3 == 0).then_some(Kind::AcaoMissing));
        }
        assert!(t.buckets().count() <= MAX_BUCKETS);
        let requests: u64 = t.buckets().map(|(_, b)| b.requests).sum();
        let blocked: u64 = t.buckets().map(|(_, b)| b.blocked_total()).sum();
        assert_eq!(requests, 100_000);
        assert_eq!(blocked, 33_334);
        // 700 000 s fit in 120 buckets of 2 h.
        assert_eq!(t.width_secs(), 7200);
    }

    #[test]
    fn out_of_order_and_untimed() {
        let mut t = Timeline::default();
        t.add(at(50), None);
        t.add(at(10), Some(Kind::HeaderNotAllowed));
        t.add(Timestamp(0), Some(Kind::HeaderNotAllowed));
        assert_eq!(t.width_secs(), 1);
        let v: Vec<_> = t.buckets().collect();
        assert_eq!(v.len(), 41);
        assert_eq!(v[0].0, at(10));
        assert_eq!(v[0].1.blocked_total(), 1);
        assert_eq!(v[40].1.requests, 1);
        assert_eq!(t.untimed, 1);
        // Far in the past: the width grows to hold both ends.
        t.add(at(-1_000_000), None);
        assert!(t.buckets().count() <= MAX_BUCKETS);
        assert_eq!(t.buckets().map(|(_, b)| b.requests).sum::<u64>(), 3);
    }

    #[test]
    fn merge_adds() {
        let mut a = Timeline::default();
        let mut b = Timeline::default();
        a.add(at(0), Some(Kind::AcaoMissing));
        b.add(at(5000), Some(Kind::AcaoMissing));
        b.add(at(5001), None);
        a.merge(&b);
        assert_eq!(a.buckets().map(|(_, b)| b.requests).sum::<u64>(), 3);
        assert_eq!(a.buckets().map(|(_, b)| b.blocked_total()).sum::<u64>(), 2);
    }
}
