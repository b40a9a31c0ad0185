//! Reassembly of one direction of a TCP connection into an ordered byte stream with explicit
//! gaps. In-order segments are handed on without a copy; only out-of-order ones are buffered.

use crate::model::Timestamp;
use std::collections::BTreeMap;

/// Receives the ordered stream of one direction.
pub trait StreamSink {
    /// The next bytes of the stream; `packet`, `ts` and `ack` are those of the frame that
    /// carried them (`ack` as an offset into the other direction's stream).
    fn data(&mut self, bytes: &[u8], packet: u64, ts: Timestamp, ack: Option<u64>);
    /// `len` bytes were never captured (a hole skipped, or a snaplen cut).
    fn gap(&mut self, len: u64);
}

struct Held {
    data: Vec<u8>,
    /// Bytes after `data` that the snapshot length cut off.
    missing: u64,
    packet: u64,
    ts: Timestamp,
    ack: Option<u64>,
}

/// Reassembly counters, added into the capture health by the decoder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpStats {
    /// Segments that arrived before earlier ones.
    pub out_of_order_segments: u64,
    /// Segments seen again.
    pub retransmitted_segments: u64,
    /// Holes skipped.
    pub gaps: u64,
    /// Bytes in those holes.
    pub gap_bytes: u64,
}

/// One direction of a connection.
#[derive(Default)]
pub struct Reassembler {
    started: bool,
    /// Sequence number of stream offset 0.
    base: u32,
    /// Stream offset of the next byte to deliver.
    offset: u64,
    held: BTreeMap<u64, Held>,
    held_bytes: usize,
    fin_at: Option<u64>,
    finished: bool,
    /// The sequence number the SYN carried, to tell a reused 4-tuple from a retransmit.
    isn: Option<u32>,
}

/// A segment as the reassembler needs it.
#[derive(Debug, Clone, Copy)]
pub struct Seg<'a> {
    /// Sequence number of the first byte (or of the SYN).
    pub seq: u32,
    /// SYN set.
    pub syn: bool,
    /// FIN set.
    pub fin: bool,
    /// The bytes captured.
    pub payload: &'a [u8],
    /// Bytes of the segment cut by the snapshot length.
    pub missing: u32,
    /// Packet number.
    pub packet: u64,
    /// Capture time.
    pub ts: Timestamp,
    /// The acknowledgement it carried, as an offset into the other direction's stream: what
    /// the sender had received when it sent these bytes. Kept with bytes held out of order, so
    /// that they are judged by their own acknowledgement when delivered late.
    pub ack: Option<u64>,
}

impl Reassembler {
    /// A direction not started yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes held out of order.
    pub fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    /// Everything up to the FIN was delivered.
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// The initial sequence number, once known.
    pub fn isn(&self) -> Option<u32> {
        self.isn
    }

    /// Whether any segment of this direction was seen.
    pub fn started(&self) -> bool {
        self.started
    }

    /// Stream offset just past the bytes delivered in order (and the FIN, once reached): what
    /// lies beyond a hole is not counted.
    pub fn contiguous_end(&self) -> u64 {
        match self.fin_at {
            Some(f) if f <= self.offset => f.saturating_add(1),
            _ => self.offset,
        }
    }

    /// The stream starts at `seq` (known from the other side's SYN-ACK when the SYN was missed).
    pub fn start_at(&mut self, seq: u32) {
        if !self.started {
            self.started = true;
            self.base = seq;
        }
    }

    /// The stream offset of sequence number `seq` (within 2 GiB of the next expected byte).
    pub fn offset_of(&self, seq: u32) -> Option<u64> {
        if !self.started {
            return None;
        }
        let next_seq = self.base.wrapping_add(self.offset as u32);
        let rel = i64::from(seq.wrapping_sub(next_seq) as i32);
        Some(if rel >= 0 {
            self.offset.saturating_add(rel as u64)
        } else {
            self.offset.saturating_sub(rel.unsigned_abs())
        })
    }

    /// Feeds one segment. `max_held` bounds the out-of-order buffer: past it, the first hole is
    /// declared lost.
    pub fn push(
        &mut self,
        seg: Seg<'_>,
        max_held: usize,
        stats: &mut TcpStats,
        sink: &mut dyn StreamSink,
    ) {
        let data_seq = if seg.syn {
            seg.seq.wrapping_add(1)
        } else {
            seg.seq
        };
        if !self.started {
            self.started = true;
            self.base = data_seq;
            if seg.syn {
                self.isn = Some(seg.seq);
            }
        } else if seg.syn && self.isn.is_none() && self.offset == 0 && self.held.is_empty() {
            // The SYN arrived after a segment that opened the direction (reordering): rebase.
            self.base = data_seq;
            self.isn = Some(seg.seq);
        }
        if self.finished {
            if !seg.payload.is_empty() {
                stats.retransmitted_segments += 1;
            }
            return;
        }
        let len = seg.payload.len() as u64;
        let total = len.saturating_add(u64::from(seg.missing));
        // Position relative to the next expected byte, in wrapping sequence space: a segment
        // is at most 2 GiB behind or ahead, which is widened to a 64-bit stream offset.
        let next_seq = self.base.wrapping_add(self.offset as u32);
        let rel = i64::from(data_seq.wrapping_sub(next_seq) as i32);
        let start = if rel >= 0 {
            self.offset.saturating_add(rel as u64)
        } else {
            self.offset.saturating_sub(rel.unsigned_abs())
        };
        if seg.fin && self.fin_at.is_none() {
            self.fin_at = Some(start.saturating_add(total));
        }
        if total == 0 {
            self.check_fin();
            return;
        }
        if start < self.offset {
            let behind = self.offset - start;
            stats.retransmitted_segments += 1;
            if behind >= total {
                self.check_fin();
                return;
            }
            // Overlap: the first copy won; deliver only the new tail.
            let cut = behind.min(len) as usize;
            let payload = seg.payload.get(cut..).unwrap_or(&[]);
            let missing = total - behind - payload.len() as u64;
            self.deliver_at_offset(payload, missing, (seg.packet, seg.ts, seg.ack), sink, stats);
            self.drain(sink, stats);
        } else if start == self.offset {
            self.deliver_at_offset(
                seg.payload,
                u64::from(seg.missing),
                (seg.packet, seg.ts, seg.ack),
                sink,
                stats,
            );
            self.drain(sink, stats);
        } else {
            stats.out_of_order_segments += 1;
            match self.held.get(&start) {
                Some(h) if h.data.len() as u64 + h.missing >= total => {
                    stats.retransmitted_segments += 1;
                }
                _ => {
                    if let Some(old) = self.held.insert(
                        start,
                        Held {
                            data: seg.payload.to_vec(),
                            missing: u64::from(seg.missing),
                            packet: seg.packet,
                            ts: seg.ts,
                            ack: seg.ack,
                        },
                    ) {
                        self.held_bytes -= old.data.len();
                    }
                    self.held_bytes += seg.payload.len();
                }
            }
            while self.held_bytes > max_held && !self.held.is_empty() {
                self.skip_hole(sink, stats);
            }
        }
        self.check_fin();
    }

    fn deliver_at_offset(
        &mut self,
        payload: &[u8],
        missing: u64,
        (packet, ts, ack): (u64, Timestamp, Option<u64>),
        sink: &mut dyn StreamSink,
        stats: &mut TcpStats,
    ) {
        if !payload.is_empty() {
            sink.data(payload, packet, ts, ack);
            self.offset = self.offset.saturating_add(payload.len() as u64);
        }
        if missing > 0 {
            stats.gaps += 1;
            stats.gap_bytes += missing;
            sink.gap(missing);
            self.offset = self.offset.saturating_add(missing);
        }
    }

    /// Delivers held segments that became contiguous.
    fn drain(&mut self, sink: &mut dyn StreamSink, stats: &mut TcpStats) {
        while let Some(entry) = self.held.first_entry() {
            let start = *entry.key();
            if start > self.offset {
                break;
            }
            let h = entry.remove();
            self.held_bytes -= h.data.len();
            let end = start
                .saturating_add(h.data.len() as u64)
                .saturating_add(h.missing);
            if end <= self.offset {
                continue;
            }
            let cut = (self.offset - start).min(h.data.len() as u64) as usize;
            let payload = h.data.get(cut..).unwrap_or(&[]);
            let missing = end - self.offset - payload.len() as u64;
            self.deliver_at_offset(payload, missing, (h.packet, h.ts, h.ack), sink, stats);
        }
    }

    /// Declares the first hole lost and delivers what follows it.
    fn skip_hole(&mut self, sink: &mut dyn StreamSink, stats: &mut TcpStats) {
        if let Some((&start, _)) = self.held.first_key_value() {
            if start > self.offset {
                let len = start - self.offset;
                stats.gaps += 1;
                stats.gap_bytes += len;
                sink.gap(len);
                self.offset = start;
            }
            self.drain(sink, stats);
        }
    }

    fn check_fin(&mut self) {
        if let Some(f) = self.fin_at
            && self.offset >= f
            && self.held.is_empty()
        {
            self.finished = true;
        }
    }

    /// The other direction acknowledged up to `ack`: bytes before it that were not captured
    /// never will be, so holes up to there are skipped now (and the HTTP layer learns of the
    /// loss before it parses the reply).
    pub fn acked(&mut self, ack: u32, sink: &mut dyn StreamSink, stats: &mut TcpStats) {
        if !self.started || self.finished {
            return;
        }
        let next_seq = self.base.wrapping_add(self.offset as u32);
        let rel = ack.wrapping_sub(next_seq) as i32;
        if rel <= 0 {
            return;
        }
        let mut target = self.offset.saturating_add(rel as u64);
        if let Some(f) = self.fin_at {
            // The FIN takes a sequence number but no byte.
            target = target.min(f);
        }
        while self.offset < target {
            match self.held.first_key_value() {
                Some((&k, _)) if k <= target => self.skip_hole(sink, stats),
                _ => {
                    let len = target - self.offset;
                    stats.gaps += 1;
                    stats.gap_bytes += len;
                    sink.gap(len);
                    self.offset = target;
                }
            }
        }
        self.check_fin();
    }

    /// Skips every hole, delivering what was held (memory pressure).
    pub fn skip_holes(&mut self, sink: &mut dyn StreamSink, stats: &mut TcpStats) {
        while !self.held.is_empty() {
            self.skip_hole(sink, stats);
        }
        self.check_fin();
    }

    /// End of this direction (RST, idle timeout, eviction, end of input): every hole is
    /// skipped, including one before a FIN already seen.
    pub fn flush(&mut self, sink: &mut dyn StreamSink, stats: &mut TcpStats) {
        while !self.held.is_empty() {
            self.skip_hole(sink, stats);
        }
        if let Some(f) = self.fin_at
            && f > self.offset
        {
            let len = f - self.offset;
            stats.gaps += 1;
            stats.gap_bytes += len;
            sink.gap(len);
            self.offset = f;
        }
        self.finished = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect {
        bytes: Vec<u8>,
        gaps: Vec<u64>,
    }
    impl StreamSink for Collect {
        fn data(&mut self, bytes: &[u8], _: u64, _: Timestamp, _: Option<u64>) {
            self.bytes.extend_from_slice(bytes);
        }
        fn gap(&mut self, len: u64) {
            self.gaps.push(len);
            self.bytes.extend(std::iter::repeat_n(b'#', len as usize));
        }
    }

    fn seg(seq: u32, payload: &[u8]) -> Seg<'_> {
        Seg {
            seq,
            syn: false,
            fin: false,
            payload,
            missing: 0,
            packet: 0,
            ts: Timestamp(0),
            ack: None,
        }
    }

    fn syn(seq: u32) -> Seg<'static> {
        Seg {
            syn: true,
            ..seg(seq, b"")
        }
    }

    #[test]
    fn reorders_trims_and_wraps() {
        let mut r = Reassembler::new();
        let mut h = TcpStats::default();
        let mut c = Collect::default();
        let isn = u32::MAX - 3;
        r.push(syn(isn), 1 << 20, &mut h, &mut c);
        let s = isn.wrapping_add(1);
        r.push(seg(s.wrapping_add(6), b"ghij"), 1 << 20, &mut h, &mut c);
        r.push(seg(s.wrapping_add(2), b"cdef"), 1 << 20, &mut h, &mut c);
        r.push(seg(s, b"abc"), 1 << 20, &mut h, &mut c);
        r.push(seg(s.wrapping_add(1), b"bcdefgh"), 1 << 20, &mut h, &mut c);
        r.push(seg(s.wrapping_add(8), b"ijkl"), 1 << 20, &mut h, &mut c);
        assert_eq!(c.bytes, b"abcdefghijkl");
        assert!(c.gaps.is_empty());
        assert_eq!(h.out_of_order_segments, 2);
        assert!(h.retransmitted_segments >= 2);
        assert_eq!(r.held_bytes(), 0);
    }

    #[test]
    fn hole_skipped_when_buffer_full_or_flushed() {
        let mut r = Reassembler::new();
        let mut h = TcpStats::default();
        let mut c = Collect::default();
        r.push(seg(100, b"ab"), 4, &mut h, &mut c);
        r.push(seg(105, b"fg"), 4, &mut h, &mut c);
        r.push(seg(107, b"hij"), 4, &mut h, &mut c);
        assert_eq!(c.bytes, b"ab###fghij");
        assert_eq!(c.gaps, vec![3]);
        r.push(seg(120, b"x"), 4, &mut h, &mut c);
        r.flush(&mut c, &mut h);
        assert_eq!(c.gaps, vec![3, 10]);
        assert_eq!(h.gaps, 2);
        assert_eq!(h.gap_bytes, 13);
    }

    #[test]
    fn fin_closes_after_data() {
        let mut r = Reassembler::new();
        let mut h = TcpStats::default();
        let mut c = Collect::default();
        r.push(syn(0), 100, &mut h, &mut c);
        let mut f = seg(4, b"d");
        f.fin = true;
        r.push(f, 100, &mut h, &mut c);
        assert!(!r.finished());
        r.push(seg(1, b"abc"), 100, &mut h, &mut c);
        assert!(r.finished());
        assert_eq!(c.bytes, b"abcd");
    }
}
