//! From packets to exchanges: link/IP decoding, TCP reassembly, TLS decryption with a key log,
//! HTTP/1.x and HTTP/2 parsing.
//!
//! A sans-IO core fed by the driver with the packets of capture files, replays
//! and live capture:
//!
//! ```text
//! Decoder::packet(ts, link type, frame, packet number)
//!   -> link::decode      Ethernet (+VLAN/QinQ, VXLAN), Linux SLL/SLL2, NULL/LOOP, raw IP, NFLOG
//!   -> tcp::Reassembler  per direction: ordered bytes + explicit gaps, bounded buffers
//!   -> app::App          what the connection carries, from its first bytes:
//!        tls::TlsConn      records reassembled, handshake read, decrypted (tls::keys)
//!        h2::H2Conn        frames, HPACK, streams (preface, `Upgrade: h2c`, or inside TLS)
//!        http::HttpConn    heads parsed, bodies framed and skipped, FIFO pairing, resync
//!   -> Decoder::pop() -> Exchange        Decoder::finish() at end of input
//! ```
//!
//! Time comes only from packet timestamps (idle timeout included), so a file replays the same
//! way every time. The one I/O inside is the key log given in [`Limits::keylog`]: read when the
//! decoder starts, and looked at again (at most every 200 ms of packet time) while a TLS
//! connection waits for its keys, so that `watch` follows a browser's `SSLKEYLOGFILE`. Memory is bounded by [`Limits`]: flows, out-of-order bytes per direction and
//! in total, head size, waiting requests; every cap that drops data is counted in
//! [`crate::model::CaptureHealth`].

pub(crate) mod app;
pub mod decoder;
#[cfg(any(test, feature = "testkit"))]
pub mod flood;
pub mod h2;
pub mod http;
pub mod link;
#[cfg(any(test, feature = "testkit"))]
pub mod synth;
pub mod tcp;
pub mod tls;

pub use decoder::{Decoder, Limits, MissingKeys};
pub use link::supported as link_supported;
