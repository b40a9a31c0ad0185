//! Reports: JSON for programs (versioned, with a JSON Schema), text for people at a terminal,
//! HTML for people with a browser.

pub mod explain;
pub mod html;
pub mod json;
pub mod layers;
pub mod merge;
pub mod policy;
pub mod text;

use crate::aggregate::Aggregate;
use crate::source::InputError;

/// What a run read, besides the aggregate.
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    /// Every input read, in order.
    pub inputs: Vec<InputInfo>,
    /// At most [`MAX_PROBLEMS`] kept; `problems_total` counts all.
    pub problems: Vec<InputError>,
    /// Every problem found, kept or not.
    pub problems_total: u64,
}

/// Problems kept for the report.
pub const MAX_PROBLEMS: usize = 100;

/// One input read.
#[derive(Debug, Clone, Default)]
pub struct InputInfo {
    /// The path as given (or `-`).
    pub name: String,
    /// `har`, `pcap` or `pcapng`, once recognised.
    pub format: Option<&'static str>,
    /// Bytes read.
    pub bytes: u64,
    /// Exchanges read.
    pub exchanges: u64,
    /// Problems found in it.
    pub problems: u64,
    /// Servers whose TLS connections stayed encrypted for want of keys.
    pub tls_without_keys: Vec<crate::model::TlsPeer>,
}

impl RunInfo {
    /// Counts a problem, and keeps it while there is room.
    pub fn problem(&mut self, p: InputError) {
        self.problems_total += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(p);
        }
    }
}

/// Everything a report renders.
pub struct ReportData<'a> {
    /// What was read.
    pub run: &'a RunInfo,
    /// What was counted.
    pub aggregate: &'a Aggregate,
    /// Rows per top list.
    pub top: usize,
}
