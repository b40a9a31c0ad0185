//! `corswatch explain` and `corswatch kinds`: the catalogue of kinds, for people.

use crate::cors::{Kind, VerdictClass};
use crate::fix::{self, Stack, TemplateError, Values};
use std::fmt::Write;

/// One kind: its class and title, why the browser decides so, what to change, and the fix for
/// each of `stacks` (every stack when empty), its placeholders filled with `values`.
pub fn explain(kind: Kind, stacks: &[Stack], values: &Values) -> Result<String, TemplateError> {
    let f = fix::fix(kind);
    let mut s = String::new();
    let _ = write!(
        s,
        "{} ({})\n{}\n\nWhy: {}\n\nFix: {}\n",
        kind.id(),
        kind.class().as_str(),
        f.title,
        f.why,
        f.summary
    );
    if !f.stacks.is_empty() {
        let _ = write!(
            s,
            "\nBehind a reverse proxy, set the CORS headers in one layer only, the proxy's or the \
             app's. With both hops captured (browser→proxy, proxy→app), corswatch reports which \
             layer set each header and shows that layer's fix first; `analyze` shows the fix for \
             the stack the traffic shows (--stack picks others).\n"
        );
    }
    for &(stack, _) in f.stacks {
        if !stacks.is_empty() && !stacks.contains(&stack) {
            continue;
        }
        let snippet = f.render(stack, values).transpose()?.unwrap_or_default();
        let _ = writeln!(s, "\n{}:", stack.name());
        for line in snippet.lines() {
            let _ = writeln!(s, "  {line}");
        }
    }
    Ok(s)
}

/// Every kind, a line each: class, id, title; blocked first.
pub fn kinds() -> String {
    let mut s = String::new();
    for class in [
        VerdictClass::Blocked,
        VerdictClass::Warning,
        VerdictClass::Finding,
        VerdictClass::Note,
    ] {
        for k in Kind::ALL.iter().filter(|k| k.class() == class) {
            let _ = writeln!(
                s,
                "{:<8} {:<40} {}",
                class.as_str(),
                k.id(),
                fix::fix(*k).title
            );
        }
    }
    s
}
