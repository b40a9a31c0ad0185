//! `corswatch policy` flags: suggest a policy from traffic, render one for a server stack.

use super::StackArg;
use super::analyze::Browser;
use clap::Subcommand;
use corswatch::cors::Engine;
use corswatch::drive;
use corswatch::policy::stage::PolicyConfig;
use std::path::PathBuf;

pub const EXAMPLES: &str = "\
Examples:
  corswatch policy suggest session.har capture.pcap > policy.toml   the tightest policy the traffic needs
  corswatch policy suggest session.har --stack nginx                 ... and as nginx configuration
  corswatch analyze session.har --policy policy.toml                 what would pass, what would break
  corswatch policy render policy.toml --stack express                a policy as Express code
  corswatch schema policy                                            the policy file's JSON Schema";

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// The tightest CORS policy letting every cross-origin request of the inputs from a
    /// legitimate origin succeed (TOML; the evidence as comments)
    #[command(after_help = EXAMPLES)]
    Suggest(SuggestArgs),
    /// Render a policy file as server configuration, from the fix catalogue's snippets
    #[command(after_help = EXAMPLES)]
    Render {
        /// The policy (TOML)
        policy: PathBuf,
        /// The server stacks (`all`: every one)
        #[arg(long, value_enum, required = true)]
        stack: Vec<StackArg>,
    },
}

#[derive(clap::Args)]
pub struct SuggestArgs {
    /// Input files (HAR, pcap, pcapng, optionally gzip-compressed); `-` for stdin
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Also render the policy as these stacks' configuration (after the TOML, each under a
    /// `# =====` line)
    #[arg(long, value_enum)]
    pub stack: Vec<StackArg>,
    /// Write to FILE instead of stdout
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// NSS key log to decrypt TLS in captures
    #[arg(long, value_name = "FILE")]
    pub keylog: Option<PathBuf>,
    /// The browser whose CORS check to model (default: the recording's; Chromium for captures)
    #[arg(long, value_enum)]
    pub browser: Option<Browser>,
    /// Threads (default: the number of cores)
    #[arg(long, default_value_t = drive::default_threads())]
    pub threads: usize,
}

impl SuggestArgs {
    /// The pipeline's configuration: collect what a policy needs, build no clean-pass event.
    pub fn drive_config(&self) -> drive::Config {
        drive::Config {
            threads: self.threads.max(1),
            every_event: false,
            net: corswatch::net::Limits {
                keylog: self.keylog.clone(),
                ..Default::default()
            },
            engine: self.browser.map(Engine::from),
            policy: PolicyConfig {
                suggest: true,
                ..PolicyConfig::default()
            },
            ..drive::Config::default()
        }
    }
}
