//! corswatch reads HTTP traffic and says, for every cross-origin request, whether a browser
//! would block it, why (in the browser's own words) and how to fix it.
//!
//! The pipeline runs one way:
//!
//! ```text
//! source (HAR | pcap/pcapng | live) -> net (frames -> TCP -> HTTP/1.x) -> Exchange
//!   -> pair (preflight <-> actual) -> cors::classify -> Event -> aggregate -> report / metrics
//! ```

pub mod cors;
pub mod model;
pub mod net;
pub mod redact;
pub mod source;
