//! The dashboard end to end: the demo writes a bus through the local scheduler, the command the demo
//! prints starts the dashboard on it, and a real headless Chromium walks every page — no console
//! error, no failed request, the key figures equal to the bus documents, a screenshot of each page
//! (desktop, and the overview on a phone) in the test output. Then the access rules over HTTP.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use ae_testkit::chromium::Chromium;
use serde_json::Value;

/// A dashboard process, killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `alpha-engine <args>` and waits for the URL it prints.
fn serve(args: &[String], env: &[(&str, &str)], dir: &Path) -> Server {
    let stderr = dir.join(format!("dashboard-{}.err", std::process::id()));
    let mut c = Command::new(env!("CARGO_BIN_EXE_alpha-engine"));
    c.args(args).current_dir(dir).env("RUST_LOG", "warn").stdout(Stdio::piped());
    c.stderr(std::fs::File::create(&stderr).unwrap());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("dashboard: ")
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| {
            panic!("no URL printed: {line:?}; stderr: {}", std::fs::read_to_string(&stderr).unwrap_or_default())
        })
        .replace("0.0.0.0", "127.0.0.1");
    Server { child, url }
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// The newest file (by name, i.e. by date) in a directory.
/// The newest dated entry of `dir` (`latest.json` and the backtester's `cache/` are not dated).
fn newest(dir: &Path) -> PathBuf {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit())))
        .collect();
    v.sort();
    v.pop().unwrap_or_else(|| panic!("{} is empty", dir.display()))
}

async fn figure(b: &mut Chromium, name: &str) -> String {
    let v = b
        .eval(&format!("(document.querySelector('[data-figure=\"{name}\"]') || {{}}).dataset?.value ?? null"))
        .await
        .unwrap();
    v.as_str().unwrap_or_else(|| panic!("figure {name} is not on the page")).to_string()
}

fn same_number(page: &str, doc: &Value, what: &str) {
    let want = doc.as_f64().unwrap_or_else(|| panic!("{what}: the document has no number: {doc}"));
    let got: f64 = page.parse().unwrap_or_else(|e| panic!("{what}: {page:?} on the page: {e}"));
    assert_eq!(got, want, "{what}: the page shows {got}, the bus holds {want}");
}

/// A 24-point executor sweep (2 x 3 x 2 x 2 around the defaults): the test profile is not
/// optimised, and a configuration that declares a sweep replaces the grid.
pub const SMALL_SWEEP: &str = r#"
[[backtest.sweep]]
path = "risk.min_score"
values = [60.0, 70.0]
[[backtest.sweep]]
path = "exits.atr_multiple"
values = [2.0, 2.5, 3.0]
[[backtest.sweep]]
path = "exits.time_decay_exit_days"
values = [10, 14]
[[backtest.sweep]]
path = "exits.reduce_on_gain_pct"
values = [0.15, 0.25]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_loads_clean_in_chromium_and_shows_the_figures_of_the_bus() {
    let tmp = tempfile::tempdir().unwrap();
    // Five weeks of the production schedule: weekly research and training, daily plans, EODs and
    // risk states, and a backtester run every week from the second (a 24-point sweep here: the
    // test profile is not optimised, and a configuration that declares a sweep replaces the grid).
    std::fs::write(tmp.path().join("small.toml"), SMALL_SWEEP).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_alpha-engine"))
        .args(["demo", "--dir", "demo", "--from", "2010-03-01", "--to", "2010-03-31", "--config", "small.toml"])
        .current_dir(tmp.path())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "demo failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let cmd = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("dashboard: bash .ci/alpha-engine "))
        .unwrap_or_else(|| panic!("the demo does not print the dashboard command:\n{stdout}"));
    let mut args: Vec<String> = cmd.split_whitespace().map(String::from).collect();
    assert_eq!(args[0], "dashboard");
    args.extend(["--listen".into(), "127.0.0.1:0".into()]);
    let server = serve(&args, &[], tmp.path());
    let bus = tmp.path().join("demo/bus");

    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard");
    let mut b = Chromium::launch().await.unwrap();
    let pages = [
        ("overview", "/"),
        ("positions", "/positions"),
        ("research", "/research"),
        ("predictor", "/predictor"),
        ("backtester", "/backtester"),
        ("execution", "/execution"),
        ("risk", "/risk"),
        ("lineage", "/lineage"),
    ];
    let eod_path = newest(&bus.join("executor/eod"));
    let eod = json(&eod_path);
    for (name, path) in pages {
        let url = format!("{}{}", server.url.trim_end_matches('/'), path);
        let report = b.navigate(&url).await.unwrap();
        assert_eq!(report.status, Some(200), "{url}");
        assert!(report.is_clean(), "{url}: {report:#?}");
        b.screenshot(&shots.join(format!("{name}.png"))).await.unwrap();
        let title = b.eval("document.querySelector('h1').textContent").await.unwrap();
        assert!(title.as_str().is_some_and(|t| !t.is_empty()), "{url}: no title");
        match name {
            "overview" => {
                same_number(&figure(&mut b, "nav").await, &eod["nav"], "NAV");
                same_number(&figure(&mut b, "alpha").await, &eod["cumulative"]["alpha"], "alpha");
                let state =
                    b.eval("document.querySelector('[data-job=\"executor EOD\"]').dataset.state").await.unwrap();
                assert_eq!(state, "on time", "the EOD ran on the last day shown");
                let svg = b.eval("document.querySelectorAll('figure.chart svg path.line').length").await.unwrap();
                assert_eq!(svg, 2, "NAV and the benchmark are drawn");
            }
            "positions" => {
                let rows = b.eval("document.querySelectorAll('tr[data-ticker]').length").await.unwrap();
                assert_eq!(rows.as_u64(), Some(eod["positions"].as_array().unwrap().len() as u64));
            }
            "research" => {
                let sig = json(&newest(&bus.join("signals")).join("signals.json"));
                assert_eq!(figure(&mut b, "signals_date").await, sig["date"].as_str().unwrap());
            }
            "predictor" => {
                let registry = json(&bus.join("predictor/registry.json"));
                assert_eq!(
                    figure(&mut b, "champion").await,
                    registry["champion"].as_str().unwrap_or(""),
                    "the champion"
                );
                let newest_model =
                    registry["models"].as_array().unwrap().last().unwrap()["version"].as_str().unwrap().to_string();
                assert_eq!(figure(&mut b, "latest_model").await, newest_model);
                let metrics = json(&bus.join(format!("predictor/models/{newest_model}/metrics.json")));
                let gate = &metrics["gates"][0];
                same_number(
                    &figure(&mut b, &format!("gate:{}", gate["name"].as_str().unwrap())).await,
                    &gate["value"],
                    "a promotion gate",
                );
            }
            "backtester" => {
                let report = json(&newest(&bus.join("backtest")).join("report.json"));
                same_number(
                    &figure(&mut b, "deflated_sharpe").await,
                    &report["sweep"]["deflated"]["probability"],
                    "deflated Sharpe",
                );
                assert_eq!(
                    figure(&mut b, "first_gate").await,
                    report["write_back"][0]["why"][0].as_str().unwrap(),
                    "a write-back gate"
                );
                let cells = b.eval("document.querySelectorAll('figure.chart svg rect').length").await.unwrap();
                assert!(cells.as_u64().unwrap_or(0) >= 4, "the sweep's heat map has its cells: {cells}");
            }
            "execution" => {
                let book = json(&newest(&bus.join("executor/order_books")));
                assert_eq!(figure(&mut b, "book_date").await, book["date"].as_str().unwrap());
                // The ensemble's weight of each view, as the book holds it.
                let skill = book["ensemble"]["skill"].as_array().expect("the book records the ensemble");
                for v in skill {
                    let name = v["view"].as_str().unwrap();
                    let js = format!(
                        "document.querySelector('tr[data-view=\"{name}\"] td:nth-child(2)')?.textContent ?? null"
                    );
                    let shown = b.eval(&js).await.unwrap();
                    let want = format!("{:.2}", v["weight"].as_f64().unwrap());
                    assert_eq!(shown.as_str(), Some(want.as_str()), "the weight of the {name} view");
                }
            }
            "risk" => {
                let risk = json(&newest(&bus.join("risk")).join("risk_state.json"));
                let var = risk["tail"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|t| t["method"] == "historical" && t["confidence"] == 0.99 && t["horizon_days"] == 1)
                    .unwrap();
                same_number(&figure(&mut b, "var99").await, &var["var"], "99% VaR");
            }
            _ => {}
        }
    }

    // Every figure links to its document: follow the NAV to the EOD report, shown valid.
    b.navigate(&format!("{}/", server.url.trim_end_matches('/'))).await.unwrap();
    let href = b.eval("document.querySelector('[data-figure=\"nav\"]').href").await.unwrap();
    let report = b.navigate(href.as_str().unwrap()).await.unwrap();
    assert!(report.is_clean(), "{report:#?}");
    let text = b.eval("document.body.innerText").await.unwrap();
    let eod_key = format!("executor/eod/{}", eod_path.file_name().unwrap().to_string_lossy());
    assert!(text.as_str().unwrap().contains("VALID") && text.as_str().unwrap().contains(&eod_key), "{text}");
    b.screenshot(&shots.join("document.png")).await.unwrap();

    // Lineage: from the last EOD back to the price chunks, with hashes.
    let report = b.navigate(&format!("{}/lineage?key={eod_key}", server.url.trim_end_matches('/'))).await.unwrap();
    assert!(report.is_clean(), "{report:#?}");
    let nodes: u64 = figure(&mut b, "lineage_nodes").await.parse().unwrap();
    let chunks = b.eval("document.querySelectorAll('[data-node^=\"prices/bars/\"]').length").await.unwrap();
    assert!(nodes >= 3 && chunks.as_u64().unwrap_or(0) >= 1, "{nodes} documents, {chunks} price chunks");
    b.screenshot(&shots.join("lineage-walk.png")).await.unwrap();

    // A phone: the page fits the screen's width (wide tables scroll inside their own box).
    b.viewport(390, 844, true).await.unwrap();
    let report = b.navigate(&format!("{}/", server.url.trim_end_matches('/'))).await.unwrap();
    assert!(report.is_clean(), "{report:#?}");
    let fits = b.eval("document.documentElement.scrollWidth <= window.innerWidth").await.unwrap();
    assert_eq!(fits, true, "the overview is wider than a phone");
    b.screenshot(&shots.join("overview-phone.png")).await.unwrap();
    b.navigate(&format!("{}/positions", server.url.trim_end_matches('/'))).await.unwrap();
    let fits = b.eval("document.documentElement.scrollWidth <= window.innerWidth").await.unwrap();
    assert_eq!(fits, true, "the positions page is wider than a phone");
    b.close().await;
    eprintln!("dashboard screenshots: {}", shots.display());
    drop(server);
}

#[tokio::test]
async fn the_dashboard_needs_a_credential_off_loopback_and_refuses_writes_and_escapes() {
    let tmp = tempfile::tempdir().unwrap();
    let bus = format!("file://{}", tmp.path().join("bus").display());
    let args = |listen: &str| -> Vec<String> {
        ["dashboard", "--bus", &bus, "--listen", listen].iter().map(|s| s.to_string()).collect()
    };

    // Off loopback without a credential: refused, with what to do.
    let out = Command::new(env!("CARGO_BIN_EXE_alpha-engine"))
        .args(args("0.0.0.0:0"))
        .env_remove("ALPHA_ENGINE_DASHBOARD_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a loopback address") && err.contains("ALPHA_ENGINE_DASHBOARD_TOKEN"), "{err}");

    // A document that fails validation is left out and named; it never stops the dashboard.
    let bad = tmp.path().join("bus/executor/eod/2010-03-01.json");
    std::fs::create_dir_all(bad.parent().unwrap()).unwrap();
    std::fs::write(&bad, br#"{"nav": "lots"}"#).unwrap();

    // With one: every request must carry it.
    let token = "dashboard-token-7f3a9c";
    let server = serve(&args("0.0.0.0:0"), &[("ALPHA_ENGINE_DASHBOARD_TOKEN", token)], tmp.path());
    let http = reqwest::Client::new();
    let base = server.url.trim_end_matches('/').to_string();
    let r = http.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("www-authenticate").is_some());
    let r = http.get(format!("{base}/")).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = http.get(format!("{base}/")).basic_auth("operator", Some(token)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
    let body = r.text().await.unwrap();
    assert!(body.contains("No end-of-day report on the bus yet"), "an empty bus says what fills it: {body}");
    assert!(body.contains("1 document(s) could not be read"), "{body}");
    let body = http.get(format!("{base}/lineage")).bearer_auth(token).send().await.unwrap().text().await.unwrap();
    assert!(body.contains("executor/eod/2010-03-01.json: "), "the bad document is named with its problem: {body}");

    // No write endpoint, no path escape.
    for method in [reqwest::Method::POST, reqwest::Method::PUT, reqwest::Method::DELETE] {
        let r = http
            .request(method.clone(), format!("{base}/doc?key=config/executor_params.json"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405, "{method}");
    }
    for key in ["../../etc/passwd", "/etc/passwd", "prices/../../x", "a\\b"] {
        let q: String = key.bytes().map(|b| format!("%{b:02X}")).collect();
        let r = http.get(format!("{base}/doc?key={q}")).bearer_auth(token).send().await.unwrap();
        assert_eq!(r.status(), 400, "{key}");
        let r = http.get(format!("{base}/lineage?key={q}")).bearer_auth(token).send().await.unwrap();
        assert_eq!(r.status(), 400, "{key}");
    }
    let r = http.get(format!("{base}/doc?key=executor/eod/2010-03-02.json")).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = http.get(format!("{base}/doc?key=executor/eod/2010-03-01.json")).bearer_auth(token).send().await.unwrap();
    assert!(r.text().await.unwrap().contains("INVALID"), "the raw view says why it was left out");
    assert_eq!(walk(&tmp.path().join("bus")), vec![bad.clone()], "nothing written to the bus");
    drop(server);
    let logged =
        std::fs::read_to_string(tmp.path().join(format!("dashboard-{}.err", std::process::id()))).unwrap_or_default();
    assert!(!logged.contains(token), "the credential reached the log: {logged}");
}
