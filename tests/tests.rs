//! One integration-test binary (so the suite links once); one module per capability.

// Tests may fail loudly on their own fixtures; the no-unwrap rule is for input handling.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

mod browser;
mod cli;
mod container;
mod conventions;
mod dashboards;
mod engines;
mod events;
mod firefox;
mod floods;
mod har;
mod hops;
mod html;
mod layout;
mod pcap;
mod policy;
mod threads;
mod tls_h2;
mod watch;
mod web;
