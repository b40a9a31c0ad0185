//! A [`Sender`] that carries what a source reads to another thread: the agent's capture thread
//! sends, its processing thread receives. Packets travel in batches, to keep the channel cheap
//! at line rate. A live sender never blocks the capture: when the queue is full it drops the
//! batch and counts it (blocking would only move the drops into the kernel); a replay waits.

use super::{Format, InputError, Packet, Sender};
use crate::model::{Exchange, Timestamp};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

/// Bytes of packet data per batch.
const BATCH_BYTES: usize = 256 * 1024;
/// A batch is sent once it holds this much.
const BATCH_FULL: usize = 240 * 1024;
/// Or this many packets: a flood of small packets must not grow the index past what was
/// reserved (the queue's memory is in the budget's fixed reserve).
const BATCH_PACKETS: usize = BATCH_BYTES / 256;

/// Packets copied into one buffer.
pub struct Batch {
    data: Vec<u8>,
    packets: Vec<(Timestamp, u32, usize, usize, u64)>,
    /// Where the buffers go back when the batch is done with: the capture thread reuses them
    /// instead of allocating while the processing thread frees (which made the allocator hold
    /// tens of megabytes under a flood).
    pool: Pool,
}

/// Spare batch buffers, shared by the two ends of a channel.
type Pool = Arc<Mutex<Vec<Buffers>>>;
type Buffers = (Vec<u8>, Vec<(Timestamp, u32, usize, usize, u64)>);

/// Spare buffers kept at most (more are freed).
const POOL: usize = 8;

impl Batch {
    fn new(pool: &Pool) -> Self {
        let spare = pool.lock().ok().and_then(|mut p| p.pop());
        let (data, packets) = spare.unwrap_or_else(|| {
            (
                Vec::with_capacity(BATCH_BYTES),
                Vec::with_capacity(BATCH_PACKETS),
            )
        });
        Batch {
            data,
            packets,
            pool: pool.clone(),
        }
    }

    fn push(&mut self, p: Packet<'_>) {
        let start = self.data.len();
        self.data.extend_from_slice(p.data);
        self.packets
            .push((p.time, p.link, start, self.data.len(), p.number));
    }

    /// Packets in the batch.
    pub fn len(&self) -> usize {
        self.packets.len()
    }

    /// No packets.
    pub fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }

    /// The newest packet's timestamp.
    pub fn last_time(&self) -> Option<Timestamp> {
        self.packets.last().map(|p| p.0)
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        let mut data = std::mem::take(&mut self.data);
        let mut packets = std::mem::take(&mut self.packets);
        if data.capacity() < BATCH_BYTES {
            return;
        }
        data.clear();
        packets.clear();
        if let Ok(mut p) = self.pool.lock()
            && p.len() < POOL
        {
            p.push((data, packets));
        }
    }
}

/// What travels through the channel: one [`Sender`] call each.
pub enum Feed {
    /// [`Sender::format`].
    Format(Format),
    /// [`Sender::packet`], batched.
    Packets(Batch),
    /// [`Sender::exchange`].
    Exchange(Box<Exchange>),
    /// [`Sender::drops`].
    Drops {
        /// Dropped by the kernel.
        kernel: u64,
        /// Dropped by the interface.
        interface: u64,
    },
    /// [`Sender::problem`].
    Problem(InputError),
    /// [`Sender::secrets`].
    Secrets(Vec<u8>),
    /// [`Sender::restart`].
    Restart,
    /// The source ended (or stopped).
    End,
}

impl Feed {
    /// Makes on `rx` the calls the sending side made. Returns false for [`Feed::End`].
    pub fn deliver(self, rx: &mut dyn Sender) -> bool {
        match self {
            Feed::Format(f) => rx.format(f),
            Feed::Packets(b) => {
                for &(time, link, start, end, number) in &b.packets {
                    if let Some(data) = b.data.get(start..end) {
                        rx.packet(Packet {
                            time,
                            link,
                            data,
                            number,
                        });
                    }
                }
            }
            Feed::Exchange(ex) => {
                rx.exchange(ex);
            }
            Feed::Drops { kernel, interface } => rx.drops(kernel, interface),
            Feed::Problem(p) => rx.problem(p),
            Feed::Secrets(s) => rx.secrets(&s),
            Feed::Restart => rx.restart(),
            Feed::End => return false,
        }
        true
    }
}

/// The sending end. Clones share the queue, the stop flag and the drop counter; each batches
/// on its own.
pub struct ChannelSender {
    tx: SyncSender<Feed>,
    batch: Option<Batch>,
    stop: Arc<AtomicBool>,
    queue_drops: Arc<AtomicU64>,
    lossless: bool,
    pool: Pool,
}

/// A channel of `capacity` feeds. `lossless` senders wait when it is full (replay); the others
/// drop packets and count them in [`ChannelSender::queue_drops`] (live capture).
pub fn channel(capacity: usize, lossless: bool) -> (ChannelSender, Receiver<Feed>) {
    let (tx, rx) = sync_channel(capacity);
    let sender = ChannelSender {
        tx,
        batch: None,
        stop: Arc::new(AtomicBool::new(false)),
        queue_drops: Arc::new(AtomicU64::new(0)),
        lossless,
        pool: Pool::default(),
    };
    (sender, rx)
}

impl Clone for ChannelSender {
    fn clone(&self) -> Self {
        ChannelSender {
            tx: self.tx.clone(),
            batch: None,
            stop: self.stop.clone(),
            queue_drops: self.queue_drops.clone(),
            lossless: self.lossless,
            pool: self.pool.clone(),
        }
    }
}

impl ChannelSender {
    /// Asks every clone to stop: their sends fail from now on.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Whether [`ChannelSender::stop`] was called.
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Packets dropped because the queue was full.
    pub fn queue_drops(&self) -> Arc<AtomicU64> {
        self.queue_drops.clone()
    }

    /// Ends the stream: what is batched, then [`Feed::End`].
    pub fn end(&mut self) {
        self.flush();
        let _ = self.tx.send(Feed::End);
    }

    fn send(&self, f: Feed) -> bool {
        if self.stopped() {
            return false;
        }
        if self.lossless {
            return self.tx.send(f).is_ok();
        }
        match self.tx.try_send(f) {
            Ok(()) => true,
            Err(TrySendError::Full(Feed::Packets(b))) => {
                self.queue_drops
                    .fetch_add(b.len() as u64, Ordering::Relaxed);
                true
            }
            Err(TrySendError::Full(other)) => self.tx.send(other).is_ok(),
            Err(TrySendError::Disconnected(_)) => false,
        }
    }
}

impl Sender for ChannelSender {
    fn format(&mut self, format: Format) {
        self.send(Feed::Format(format));
    }

    fn packet(&mut self, packet: Packet<'_>) -> bool {
        let pool = &self.pool;
        let batch = self.batch.get_or_insert_with(|| Batch::new(pool));
        batch.push(packet);
        if batch.data.len() >= BATCH_FULL || batch.packets.len() >= BATCH_PACKETS {
            let full = std::mem::replace(batch, Batch::new(&self.pool));
            return self.send(Feed::Packets(full));
        }
        !self.stopped()
    }

    fn exchange(&mut self, exchange: Box<Exchange>) -> bool {
        self.flush();
        self.send(Feed::Exchange(exchange))
    }

    fn problem(&mut self, problem: InputError) {
        self.flush();
        self.send(Feed::Problem(problem));
    }

    fn drops(&mut self, kernel: u64, interface: u64) {
        self.send(Feed::Drops { kernel, interface });
    }

    fn restart(&mut self) {
        self.flush();
        self.send(Feed::Restart);
    }

    fn secrets(&mut self, key_log: &[u8]) {
        self.flush();
        self.send(Feed::Secrets(key_log.to_vec()));
    }

    fn flush(&mut self) {
        if let Some(b) = self.batch.take_if(|b| !b.is_empty()) {
            self.send(Feed::Packets(b));
        }
    }
}
