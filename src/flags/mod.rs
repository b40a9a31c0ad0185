//! The command line: every flag, its help and its defaults (clap), turned into the library's
//! configuration. `main.rs` only dispatches.

pub mod analyze;
pub mod docs;
pub mod memory;
pub mod policy;
pub mod watch;

pub use analyze::AnalyzeArgs;
pub use watch::WatchArgs;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use corswatch::fix::Stack;
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  corswatch analyze session.har                      report on a HAR saved from DevTools
  corswatch analyze capture.pcapng --format json     the JSON report (schema: corswatch schema)
  corswatch analyze e2e.har --fail-on blocked        exit 1 if a browser would block anything
  corswatch analyze a.har b.pcap - < c.har            several inputs, mixed formats, stdin
  corswatch analyze s.har --format events -o ev.jsonl one JSON object per CORS exchange
  corswatch merge host1.json host2.json -o all.json  one report from several hosts or runs
  corswatch analyze s.har --format html -o r.html    one page for a browser (no network)
  corswatch policy suggest s.har > policy.toml       the tightest CORS policy the traffic needs
  corswatch analyze s.har --policy policy.toml       what would pass and break under a policy
  corswatch analyze s.har --declared declared.toml   where the server departs from its policy
  corswatch explain preflight_acao_missing           why, and the fix per server stack
  corswatch kinds                                    every kind corswatch reports
  corswatch completions bash > /etc/bash_completion.d/corswatch   (also zsh, fish)
  corswatch man | man -l -                           the manual page";

/// The version line: the package version and the commit it was built from (`unknown` when
/// built outside a git checkout, e.g. from a source tarball).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("CORSWATCH_COMMIT"),
    ")"
);

#[derive(Parser)]
#[command(name = "corswatch", version = VERSION, about = "Says which cross-origin requests a browser would block, why, and how to fix it", after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Colour: auto (on a terminal, unless NO_COLOR is set), always, never
    #[arg(long, global = true, value_enum, default_value_t = analyze::Color::Auto)]
    pub color: analyze::Color,
    /// Print only the output and errors: no progress bar, no start and stop lines
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
}

impl Cli {
    /// Parses the command line; the matches tell where each value came from (a flag, the
    /// environment or a default), which the config file of `watch` needs.
    pub fn parse_with_matches() -> Result<(Cli, ArgMatches), clap::Error> {
        let matches = Cli::command().try_get_matches()?;
        let cli = Cli::from_arg_matches(&matches)?;
        Ok((cli, matches))
    }
}

/// Whether to colour a stream that is (or is not) a terminal: `--color`, `NO_COLOR` respected.
pub fn color_on(color: analyze::Color, terminal: bool) -> bool {
    match color {
        analyze::Color::Always => true,
        analyze::Color::Never => false,
        analyze::Color::Auto => terminal && std::env::var_os("NO_COLOR").is_none(),
    }
}

#[derive(Subcommand)]
pub enum Command {
    /// Analyse HAR, pcap or pcapng files (format detected from the content; `-` reads stdin)
    #[command(after_help = EXAMPLES)]
    Analyze(AnalyzeArgs),
    /// Run as an agent: capture live traffic (or replay a file) and serve /metrics, /report,
    /// /healthz
    #[command(after_help = watch::EXAMPLES)]
    Watch(WatchArgs),
    /// Merge JSON reports from several hosts or runs into one (counts add, top lists re-ranked)
    Merge {
        /// JSON reports (`analyze --format json`, `/report`, `watch --report-out`)
        #[arg(required = true)]
        reports: Vec<PathBuf>,
        /// Write the merged report to FILE instead of stdout
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
    },
    /// Explain one kind: what the browser checks, and the fix per server stack
    Explain {
        /// A kind id, e.g. acao_missing (see `corswatch kinds`)
        kind: String,
        /// Only these stacks (`all`: every one, the default)
        #[arg(long, value_enum)]
        stack: Vec<StackArg>,
        /// Print only the snippet of the one --stack, rendered (for scripts)
        #[arg(long, requires = "stack")]
        snippet: bool,
        /// Placeholder value in the snippets: origin, origin2, path, methods, headers, expose,
        /// upstream (e.g. --set origin=http://localhost:5173 --set path=/api/)
        #[arg(long, value_name = "NAME=VALUE")]
        set: Vec<String>,
    },
    /// CORS policies: suggest one from traffic, render one as a server's configuration
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// List every kind: id, class, Chromium CorsError, title
    Kinds,
    /// Print a JSON Schema: of the JSON report (the default), or of the policy file
    Schema {
        /// Which one
        #[arg(value_enum, default_value_t = SchemaArg::Report)]
        which: SchemaArg,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), or write one per command into --dir
    Man {
        /// Write corswatch.1 and corswatch-COMMAND.1 here instead of printing corswatch.1
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// The JSON Schemas `corswatch schema` prints.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaArg {
    /// The JSON report (`analyze --format json`, `/report`)
    Report,
    /// The policy file (`--policy`, `--declared`, `policy suggest`)
    Policy,
}

/// A server stack on the command line.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StackArg {
    Express,
    Nginx,
    Fastapi,
    Flask,
    Django,
    Spring,
    Aspnetcore,
    Apache,
    /// Every stack
    All,
}

impl StackArg {
    /// The stacks this names, in the library's terms.
    fn expand(self) -> &'static [Stack] {
        match self {
            StackArg::Express => &[Stack::Express],
            StackArg::Nginx => &[Stack::Nginx],
            StackArg::Fastapi => &[Stack::FastApi],
            StackArg::Flask => &[Stack::Flask],
            StackArg::Django => &[Stack::Django],
            StackArg::Spring => &[Stack::Spring],
            StackArg::Aspnetcore => &[Stack::AspNetCore],
            StackArg::Apache => &[Stack::Apache],
            StackArg::All => &Stack::ALL,
        }
    }
}

/// The stacks named (`all`: every one), in the library's terms, each once.
pub fn stacks(args: &[StackArg]) -> Vec<Stack> {
    let mut out: Vec<Stack> = Vec::new();
    for s in args.iter().flat_map(|a| a.expand()) {
        if !out.contains(s) {
            out.push(*s);
        }
    }
    out
}
