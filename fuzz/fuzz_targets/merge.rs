//! `corswatch merge`: reports read back from JSON and combined.
//!
//! 1. The input as a report's JSON: an error or a report, never a panic; a report that parses
//!    writes back to JSON that parses to the same report, and merges with itself.
//! 2. Three reports made the way `analyze --format json` makes them (the pipeline and the
//!    aggregate over a few exchanges generated from the input, written as JSON and parsed as
//!    `merge` reads them). Oracles: merge is associative (merge(a, merge(b, c)) equals
//!    merge(merge(a, b), c), compared as JSON) and order-independent (merge(a, b, c) equals
//!    merge(c, b, a) but for what the first report decides by design: the order of `inputs` and
//!    `problems`, and each kind's message, evidence, examples, hop note and causes' wording).
//!    Where a list is cut (a report's, or a merge's: a merge shows as many rows as its inputs
//!    did and folds the rest into `other`), which values keep a row depends on the grouping
//!    (lossy by design, see `src/report/merge.rs`): then only the sums of each list (rows plus
//!    `other`) are compared. Half the inputs make reports with two rows per list to test that.
#![no_main]

use corswatch::aggregate::Limits;
use corswatch::model::Timestamp;
use corswatch::pair::PairConfig;
use corswatch::pipeline::Analyzer;
use corswatch::report::json::{self, Report};
use corswatch::report::merge::{merge, parse};
use corswatch::report::{InputInfo, ReportData, RunInfo};
use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

#[path = "common/exchange.rs"]
mod exgen;

/// A report of a few exchanges from the input, through JSON as another host would send it.
fn report(u: &mut Unstructured, host: usize, top: usize) -> Option<Report> {
    let mut analyzer = Analyzer::new(PairConfig::default(), Limits::default(), false, |_| {});
    let n = u.int_in_range(0..=6u8).ok()?;
    for i in 0..n {
        let mut ex = exgen::exchange(u, u64::from(i)).ok()?;
        ex.time = Timestamp(i64::from(i) * 1_000_000);
        analyzer.push(Box::new(ex));
    }
    let aggregate = analyzer.finish();
    let run = RunInfo {
        inputs: vec![InputInfo {
            name: format!("host{host}.har"),
            format: Some("har"),
            bytes: 100,
            exchanges: u64::from(n),
            problems: 0,
            tls_without_keys: Vec::new(),
        }],
        ..RunInfo::default()
    };
    let text = json::render(&ReportData {
        run: &run,
        aggregate: &aggregate,
        top,
    })
    .ok()?;
    Some(parse(text.as_bytes()).expect("a report corswatch wrote parses back"))
}

fn merged(reports: &[&Report]) -> Value {
    let m = merge(reports.iter().map(|r| (*r).clone()).collect()).expect("merge");
    serde_json::to_value(m).expect("merged report serialises")
}

/// Drops what the first report decides by design, and sorts what it orders.
fn order_free(mut v: Value) -> Value {
    for key in ["inputs", "problems"] {
        if let Some(Value::Array(a)) = v.get_mut(key) {
            a.sort_by_key(|x| x.to_string());
        }
    }
    if let Some(Value::Array(kinds)) = v.get_mut("kinds") {
        for k in kinds {
            if let Some(o) = k.as_object_mut() {
                for key in ["message", "evidence", "examples", "hop"] {
                    o.remove(key);
                }
                if let Some(Value::Array(causes)) = o.get_mut("likely_causes") {
                    for c in causes {
                        if let Some(c) = c.as_object_mut() {
                            c.retain(|k, _| k == "kind" || k == "score");
                        }
                    }
                }
            }
        }
    }
    v
}

/// Every ranked list (`[{value, count}]`) in the report, summed: cutting a list moves counts
/// into `other` but never loses them.
fn ranked_sums(v: &Value, path: &str, out: &mut Vec<(String, u64)>) {
    match v {
        Value::Array(a)
            if a.iter()
                .all(|x| x.get("value").is_some() && x.get("count").is_some())
                && !a.is_empty() =>
        {
            out.push((
                path.to_owned(),
                a.iter().filter_map(|x| x["count"].as_u64()).sum(),
            ));
        }
        Value::Array(a) => {
            for x in a {
                // Kinds by name, not by position (their order follows the counts).
                let key = x.get("kind").and_then(Value::as_str).unwrap_or("");
                ranked_sums(x, &format!("{path}[{key}]"), out);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                ranked_sums(x, &format!("{path}.{k}"), out);
            }
        }
        _ => {}
    }
}

/// Whether some ranked list of the report was cut (has an `other` row).
fn has_other(v: &Value) -> bool {
    match v {
        Value::Array(a) => a
            .iter()
            .any(|x| x.get("value").and_then(Value::as_str) == Some("other") || has_other(x)),
        Value::Object(o) => o.values().any(has_other),
        _ => false,
    }
}

/// Where two JSON values first differ, for the failure message.
fn diff(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                let (p, q) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                if let Some(d) = diff(p, q, &format!("{path}.{k}")) {
                    return Some(d);
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| diff(p, q, &format!("{path}[{i}]"))),
        _ if a == b => None,
        _ => Some(format!("{path}: {a} != {b}")),
    }
}

fn same(a: &Value, b: &Value, what: &str) {
    if let Some(d) = diff(a, b, "") {
        if std::env::var_os("FUZZ_DEBUG").is_some() {
            eprintln!("{what}\n{}\n{}", a["top"], b["top"]);
        }
        panic!("{what}: {d}");
    }
}

fuzz_target!(|data: &[u8]| {
    // 1. Arbitrary JSON.
    if let Ok(r) = parse(data) {
        let text = serde_json::to_string(&r).expect("a parsed report serialises");
        assert_eq!(
            parse(text.as_bytes()).as_ref(),
            Ok(&r),
            "report JSON round trip"
        );
        let _ = merge(vec![r.clone(), r]);
    }
    // 2. Reports of generated traffic.
    let mut u = Unstructured::new(data);
    let Ok(small) = u.arbitrary::<bool>() else {
        return;
    };
    let top = if small { 2 } else { 1000 };
    let (Some(a), Some(b), Some(c)) = (
        report(&mut u, 1, top),
        report(&mut u, 2, top),
        report(&mut u, 3, top),
    ) else {
        return;
    };
    if std::env::var_os("FUZZ_DEBUG").is_some() {
        for r in [&a, &b, &c] {
            eprintln!("top: {}", serde_json::to_string(&r.top).unwrap_or_default());
        }
    }
    let bc = merge(vec![b.clone(), c.clone()]).expect("merge");
    let ab = merge(vec![a.clone(), b.clone()]).expect("merge");
    let left = merged(&[&a, &bc]);
    let right = merged(&[&ab, &c]);
    let all = merged(&[&a, &b, &c]);
    let reversed = merged(&[&c, &b, &a]);
    // A merge shows as many rows per list as its inputs did, folding the rest into `other`:
    // once a list is cut, which values stay depends on the grouping (lossy by design).
    let cut = [
        &left,
        &right,
        &all,
        &reversed,
        &serde_json::to_value(&ab).unwrap_or_default(),
        &serde_json::to_value(&bc).unwrap_or_default(),
    ]
    .iter()
    .any(|v| has_other(v));
    if small || cut {
        let sums = |v: &Value| {
            let mut s = Vec::new();
            ranked_sums(v, "", &mut s);
            s.sort();
            s
        };
        assert_eq!(sums(&left), sums(&right), "ranked sums, associativity");
        assert_eq!(sums(&all), sums(&reversed), "ranked sums, order");
        let _ = same;
    } else {
        same(&left, &right, "associativity");
        same(&left, &all, "merge of three in one go");
        same(
            &order_free(all),
            &order_free(reversed),
            "order independence",
        );
    }
});
