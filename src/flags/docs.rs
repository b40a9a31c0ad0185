//! `corswatch completions SHELL` and `corswatch man`: generated from the clap definitions, so
//! they never fall behind the flags.

use super::Cli;
use anyhow::{Context as _, Result};
use clap::CommandFactory;
use std::path::Path;

/// The completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "corswatch", &mut out);
    out
}

/// The manual page of `corswatch` (roff), subcommands listed.
pub fn man() -> Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    Ok(out)
}

/// `corswatch.1` and one `corswatch-COMMAND.1` per command, written into `dir`.
pub fn man_pages(dir: &Path) -> Result<Vec<String>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut cmd = Cli::command();
    cmd.build();
    let mut written = Vec::new();
    let mut page = |c: clap::Command, name: &'static str| -> Result<()> {
        let mut out = Vec::new();
        clap_mangen::Man::new(c.name(name)).render(&mut out)?;
        let file = dir.join(format!("{name}.1"));
        std::fs::write(&file, out).with_context(|| format!("cannot write {}", file.display()))?;
        written.push(file.display().to_string());
        Ok(())
    };
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        // Command names are `'static` in clap; a handful of pages, leaked once per run.
        let name: &'static str = format!("corswatch-{}", sub.get_name()).leak();
        page(sub.clone(), name)?;
    }
    page(cmd.clone(), "corswatch")?;
    Ok(written)
}
