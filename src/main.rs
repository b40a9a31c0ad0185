//! The corswatch command line: parse arguments, run the library, set the exit code.

mod allocator;
mod flags;

use anyhow::{Context as _, Result, bail};
use corswatch::cors::Kind;
use corswatch::drive;
use corswatch::event::Event;
use corswatch::fix::{self, Stack, Values};
use corswatch::report::{self, ReportData};
use flags::{AnalyzeArgs, Cli, Command};
use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    allocator::for_a_budget();
    let (cli, matches) = match Cli::parse_with_matches() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    if cli.quiet {
        corswatch::source::progress::hide_bars();
    }
    let (color, quiet) = (cli.color, cli.quiet);
    let result = match cli.command {
        Command::Analyze(args) => {
            // Colour in a file (-o) only when asked for: `always`.
            let terminal = args.output.is_none() && io::stdout().is_terminal();
            analyze(args, flags::color_on(color, terminal))
        }
        Command::Watch(mut args) => matches
            .subcommand_matches("watch")
            .map_or(Ok(()), |m| args.apply_config_file(m))
            .and_then(|()| {
                watch(
                    args,
                    flags::color_on(color, io::stderr().is_terminal()),
                    quiet,
                )
            })
            .map(|()| 0),
        Command::Merge { reports, output } => merge(&reports, output.as_deref()).map(|()| 0),
        Command::Explain {
            kind,
            stack,
            snippet,
            set,
        } => explain(&kind, &flags::stacks(&stack), snippet, &set).map(|()| 0),
        Command::Kinds => print(&report::explain::kinds()).map(|()| 0),
        Command::Schema { which } => print(match which {
            flags::SchemaArg::Report => report::json::SCHEMA,
            flags::SchemaArg::Policy => corswatch::policy::SCHEMA,
        })
        .map(|()| 0),
        Command::Policy(cmd) => flags::policy::run(cmd),
        Command::Completions { shell } => {
            print(&String::from_utf8_lossy(&flags::docs::completions(shell))).map(|()| 0)
        }
        Command::Man { dir: None } => flags::docs::man()
            .and_then(|m| print(&String::from_utf8_lossy(&m)))
            .map(|()| 0),
        Command::Man { dir: Some(dir) } => flags::docs::man_pages(&dir)
            .and_then(|w| print(&format!("{}\n", w.join("\n"))))
            .map(|()| 0),
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

/// Where the output goes: FILE, or stdout.
fn output(path: Option<&Path>) -> Result<Box<dyn Write>> {
    Ok(match path {
        Some(p) => Box::new(io::BufWriter::new(
            File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(io::BufWriter::new(io::stdout().lock())),
    })
}

/// `analyze`: exit 1 for a verdict at or above `--fail-on`, else 2 if an input had problems.
/// `color`: what `--color` says for a terminal on stdout.
fn analyze(args: AnalyzeArgs, color: bool) -> Result<u8> {
    use flags::analyze::{FailOn, Format};
    let mut out = output(args.output.as_deref())?;
    let events = args.format == Format::Events;
    let mut write_err: Option<io::Error> = None;
    let sink = |ev: &Event| {
        if events
            && write_err.is_none()
            && let Err(e) = serde_json::to_writer(&mut out, ev)
                .map_err(io::Error::from)
                .and_then(|()| out.write_all(b"\n"))
        {
            write_err = Some(e);
        }
    };
    let policy = args.policy_config()?;
    let outcome = drive::analyze(&args.drive_config(policy)?, &args.files, sink)?;
    if let Some(e) = write_err {
        return Err(e).context("cannot write the events");
    }
    let data = ReportData {
        run: &outcome.run,
        aggregate: &outcome.aggregate,
        top: args.top,
    };
    match args.format {
        Format::Events => {}
        Format::Json => out.write_all(report::json::render(&data)?.as_bytes())?,
        Format::Html => {
            let opts = report::html::HtmlOptions {
                stacks: flags::stacks(&args.stack),
                preferred: flags::stacks(&args.stack),
                notes: args.notes,
            };
            out.write_all(report::html::render(&data, &opts).as_bytes())?;
        }
        Format::Text => {
            let opts = report::text::TextOptions {
                color,
                stacks: flags::stacks(&args.stack),
                notes: args.notes,
            };
            out.write_all(report::text::render(&data, &opts).as_bytes())?;
        }
    }
    out.flush()?;
    drop(out);
    if args.format != Format::Text {
        for p in &outcome.run.problems {
            eprintln!("corswatch: {p}");
        }
    }
    let t = &outcome.aggregate.totals;
    let p = &outcome.aggregate.policy;
    let failed = args.fail_on.iter().any(|f| match f {
        FailOn::Never => false,
        FailOn::Blocked => t.blocked > 0,
        FailOn::Warning => t.blocked + t.warnings > 0,
        FailOn::Finding => t.blocked + t.warnings + t.findings > 0,
        FailOn::PolicyBreak => p.what_if.as_ref().is_some_and(|w| w.now_break.count > 0),
        FailOn::PolicyDrift => p.drift.as_ref().is_some_and(|d| d.total() > 0),
    });
    Ok(if failed {
        1
    } else if outcome.run.problems_total > 0 {
        2
    } else {
        0
    })
}

fn watch(args: flags::WatchArgs, color: bool, quiet: bool) -> Result<()> {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("CORSWATCH_LOG").unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(if quiet { "warn" } else { "info" })
        });
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(color)
        .with_writer(io::stderr);
    let _ = match args.log_format {
        flags::watch::LogFormat::Json => fmt.json().try_init(),
        flags::watch::LogFormat::Text => fmt.try_init(),
    };
    corswatch::watch::run(args.into_config(quiet)?)?;
    Ok(())
}

fn merge(paths: &[PathBuf], output_path: Option<&Path>) -> Result<()> {
    let mut reports = Vec::with_capacity(paths.len());
    for p in paths {
        let text = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
        let r = report::merge::parse(&text).with_context(|| format!("{}", p.display()))?;
        reports.push(r);
    }
    let merged = report::merge::merge(reports)?;
    let mut out = output(output_path)?;
    serde_json::to_writer_pretty(&mut out, &merged)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

/// `explain`: the kind in full, or (`--snippet`) only the rendered snippet of one stack.
fn explain(id: &str, stacks: &[Stack], snippet_only: bool, set: &[String]) -> Result<()> {
    let Some(kind) = Kind::from_id(id) else {
        bail!("unknown kind `{id}`: `corswatch kinds` lists them");
    };
    let values = Values::parse_assignments(set)?;
    if snippet_only {
        let [stack] = stacks else {
            bail!("--snippet prints one snippet: give exactly one --stack");
        };
        let Some(text) = fix::fix(kind).render(*stack, &values) else {
            bail!("`{id}` has no server-side snippet (the fix is on the client side)");
        };
        return print(&format!("{}\n", text?));
    }
    print(&report::explain::explain(kind, stacks, &values)?)
}
