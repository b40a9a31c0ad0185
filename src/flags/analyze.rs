//! `corswatch analyze` flags.

use super::StackArg;
use clap::ValueEnum;
use corswatch::cors::Engine;
use corswatch::drive;
use corswatch::hop::HopConfig;
use corswatch::pair::PairConfig;
use corswatch::policy::Policy;
use corswatch::policy::stage::PolicyConfig;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct AnalyzeArgs {
    /// Input files (HAR, pcap, pcapng, optionally gzip-compressed); `-` for stdin
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Output format
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the output to FILE instead of stdout
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Exit 1 when a verdict of this class (or worse) is present; `policy-break`: when a
    /// request passing today would be blocked under `--policy`; `policy-drift`: when an answer
    /// departs from `--declared`. Repeat or comma-separate to combine
    #[arg(long, value_enum, value_delimiter = ',', default_value = "never")]
    pub fail_on: Vec<FailOn>,
    /// Re-judge every exchange as if the server answered per this CORS policy (TOML,
    /// `corswatch schema policy`): which blocked requests would pass, which would break
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Compare the server's answers with this declared CORS policy (TOML): origins, methods
    /// and headers beyond it, reflected origins, missing Vary: Origin, refused policy origins
    #[arg(long, value_name = "FILE")]
    pub declared: Option<PathBuf>,
    /// Show fixes for these server stacks (text and HTML reports; `all`: every one; in the HTML
    /// report the first one's tab is open). Default: the stacks the traffic shows (Server,
    /// X-Powered-By, header shapes), the layer to fix first first
    #[arg(long, value_enum)]
    pub stack: Vec<StackArg>,
    /// Rows in each top list
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Also show notes (lookalikes and explanations) in the text and HTML reports
    #[arg(long)]
    pub notes: bool,
    /// NSS key log (what SSLKEYLOGFILE makes browsers write) to decrypt TLS in captures
    #[arg(long, value_name = "FILE")]
    pub keylog: Option<PathBuf>,
    /// Threads: reading and decoding in one, analysis in another (default: the number of
    /// cores; the results are the same with any number)
    #[arg(long, default_value_t = drive::default_threads())]
    pub threads: usize,
    /// Seconds after a preflight within which its actual request must start
    #[arg(long, default_value_t = 10)]
    pub pair_window: u64,
    /// The reverse proxy in front sets the CORS headers: a request seen only at the proxy→app
    /// hop (its forwarding headers say so) shows the app's answer, not the browser's, and is not
    /// counted as blocked. Where both hops are captured the traffic decides
    #[arg(long)]
    pub proxy_sets_cors: bool,
    /// The browser whose CORS check to model. Default: the one a HAR's creator/browser names,
    /// Chromium for packet captures. Events show the other engine's verdict where it differs
    #[arg(long, value_enum)]
    pub browser: Option<Browser>,
    #[command(flatten)]
    pub memory: super::memory::MemoryArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Browser {
    Chromium,
    Firefox,
}

impl From<Browser> for Engine {
    fn from(b: Browser) -> Engine {
        match b {
            Browser::Chromium => Engine::Chromium,
            Browser::Firefox => Engine::Firefox,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Events,
    /// One self-contained page (inline CSS, SVG charts; no network access)
    Html,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Blocked,
    Warning,
    Finding,
    /// A request passing today is blocked under `--policy`
    PolicyBreak,
    /// An answer departs from `--declared`
    PolicyDrift,
    Never,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

impl AnalyzeArgs {
    /// The policies of `--policy` and `--declared`, read and checked; `--fail-on policy-*`
    /// without its policy is a usage error.
    pub fn policy_config(&self) -> anyhow::Result<PolicyConfig> {
        if self.fail_on.contains(&FailOn::PolicyBreak) && self.policy.is_none() {
            anyhow::bail!("--fail-on policy-break needs --policy FILE");
        }
        if self.fail_on.contains(&FailOn::PolicyDrift) && self.declared.is_none() {
            anyhow::bail!("--fail-on policy-drift needs --declared FILE");
        }
        let load = |p: &Option<PathBuf>| -> anyhow::Result<Option<Arc<Policy>>> {
            Ok(match p {
                Some(p) => Some(Arc::new(Policy::load(p)?)),
                None => None,
            })
        };
        Ok(PolicyConfig {
            what_if: load(&self.policy)?,
            declared: load(&self.declared)?,
            suggest: false,
        })
    }

    /// The pipeline's configuration; `policy`: the policies read from `--policy` and
    /// `--declared`. A budget below the minimum is a usage error.
    pub fn drive_config(&self, policy: PolicyConfig) -> anyhow::Result<drive::Config> {
        let mut cfg = drive::Config {
            policy,
            pairing: PairConfig {
                window_ns: (self.pair_window.min(3600) as i64) * 1_000_000_000,
                ..PairConfig::default()
            },
            threads: self.threads.max(1),
            every_event: self.format == Format::Events,
            event_text: self.format == Format::Events,
            net: corswatch::net::Limits {
                keylog: self.keylog.clone(),
                ..Default::default()
            },
            hops: HopConfig {
                proxy_sets_cors: self.proxy_sets_cors,
                ..HopConfig::default()
            },
            engine: self.browser.map(Engine::from),
            ..drive::Config::default()
        };
        self.memory.budget()?.apply(&mut cfg);
        Ok(cfg)
    }
}
