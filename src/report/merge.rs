//! `corswatch merge`: combines JSON reports from several hosts or runs into one report of the
//! same schema. Counts add; top lists are re-ranked by their summed counts.
//!
//! Re-ranking is as good as the inputs allow: a value that one input folded into `other` stays
//! there, so a merged top list can undercount a value that was rare on some hosts. The `other`
//! row keeps the totals right.

use super::MAX_PROBLEMS;
use super::json::{Report, SCHEMA_VERSION, Tool, capture_warnings};
use super::layers;
use crate::aggregate::Ranked;
use serde::Deserialize;
use std::collections::HashMap;

/// Examples kept per kind, as the aggregate keeps them.
const MAX_EXAMPLES: usize = 3;

/// Why reports cannot be merged.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MergeError {
    /// No report given.
    #[error("nothing to merge: give at least one report")]
    Empty,
    /// A report of another shape.
    #[error(
        "schema_version {found} is not supported (this corswatch reads version {SCHEMA_VERSION})"
    )]
    UnsupportedSchema {
        /// The version found (`(missing)` when none).
        found: String,
    },
    /// Not a report: the reason names the field and the place.
    #[error("not a corswatch JSON report: {reason}")]
    Malformed {
        /// serde's reason, with line and column.
        reason: String,
    },
}

/// Reads one JSON report, refusing other schema versions.
pub fn parse(json: &[u8]) -> Result<Report, MergeError> {
    #[derive(Deserialize)]
    struct Version {
        schema_version: Option<serde_json::Value>,
    }
    let malformed = |e: serde_json::Error| MergeError::Malformed {
        reason: e.to_string(),
    };
    let v: Version = serde_json::from_slice(json).map_err(malformed)?;
    match v.schema_version {
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(u64::from(SCHEMA_VERSION)) => {}
        other => {
            return Err(MergeError::UnsupportedSchema {
                found: other.map_or_else(|| "(missing)".to_owned(), |v| v.to_string()),
            });
        }
    }
    serde_json::from_slice(json).map_err(malformed)
}

/// Merges reports in order: the first report wins wherever a value cannot be added (a kind's
/// message and evidence, its examples first).
pub fn merge(reports: Vec<Report>) -> Result<Report, MergeError> {
    let mut reports = reports.into_iter();
    let mut out = reports.next().ok_or(MergeError::Empty)?;
    out.tool = Tool {
        name: "corswatch".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    };
    let mut top: [RankedList; 4] = Default::default();
    for (acc, list) in top.iter_mut().zip(top_lists(&mut out)) {
        acc.add(list);
    }
    let mut kinds: Vec<KindAcc> = Vec::new();
    let mut kind_index: HashMap<String, usize> = HashMap::new();
    let mut add_kinds = |r: &mut Report| {
        for k in std::mem::take(&mut r.kinds) {
            match kind_index.get(&k.kind) {
                Some(&i) => kinds[i].add(k),
                None => {
                    kind_index.insert(k.kind.clone(), kinds.len());
                    kinds.push(KindAcc::new(k));
                }
            }
        }
    };
    add_kinds(&mut out);
    for mut r in reports {
        out.inputs.append(&mut r.inputs);
        let room = MAX_PROBLEMS.saturating_sub(out.problems.len());
        out.problems
            .extend(std::mem::take(&mut r.problems).into_iter().take(room));
        out.problems_total = out.problems_total.saturating_add(r.problems_total);
        out.totals.add(&r.totals);
        out.pairing.add(&r.pairing);
        out.engines.add(&r.engines);
        super::policy::merge_what_if(&mut out.what_if, r.what_if.take());
        super::policy::merge_drift(&mut out.policy_drift, r.policy_drift.take());
        out.capture_health.add(&r.capture_health);
        layers::merge_hops(&mut out.hops, std::mem::take(&mut r.hops));
        layers::merge_stacks(&mut out.stacks, std::mem::take(&mut r.stacks));
        for (acc, list) in top.iter_mut().zip(top_lists(&mut r)) {
            acc.add(list);
        }
        add_kinds(&mut r);
    }
    for (acc, list) in top.into_iter().zip(top_lists(&mut out)) {
        *list = acc.finish();
    }
    // Re-derived from the summed counters, so the warnings quote the merged numbers.
    out.capture_warnings = capture_warnings(&out.capture_health);
    out.kinds = kinds.into_iter().map(KindAcc::finish).collect();
    out.kinds.sort_by(|a, b| {
        class_rank(&a.class)
            .cmp(&class_rank(&b.class))
            .then(b.count.cmp(&a.count))
            .then_with(|| a.kind.cmp(&b.kind))
    });
    Ok(out)
}

fn top_lists(r: &mut Report) -> [&mut Vec<Ranked>; 4] {
    let t = &mut r.top;
    [
        &mut t.origins,
        &mut t.routes,
        &mut t.methods,
        &mut t.request_headers,
    ]
}

fn class_rank(class: &str) -> usize {
    ["blocked", "warning", "finding", "note"]
        .iter()
        .position(|c| *c == class)
        .unwrap_or(4)
}

/// A top list being merged: summed counts per value, in first-seen order, and the `other` row.
#[derive(Default)]
struct RankedList {
    counts: Vec<(String, u64)>,
    index: HashMap<String, usize>,
    other: u64,
    /// Rows each input showed (besides `other`): the merged list shows as many.
    rows: usize,
}

impl RankedList {
    fn add(&mut self, list: &mut Vec<Ranked>) {
        let mut rows = 0;
        for row in list.drain(..) {
            if row.value == "other" {
                self.other = self.other.saturating_add(row.count);
                continue;
            }
            rows += 1;
            let i = match self.index.get(&row.value) {
                Some(&i) => i,
                None => {
                    self.index.insert(row.value.clone(), self.counts.len());
                    self.counts.push((row.value, 0));
                    self.counts.len() - 1
                }
            };
            if let Some(c) = self.counts.get_mut(i) {
                c.1 = c.1.saturating_add(row.count);
            }
        }
        self.rows = self.rows.max(rows);
    }

    /// Largest first, ties by value (as the aggregate ranks); rows past the limit join `other`.
    fn finish(mut self) -> Vec<Ranked> {
        self.counts
            .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let rest: u64 = self.counts.iter().skip(self.rows).map(|(_, c)| c).sum();
        let other = self.other.saturating_add(rest);
        let mut out: Vec<Ranked> = self
            .counts
            .into_iter()
            .take(self.rows)
            .map(|(value, count)| Ranked { value, count })
            .collect();
        if other > 0 {
            out.push(Ranked {
                value: "other".into(),
                count: other,
            });
        }
        out
    }
}

/// One kind's entry being merged: the first report's entry, with the others' counts added.
struct KindAcc {
    first: super::json::KindReport,
    lists: [RankedList; 4],
}

impl KindAcc {
    fn new(mut first: super::json::KindReport) -> Self {
        let mut lists: [RankedList; 4] = Default::default();
        for (acc, list) in lists.iter_mut().zip(kind_lists(&mut first)) {
            acc.add(list);
        }
        first.examples.truncate(MAX_EXAMPLES);
        KindAcc { first, lists }
    }

    fn add(&mut self, mut k: super::json::KindReport) {
        let f = &mut self.first;
        f.count = f.count.saturating_add(k.count);
        f.inferred = f.inferred.saturating_add(k.inferred);
        for (e, n) in std::mem::take(&mut k.cors_errors) {
            let c = f.cors_errors.entry(e).or_default();
            *c = c.saturating_add(n);
        }
        for (acc, list) in self.lists.iter_mut().zip(kind_lists(&mut k)) {
            acc.add(list);
        }
        let room = MAX_EXAMPLES.saturating_sub(f.examples.len());
        f.examples.extend(k.examples.into_iter().take(room));
        // Reports of different engines' recordings may name Firefox's error for the kind or
        // not: any name wins over none, and the smallest of two, so the order of the inputs
        // does not matter.
        if let Some(e) = k.firefox_error
            && f.firefox_error.as_ref().is_none_or(|x| e < *x)
        {
            f.firefox_error = Some(e);
        }
        layers::merge_stacks(&mut f.stacks, k.stacks);
        layers::merge_causes(&mut f.likely_causes, k.likely_causes);
        if f.hop.is_none() {
            f.hop = k.hop;
        }
    }

    fn finish(mut self) -> super::json::KindReport {
        for (acc, list) in self.lists.into_iter().zip(kind_lists(&mut self.first)) {
            *list = acc.finish();
        }
        self.first
    }
}

fn kind_lists(k: &mut super::json::KindReport) -> [&mut Vec<Ranked>; 4] {
    [
        &mut k.failed_parameters,
        &mut k.origins,
        &mut k.routes,
        &mut k.methods,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// Parses and merges JSON reports, and gives the merge back as JSON.
    fn merged(reports: &[Value]) -> Value {
        let reports = reports
            .iter()
            .map(|r| parse(r.to_string().as_bytes()).unwrap())
            .collect();
        serde_json::to_value(merge(reports).unwrap()).unwrap()
    }

    fn report() -> Value {
        json!({
            "schema_version": 1,
            "tool": {"name": "corswatch", "version": "0.0.0"},
            "inputs": [{"name": "a.pcap", "format": "pcap", "bytes": 100, "exchanges": 10, "problems": 1}],
            "totals": {
                "exchanges": 10, "cross_origin": 8, "simple": 3, "preflight": 2, "actual": 3,
                "blocked": 4, "warnings": 1, "findings": 1, "notes": 0, "not_cors_no_origin": 2,
                "not_cors_same_origin": 0, "not_cors_mode": 0, "not_cors_websocket": 0,
                "not_cors_network_error": 0
            },
            "kinds": [
                {
                    "kind": "acao_missing", "class": "blocked", "title": "No ACAO",
                    "count": 3, "inferred": 1, "cors_errors": {"MissingAllowOriginHeader": 3},
                    "firefox_error": "CORSMissingAllowOrigin", "message": "blocked by CORS policy",
                    "evidence": [{"header": "access-control-allow-origin", "value": "(absent)"}],
                    "failed_parameters": [],
                    "origins": [{"value": "https://a.example", "count": 2}, {"value": "other", "count": 1}],
                    "routes": [{"value": "/api/{id}", "count": 3}],
                    "methods": [{"value": "GET", "count": 3}],
                    "examples": [
                        {"source": "a.pcap", "index": 1, "time": "t", "method": "GET", "url": "http://x/api/{id}", "status": 200, "origin": "https://a.example"},
                        {"source": "a.pcap", "index": 2, "time": "t", "method": "GET", "url": "http://x/api/{id}", "status": 200, "origin": "https://a.example"}
                    ]
                },
                {
                    "kind": "sec_null_origin_trusted", "class": "finding", "title": "null trusted",
                    "count": 1, "inferred": 0, "cors_errors": {}, "firefox_error": null,
                    "message": "m", "evidence": [], "failed_parameters": [],
                    "origins": [{"value": "null", "count": 1}], "routes": [{"value": "/", "count": 1}],
                    "methods": [{"value": "GET", "count": 1}], "examples": []
                }
            ],
            "top": {
                "origins": [{"value": "https://a.example", "count": 3}, {"value": "null", "count": 1}],
                "routes": [{"value": "/api/{id}", "count": 3}, {"value": "/", "count": 1}],
                "methods": [{"value": "GET", "count": 4}],
                "request_headers": []
            },
            "pairing": {"preflights": 2, "preflight_then_actual": 1, "preflight_without_actual": 1,
                        "actual_without_preflight": 2, "evicted": 0},
            "capture_health": {
                "packets": 50, "bytes": 5000, "flows": 4, "gaps": 1, "gap_bytes": 10,
                "out_of_order_segments": 0, "retransmitted_segments": 0, "truncated_packets": 0,
                "ip_fragments_skipped": 0, "non_tcp_packets": 0, "decode_errors": 0,
                "http_parse_errors": 0, "flows_evicted": 0, "unanswered_requests": 0,
                "orphan_responses": 0, "non_http_flows": 0
            },
            "capture_warnings": ["1 TCP gaps (10 bytes never captured): messages across them were lost"],
            "problems": ["a.pcap: truncated"],
            "problems_total": 1
        })
    }

    /// Every integer in `a` that is a count doubles in `b` (walks both trees together).
    fn assert_doubled(a: &Value, b: &Value, path: &str) {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                for (k, v) in x {
                    if k == "schema_version" {
                        continue;
                    }
                    assert_doubled(v, &y[k], &format!("{path}.{k}"));
                }
            }
            (Value::Number(x), Value::Number(y)) if !path.contains("examples") => {
                assert_eq!(y.as_u64().unwrap(), 2 * x.as_u64().unwrap(), "{path}");
            }
            (Value::Array(x), Value::Array(y)) if path.ends_with("inputs") => {
                assert_eq!(y.len(), 2 * x.len(), "{path}");
            }
            (Value::Array(x), Value::Array(y))
                if !path.ends_with("examples") && !path.ends_with("problems") =>
            {
                assert_eq!(x.len(), y.len(), "{path}");
                for (i, (v, w)) in x.iter().zip(y).enumerate() {
                    assert_doubled(v, w, &format!("{path}[{i}]"));
                }
            }
            _ => {}
        }
    }

    #[test]
    fn merging_a_report_with_itself_doubles_every_count() {
        let r = report();
        let m = merged(&[r.clone(), r.clone()]);
        assert_doubled(&r, &m, "");
        assert_eq!(m["inputs"].as_array().unwrap().len(), 2);
        assert_eq!(m["problems"].as_array().unwrap().len(), 2);
        assert_eq!(m["kinds"][0]["examples"].as_array().unwrap().len(), 3);
        assert_eq!(m["kinds"][0]["message"], "blocked by CORS policy");
        assert_eq!(
            m["capture_warnings"][0],
            "2 TCP gaps (20 bytes never captured): messages across them were lost"
        );
    }

    #[test]
    fn one_report_merges_to_itself() {
        let r = report();
        let m = merged(std::slice::from_ref(&r));
        for k in [
            "inputs",
            "totals",
            "kinds",
            "top",
            "pairing",
            "capture_health",
        ] {
            assert_eq!(m[k], r[k], "{k}");
        }
        assert_eq!(m["capture_warnings"], r["capture_warnings"]);
    }

    #[test]
    fn top_lists_are_re_ranked_and_keep_other() {
        let mut a = report();
        let mut b = report();
        a["top"]["origins"] =
            json!([{"value": "https://a.example", "count": 5}, {"value": "other", "count": 2}]);
        b["top"]["origins"] =
            json!([{"value": "https://b.example", "count": 4}, {"value": "other", "count": 1}]);
        b["top"]["routes"] = json!([{"value": "/", "count": 9}, {"value": "/x", "count": 1}]);
        let m = merged(&[a, b]);
        // Each input showed one row: so does the merge; the loser joins `other`.
        assert_eq!(
            m["top"]["origins"],
            json!([{"value": "https://a.example", "count": 5}, {"value": "other", "count": 7}])
        );
        assert_eq!(
            m["top"]["routes"],
            json!([{"value": "/", "count": 10}, {"value": "/api/{id}", "count": 3}, {"value": "other", "count": 1}])
        );
    }

    #[test]
    fn a_kinds_firefox_error_does_not_depend_on_the_order() {
        let a = report();
        let mut b = report();
        b["kinds"][0]["firefox_error"] = Value::Null;
        let mut c = report();
        c["kinds"][0]["firefox_error"] = json!("CORSDidNotSucceed");
        for order in [[&a, &b, &c], [&b, &c, &a], [&c, &a, &b], [&b, &a, &c]] {
            let m = merged(&order.map(|r| r.clone()));
            assert_eq!(m["kinds"][0]["firefox_error"], "CORSDidNotSucceed");
        }
        let m = merged(&[b.clone(), a.clone()]);
        assert_eq!(m["kinds"][0]["firefox_error"], "CORSMissingAllowOrigin");
    }

    #[test]
    fn kinds_merge_by_id_and_are_ranked() {
        let a = report();
        let mut b = report();
        b["kinds"] = json!([{
            "kind": "header_not_allowed", "class": "blocked", "title": "h", "count": 9,
            "inferred": 0, "cors_errors": {"HeaderDisallowedByPreflightResponse": 9},
            "firefox_error": null, "message": "m", "evidence": [], "failed_parameters": [{"value": "x-a", "count": 9}],
            "origins": [], "routes": [], "methods": [], "examples": []
        }]);
        let m = merged(&[a, b]);
        let ids: Vec<&str> = m["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            [
                "header_not_allowed",
                "acao_missing",
                "sec_null_origin_trusted"
            ]
        );
    }

    #[test]
    fn problems_are_capped() {
        let mut r = report();
        r["problems"] = Value::Array(vec![json!("p"); 80]);
        r["problems_total"] = json!(80);
        let m = merged(&[r.clone(), r]);
        assert_eq!(m["problems"].as_array().unwrap().len(), MAX_PROBLEMS);
        assert_eq!(m["problems_total"], 160);
    }

    #[test]
    fn refuses_other_schema_versions_and_bad_input() {
        let mut r = report();
        r["schema_version"] = json!(2);
        assert_eq!(
            parse(r.to_string().as_bytes()).unwrap_err(),
            MergeError::UnsupportedSchema { found: "2".into() }
        );
        let e = parse(b"{}").unwrap_err();
        assert!(e.to_string().contains("(missing)"), "{e}");
        assert_eq!(merge(Vec::new()).unwrap_err(), MergeError::Empty);
        let mut r = report();
        r["totals"]["blocked"] = json!(-1);
        match parse(r.to_string().as_bytes()).unwrap_err() {
            MergeError::Malformed { reason } => assert!(reason.contains("-1"), "{reason}"),
            e => panic!("{e}"),
        }
        let mut r = report();
        r.as_object_mut().unwrap().remove("totals");
        let e = parse(r.to_string().as_bytes()).unwrap_err();
        assert!(e.to_string().contains("missing field `totals`"), "{e}");
        assert!(parse(b"[1, 2").is_err());
    }

    #[test]
    fn merged_report_matches_the_schema() {
        let r = report();
        let m = merged(&[r.clone(), r]);
        let schema: Value = serde_json::from_str(super::super::json::SCHEMA).unwrap();
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        compiler.add_resource("report.schema.json", schema).unwrap();
        let id = compiler
            .compile("report.schema.json", &mut schemas)
            .unwrap();
        if let Err(e) = schemas.validate(&m, id) {
            panic!("merged report does not match the schema: {e:#}");
        }
    }
}
