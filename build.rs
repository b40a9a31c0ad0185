//! Tells the binary which commit it was built from (`corswatch --version`): `git rev-parse`
//! when the source is a git checkout and git is installed, else `unknown`. Never fails the
//! build: a source tarball has no `.git`.

use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn main() {
    // A build without .git (a container build, a packager) may say it: CORSWATCH_COMMIT=...
    let given = std::env::var("CORSWATCH_COMMIT").ok().filter(|c| {
        !c.is_empty()
            && c.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
    });
    let commit = given
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=CORSWATCH_COMMIT={commit}");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CORSWATCH_COMMIT");
    // Build again when HEAD moves: HEAD itself (a checkout), the branch it names (a commit),
    // and packed refs. In a worktree HEAD lives in its own git dir, refs in the common one.
    if let (Some(dir), Some(common)) = (
        git(&["rev-parse", "--git-dir"]),
        git(&["rev-parse", "--git-common-dir"]),
    ) {
        let (dir, common) = (PathBuf::from(dir), PathBuf::from(common));
        let mut watch = vec![dir.join("HEAD"), common.join("packed-refs")];
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watch.push(common.join(branch));
        }
        // A missing file would make cargo run this script on every build.
        for p in watch.into_iter().filter(|p| p.exists()) {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    }
}
