//! The memory budget (`--max-memory`): one figure split into the caps of each stage that keeps
//! state, so that a flood (SYNs, half-open connections, endless heads, unanswered pipelines,
//! distinct origins and routes) costs evictions, never memory past the budget.
//!
//! | part        | share | what it bounds                                               |
//! |-------------|-------|--------------------------------------------------------------|
//! | flows       | 20 %  | the TCP connection table ([`FLOW_COST`] bytes a connection)  |
//! | held bytes  |  5 %  | out-of-order segments waiting for a hole to fill             |
//! | http bytes  | 10 %  | partial heads and requests waiting for their response        |
//! | pairing     | 25 %  | exchanges waiting for their preflight, actual request or hop |
//! | aggregate   |  5 %  | the report's top lists (origins, routes, methods, headers)   |
//! | label sets  |  5 %  | metric series ([`SERIES_COST`] bytes a series)               |
//! | the rest    | 30 %  | the program, its threads, queues and allocator, and a live   |
//! |             |       | capture's kernel buffer and queue ([`Budget::capture_buffer`], |
//! |             |       | [`Budget::capture_queue_batches`])                           |
//!
//! Each part evicts or refuses past its share and counts it in
//! [`crate::model::Evictions`].
//!
//! The shares follow what realistic traffic needs (`../shared/bench`'s captures, about 700
//! requests a second): hop matching holds every exchange of the last 2 s, about 8 MiB of
//! them, and evicted nine in ten of them at 10 %; out-of-order and partial HTTP state stay
//! under 1 MiB there, and their smaller shares only bound a flood sooner.

/// The default budget: 64 MiB.
pub const DEFAULT: u64 = 64 << 20;
/// The smallest budget accepted: below it the fixed cost of the program dominates.
pub const MIN: u64 = 16 << 20;
/// What one tracked TCP connection costs: its state (about 550 bytes), its slot in a table
/// that doubles as it grows, and the allocator's rounding (measured: 0.9 to 1.1 KiB).
pub const FLOW_COST: usize = 1024;
/// What one metric series costs (labels, counter, table slot), label values at their cap.
pub const SERIES_COST: usize = 512;
/// What a value of the aggregate's top lists costs: a slot in each of the run's four lists
/// (key cut at 256 bytes, count, table slot) and its share of the kinds' short lists.
pub const KEY_COST: usize = 4096;

/// The caps of every part, in the parts' own units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// The whole budget, bytes.
    pub total: u64,
    /// TCP connections tracked at once.
    pub flows: usize,
    /// Out-of-order bytes held over all connections.
    pub held_bytes: usize,
    /// HTTP state (partial heads, waiting requests) over all connections, bytes.
    pub http_bytes: usize,
    /// Exchanges held by pairing and hop matching, bytes.
    pub pairing_bytes: usize,
    /// Distinct keys per top list of the aggregate.
    pub aggregate_keys: usize,
    /// Metric series of the per-origin and per-route families.
    pub series: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget::split(DEFAULT)
    }
}

impl Budget {
    /// The default kernel capture buffer of a live capture (`--buffer-size`): an eighth of the
    /// budget, at most 16 MiB. The ring is mapped into the agent, and a burst touches every
    /// page of it: at 16 MiB under a 64 MiB budget, a flood of half-open connections on `lo`
    /// peaked at 64 to 70 MiB; at 8 MiB it stays within.
    pub fn capture_buffer(&self) -> i32 {
        i32::try_from((self.total / 8).min(16 << 20)).unwrap_or(16 << 20)
    }

    /// Batches of 256 KiB the live capture's queue holds: a sixteenth of the budget, 4 to 32.
    pub fn capture_queue_batches(&self) -> usize {
        usize::try_from(self.total / 16 / (256 << 10))
            .unwrap_or(32)
            .clamp(4, 32)
    }

    /// The default shares of `total` bytes (at least [`MIN`]).
    pub fn split(total: u64) -> Budget {
        let total = total.max(MIN);
        let share = |percent: u64| usize::try_from(total / 100 * percent).unwrap_or(usize::MAX);
        Budget {
            total,
            flows: share(20) / FLOW_COST,
            held_bytes: share(5),
            http_bytes: share(10),
            pairing_bytes: share(25),
            aggregate_keys: (share(5) / KEY_COST).max(16),
            series: (share(5) / SERIES_COST).max(16),
        }
    }

    /// The decoder's caps under this budget (the rest of `base` kept).
    pub fn net_limits(&self, base: crate::net::Limits) -> crate::net::Limits {
        crate::net::Limits {
            max_flows: self.flows.max(1),
            max_held_total: self.held_bytes,
            // One direction may hold at most an eighth of the total: one connection cannot
            // push every other one out.
            max_held_per_direction: (self.held_bytes / 8).clamp(4096, 256 * 1024),
            max_http_total: self.http_bytes,
            ..base
        }
    }

    /// Sets the caps of every stage of `cfg` from this budget: the decoder's, pairing's and
    /// hop matching's (half the pairing part each), the aggregate's.
    pub fn apply(&self, cfg: &mut crate::drive::Config) {
        cfg.net = self.net_limits(cfg.net.clone());
        let half = self.pairing_bytes / 2;
        cfg.pairing.max_pending_bytes = half;
        cfg.hops.max_pending_bytes = half;
        // The count also bounds the inner hops kept as evidence, which are not counted in bytes.
        cfg.hops.max_pending = (half / EXCHANGE_COST).max(16);
        cfg.limits.keys = self.aggregate_keys;
    }
}

/// About what a waiting exchange of a browser costs, for the caps that count exchanges.
const EXCHANGE_COST: usize = 1024;

/// A size on the command line: bytes, or with a suffix `K`, `M`, `G` (powers of 1024;
/// `KB`/`KiB`, `MB`/`MiB`, `GB`/`GiB` mean the same).
pub fn parse_size(s: &str) -> Result<u64, SizeError> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let n: u64 = num.parse().map_err(|_| SizeError(s.to_string()))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return Err(SizeError(s.to_string())),
    };
    n.checked_mul(1 << shift)
        .ok_or_else(|| SizeError(s.to_string()))
}

/// A size that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a size: give bytes, or a number with K, M or G (e.g. 64M)")]
pub struct SizeError(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("512KiB"), Ok(512 << 10));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size(" 2 mb "), Ok(2 << 20));
        assert!(parse_size("M").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("12T").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
    }

    #[test]
    fn a_live_capture_ring_and_queue_fit_in_the_reserve() {
        for total in [MIN, DEFAULT, 1 << 30] {
            let b = Budget::split(total);
            let ring = b.capture_buffer() as u64;
            let queue = (b.capture_queue_batches() as u64) * (256 << 10);
            assert!(
                ring <= 16 << 20 && ring <= total / 8,
                "{total}: ring {ring}"
            );
            assert!(queue <= (total / 16).max(1 << 20), "{total}: queue {queue}");
        }
        assert_eq!(Budget::split(DEFAULT).capture_buffer(), 8 << 20);
        assert_eq!(Budget::split(DEFAULT).capture_queue_batches(), 16);
    }

    #[test]
    fn the_parts_fit_in_the_budget() {
        for total in [MIN, DEFAULT, 1 << 30] {
            let b = Budget::split(total);
            let used = b.flows * FLOW_COST
                + b.held_bytes
                + b.http_bytes
                + b.pairing_bytes
                + b.aggregate_keys * KEY_COST
                + b.series * SERIES_COST;
            assert!(used as u64 <= total * 7 / 10, "{total}: {used}");
        }
        let d = Budget::default();
        assert!(d.flows >= 12_000, "{d:?}");
        assert!(d.aggregate_keys >= 800, "{d:?}");
        // Hop matching's half holds the 2 s window of the realistic captures (about 8 MB).
        assert!(d.pairing_bytes / 2 >= 8_000_000, "{d:?}");
        assert_eq!(Budget::split(0), Budget::split(MIN));
    }
}
