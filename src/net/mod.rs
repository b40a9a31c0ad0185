//! From packets to HTTP/1.x exchanges: link/IP decoding, TCP reassembly, HTTP parsing.
//!
//! A sans-IO core fed by the driver with the packets of capture files, replays
//! and live capture:
//!
//! ```text
//! Decoder::packet(ts, link type, frame, packet number)
//!   -> link::decode      Ethernet (+VLAN/QinQ, VXLAN), Linux SLL/SLL2, NULL/LOOP, raw IP, NFLOG
//!   -> tcp::Reassembler  per direction: ordered bytes + explicit gaps, bounded buffers
//!   -> http::HttpConn    heads parsed, bodies framed and skipped, FIFO pairing, resync
//!   -> Decoder::pop() -> Exchange        Decoder::finish() at end of input
//! ```
//!
//! Time comes only from packet timestamps (idle timeout included), so a file replays the same
//! way every time. Memory is bounded by [`Limits`]: flows, out-of-order bytes per direction and
//! in total, head size, waiting requests; every cap that drops data is counted in
//! [`crate::model::CaptureHealth`].

pub mod decoder;
pub mod http;
pub mod link;
pub mod tcp;

pub use decoder::{Decoder, Limits};
pub use link::supported as link_supported;
