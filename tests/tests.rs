//! One integration-test binary (so the suite links once); one module per capability.

mod util;

mod browser;
mod cli;
mod dashboards;
mod har;
mod pcap;
