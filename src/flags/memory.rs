//! The memory budget's flags, shared by `analyze` and `watch`: one `--max-memory`, and a flag
//! per part for who wants to move memory from one part to another.

use anyhow::{Result, bail};
use corswatch::budget::{self, Budget};

#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "Memory budget")]
pub struct MemoryArgs {
    /// Memory budget (K, M, G suffixes): split into the caps below, each part evicting or
    /// refusing past its share, counted in the capture health and corswatch_evictions_total
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = size, env = "CORSWATCH_MAX_MEMORY")]
    pub max_memory: u64,
    /// TCP connections tracked at once; past it the least recently seen are evicted (default:
    /// a fifth of --max-memory at 1 KiB each)
    #[arg(long, value_name = "N")]
    pub max_flows: Option<usize>,
    /// Out-of-order TCP bytes held over all connections (default: a twentieth of --max-memory)
    #[arg(long, value_name = "SIZE", value_parser = size)]
    pub max_held_bytes: Option<u64>,
    /// Partial HTTP heads and requests waiting for a response, over all connections (default:
    /// a tenth of --max-memory)
    #[arg(long, value_name = "SIZE", value_parser = size)]
    pub max_http_bytes: Option<u64>,
    /// Exchanges waiting for their preflight, actual request or other hop (default: a quarter
    /// of --max-memory)
    #[arg(long, value_name = "SIZE", value_parser = size)]
    pub max_pairing_bytes: Option<u64>,
    /// Distinct values per top list of the report (origins, routes, methods, headers); the rest
    /// count as `other` (default: --max-memory / 80 KiB)
    #[arg(long, value_name = "N")]
    pub max_aggregate_keys: Option<usize>,
}

fn size(s: &str) -> Result<u64, budget::SizeError> {
    budget::parse_size(s)
}

impl MemoryArgs {
    /// The budget split, with the parts given on the command line in place of their shares.
    pub fn budget(&self) -> Result<Budget> {
        if self.max_memory < budget::MIN {
            bail!(
                "--max-memory must be at least {} MiB: below it the program itself does not fit",
                budget::MIN >> 20
            );
        }
        let mut b = Budget::split(self.max_memory);
        let bytes = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        if let Some(n) = self.max_flows {
            b.flows = n.max(1);
        }
        if let Some(v) = self.max_held_bytes {
            b.held_bytes = bytes(v);
        }
        if let Some(v) = self.max_http_bytes {
            b.http_bytes = bytes(v);
        }
        if let Some(v) = self.max_pairing_bytes {
            b.pairing_bytes = bytes(v);
        }
        if let Some(n) = self.max_aggregate_keys {
            b.aggregate_keys = n.max(1);
        }
        Ok(b)
    }
}

/// A size in the config file: bytes as a number, or a string with a suffix (`"64M"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub u64);

impl<'de> serde::Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bytes(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Bytes(n) => Ok(Size(n)),
            Raw::Text(s) => budget::parse_size(&s)
                .map(Size)
                .map_err(serde::de::Error::custom),
        }
    }
}
