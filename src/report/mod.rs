//! Reports: JSON for programs (versioned, with a JSON Schema), text for people.

pub mod json;
pub mod merge;
pub mod text;

use crate::aggregate::Aggregate;
use crate::source::InputError;

/// What a run read, besides the aggregate.
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    pub inputs: Vec<InputInfo>,
    /// At most [`MAX_PROBLEMS`] kept; `problems_total` counts all.
    pub problems: Vec<InputError>,
    pub problems_total: u64,
}

pub const MAX_PROBLEMS: usize = 100;

#[derive(Debug, Clone, Default)]
pub struct InputInfo {
    pub name: String,
    pub format: Option<&'static str>,
    pub bytes: u64,
    pub exchanges: u64,
    pub problems: u64,
    /// Servers whose TLS connections stayed encrypted for want of keys.
    pub tls_without_keys: Vec<crate::model::TlsPeer>,
}

impl RunInfo {
    pub fn problem(&mut self, p: InputError) {
        self.problems_total += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(p);
        }
    }
}

/// Everything a report renders.
pub struct ReportData<'a> {
    pub run: &'a RunInfo,
    pub aggregate: &'a Aggregate,
    /// Rows per top list.
    pub top: usize,
}
