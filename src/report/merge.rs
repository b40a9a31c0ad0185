//! `corswatch merge`: combines JSON reports from several hosts or runs into one report of the
//! same schema. Counts add; top lists are re-ranked by their summed counts.
//!
//! Re-ranking is as good as the inputs allow: a value that one input folded into `other` stays
//! there, so a merged top list can undercount a value that was rare on some hosts. The `other`
//! row keeps the totals right.

use super::MAX_PROBLEMS;
use super::json::{SCHEMA_VERSION, capture_warnings};
use crate::model::CaptureHealth;
use crate::pair::PairStats;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Examples kept per kind, as the aggregate keeps them.
const MAX_EXAMPLES: usize = 3;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MergeError {
    #[error("nothing to merge: give at least one report")]
    Empty,
    #[error(
        "report {index}: schema_version {found} is not supported (this corswatch reads version {SCHEMA_VERSION})"
    )]
    UnsupportedSchema { index: usize, found: String },
    #[error("report {index}: `{field}` is missing or is not {expected}")]
    Malformed {
        index: usize,
        field: String,
        expected: &'static str,
    },
}

/// Merges reports in order: the first report wins wherever a value cannot be added (a kind's
/// message and evidence, its examples first).
pub fn merge(reports: &[Value]) -> Result<Value, MergeError> {
    if reports.is_empty() {
        return Err(MergeError::Empty);
    }
    for (index, r) in reports.iter().enumerate() {
        match r.get("schema_version").and_then(Value::as_u64) {
            Some(v) if v == u64::from(SCHEMA_VERSION) => {}
            _ => {
                return Err(MergeError::UnsupportedSchema {
                    index,
                    found: r
                        .get("schema_version")
                        .map_or_else(|| "(missing)".to_string(), Value::to_string),
                });
            }
        }
    }

    let mut inputs = Vec::new();
    let mut problems = Vec::new();
    let mut problems_total = 0u64;
    let mut totals = Map::new();
    let mut pairing = Map::new();
    let mut health = Map::new();
    let mut top: [RankedList; 4] = Default::default();
    let mut kinds: Vec<KindAcc> = Vec::new();
    let mut kind_index: HashMap<String, usize> = HashMap::new();

    for (index, r) in reports.iter().enumerate() {
        let field = |name: &str| member(r, index, name);
        inputs.extend(field("inputs").array()?.iter().cloned());
        for p in field("problems").array()? {
            if problems.len() < MAX_PROBLEMS {
                problems.push(p.clone());
            }
        }
        problems_total = problems_total.saturating_add(field("problems_total").count()?);
        add_counts(&mut totals, field("totals"))?;
        add_counts(&mut pairing, field("pairing"))?;
        add_counts(&mut health, field("capture_health"))?;
        let t = field("top").object()?;
        for (acc, name) in top.iter_mut().zip(TOP_LISTS) {
            let list = Field {
                v: t.get(name),
                index,
                name: format!("top.{name}"),
            }
            .array()?;
            acc.add(list, index, name)?;
        }
        for k in field("kinds").array()? {
            let id = k
                .get("kind")
                .and_then(Value::as_str)
                .ok_or_else(|| malformed(index, "kinds[].kind", "a string"))?;
            let i = *kind_index.entry(id.to_string()).or_insert_with(|| {
                kinds.push(KindAcc::new(k));
                kinds.len() - 1
            });
            kinds[i].add(k, index)?;
        }
    }

    // Re-derived from the summed counters, so the warnings quote the merged numbers.
    let h = health_of(&health);
    let p = pairing_of(&pairing);
    let warnings: Vec<Value> = capture_warnings(&h, &p)
        .into_iter()
        .map(Value::String)
        .collect();

    kinds.sort_by(|a, b| {
        class_rank(&a.first)
            .cmp(&class_rank(&b.first))
            .then(b.count.cmp(&a.count))
            .then_with(|| a.id().cmp(b.id()))
    });

    let mut out = Map::new();
    out.insert("schema_version".into(), SCHEMA_VERSION.into());
    out.insert(
        "tool".into(),
        serde_json::json!({"name": "corswatch", "version": env!("CARGO_PKG_VERSION")}),
    );
    out.insert("inputs".into(), Value::Array(inputs));
    out.insert("totals".into(), Value::Object(totals));
    out.insert(
        "kinds".into(),
        Value::Array(kinds.into_iter().map(KindAcc::finish).collect()),
    );
    let mut top_out = Map::new();
    for (acc, name) in top.into_iter().zip(TOP_LISTS) {
        top_out.insert(name.into(), acc.finish());
    }
    out.insert("top".into(), Value::Object(top_out));
    out.insert(
        "pairing".into(),
        serde_json::to_value(p).unwrap_or_default(),
    );
    out.insert(
        "capture_health".into(),
        serde_json::to_value(h).unwrap_or_default(),
    );
    out.insert("capture_warnings".into(), Value::Array(warnings));
    out.insert("problems".into(), Value::Array(problems));
    out.insert("problems_total".into(), problems_total.into());
    Ok(Value::Object(out))
}

const TOP_LISTS: [&str; 4] = ["origins", "routes", "methods", "request_headers"];
const KIND_LISTS: [&str; 4] = ["failed_parameters", "origins", "routes", "methods"];

fn malformed(index: usize, field: &str, expected: &'static str) -> MergeError {
    MergeError::Malformed {
        index,
        field: field.to_string(),
        expected,
    }
}

/// A named member of one input report, for error messages that say where.
struct Field<'a> {
    v: Option<&'a Value>,
    index: usize,
    name: String,
}

fn member<'a>(r: &'a Value, index: usize, name: &str) -> Field<'a> {
    Field {
        v: r.get(name),
        index,
        name: name.to_string(),
    }
}

impl<'a> Field<'a> {
    fn array(&self) -> Result<&'a Vec<Value>, MergeError> {
        self.v
            .and_then(Value::as_array)
            .ok_or_else(|| malformed(self.index, &self.name, "an array"))
    }
    fn object(&self) -> Result<&'a Map<String, Value>, MergeError> {
        self.v
            .and_then(Value::as_object)
            .ok_or_else(|| malformed(self.index, &self.name, "an object"))
    }
    fn count(&self) -> Result<u64, MergeError> {
        self.v
            .and_then(Value::as_u64)
            .ok_or_else(|| malformed(self.index, &self.name, "a count"))
    }
}

/// Adds an object of counts into `acc`, key by key.
fn add_counts(acc: &mut Map<String, Value>, f: Field<'_>) -> Result<(), MergeError> {
    for (k, v) in f.object()? {
        let n = v
            .as_u64()
            .ok_or_else(|| malformed(f.index, &format!("{}.{k}", f.name), "a count"))?;
        let sum = acc.get(k).and_then(Value::as_u64).unwrap_or(0);
        acc.insert(k.clone(), sum.saturating_add(n).into());
    }
    Ok(())
}

fn get(m: &Map<String, Value>, k: &str) -> u64 {
    m.get(k).and_then(Value::as_u64).unwrap_or(0)
}

// Struct literals without `..`: a new counter in these structs fails to compile here, instead
// of being silently left out of the merged warnings.
fn health_of(m: &Map<String, Value>) -> CaptureHealth {
    CaptureHealth {
        packets: get(m, "packets"),
        bytes: get(m, "bytes"),
        flows: get(m, "flows"),
        gaps: get(m, "gaps"),
        gap_bytes: get(m, "gap_bytes"),
        out_of_order_segments: get(m, "out_of_order_segments"),
        retransmitted_segments: get(m, "retransmitted_segments"),
        truncated_packets: get(m, "truncated_packets"),
        ip_fragments_skipped: get(m, "ip_fragments_skipped"),
        non_tcp_packets: get(m, "non_tcp_packets"),
        decode_errors: get(m, "decode_errors"),
        http_parse_errors: get(m, "http_parse_errors"),
        flows_evicted: get(m, "flows_evicted"),
        unanswered_requests: get(m, "unanswered_requests"),
        orphan_responses: get(m, "orphan_responses"),
        non_http_flows: get(m, "non_http_flows"),
        tls_connections: get(m, "tls_connections"),
        tls_decrypted: get(m, "tls_decrypted"),
        tls_no_keys: get(m, "tls_no_keys"),
        tls_failed: get(m, "tls_failed"),
        tls_unsupported: get(m, "tls_unsupported"),
        tls_incomplete: get(m, "tls_incomplete"),
        tls_record_failures: get(m, "tls_record_failures"),
        h2_connections: get(m, "h2_connections"),
        hpack_errors: get(m, "hpack_errors"),
        h2_frame_errors: get(m, "h2_frame_errors"),
        h2_streams_reset: get(m, "h2_streams_reset"),
        quic_packets: get(m, "quic_packets"),
    }
}

fn pairing_of(m: &Map<String, Value>) -> PairStats {
    PairStats {
        preflights: get(m, "preflights"),
        preflight_then_actual: get(m, "preflight_then_actual"),
        preflight_without_actual: get(m, "preflight_without_actual"),
        actual_without_preflight: get(m, "actual_without_preflight"),
        evicted: get(m, "evicted"),
    }
}

fn class_rank(kind: &Value) -> usize {
    let class = kind.get("class").and_then(Value::as_str).unwrap_or("");
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
    fn add(&mut self, list: &[Value], index: usize, name: &str) -> Result<(), MergeError> {
        let mut rows = 0;
        for row in list {
            let value = row
                .get("value")
                .and_then(Value::as_str)
                .ok_or_else(|| malformed(index, &format!("{name}[].value"), "a string"))?;
            let count = row
                .get("count")
                .and_then(Value::as_u64)
                .ok_or_else(|| malformed(index, &format!("{name}[].count"), "a count"))?;
            if value == "other" {
                self.other = self.other.saturating_add(count);
                continue;
            }
            rows += 1;
            let i = *self.index.entry(value.to_string()).or_insert_with(|| {
                self.counts.push((value.to_string(), 0));
                self.counts.len() - 1
            });
            self.counts[i].1 = self.counts[i].1.saturating_add(count);
        }
        self.rows = self.rows.max(rows);
        Ok(())
    }

    /// Largest first, ties by value (as the aggregate ranks); rows past the limit join `other`.
    fn finish(mut self) -> Value {
        self.counts
            .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let rest: u64 = self.counts.iter().skip(self.rows).map(|(_, c)| c).sum();
        let other = self.other.saturating_add(rest);
        let mut out: Vec<Value> = self
            .counts
            .into_iter()
            .take(self.rows)
            .map(|(value, count)| serde_json::json!({"value": value, "count": count}))
            .collect();
        if other > 0 {
            out.push(serde_json::json!({"value": "other", "count": other}));
        }
        Value::Array(out)
    }
}

/// One kind's entry being merged.
struct KindAcc {
    /// The first report's entry: class, title, Firefox code, message and evidence come from it.
    first: Value,
    count: u64,
    inferred: u64,
    cors_errors: Map<String, Value>,
    lists: [RankedList; 4],
    examples: Vec<Value>,
}

impl KindAcc {
    fn new(first: &Value) -> Self {
        KindAcc {
            first: first.clone(),
            count: 0,
            inferred: 0,
            cors_errors: Map::new(),
            lists: Default::default(),
            examples: Vec::new(),
        }
    }

    fn id(&self) -> &str {
        self.first.get("kind").and_then(Value::as_str).unwrap_or("")
    }

    fn add(&mut self, k: &Value, index: usize) -> Result<(), MergeError> {
        let f = |name: &str| member(k, index, name);
        self.count = self.count.saturating_add(f("count").count()?);
        self.inferred = self.inferred.saturating_add(f("inferred").count()?);
        add_counts(&mut self.cors_errors, f("cors_errors"))?;
        for (acc, name) in self.lists.iter_mut().zip(KIND_LISTS) {
            acc.add(f(name).array()?, index, name)?;
        }
        for e in f("examples").array()? {
            if self.examples.len() < MAX_EXAMPLES {
                self.examples.push(e.clone());
            }
        }
        Ok(())
    }

    fn finish(self) -> Value {
        let mut out = match self.first {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        out.insert("count".into(), self.count.into());
        out.insert("inferred".into(), self.inferred.into());
        out.insert("cors_errors".into(), Value::Object(self.cors_errors));
        for (acc, name) in self.lists.into_iter().zip(KIND_LISTS) {
            out.insert(name.into(), acc.finish());
        }
        out.insert("examples".into(), Value::Array(self.examples));
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        let m = merge(&[r.clone(), r.clone()]).unwrap();
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
        let m = merge(std::slice::from_ref(&r)).unwrap();
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
        let m = merge(&[a, b]).unwrap();
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
    fn kinds_merge_by_id_and_are_ranked() {
        let a = report();
        let mut b = report();
        b["kinds"] = json!([{
            "kind": "header_not_allowed", "class": "blocked", "title": "h", "count": 9,
            "inferred": 0, "cors_errors": {"HeaderDisallowedByPreflightResponse": 9},
            "firefox_error": null, "message": "m", "evidence": [], "failed_parameters": [{"value": "x-a", "count": 9}],
            "origins": [], "routes": [], "methods": [], "examples": []
        }]);
        let m = merge(&[a, b]).unwrap();
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
        let m = merge(&[r.clone(), r]).unwrap();
        assert_eq!(m["problems"].as_array().unwrap().len(), MAX_PROBLEMS);
        assert_eq!(m["problems_total"], 160);
    }

    #[test]
    fn refuses_other_schema_versions_and_bad_input() {
        let mut r = report();
        r["schema_version"] = json!(2);
        assert_eq!(
            merge(&[report(), r]).unwrap_err(),
            MergeError::UnsupportedSchema {
                index: 1,
                found: "2".into()
            }
        );
        let e = merge(&[json!({})]).unwrap_err();
        assert!(e.to_string().contains("(missing)"), "{e}");
        assert_eq!(merge(&[]).unwrap_err(), MergeError::Empty);
        let mut r = report();
        r["totals"]["blocked"] = json!(-1);
        assert_eq!(
            merge(&[r]).unwrap_err(),
            MergeError::Malformed {
                index: 0,
                field: "totals.blocked".into(),
                expected: "a count"
            }
        );
    }

    #[test]
    fn merged_report_matches_the_schema() {
        let r = report();
        let m = merge(&[r.clone(), r]).unwrap();
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
