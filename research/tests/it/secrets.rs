//! No secret leaves the research job: the binary runs with sentinel keys (Anthropic, FRED, the SMTP
//! password) against vendors that fail every way they can — 500s, refusals that echo back the key
//! they were sent, dropped connections — with debug logging, in text and in JSON; no log line, no
//! line printed, and no object on the bus (nor anything else the run wrote) holds a sentinel.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};

use ae_shared::bus::keys;
use serde_json::Value;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::common::{bus, day};

const ANTHROPIC_KEY: &str = "SENTINEL-ANTHROPIC-KEY-7f3a";
const FRED_KEY: &str = "SENTINEL-FRED-KEY-7f3a";
const SMTP_PASSWORD: &str = "SENTINEL-SMTP-PASSWORD-7f3a";
const SENTINELS: [&str; 3] = [ANTHROPIC_KEY, FRED_KEY, SMTP_PASSWORD];

/// A server that accepts connections and closes them without a word.
async fn dropping_listener() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            drop(socket);
        }
    });
    addr
}

/// Anthropic failing in turn with a 500 and a 403, each quoting the key it was sent (a vendor
/// that echoes credentials: only the redaction stands between it and the logs).
struct LeakyAnthropic(AtomicUsize);

impl Respond for LeakyAnthropic {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let key = req.headers.get("x-api-key").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let status = if self.0.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) { 500 } else { 403 };
        ResponseTemplate::new(status).set_body_json(serde_json::json!({
            "type": "error",
            "error": { "type": "permission_error", "message": format!("key {key} may not use this model") }
        }))
    }
}

/// FRED failing: a 500 for the first series, and for the others a 400 quoting the whole request
/// URL (which carries `api_key`, the only place FRED accepts it).
struct LeakyFred;

impl Respond for LeakyFred {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        if req.url.query_pairs().any(|(k, v)| k == "series_id" && v == "DGS10") {
            return ResponseTemplate::new(500).set_body_raw("<html>Internal Server Error</html>", "text/html");
        }
        ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "error_code": 400,
            "error_message": format!("Bad Request. The request {} could not be served.", req.url)
        }))
    }
}

/// Every file under `dir`, with its bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
        }
    }
    out
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

async fn run_research(dir: &Path, bus_url: &str, log_json: bool, llm: &str, fred: &str, smtp: SocketAddr) -> Output {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_research"));
    c.args(["run", "--date", "2010-03-15", "--bus", bus_url]).current_dir(dir);
    if log_json {
        c.arg("--log-json");
    }
    for var in ["BUS_URL", "ALPHA_ENGINE_CONFIG", "AWS_LAMBDA_RUNTIME_API", "SMTP_USERNAME", "SMTP_PASSWORD"] {
        c.env_remove(var);
    }
    let smtp_port = smtp.port().to_string();
    for (k, v) in [
        ("RUST_LOG", "debug"),
        ("ANTHROPIC_API_KEY", ANTHROPIC_KEY),
        ("ALPHA_ENGINE__LLM__BASE_URL", llm),
        ("ALPHA_ENGINE__LLM__MAX_NAMES", "4"),
        ("FRED_API_KEY", FRED_KEY),
        ("ALPHA_ENGINE__PROVIDERS__FRED__ENABLED", "true"),
        ("ALPHA_ENGINE__PROVIDERS__FRED__BASE_URL", fred),
        ("ALPHA_ENGINE__MAIL__SMTP__HOST", "127.0.0.1"),
        ("ALPHA_ENGINE__MAIL__SMTP__PORT", smtp_port.as_str()),
        ("ALPHA_ENGINE__MAIL__SMTP__SECURITY", "none"),
        ("ALPHA_ENGINE__MAIL__SMTP__TIMEOUT_SECS", "5"),
        ("SMTP_USERNAME", "alpha-engine"),
        ("SMTP_PASSWORD", SMTP_PASSWORD),
    ] {
        c.env(k, v);
    }
    tokio::task::spawn_blocking(move || c.output().unwrap()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_sentinel_secret_reaches_a_log_line_or_the_bus_when_every_vendor_fails() {
    let llm = MockServer::start().await;
    Mock::given(wiremock::matchers::method("POST")).respond_with(LeakyAnthropic(AtomicUsize::new(0))).mount(&llm).await;
    let fred = MockServer::start().await;
    Mock::given(wiremock::matchers::method("GET")).respond_with(LeakyFred).mount(&fred).await;
    let smtp = dropping_listener().await;

    for log_json in [false, true] {
        let (dir, bus) = bus();
        let out = run_research(dir.path(), &bus.url().to_string(), log_json, &llm.uri(), &fred.uri(), smtp).await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let format = if log_json { "json" } else { "text" };
        assert!(out.status.success(), "{format}: every failure is isolated\n{stdout}\n{stderr}");

        // The error paths ran: retries, refusals, an undelivered brief — and a vendor quoted a key.
        for want in ["transient failure", "HTTP 403", "HTTP 400", "NOT delivered", "[REDACTED]"] {
            assert!(stderr.contains(want) || stdout.contains(want), "{format}: no {want:?} in\n{stdout}\n{stderr}");
        }
        if log_json {
            let lines: Vec<&str> = stderr.lines().filter(|l| !l.is_empty()).collect();
            assert!(lines.iter().all(|l| serde_json::from_str::<Value>(l).is_ok()), "{format}: JSON lines\n{stderr}");
        }
        for s in SENTINELS {
            assert!(!stdout.contains(s), "{format}: {s} printed:\n{stdout}");
            assert!(!stderr.contains(s), "{format}: {s} logged:\n{stderr}");
        }

        // Every object on the bus, and everything else the run wrote (answer cache, outbox).
        let written = files(dir.path());
        assert!(written.iter().any(|(p, _)| p.ends_with("research/archive/2010-03-15/run.json")), "{written:?}");
        for (path, bytes) in &written {
            for s in SENTINELS {
                assert!(!holds(bytes, s), "{format}: {s} in {path}");
            }
        }
        let report: Value = serde_json::from_slice(
            &bus.get(&keys::research_archive(day("2010-03-15"), "run.json")).await.unwrap().unwrap().bytes,
        )
        .unwrap();
        let failures = report["providers"]["fred"]["failures"].to_string();
        assert!(
            failures.contains("api_key=[REDACTED]"),
            "{format}: the quoted URL is kept, its key is not: {failures}"
        );
        assert_eq!(report["llm"]["calls"].as_u64().map(|n| n > 0), Some(true), "{format}: {}", report["llm"]);
    }
    // The keys went where they belong: in a header to Anthropic, in the query to FRED.
    let sent = llm.received_requests().await.unwrap();
    assert!(sent.iter().all(|r| r.headers.get("x-api-key").unwrap() == ANTHROPIC_KEY));
    assert!(sent.iter().all(|r| !r.url.as_str().contains(ANTHROPIC_KEY)));
    let sent = fred.received_requests().await.unwrap();
    assert!(sent.iter().all(|r| r.url.query_pairs().any(|(k, v)| k == "api_key" && v == FRED_KEY)));
}
