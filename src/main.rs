//! The corswatch command line: parse arguments, run the library, set the exit code.

use anyhow::{Context as _, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use corswatch::aggregate::Limits;
use corswatch::cors::{Kind, VerdictClass};
use corswatch::event::Event;
use corswatch::fix::{self, Stack};
use corswatch::pair::PairConfig;
use corswatch::report::{self, InputInfo, ReportData, RunInfo};
use corswatch::source::{self, InputError, SourceItem};
use corswatch::{Analyzer, watch};
use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const EXAMPLES: &str = "\
Examples:
  corswatch analyze session.har                      report on a HAR saved from DevTools
  corswatch analyze capture.pcapng --format json     the JSON report (schema: corswatch schema)
  corswatch analyze e2e.har --fail-on blocked        exit 1 if a browser would block anything
  corswatch analyze a.har b.pcap - < c.har            several inputs, mixed formats, stdin
  corswatch analyze s.har --format events -o ev.jsonl one JSON object per CORS exchange
  corswatch merge host1.json host2.json -o all.json  one report from several hosts or runs
  corswatch explain preflight_acao_missing           why, and the fix per server stack
  corswatch kinds                                    every kind corswatch reports";

#[derive(Parser)]
#[command(name = "corswatch", version, about = "Says which cross-origin requests a browser would block, why, and how to fix it", after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse HAR, pcap or pcapng files (format detected from the content; `-` reads stdin)
    #[command(after_help = EXAMPLES)]
    Analyze(AnalyzeArgs),
    /// Run as an agent: capture live traffic (or replay a file) and serve /metrics, /report,
    /// /healthz
    #[command(after_help = WATCH_EXAMPLES)]
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
        /// Only these stacks
        #[arg(long, value_enum)]
        stack: Vec<StackArg>,
    },
    /// List every kind: id, class, Chromium CorsError, title
    Kinds,
    /// Print the JSON Schema of the JSON report
    Schema,
}

#[derive(clap::Args)]
struct AnalyzeArgs {
    /// Input files (HAR, pcap, pcapng, optionally gzip-compressed); `-` for stdin
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Output format
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write the output to FILE instead of stdout
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// Exit 1 when a verdict of this class (or worse) is present
    #[arg(long, value_enum, default_value_t = FailOn::Never)]
    fail_on: FailOn,
    /// Show fixes only for these server stacks (text report)
    #[arg(long, value_enum)]
    stack: Vec<StackArg>,
    /// Rows in each top list
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// Also show notes (lookalikes and explanations) in the text report
    #[arg(long)]
    notes: bool,
    /// Colour: auto (on a terminal, unless NO_COLOR is set), always, never
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
    /// Seconds after a preflight within which its actual request must start
    #[arg(long, default_value_t = 10)]
    pair_window: u64,
    /// NSS key log (what SSLKEYLOGFILE makes browsers write) to decrypt TLS in captures
    #[arg(long, value_name = "FILE")]
    keylog: Option<PathBuf>,
}

const WATCH_EXAMPLES: &str = "\
Examples:
  corswatch watch -i eth0                                  beside an API server (needs CAP_NET_RAW)
  corswatch watch -i any --filter 'tcp port 8080'          the `any` device, one port
  corswatch watch --replay capture.pcap --speed 10         replay with timestamps, 10x
  corswatch watch --replay big.pcap --fast --exit-when-done --report-out r.json
Unprivileged: sudo setcap cap_net_raw,cap_net_admin=eip $(which corswatch)";

#[derive(clap::Args)]
struct WatchArgs {
    /// Interface to capture on (`any` for all); needs the `live` feature
    #[arg(
        short = 'i',
        long,
        env = "CORSWATCH_INTERFACE",
        conflicts_with = "replay",
        required_unless_present = "replay"
    )]
    interface: Option<String>,
    /// Replay a pcap/pcapng or HAR file through the live path instead of capturing
    #[arg(long, value_name = "FILE")]
    replay: Option<PathBuf>,
    /// Replay at N times the recorded speed
    #[arg(long, default_value_t = 1.0, conflicts_with = "fast")]
    speed: f64,
    /// Replay as fast as possible
    #[arg(long)]
    fast: bool,
    /// Replay the file this many times
    #[arg(long, default_value_t = 1)]
    repeat: u32,
    /// Stop when the replay ends (default: keep serving until SIGINT/SIGTERM)
    #[arg(long)]
    exit_when_done: bool,
    /// BPF capture filter
    #[arg(
        long,
        env = "CORSWATCH_FILTER",
        default_value = "tcp port 80 or tcp port 8080 or tcp port 3000 or tcp port 5000 or tcp port 8000"
    )]
    filter: String,
    /// Bytes captured per packet
    #[arg(long, default_value_t = 262_144)]
    snaplen: i32,
    /// Kernel capture buffer, bytes
    #[arg(long, default_value_t = 16 << 20)]
    buffer_size: i32,
    /// Put the interface in promiscuous mode
    #[arg(long)]
    promiscuous: bool,
    /// Address for /metrics, /report, /healthz
    #[arg(long, env = "CORSWATCH_LISTEN", default_value = "127.0.0.1:9477")]
    listen: std::net::SocketAddr,
    /// Origins that keep their own metric series (the first N seen otherwise)
    #[arg(long, value_delimiter = ',', env = "CORSWATCH_ORIGINS")]
    origins: Option<Vec<String>>,
    /// Distinct origin label values before folding into `other`
    #[arg(long, default_value_t = 50)]
    top_origins: usize,
    /// Distinct route label values before folding into `other`
    #[arg(long, default_value_t = 100)]
    top_routes: usize,
    /// Write the final JSON report here when stopping
    #[arg(long)]
    report_out: Option<PathBuf>,
    /// Log format on stderr
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// NSS key log to decrypt TLS with (SSLKEYLOGFILE), followed as it grows
    #[arg(long, value_name = "FILE")]
    keylog: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
    Events,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FailOn {
    Blocked,
    Warning,
    Finding,
    Never,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StackArg {
    Express,
    Nginx,
    Fastapi,
    Flask,
    Django,
    Spring,
    Aspnetcore,
    Apache,
}

impl From<StackArg> for Stack {
    fn from(s: StackArg) -> Stack {
        match s {
            StackArg::Express => Stack::Express,
            StackArg::Nginx => Stack::Nginx,
            StackArg::Fastapi => Stack::FastApi,
            StackArg::Flask => Stack::Flask,
            StackArg::Django => Stack::Django,
            StackArg::Spring => Stack::Spring,
            StackArg::Aspnetcore => Stack::AspNetCore,
            StackArg::Apache => Stack::Apache,
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Analyze(args) => analyze(args),
        Command::Watch(args) => watch(args).map(|()| 0),
        Command::Merge { reports, output } => merge(&reports, output.as_deref()).map(|()| 0),
        Command::Explain { kind, stack } => explain(&kind, &stack).map(|()| 0),
        Command::Kinds => kinds().map(|()| 0),
        Command::Schema => print(report::json::SCHEMA).map(|()| 0),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("corswatch: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn print(s: &str) -> Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(s.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Counts bytes read, for the progress bar.
struct Counting<R> {
    inner: R,
    n: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n.fetch_add(k as u64, Ordering::Relaxed);
        Ok(k)
    }
}

fn analyze(args: AnalyzeArgs) -> Result<u8> {
    let mut out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(io::BufWriter::new(
            File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(io::BufWriter::new(io::stdout().lock())),
    };
    let events_mode = args.format == Format::Events;
    let mut write_err: Option<io::Error> = None;
    let mut run = RunInfo::default();
    let pairing = PairConfig {
        window_ns: (args.pair_window.min(3600) as i64) * 1_000_000_000,
        ..PairConfig::default()
    };
    let limits = Limits::default();
    let mut analyzer = Analyzer::new(pairing, limits, |ev: &Event| {
        if events_mode
            && write_err.is_none()
            && let Err(e) = serde_json::to_writer(&mut out, ev)
                .map_err(io::Error::from)
                .and_then(|()| out.write_all(b"\n"))
        {
            write_err = Some(e);
        }
    });

    let mut stdin_used = false;
    for path in &args.files {
        let name: Arc<str> = Arc::from(path.to_string_lossy().as_ref());
        let counter = Arc::new(AtomicU64::new(0));
        let (reader, size): (Box<dyn Read + Send>, Option<u64>) = if path.as_os_str() == "-" {
            if stdin_used {
                bail!("`-` (stdin) given twice");
            }
            stdin_used = true;
            (Box::new(io::stdin()), None)
        } else {
            match File::open(path) {
                Ok(f) => {
                    let size = f.metadata().ok().map(|m| m.len());
                    (Box::new(f), size)
                }
                Err(e) => {
                    run.inputs.push(InputInfo {
                        name: name.to_string(),
                        problems: 1,
                        ..InputInfo::default()
                    });
                    run.problem(InputError::Io {
                        input: name,
                        message: e.to_string(),
                    });
                    continue;
                }
            }
        };
        let reader = Box::new(Counting {
            inner: reader,
            n: counter.clone(),
        });
        let mut info = InputInfo {
            name: name.to_string(),
            ..InputInfo::default()
        };
        let net_limits = corswatch::net::Limits {
            keylog: args.keylog.clone(),
            ..Default::default()
        };
        let mut src = match source::open_with(name.clone(), reader, &net_limits) {
            Ok(s) => s,
            Err(e) => {
                info.problems += 1;
                run.problem(e);
                run.inputs.push(info);
                continue;
            }
        };
        info.format = Some(src.format().name());
        let mut progress = Progress::new(size, &name);
        for item in src.by_ref() {
            match item {
                SourceItem::Exchange(ex) => {
                    info.exchanges += 1;
                    analyzer.push(ex);
                }
                SourceItem::Problem(p) => {
                    info.problems += 1;
                    run.problem(p);
                }
            }
            progress.tick(&counter);
        }
        progress.done();
        analyzer.add_health(&src.health());
        info.tls_without_keys = src.tls_without_keys();
        info.bytes = counter.load(Ordering::Relaxed);
        run.inputs.push(info);
    }
    let aggregate = analyzer.finish();
    if let Some(e) = write_err {
        return Err(e).context("cannot write the events");
    }

    let data = ReportData {
        run: &run,
        aggregate: &aggregate,
        top: args.top,
    };
    match args.format {
        Format::Events => {}
        Format::Json => out.write_all(report::json::render(&data)?.as_bytes())?,
        Format::Text => {
            let color = match args.color {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => {
                    args.output.is_none()
                        && io::stdout().is_terminal()
                        && std::env::var_os("NO_COLOR").is_none()
                }
            };
            let opts = report::text::TextOptions {
                color,
                stacks: args.stack.iter().map(|s| Stack::from(*s)).collect(),
                notes: args.notes,
            };
            out.write_all(report::text::render(&data, &opts).as_bytes())?;
        }
    }
    out.flush()?;
    drop(out);
    if args.format != Format::Text {
        for p in &run.problems {
            eprintln!("corswatch: {p}");
        }
    }

    let t = &aggregate.totals;
    let failed = match args.fail_on {
        FailOn::Never => false,
        FailOn::Blocked => t.blocked > 0,
        FailOn::Warning => t.blocked + t.warnings > 0,
        FailOn::Finding => t.blocked + t.warnings + t.findings > 0,
    };
    Ok(if failed {
        1
    } else if run.problems_total > 0 {
        2
    } else {
        0
    })
}

/// A progress bar on stderr for inputs that take more than a moment; none when stderr is not a
/// terminal.
struct Progress {
    start: Instant,
    size: Option<u64>,
    name: String,
    bar: Option<indicatif::ProgressBar>,
    n: u32,
}

impl Progress {
    fn new(size: Option<u64>, name: &str) -> Self {
        Progress {
            start: Instant::now(),
            size,
            name: name.to_string(),
            bar: None,
            n: 0,
        }
    }

    fn tick(&mut self, read: &AtomicU64) {
        self.n = self.n.wrapping_add(1);
        if !self.n.is_multiple_of(1024) {
            return;
        }
        if self.bar.is_none() {
            if self.start.elapsed() < Duration::from_millis(700) || !io::stderr().is_terminal() {
                return;
            }
            let bar = match self.size {
                Some(s) => indicatif::ProgressBar::new(s),
                None => indicatif::ProgressBar::new_spinner(),
            };
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(self.name.clone());
            self.bar = Some(bar);
        }
        if let Some(b) = &self.bar {
            b.set_position(read.load(Ordering::Relaxed));
        }
    }

    fn done(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

fn watch(a: WatchArgs) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CORSWATCH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(io::stderr().is_terminal())
        .with_writer(io::stderr);
    let _ = match a.log_format {
        LogFormat::Json => fmt.json().try_init(),
        LogFormat::Text => fmt.try_init(),
    };
    if !(a.speed > 0.0 && a.speed.is_finite()) {
        bail!("--speed must be a positive number");
    }
    let input = match (a.replay, a.interface) {
        (Some(path), _) => watch::WatchInput::Replay {
            path,
            pace: if a.fast {
                watch::Pace::Fast
            } else {
                watch::Pace::Speed(a.speed)
            },
            repeat: a.repeat,
        },
        (None, Some(interface)) => watch::WatchInput::Live(watch::LiveOptions {
            interface,
            filter: a.filter,
            snaplen: a.snaplen,
            buffer_size: a.buffer_size,
            promiscuous: a.promiscuous,
        }),
        (None, None) => bail!("give -i INTERFACE or --replay FILE"),
    };
    let cfg = watch::WatchConfig {
        input,
        listen: a.listen,
        metrics: corswatch::metrics::MetricsConfig {
            top_origins: a.top_origins,
            top_routes: a.top_routes,
            origins: a.origins,
        },
        pairing: PairConfig::default(),
        report_out: a.report_out,
        exit_when_done: a.exit_when_done,
        keylog: a.keylog,
    };
    watch::run(cfg)?;
    Ok(())
}

fn merge(paths: &[PathBuf], output: Option<&std::path::Path>) -> Result<()> {
    let mut reports = Vec::with_capacity(paths.len());
    for p in paths {
        let text = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
        let v: serde_json::Value = serde_json::from_slice(&text)
            .with_context(|| format!("{}: not a JSON report", p.display()))?;
        reports.push(v);
    }
    let merged = report::merge::merge(&reports).map_err(|e| {
        use report::merge::MergeError::{Malformed, UnsupportedSchema};
        match &e {
            UnsupportedSchema { index, .. } | Malformed { index, .. } => {
                let name = paths.get(*index).map(|p| p.display().to_string());
                anyhow::anyhow!("{}: {e}", name.unwrap_or_default())
            }
            _ => anyhow::anyhow!(e),
        }
    })?;
    let mut text = serde_json::to_string_pretty(&merged)?;
    text.push('\n');
    match output {
        Some(p) => std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display())),
        None => print(&text),
    }
}

fn explain(id: &str, stacks: &[StackArg]) -> Result<()> {
    let Some(kind) = Kind::from_id(id) else {
        bail!("unknown kind `{id}`: `corswatch kinds` lists them");
    };
    let f = fix::fix(kind);
    let mut s = String::new();
    s.push_str(&format!(
        "{} ({})\n{}\n\n",
        kind.id(),
        kind.class().as_str(),
        f.title
    ));
    s.push_str(&format!("Why: {}\n\nFix: {}\n", f.why, f.summary));
    for (stack, snippet) in f.stacks {
        if !stacks.is_empty() && !stacks.iter().any(|a| Stack::from(*a) == *stack) {
            continue;
        }
        s.push_str(&format!("\n{}:\n", stack.name()));
        for line in snippet.lines() {
            s.push_str(&format!("  {line}\n"));
        }
    }
    print(&s)
}

fn kinds() -> Result<()> {
    let mut s = String::new();
    for class in [
        VerdictClass::Blocked,
        VerdictClass::Warning,
        VerdictClass::Finding,
        VerdictClass::Note,
    ] {
        for k in Kind::ALL.iter().filter(|k| k.class() == class) {
            s.push_str(&format!(
                "{:<8} {:<40} {}\n",
                class.as_str(),
                k.id(),
                fix::fix(*k).title
            ));
        }
    }
    print(&s)
}
