//! `corswatch policy` flags: suggest a policy from traffic, render one for a server stack.

use super::StackArg;
use super::analyze::Browser;
use anyhow::{Context as _, Result};
use clap::Subcommand;
use corswatch::cors::Engine;
use corswatch::drive;
use corswatch::event::Event;
use corswatch::fix::Stack;
use corswatch::policy::stage::PolicyConfig;
use corswatch::policy::{Policy, render};
use std::io::Write;
use std::path::{Path, PathBuf};

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
    #[command(flatten)]
    pub memory: super::memory::MemoryArgs,
}

impl SuggestArgs {
    /// The pipeline's configuration: collect what a policy needs, build no clean-pass event,
    /// within the memory budget.
    pub fn drive_config(&self) -> Result<drive::Config> {
        let mut cfg = drive::Config {
            threads: self.threads.max(1),
            every_event: false,
            event_text: false,
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
        };
        self.memory.budget()?.apply(&mut cfg);
        Ok(cfg)
    }
}

/// Runs `policy suggest` or `policy render`; the exit code (2 if an input had problems).
pub fn run(cmd: PolicyCommand) -> Result<u8> {
    match cmd {
        PolicyCommand::Suggest(args) => suggest(&args),
        PolicyCommand::Render { policy, stack } => {
            let policy = Policy::load(&policy)?;
            let stacks = super::stacks(&stack);
            let mut text = String::new();
            for stack in &stacks {
                if stacks.len() > 1 {
                    text.push_str(&format!("\n# ===== {} =====\n", stack.name()));
                }
                text.push_str(&render::render(&policy, *stack));
            }
            write(None, &text)?;
            Ok(0)
        }
    }
}

/// `policy suggest`: the policy as TOML, then each `--stack`'s configuration.
fn suggest(args: &SuggestArgs) -> Result<u8> {
    let outcome = drive::analyze(&args.drive_config()?, &args.files, |_: &Event| {})?;
    let suggestion = outcome
        .aggregate
        .policy
        .suggest
        .unwrap_or_default()
        .suggest();
    let mut text = suggestion.to_toml();
    let policy = suggestion.policy();
    let stacks: Vec<Stack> = super::stacks(&args.stack);
    for stack in stacks {
        text.push_str(&format!("\n# ===== {} =====\n", stack.name()));
        text.push_str(&render::render(&policy, stack));
    }
    write(args.output.as_deref(), &text)?;
    for p in &outcome.run.problems {
        eprintln!("corswatch: {p}");
    }
    Ok(if outcome.run.problems_total > 0 { 2 } else { 0 })
}

/// Writes `text` to FILE, or stdout.
fn write(path: Option<&Path>, text: &str) -> Result<()> {
    match path {
        Some(p) => std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display())),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
            Ok(())
        }
    }
}
