//! HAR throughput and memory: generates a large HAR (default 600 MB, `CORSWATCH_BENCH_HAR_MB`
//! to change) shaped like a Chrome DevTools export — CORS API calls with preflights, failures,
//! base64 bodies — then reads it through the HAR source alone and through the whole pipeline,
//! and prints MB/s and peak RSS. Run: `cargo bench --bench har`.
//!
//! Targets (issue 2): >= 300 MB/s on one core, < 100 MB peak RSS.

use corswatch::drive::{self, Consumer, Driver};
use corswatch::model::Exchange;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

#[path = "common/mod.rs"]
mod common;
use common::{peak_rss_kib, thread_cpu_secs};

fn main() -> std::io::Result<()> {
    let mb: u64 = std::env::var("CORSWATCH_BENCH_HAR_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench-data");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("bench-{mb}mb.har"));
    if !path.exists() {
        let t = Instant::now();
        generate(&path, mb << 20)?;
        eprintln!(
            "generated {} in {:.1}s",
            path.display(),
            t.elapsed().as_secs_f64()
        );
    }
    let size = std::fs::metadata(&path)?.len();
    let rss_before = peak_rss_kib().unwrap_or(0);

    // 1. The HAR source alone.
    let t = Instant::now();
    let cpu0 = thread_cpu_secs().unwrap_or(0.0);
    struct Count(u64);
    impl Consumer for Count {
        fn exchange(&mut self, _: Box<Exchange>) {
            self.0 += 1;
        }
    }
    let mut d = Driver::with_consumer(Default::default(), Count(0));
    d.read("bench.har", Box::new(File::open(&path)?), None);
    let problems = d.run().problems_total;
    let n = d.into_consumer().0;
    let secs = t.elapsed().as_secs_f64();
    let cpu = thread_cpu_secs().unwrap_or(0.0) - cpu0;
    println!(
        "har source:   {:.0} MB in {:.2}s wall = {:.0} MB/s; {:.2}s CPU = {:.0} MB/s; {} entries, {} problems",
        size as f64 / 1e6,
        secs,
        size as f64 / 1e6 / secs,
        cpu,
        size as f64 / 1e6 / cpu,
        n,
        problems
    );

    // 2. The whole pipeline: read, pair, classify, aggregate.
    let t = Instant::now();
    let cpu0 = thread_cpu_secs().unwrap_or(0.0);
    let mut events = 0u64;
    let mut d = Driver::new(&drive::Config::default(), |_| events += 1);
    d.read("bench.har", Box::new(File::open(&path)?), None);
    let agg = d.finish().aggregate;
    let secs = t.elapsed().as_secs_f64();
    let cpu = thread_cpu_secs().unwrap_or(0.0) - cpu0;
    println!(
        "har analyze:  {:.0} MB in {:.2}s wall = {:.0} MB/s; {:.2}s CPU = {:.0} MB/s; {} cross-origin, {} blocked",
        size as f64 / 1e6,
        secs,
        size as f64 / 1e6 / secs,
        cpu,
        size as f64 / 1e6 / cpu,
        agg.totals.cross_origin,
        agg.totals.blocked
    );
    println!(
        "peak RSS:     {} MB (before reading: {} MB)",
        peak_rss_kib().unwrap_or(0) / 1024,
        rss_before / 1024
    );
    Ok(())
}

/// Writes a HAR of about `bytes` bytes, streaming (constant memory).
fn generate(path: &PathBuf, bytes: u64) -> std::io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
    w.write_all(
        br#"{"log":{"version":"1.2","creator":{"name":"WebInspector","version":"537.36"},"pages":[{"startedDateTime":"2025-03-01T10:00:00.000Z","id":"page_1","title":"https://app.example.com/","pageTimings":{}}],"entries":["#,
    )?;
    let body: String = "QUJD".repeat(1500); // ~6 KB of base64, like a JSON response body
    let mut written = 0u64;
    let mut i = 0u64;
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    while written < bytes {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let user = rng % 5000;
        let ms = i * 7;
        let t = format!(
            "2025-03-01T10:{:02}:{:02}.{:03}Z",
            (ms / 60_000) % 60,
            (ms / 1000) % 60,
            ms % 1000
        );
        let sep = if i == 0 { "" } else { "," };
        let entry = match rng % 10 {
            // A preflight and its PUT.
            0 => format!(
                r#"{sep}{{"startedDateTime":"{t}","time":12.5,"_resourceType":"preflight","_initiator":{{"type":"preflight","url":"https://api.example.com/users/{user}","requestId":"{i}.1"}},"request":{{"method":"OPTIONS","url":"https://api.example.com/users/{user}","httpVersion":"HTTP/1.1","headers":[{{"name":"Accept","value":"*/*"}},{{"name":"Access-Control-Request-Method","value":"PUT"}},{{"name":"Access-Control-Request-Headers","value":"content-type,x-request-id"}},{{"name":"Origin","value":"https://app.example.com"}},{{"name":"Sec-Fetch-Mode","value":"cors"}},{{"name":"User-Agent","value":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"}}],"queryString":[],"cookies":[],"headersSize":-1,"bodySize":0}},"response":{{"status":204,"statusText":"No Content","httpVersion":"HTTP/1.1","headers":[{{"name":"Access-Control-Allow-Origin","value":"https://app.example.com"}},{{"name":"Access-Control-Allow-Methods","value":"GET, POST, PUT, DELETE"}},{{"name":"Access-Control-Allow-Headers","value":"Content-Type, X-Request-Id"}},{{"name":"Access-Control-Max-Age","value":"600"}},{{"name":"Vary","value":"Origin"}}],"cookies":[],"content":{{"size":0,"mimeType":"x-unknown"}},"redirectURL":"","headersSize":-1,"bodySize":0,"_error":null}},"serverIPAddress":"203.0.113.7","timings":{{"blocked":1,"dns":-1,"ssl":-1,"connect":-1,"send":0.1,"wait":10,"receive":1}}}},{{"startedDateTime":"{t}","time":20.1,"_resourceType":"fetch","_initiator":{{"type":"script"}},"request":{{"method":"PUT","url":"https://api.example.com/users/{user}","httpVersion":"HTTP/1.1","headers":[{{"name":"Content-Type","value":"application/json"}},{{"name":"X-Request-Id","value":"r-{i}"}},{{"name":"Origin","value":"https://app.example.com"}},{{"name":"Sec-Fetch-Mode","value":"cors"}}],"queryString":[],"cookies":[],"headersSize":-1,"bodySize":40,"postData":{{"mimeType":"application/json","text":"{{\"name\":\"user {user}\",\"active\":true}}"}}}},"response":{{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[{{"name":"Access-Control-Allow-Origin","value":"https://app.example.com"}},{{"name":"Content-Type","value":"application/json"}},{{"name":"Vary","value":"Origin"}}],"cookies":[],"content":{{"size":4500,"mimeType":"application/json","text":"{body}","encoding":"base64"}},"redirectURL":"","headersSize":-1,"bodySize":4500,"_error":null}},"serverIPAddress":"203.0.113.7","timings":{{"blocked":1,"dns":-1,"ssl":-1,"connect":-1,"send":0.1,"wait":18,"receive":1}}}}"#
            ),
            // A blocked GET (missing ACAO on an error path).
            1 => format!(
                r#"{sep}{{"startedDateTime":"{t}","time":8.0,"_resourceType":"fetch","_initiator":{{"type":"script"}},"request":{{"method":"GET","url":"https://api.example.com/orders/{user}?page=2&token=s3cr3t","httpVersion":"HTTP/1.1","headers":[{{"name":"Accept","value":"application/json"}},{{"name":"Origin","value":"https://app.example.com"}},{{"name":"Sec-Fetch-Mode","value":"cors"}}],"queryString":[],"cookies":[],"headersSize":-1,"bodySize":0}},"response":{{"status":502,"statusText":"","httpVersion":"HTTP/1.1","headers":[{{"name":"Content-Type","value":"text/html"}}],"cookies":[],"content":{{"size":0,"mimeType":"x-unknown"}},"redirectURL":"","headersSize":-1,"bodySize":-1,"_error":"net::ERR_FAILED"}},"serverIPAddress":"203.0.113.7","timings":{{"blocked":1,"dns":-1,"ssl":-1,"connect":-1,"send":0.1,"wait":6,"receive":0}}}}"#
            ),
            // A same-origin page resource with a body.
            _ => format!(
                r#"{sep}{{"startedDateTime":"{t}","time":30.0,"_resourceType":"script","_initiator":{{"type":"parser","url":"https://app.example.com/"}},"request":{{"method":"GET","url":"https://app.example.com/static/app.{user}.js","httpVersion":"HTTP/1.1","headers":[{{"name":"Accept","value":"*/*"}},{{"name":"Referer","value":"https://app.example.com/"}},{{"name":"Cookie","value":"sid=abc{user}"}}],"queryString":[],"cookies":[{{"name":"sid","value":"abc"}}],"headersSize":-1,"bodySize":0}},"response":{{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[{{"name":"Content-Type","value":"application/javascript"}},{{"name":"Cache-Control","value":"max-age=31536000"}}],"cookies":[],"content":{{"size":4500,"mimeType":"application/javascript","text":"{body}","encoding":"base64"}},"redirectURL":"","headersSize":-1,"bodySize":4500,"_error":null}},"serverIPAddress":"203.0.113.8","timings":{{"blocked":1,"dns":-1,"ssl":-1,"connect":-1,"send":0.1,"wait":25,"receive":4}}}}"#
            ),
        };
        w.write_all(entry.as_bytes())?;
        written += entry.len() as u64;
        i += 1;
    }
    w.write_all(b"]}}\n")?;
    w.flush()
}
