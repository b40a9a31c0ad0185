//! From packets to HTTP/1.x exchanges: link/IP decoding, TCP reassembly, HTTP parsing.
//! A sans-IO core fed `(timestamp, link type, packet bytes)`, shared by capture files and live
//! capture.

pub mod decoder;
pub mod http;
pub mod link;
pub mod synth;
pub mod tcp;

pub use decoder::{Decoder, Limits, Outcome};
pub use link::{linktype, supported as link_supported};
