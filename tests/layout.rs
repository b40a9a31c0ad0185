//! The module tree keeps telling the pipeline: no import circles between sibling modules,
//! sources and the decoder know nothing of the agent, the server, the metrics or the reports,
//! the classifier imports no sources, decoding, serving or fix text, and no file grows past
//! what one reader can hold.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every library module (`a::b`) and its source, comments and test modules left out.
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, root, out);
                continue;
            }
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if !rel.ends_with(".rs") || matches!(rel.as_str(), "lib.rs" | "main.rs") {
                continue;
            }
            // The binary's own modules.
            if rel.starts_with("flags/") || rel == "allocator.rs" {
                continue;
            }
            let mut parts: Vec<&str> = rel.trim_end_matches(".rs").split('/').collect();
            if parts.last() == Some(&"mod") {
                parts.pop();
            }
            let text = std::fs::read_to_string(&p).unwrap();
            let code: String = text
                .split("#[cfg(test)]")
                .next()
                .unwrap_or("")
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            out.insert(parts.join("::"), code);
        }
    }
    let root = crate::util::root().join("src");
    let mut out = BTreeMap::new();
    walk(&root, &root, &mut out);
    out
}

/// Module -> the modules its code names (`crate::…`, `super::…`), resolved to the deepest
/// module that exists.
fn edges(mods: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let resolve = |segs: &[String]| -> Option<String> {
        (1..=segs.len())
            .rev()
            .map(|i| segs[..i].join("::"))
            .find(|c| mods.contains_key(c))
    };
    let path_after = |text: &str| -> Vec<String> {
        text.split("::")
            .map(|s| {
                s.chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                    .collect::<String>()
            })
            .take_while(|s| !s.is_empty())
            .collect()
    };
    let mut out = BTreeMap::new();
    for (m, code) in mods {
        let here: Vec<String> = m.split("::").map(str::to_owned).collect();
        let mut to = BTreeSet::new();
        for (i, _) in code.match_indices("crate::") {
            if let Some(t) = resolve(&path_after(&code[i + 7..])) {
                to.insert(t);
            }
        }
        for (i, _) in code.match_indices("super::") {
            if i > 0 && code[..i].ends_with("super::") {
                continue;
            }
            let mut rest = &code[i..];
            let mut up = 0;
            while let Some(r) = rest.strip_prefix("super::") {
                up += 1;
                rest = r;
            }
            let mut segs: Vec<String> = here[..here.len().saturating_sub(up)].to_vec();
            segs.extend(path_after(rest));
            if let Some(t) = resolve(&segs) {
                to.insert(t);
            }
        }
        to.remove(m);
        out.insert(m.clone(), to);
    }
    out
}

fn related(a: &str, b: &str) -> bool {
    a.starts_with(&format!("{b}::")) || b.starts_with(&format!("{a}::"))
}

fn top(m: &str) -> &str {
    m.split("::").next().unwrap_or(m)
}

#[test]
fn no_import_circles_between_modules() {
    let e = edges(&modules());
    let mut circles = Vec::new();
    for (a, tos) in &e {
        for b in tos.iter().filter(|b| !related(a, b)) {
            // Is `a` reachable from `b` without going through a parent or child?
            let mut stack = vec![(b.clone(), vec![a.clone(), b.clone()])];
            let mut seen = BTreeSet::new();
            while let Some((n, path)) = stack.pop() {
                if &n == a {
                    circles.push(path.join(" -> "));
                    break;
                }
                if !seen.insert(n.clone()) {
                    continue;
                }
                for c in e.get(&n).into_iter().flatten() {
                    if !related(&n, c) {
                        let mut p = path.clone();
                        p.push(c.clone());
                        stack.push((c.clone(), p));
                    }
                }
            }
        }
    }
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn layers_import_only_what_they_may() {
    let e = edges(&modules());
    let rules: [(&[&str], &[&str]); 2] = [
        (
            &["source", "net"],
            &[
                "watch",
                "serve",
                "metrics",
                "report",
                "drive",
                "pipeline",
                "aggregate",
                "event",
            ],
        ),
        (
            &["cors"],
            &[
                "source", "net", "serve", "fix", "watch", "drive", "report", "metrics",
            ],
        ),
    ];
    let mut bad = Vec::new();
    for (m, tos) in &e {
        for (layer, forbidden) in rules {
            if !layer.contains(&top(m)) {
                continue;
            }
            for t in tos.iter().filter(|t| forbidden.contains(&top(t))) {
                bad.push(format!("{m} imports {t}"));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn files_stay_readable() {
    fn walk(dir: &Path, out: &mut Vec<(String, usize)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let n = std::fs::read_to_string(&p).unwrap().lines().count();
                out.push((p.display().to_string(), n));
            }
        }
    }
    let mut files = Vec::new();
    walk(&crate::util::root().join("src"), &mut files);
    let too_long: Vec<String> = files
        .iter()
        .filter(|(_, n)| *n > 900)
        .map(|(f, n)| format!("{f}: {n} lines"))
        .collect();
    assert!(
        too_long.is_empty(),
        "over 900 lines:\n{}",
        too_long.join("\n")
    );
    let main = files
        .iter()
        .find(|(f, _)| f.ends_with("src/main.rs"))
        .map_or(0, |(_, n)| *n);
    assert!(main < 250, "main.rs has {main} lines");
}
