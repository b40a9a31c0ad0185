//! Capture reordering: packets taken on different CPUs reach a capture out of order, so a
//! response segment may come before the request bytes it acknowledges. It waits for them here,
//! for a bounded time, instead of declaring them lost.

use super::{Decoder, Flow, FlowKey, link};
use crate::model::Timestamp;

/// How long, in capture time, a segment that acknowledges bytes the capture has not shown yet
/// waits for them. Packets taken on different CPUs reach a capture out of order (tcpdump on a
/// busy loopback writes a response before the request it answers); read in file order, the
/// request would look lost and a keep-alive connection's later responses would pair with the
/// wrong requests. So a response segment waits for the request bytes it acknowledges (a request
/// never needs to wait: it only joins the queue of requests). Past the window, or at
/// [`MAX_EARLY`] segments, the bytes are declared lost.
pub(super) const REORDER_WINDOW_NS: i64 = 500_000_000;
pub(super) const MAX_EARLY: usize = 64;

/// A segment as the decoder feeds it to a connection; `ack` is `None` without the ACK flag.
#[derive(Clone, Copy)]
pub(super) struct Piece<'a> {
    pub(super) d: usize,
    pub(super) seq: u32,
    pub(super) ack: Option<u32>,
    pub(super) flags: u8,
    pub(super) payload: &'a [u8],
    pub(super) missing: u32,
    pub(super) packet: u64,
    pub(super) ts: Timestamp,
}

/// A [`Piece`] kept while it waits; `held_at` is the capture time when it started waiting.
pub(super) struct Early {
    pub(super) d: usize,
    pub(super) seq: u32,
    pub(super) ack: Option<u32>,
    pub(super) flags: u8,
    pub(super) payload: Box<[u8]>,
    pub(super) missing: u32,
    pub(super) packet: u64,
    pub(super) ts: Timestamp,
    pub(super) held_at: Timestamp,
}

/// A client acknowledgement kept while the response bytes it acknowledges are not seen.
#[derive(Clone, Copy)]
pub(super) struct LateAck {
    pub(super) seq: u32,
    pub(super) ack: u32,
    pub(super) packet: u64,
    pub(super) ts: Timestamp,
    pub(super) held_at: Timestamp,
}

impl Early {
    pub(super) fn piece(&self) -> Piece<'_> {
        Piece {
            d: self.d,
            seq: self.seq,
            ack: self.ack,
            flags: self.flags,
            payload: &self.payload,
            missing: self.missing,
            packet: self.packet,
            ts: self.ts,
        }
    }
}

impl Flow {
    /// Stream offset just past what direction `o` has shown without a hole, waiting segments
    /// included. Bytes past a hole do not count: the other side must not declare the bytes of
    /// the hole lost when they are merely captured late (a request's later segments or FIN
    /// first; a response's later segment before an earlier one and the request acknowledging
    /// both).
    pub(super) fn seen_end(&self, o: usize) -> u64 {
        let mut end = self.dirs[o].contiguous_end();
        // Waiting segments extend it while they join on; `early` is short (at most
        // `MAX_EARLY`), so the passes are cheap.
        loop {
            let before = end;
            for e in self.early.iter().filter(|e| e.d == o) {
                if let Some(start) = self.dirs[o].offset_of(e.seq)
                    && start <= end
                {
                    let fin = u64::from(e.flags & (link::FLAG_FIN | link::FLAG_SYN) != 0);
                    let len = e.payload.len() as u64 + u64::from(e.missing) + fin;
                    end = end.max(start.saturating_add(len));
                }
            }
            if end == before {
                return end;
            }
        }
    }

    /// `p` acknowledges bytes of the other direction that the capture has not shown.
    pub(super) fn ahead(&self, p: &Piece<'_>) -> bool {
        let o = 1 - p.d;
        match p.ack.and_then(|a| self.dirs[o].offset_of(a)) {
            Some(acked) => acked > self.seen_end(o),
            None => false,
        }
    }

    /// Whether `p` waits: a response segment that is ahead, or behind one that waits.
    pub(super) fn must_wait(&self, p: &Piece<'_>) -> bool {
        p.d == 1 && (!self.early.is_empty() || self.ahead(p))
    }

    /// Since when something of this connection waits.
    pub(super) fn waiting_since(&self) -> Option<Timestamp> {
        let a = self.early.front().map(|e| e.held_at);
        let b = self.late_ack.map(|l| l.held_at);
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

impl Decoder {
    /// Feeds the waiting segments of connection `key` whose request bytes have been seen, and
    /// forgets a late acknowledgement whose response bytes have. Closes the connection when a
    /// segment ends it.
    pub(super) fn release(&mut self, key: FlowKey) {
        loop {
            let Some(flow) = self.flows.get_mut(&key) else {
                return;
            };
            if let Some(l) = flow.late_ack
                && flow.dirs[1]
                    .offset_of(l.ack)
                    .is_some_and(|a| a <= flow.dirs[1].contiguous_end())
            {
                flow.late_ack = None;
            }
            let ready = flow.early.front().is_some_and(|e| !flow.ahead(&e.piece()));
            if !ready {
                return;
            }
            let Some(e) = flow.early.pop_front() else {
                return;
            };
            flow.early_bytes -= e.payload.len();
            self.held_total = self.held_total.saturating_sub(e.payload.len());
            if self.feed(key, &e.piece(), false) {
                self.close(key, false);
                return;
            }
        }
    }

    /// The wait of connection `key` is over: what it waited for is lost. Feeds every waiting
    /// segment, then the late acknowledgement; true when the connection ended.
    pub(super) fn expire(&mut self, key: FlowKey) -> bool {
        while let Some(flow) = self.flows.get_mut(&key) {
            let Some(e) = flow.early.pop_front() else {
                break;
            };
            flow.early_bytes -= e.payload.len();
            self.held_total = self.held_total.saturating_sub(e.payload.len());
            if self.feed(key, &e.piece(), false) {
                return true;
            }
        }
        let Some(l) = self.flows.get_mut(&key).and_then(|f| f.late_ack.take()) else {
            return false;
        };
        let p = Piece {
            d: 0,
            seq: l.seq,
            ack: Some(l.ack),
            flags: link::FLAG_ACK,
            payload: &[],
            missing: 0,
            packet: l.packet,
            ts: l.ts,
        };
        self.feed(key, &p, true)
    }
}
