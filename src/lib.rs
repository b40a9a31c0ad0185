//! corswatch reads HTTP traffic and says, for every cross-origin request, whether a browser
//! would block it, why (in the browser's own words) and how to fix it.
//!
//! The pipeline runs one way, one module per stage:
//!
//! ```text
//! source   HAR | pcap/pcapng (read or replayed) | live    -> Sender: packets, exchanges, problems
//! drive    the one driver of analyze and watch            -> net for packets, then the pipeline
//! net      frames -> TCP reassembly -> HTTP/1.x           -> Exchange (model)
//! pipeline hop (two hops of one request) -> pair (preflight <-> actual) -> context ->
//!          cors::classify (for the recording's engine) -> policy (what-if, drift) -> Event ->
//!          aggregate
//! sinks    report (text, JSON, merge, explain), metrics + serve (/metrics, /report), events
//! ```
//!
//! Beside the stages: `url` (URLs, origins, routes), `fix` (the fix per kind and server stack),
//! `stack` (which server stack answered), `policy` (policy files, suggest, render), `redact`
//! (what no output may show), `watch` (the agent around the driver).

#![warn(missing_docs)]

pub mod aggregate;
pub mod budget;
pub mod context;
pub mod cors;
pub mod drive;
pub mod event;
pub mod eventlog;
pub mod fix;
pub mod hop;
pub mod httpcache;
pub mod metrics;
pub mod model;
pub mod net;
pub mod pair;
pub mod pipeline;
pub mod policy;
pub mod redact;
pub mod report;
pub mod serve;
pub mod source;
pub mod stack;
pub mod timeline;
pub mod url;
pub mod watch;
pub mod web;
