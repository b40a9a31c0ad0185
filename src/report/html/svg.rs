//! The charts of the HTML report, drawn here as inline SVG so that they show without
//! JavaScript, print, and need nothing from the network. Every text is escaped; hovering a bar
//! shows its `<title>`.

use super::esc;
use crate::aggregate::Ranked;
use crate::cors::Kind;
use crate::model::Timestamp;
use crate::timeline::Timeline;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Colours for series (Okabe–Ito, distinguishable with colour-blindness); the last is "other".
pub const PALETTE: [&str; 8] = [
    "#d55e00", "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#b8a100", "#8c8c8c",
];

/// Kinds drawn in their own colour on the timeline; the rest share the last colour.
const TIMELINE_KINDS: usize = 7;

/// Labels longer than this are cut (the full value is in the bar's title and the table).
const LABEL_CHARS: usize = 28;

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

/// A horizontal bar chart of a ranked list (an `other` row, if any, last and grey).
pub fn bars(title: &str, rows: &[Ranked], unit: &str) -> String {
    let max = rows.iter().map(|r| r.count).max().unwrap_or(0).max(1);
    let row_h = 22;
    let h = rows.len().max(1) * row_h + 8;
    // Drawn at the width of half the page's column, so that text keeps its size.
    let (label_w, bar_w) = (190.0, 215.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart bars" viewBox="0 0 460 {h}" width="460" height="{h}" role="img" aria-label="{}">"#,
        esc(title)
    );
    if rows.is_empty() {
        let _ = write!(
            s,
            r#"<text x="8" y="20" class="muted">nothing to show</text>"#
        );
    }
    for (i, r) in rows.iter().enumerate() {
        let y = 4 + i * row_h;
        let w = (r.count as f64 / max as f64 * bar_w).max(1.0);
        let other = r.value == "other";
        let color = if other { PALETTE[7] } else { PALETTE[1] };
        let label = if other {
            "(all others)".to_string()
        } else {
            cut(&r.value, LABEL_CHARS)
        };
        let _ = write!(
            s,
            r#"<g><title>{} — {} {}</title><text x="{lx}" y="{ty}" text-anchor="end" class="label">{}</text><rect x="{label_w}" y="{y}" width="{w:.1}" height="16" rx="2" fill="{color}"/><text x="{cx:.1}" y="{ty}" class="count">{}</text></g>"#,
            esc(&r.value),
            r.count,
            esc(unit),
            esc(&label),
            r.count,
            lx = label_w - 6.0,
            ty = y + 12,
            cx = label_w + w + 5.0,
        );
    }
    s.push_str("</svg>");
    s
}

fn time_label(t: Timestamp, span_secs: i64) -> String {
    let r = t.to_rfc3339();
    // 2024-05-01T12:34:56.789Z
    let date = r.get(..10).unwrap_or("");
    let hms = r.get(11..19).unwrap_or("");
    if span_secs > 86_400 {
        format!("{date} {}", hms.get(..5).unwrap_or(""))
    } else {
        hms.to_string()
    }
}

fn width_label(secs: i64) -> String {
    match secs {
        s if s % 86_400 == 0 => format!("{} d", s / 86_400),
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// The kinds the timeline colours, most blocked first, and the colour of each.
pub fn timeline_kinds(t: &Timeline) -> Vec<(Kind, &'static str)> {
    let mut totals: BTreeMap<Kind, u64> = BTreeMap::new();
    for (_, b) in t.buckets() {
        for (k, n) in &b.blocked {
            *totals.entry(*k).or_default() += n;
        }
    }
    let mut v: Vec<(Kind, u64)> = totals.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.id().cmp(b.0.id())));
    v.into_iter()
        .take(TIMELINE_KINDS)
        .enumerate()
        .map(|(i, (k, _))| (k, PALETTE[i]))
        .collect()
}

/// Blocked requests per time bucket, stacked by kind, over a strip of all cross-origin
/// requests (own scale). `None` when nothing carries a time.
pub fn timeline(t: &Timeline) -> Option<String> {
    let buckets: Vec<_> = t.buckets().collect();
    if buckets.is_empty() {
        return None;
    }
    let colours = timeline_kinds(t);
    let colour = |k: Kind| {
        colours
            .iter()
            .find(|(c, _)| *c == k)
            .map_or(PALETTE[7], |(_, c)| *c)
    };
    let (x0, plot_w, top, plot_h, strip_h) = (48.0, 830.0, 10.0, 160.0, 36.0);
    let n = buckets.len() as f64;
    let bw = plot_w / n;
    let max_blocked = buckets
        .iter()
        .map(|(_, b)| b.blocked_total())
        .max()
        .unwrap_or(0);
    let max_req = buckets.iter().map(|(_, b)| b.requests).max().unwrap_or(0);
    let ymax = max_blocked.max(1) as f64;
    let strip_y = top + plot_h + 22.0;
    let total_h = strip_y + strip_h + 34.0;
    let width = t.width_secs();
    let span = width * buckets.len() as i64;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart timeline" viewBox="0 0 900 {total_h}" width="900" height="{total_h}" role="img" aria-label="Blocked requests over time, by kind, per {} bucket">"#,
        width_label(width)
    );
    // Axes and scale.
    let _ = write!(
        s,
        r#"<line x1="{x0}" y1="{top}" x2="{x0}" y2="{b}" class="axis"/><line x1="{x0}" y1="{b}" x2="{r}" y2="{b}" class="axis"/><text x="{lx}" y="{ty}" text-anchor="end" class="tick">{max_blocked}</text><text x="{lx}" y="{b}" text-anchor="end" class="tick">0</text><text x="{lx}" y="{sy}" text-anchor="end" class="tick">{max_req}</text>"#,
        b = top + plot_h,
        r = x0 + plot_w,
        lx = x0 - 6.0,
        ty = top + 10.0,
        sy = strip_y + 10.0,
    );
    for (i, (start, b)) in buckets.iter().enumerate() {
        let x = x0 + i as f64 * bw;
        let w = (bw - 1.0).max(0.5);
        let mut y = top + plot_h;
        // Stack: coloured kinds in legend order, then the rest together.
        let mut rest = 0u64;
        let mut parts: Vec<(Kind, u64)> = b.blocked.iter().map(|(k, n)| (*k, *n)).collect();
        parts.sort_by_key(|(k, _)| colours.iter().position(|(c, _)| c == k).unwrap_or(99));
        for (k, c) in parts {
            if !colours.iter().any(|(ck, _)| *ck == k) {
                rest += c;
                continue;
            }
            let h = c as f64 / ymax * plot_h;
            y -= h;
            let _ = write!(
                s,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{}"><title>{} {}: {c} blocked</title></rect>"#,
                colour(k),
                time_label(*start, span),
                k.id()
            );
        }
        if rest > 0 {
            let h = rest as f64 / ymax * plot_h;
            y -= h;
            let _ = write!(
                s,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{}"><title>{} other kinds: {rest} blocked</title></rect>"#,
                PALETTE[7],
                time_label(*start, span)
            );
        }
        if b.requests > 0 {
            let h = (b.requests as f64 / max_req.max(1) as f64 * strip_h).max(1.0);
            let _ = write!(
                s,
                r#"<rect x="{x:.1}" y="{:.1}" width="{w:.1}" height="{h:.1}" class="requests"><title>{}: {} cross-origin requests</title></rect>"#,
                strip_y + strip_h - h,
                time_label(*start, span),
                b.requests
            );
        }
    }
    // Time labels: first, middle, last bucket.
    let label_y = strip_y + strip_h + 16.0;
    let picks = [0, buckets.len() / 2, buckets.len() - 1];
    let mut last_i = usize::MAX;
    for (j, i) in picks.into_iter().enumerate() {
        if i == last_i {
            continue;
        }
        last_i = i;
        let anchor = ["start", "middle", "end"][j];
        let x = match j {
            0 => x0,
            1 => x0 + (i as f64 + 0.5) * bw,
            _ => x0 + plot_w,
        };
        let _ = write!(
            s,
            r#"<text x="{x:.1}" y="{label_y}" text-anchor="{anchor}" class="tick">{}</text>"#,
            time_label(buckets[i].0, span)
        );
    }
    let _ = write!(
        s,
        r#"<text x="{x0}" y="{:.1}" class="tick muted">cross-origin requests (own scale) · one bar = {} · UTC</text>"#,
        label_y + 14.0,
        width_label(width)
    );
    s.push_str("</svg>");
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_escape_and_scale() {
        let rows = vec![
            Ranked {
                value: "<script>x</script>".into(),
                count: 4,
            },
            Ranked {
                value: "other".into(),
                count: 2,
            },
        ];
        let s = bars("t", &rows, "blocked");
        assert!(!s.contains("<script>"));
        assert!(s.contains("&lt;script&gt;"));
        assert_eq!(s.matches("<rect").count(), 2);
        assert!(bars("t", &[], "x").contains("nothing to show"));
    }

    #[test]
    fn timeline_draws_every_blocked_request() {
        let mut t = Timeline::default();
        assert!(timeline(&t).is_none());
        for i in 0..30 {
            let k = Kind::ALL[i % 10];
            t.add(Timestamp::from_secs(1_700_000_000 + i as i64), Some(k));
        }
        let s = timeline(&t).unwrap_or_default();
        // 30 requests in 30 buckets: one blocked rect and one request rect each.
        assert_eq!(s.matches("<rect").count(), 60);
        assert_eq!(timeline_kinds(&t).len(), 7);
    }
}
