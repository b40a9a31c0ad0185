//! Packets from pcap and pcapng files, read in pure Rust with pcap-parser's streaming readers,
//! for `analyze` and `watch --replay` alike (see [`super::read`]).

use super::{Format, InputError, Packet};
use crate::model::Timestamp;
use crate::net::link_supported;
use pcap_parser::pcapng::Block;
use pcap_parser::traits::{PcapNGPacketBlock, PcapReaderIterator};
use pcap_parser::{PcapBlockOwned, PcapError};
use std::collections::VecDeque;
use std::io::Read;
use std::sync::Arc;

/// The read buffer a file starts with: pcap-parser zero-fills its buffer, so a small file (a
/// fuzz input, a short replay) should not pay for a megabyte. Grown to [`BUFFER`] as soon as a
/// refill finds it full, i.e. on the first large file.
const START_BUFFER: usize = 64 << 10;
/// The read buffer of a large file.
const BUFFER: usize = 1 << 20;
/// Largest block accepted; a corrupt length past it ends the file instead of a huge allocation.
const MAX_BUFFER: usize = 16 << 20;

/// pcap-parser's error without the borrow of the reader's buffer.
enum ReadError {
    Eof,
    Incomplete,
    TooSmall,
    /// The input ended inside a block.
    Cut,
    Corrupt(String),
}

impl From<PcapError<&[u8]>> for ReadError {
    fn from(e: PcapError<&[u8]>) -> Self {
        match e {
            PcapError::Eof => ReadError::Eof,
            PcapError::Incomplete(_) => ReadError::Incomplete,
            PcapError::BufferTooSmall => ReadError::TooSmall,
            PcapError::UnexpectedEof => ReadError::Cut,
            PcapError::NomError(_, k) | PcapError::OwnedNomError(_, k) => {
                ReadError::Corrupt(format!("{k:?}"))
            }
            PcapError::HeaderNotRecognized => ReadError::Corrupt("unknown header".into()),
            PcapError::ReadError => ReadError::Corrupt("read error".into()),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Interface {
    link: u32,
    /// Timestamp units per second.
    resolution: u64,
    /// Seconds added to every timestamp.
    offset: i64,
}

/// pcap-parser recognises the file from its first `read`; a pipe may deliver only a few bytes
/// at a time, so the first read keeps reading until the buffer holds a header's worth.
struct FillFirst {
    inner: Box<dyn Read + Send>,
    first: bool,
}

impl Read for FillFirst {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !std::mem::take(&mut self.first) {
            return self.inner.read(buf);
        }
        let want = buf.len().min(4096);
        let mut got = 0;
        while got < want {
            match self.inner.read(buf.get_mut(got..).unwrap_or(&mut [])) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(got)
    }
}

/// Reads the packets of one pcap or pcapng file.
pub struct PacketReader {
    input: Arc<str>,
    format: Format,
    reader: Option<Box<dyn PcapReaderIterator + Send>>,
    /// Problems found so far, for the caller to drain.
    pub problems: VecDeque<InputError>,
    /// TLS key log text from pcapng Decryption Secrets Blocks, for the caller to hand to its
    /// decoder before the packets that follow (reading pauses after each block).
    pub secrets: VecDeque<Vec<u8>>,
    /// Link of a classic pcap file, or the interfaces of the current pcapng section.
    interfaces: Vec<Interface>,
    nanos: bool,
    packets: u64,
    last_ts: Timestamp,
    reported_links: Vec<u32>,
    capacity: usize,
    /// Bytes of the input consumed so far.
    consumed: u64,
}

/// Receives each packet; returns false to pause.
pub type OnPacket<'a> = dyn FnMut(Packet<'_>) -> bool + 'a;

/// Whether [`PacketReader::read`] stopped because the caller asked or because the file ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The callback asked to pause, or a problem waits to be drained.
    Paused,
    /// The file ended.
    Ended,
}

impl PacketReader {
    /// Reads the header; a bad one is a problem, and the reader then ends at once.
    pub fn new(input: Arc<str>, reader: Box<dyn Read + Send>) -> Self {
        let mut problems = VecDeque::new();
        let reader = FillFirst {
            inner: reader,
            first: true,
        };
        let (reader, format) = match pcap_parser::create_reader(START_BUFFER, reader) {
            Ok(r) => {
                let format = if r.data().starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]) {
                    Format::PcapNg
                } else {
                    Format::Pcap
                };
                (Some(r), format)
            }
            Err(e) => {
                let message = match e {
                    PcapError::Eof | PcapError::Incomplete(_) | PcapError::UnexpectedEof => {
                        "the file ends inside its header".to_string()
                    }
                    PcapError::ReadError => "read error".to_string(),
                    _ => "not a valid pcap or pcapng header".to_string(),
                };
                problems.push_back(InputError::Capture {
                    input: input.clone(),
                    message,
                });
                (None, Format::Pcap)
            }
        };
        PacketReader {
            input,
            format,
            reader,
            problems,
            secrets: VecDeque::new(),
            interfaces: Vec::new(),
            nanos: false,
            packets: 0,
            last_ts: Timestamp(0),
            reported_links: Vec::new(),
            capacity: START_BUFFER,
            consumed: 0,
        }
    }

    /// `Pcap` or `PcapNg`.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The input's name, as problems cite it.
    pub fn input(&self) -> Arc<str> {
        self.input.clone()
    }

    /// Packets read so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Bytes of the input read and decoded so far (for a progress bar).
    pub fn bytes_consumed(&self) -> u64 {
        self.consumed
    }

    fn problem(&mut self, packet: u64, message: String) {
        self.problems.push_back(InputError::Packet {
            input: self.input.clone(),
            packet,
            message,
        });
    }

    /// Calls `f` for each packet until `f` returns false, a problem is found, or the file ends.
    pub fn read(&mut self, f: &mut OnPacket<'_>) -> Step {
        let Some(mut reader) = self.reader.take() else {
            return Step::Ended;
        };
        let ended = loop {
            if !self.problems.is_empty() {
                break false;
            }
            let err = match reader.next() {
                Ok((used, block)) => {
                    let go_on = self.block(block, f);
                    // No shift per block (consume would move half the buffer each time it
                    // passes the middle); refill shifts the few bytes left when it must.
                    reader.consume_noshift(used);
                    if go_on {
                        continue;
                    }
                    break false;
                }
                Err(e) => ReadError::from(e),
            };
            let n = self.packets + 1;
            match err {
                ReadError::Eof => break true,
                ReadError::Incomplete => {
                    // A buffer's worth read means a large file: read it in large pieces.
                    if self.capacity < BUFFER
                        && reader.consumed() + reader.data().len() >= self.capacity / 2
                    {
                        self.capacity = BUFFER;
                        if !reader.grow(self.capacity) {
                            self.problem(n, "cannot grow the read buffer".into());
                            break true;
                        }
                    }
                    if reader.refill().is_err() {
                        self.problem(n, "read error".into());
                        break true;
                    }
                }
                // A block longer than the buffer, but the buffer is not full yet: read on
                // first (the file may end sooner, as a corrupt length in a small file does)
                // rather than grow it for nothing.
                ReadError::TooSmall
                    if !reader.reader_exhausted() && reader.data().len() < self.capacity / 2 =>
                {
                    if reader.refill().is_err() {
                        self.problem(n, "read error".into());
                        break true;
                    }
                }
                ReadError::TooSmall => {
                    if self.capacity >= MAX_BUFFER {
                        self.problem(
                            n,
                            format!(
                                "block larger than {} MiB: corrupt length?",
                                MAX_BUFFER >> 20
                            ),
                        );
                        break true;
                    }
                    self.capacity = (self.capacity * 2).min(MAX_BUFFER);
                    if !reader.grow(self.capacity) || reader.refill().is_err() {
                        self.problem(n, "cannot grow the read buffer".into());
                        break true;
                    }
                }
                ReadError::Cut if reader.data().is_empty() => break true,
                ReadError::Cut => {
                    self.problem(n, "the file is cut short inside this packet".into());
                    break true;
                }
                ReadError::Corrupt(what) => {
                    self.problem(
                        n,
                        format!("corrupt block ({what}); the rest of the file is skipped"),
                    );
                    break true;
                }
            }
        };
        self.consumed = reader.consumed() as u64;
        if ended {
            Step::Ended
        } else {
            self.reader = Some(reader);
            Step::Paused
        }
    }

    /// Handles one block; returns what `f` said (true for blocks that are not packets).
    fn block(&mut self, block: PcapBlockOwned<'_>, f: &mut OnPacket<'_>) -> bool {
        match block {
            PcapBlockOwned::LegacyHeader(h) => {
                self.nanos = h.is_nanosecond_precision();
                let link = h.network.0 as u32;
                self.interfaces = vec![Interface {
                    link,
                    resolution: if self.nanos { 1_000_000_000 } else { 1_000_000 },
                    offset: 0,
                }];
                self.check_link(link);
                true
            }
            PcapBlockOwned::Legacy(b) => {
                self.packets += 1;
                let frac = if self.nanos {
                    i64::from(b.ts_usec)
                } else {
                    i64::from(b.ts_usec) * 1000
                };
                // A fraction past one second (seen in the wild) is kept as written.
                let ts = Timestamp(i64::from(b.ts_sec) * 1_000_000_000 + frac);
                let link = self.interfaces.first().map_or(1, |i| i.link);
                self.last_ts = ts;
                f(Packet {
                    time: ts,
                    link,
                    data: b.data,
                    number: self.packets,
                })
            }
            PcapBlockOwned::NG(Block::SectionHeader(_)) => {
                self.interfaces.clear();
                true
            }
            PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                let link = idb.linktype.0 as u32;
                self.interfaces.push(Interface {
                    link,
                    resolution: idb.ts_resolution().unwrap_or(1_000_000),
                    offset: idb.if_tsoffset,
                });
                self.check_link(link);
                true
            }
            PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                self.packets += 1;
                let Some(iface) = usize::try_from(epb.if_id)
                    .ok()
                    .and_then(|i| self.interfaces.get(i))
                    .copied()
                else {
                    let n = self.packets;
                    self.problem(
                        n,
                        format!("packet on interface {} which is not described", epb.if_id),
                    );
                    return true;
                };
                let raw = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                let ts = ng_timestamp(raw, iface);
                self.last_ts = ts;
                f(Packet {
                    time: ts,
                    link: iface.link,
                    data: epb.packet_data(),
                    number: self.packets,
                })
            }
            PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                self.packets += 1;
                // No timestamp in a simple packet block: it inherits the previous one.
                let link = self.interfaces.first().map_or(1, |i| i.link);
                f(Packet {
                    time: self.last_ts,
                    link,
                    data: spb.packet_data(),
                    number: self.packets,
                })
            }
            PcapBlockOwned::NG(Block::DecryptionSecrets(dsb)) => {
                if dsb.secrets_type == pcap_parser::pcapng::SecretsType::TlsKeyLog {
                    let len = usize::try_from(dsb.secrets_len).unwrap_or(usize::MAX);
                    let data = dsb.data.get(..len).unwrap_or(dsb.data);
                    let end = data.iter().rposition(|&b| b != 0).map_or(0, |e| e + 1);
                    self.secrets.push_back(data[..end].to_vec());
                    // Pause: the secrets must reach the decoder before the next packet.
                    return false;
                }
                true
            }
            PcapBlockOwned::NG(_) => true,
        }
    }

    /// One problem per unsupported link type per file, not one per packet.
    fn check_link(&mut self, link: u32) {
        if !link_supported(link) && !self.reported_links.contains(&link) {
            self.reported_links.push(link);
            self.problems.push_back(InputError::Capture {
                input: self.input.clone(),
                message: format!(
                    "link type {link} is not supported; its packets are skipped \
                     (supported: Ethernet, Linux SLL/SLL2, BSD loopback, raw IP, NFLOG)"
                ),
            });
        }
    }
}

/// pcapng timestamp in `resolution` units per second, plus the interface's offset in seconds.
fn ng_timestamp(raw: u64, iface: Interface) -> Timestamp {
    let res = iface.resolution.max(1);
    let secs = raw / res;
    let frac = raw % res;
    let nanos = (u128::from(frac) * 1_000_000_000 / u128::from(res)) as i64;
    let secs = i64::try_from(secs)
        .unwrap_or(i64::MAX)
        .saturating_add(iface.offset);
    Timestamp(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ng_timestamps() {
        let us = Interface {
            link: 1,
            resolution: 1_000_000,
            offset: 0,
        };
        assert_eq!(ng_timestamp(1_500_000, us), Timestamp(1_500_000_000));
        let bin = Interface {
            link: 1,
            resolution: 1 << 10,
            offset: 10,
        };
        assert_eq!(ng_timestamp(512, bin), Timestamp(10_500_000_000));
        assert!(ng_timestamp(u64::MAX, us).0 > 0);
    }
}
