//! Test helpers: run the corswatch binary on fixtures and show everything when it fails.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared` beside the repository: the team's references, benchmarks and third-party corpus.
pub fn shared() -> PathBuf {
    root().join("..").join("shared")
}

pub fn capture(name: &str) -> PathBuf {
    root().join("captures").join(name)
}

/// The corswatch binary built for this test run.
pub fn corswatch() -> Command {
    Command::new(env!("CARGO_BIN_EXE_corswatch"))
}

/// Runs `cmd`, and on an unexpected exit code panics with the command, its status, stdout and
/// stderr, so a failing test says what happened.
pub fn run(cmd: &mut Command, expect_code: i32) -> Output {
    let out = cmd.output().expect("spawn corswatch");
    let code = out.status.code().unwrap_or(-1);
    if code != expect_code {
        panic!(
            "command {:?} exited {code}, expected {expect_code}\n--- stdout\n{}\n--- stderr\n{}",
            cmd,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}
