use std::path::Path;
use std::process::{Command, Output};

use ae_testkit::{S3Server, fixtures};
use serde_json::{Value, json};

fn alpha_engine(args: &[&str], env: &[(&str, &str)], cwd: &Path) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_alpha-engine"));
    c.args(args).current_dir(cwd).env("RUST_LOG", "warn");
    for var in ["BUS_URL", "AWS_ENDPOINT_URL", "AWS_PROFILE", "ALPHA_ENGINE_CONFIG"] {
        c.env_remove(var);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run alpha-engine")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn validate_names_every_problem_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = serde_json::to_value(fixtures::signals()).unwrap();
    v["universe"][0]["score"] = json!(140);
    v["universe"][1]["rating"] = json!("BUY");
    v["universe"][1]["score"] = Value::Null;
    std::fs::write(dir.path().join("bad.json"), serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    let o = alpha_engine(&["validate", "signals", "bad.json"], &[], dir.path());
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("bad.json: invalid signals (2 problem(s))"), "{out}");
    assert!(out.contains("universe[0].score: 140 is above 100"), "{out}");
    assert!(out.contains("universe[1].score: null is not a number: a BUY without a score is invalid"), "{out}");

    std::fs::write(dir.path().join("good.json"), serde_json::to_vec(&fixtures::signals()).unwrap()).unwrap();
    let o = alpha_engine(&["validate", "signals", "good.json"], &[], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));

    let o = alpha_engine(&["validate", "nonsense", "good.json"], &[], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("one of: signals, predictions"));
}

#[test]
fn validate_refuses_an_order_book_whose_trigger_time_is_not_a_time_of_day() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = serde_json::to_value(fixtures::order_book()).unwrap();
    v["entries"][0]["triggers"]["expiry_time"] = json!("29:00");
    std::fs::write(dir.path().join("bad.json"), serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    let o = alpha_engine(&["validate", "order-book", "bad.json"], &[], dir.path());
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("bad.json: invalid order-book (1 problem(s))"), "{out}");
    assert!(
        out.contains("entries[0].triggers.expiry_time: \"29:00\" is not a time of day (HH:MM, 00:00..23:59)"),
        "{out}"
    );
}

#[test]
fn data_import_reports_governance_on_a_file_bus() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().join("bus").display());
    let o = alpha_engine(&["data", "import", "--bus", &url], &[], dir.path());
    let out = stdout(&o);
    assert!(o.status.success(), "{out}\n{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("imported 122574 bars for 524 symbols, 2009-08-21..2010-08-20"), "{out}");
    assert!(out.contains("OHLC-inconsistent rows: 78 in 45 symbols"), "{out}");
    assert!(out.contains("QUARANTINED ("), "{out}");
    assert!(out.contains("DEGRADED ("), "{out}");
    assert!(out.contains("WYE"), "{out}");
    assert!(dir.path().join("bus/prices/manifest.json").exists());

    let o = alpha_engine(&["data", "quality", "--bus", &url, "FISV"], &[], dir.path());
    assert!(stdout(&o).contains("OHLC_INCONSISTENT: 4 row(s)"), "{}", stdout(&o));

    // BUS_URL works as well as --bus; a dry run writes nothing.
    let other = dir.path().join("other");
    let o = alpha_engine(
        &["data", "import", "--dry-run"],
        &[("BUS_URL", &format!("file://{}", other.display()))],
        dir.path(),
    );
    assert!(o.status.success());
    assert!(stdout(&o).contains("dry run: nothing written"));
    assert!(!other.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_bus_is_reached_through_the_standard_aws_environment() {
    let server = S3Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path().to_path_buf();
    let env: Vec<(String, String)> = vec![
        ("AWS_ENDPOINT_URL".into(), server.endpoint.clone()),
        ("AWS_ACCESS_KEY_ID".into(), server.access_key.clone()),
        ("AWS_SECRET_ACCESS_KEY".into(), server.secret_key.clone()),
        ("AWS_REGION".into(), "us-east-1".into()),
        ("BUS_URL".into(), format!("s3://{}/team-a", server.bucket)),
    ];
    let run = move |args: Vec<&'static str>| {
        let env = env.clone();
        let cwd = cwd.clone();
        tokio::task::spawn_blocking(move || {
            let pairs: Vec<(&str, &str)> = env.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            alpha_engine(&args, &pairs, &cwd)
        })
    };
    let o = run(vec!["data", "import"]).await.unwrap();
    assert!(o.status.success(), "{}\n{}", stdout(&o), String::from_utf8_lossy(&o.stderr));
    assert!(stdout(&o).contains(&format!("into s3://{}/team-a", server.bucket)), "{}", stdout(&o));
    assert!(server.root().join(&server.bucket).join("team-a/prices/manifest.json").exists());
    // A second import over S3 finds its chunks already there.
    let o = run(vec!["data", "import"]).await.unwrap();
    assert!(stdout(&o).contains("(2 unchanged)"), "{}", stdout(&o));
    // Validate a key on the S3 bus.
    std::fs::write(
        server.root().join(&server.bucket).join("team-a/signals-test.json"),
        serde_json::to_vec(&fixtures::signals()).unwrap(),
    )
    .unwrap();
    let o = run(vec!["validate", "signals", "signals-test.json"]).await.unwrap();
    assert!(o.status.success(), "{}\n{}", stdout(&o), String::from_utf8_lossy(&o.stderr));
    assert!(stdout(&o).contains("valid signals"));
    assert!(server.requests() > 10);
}

#[test]
fn schema_export_writes_every_kind() {
    let dir = tempfile::tempdir().unwrap();
    let o = alpha_engine(&["schema", "export", "schemas"], &[], dir.path());
    assert!(o.status.success());
    let n = std::fs::read_dir(dir.path().join("schemas")).unwrap().count();
    assert_eq!(n, 11, "every kind, the kill switch and the risk state included");
    assert!(stdout(&o).contains("wrote 11 schemas"));
}

#[test]
fn config_check_lists_every_problem_with_its_source() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("c.toml"),
        "[executor.risk]\nmax_position_pct = 0.5\n[research]\nbuy_threshold = 500.0\n",
    )
    .unwrap();
    let o = alpha_engine(
        &["config", "check", "--config", "c.toml"],
        &[("ALPHA_ENGINE__PREDICTOR__HORIZON_DAYS", "0")],
        dir.path(),
    );
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("invalid configuration (3 problem(s))"), "{out}");
    assert!(out.contains("executor.risk.max_position_pct: 0.5 is above 0.25 (set by c.toml)"), "{out}");
    assert!(out.contains("research.buy_threshold: 500 is above 100 (set by c.toml)"), "{out}");
    assert!(
        out.contains("predictor.horizon_days: 0 is below 1 (set by ALPHA_ENGINE__PREDICTOR__HORIZON_DAYS)"),
        "{out}"
    );
    let o = alpha_engine(&["config", "check"], &[], dir.path());
    assert!(o.status.success(), "{}", stdout(&o));
}

#[test]
fn config_show_in_force_names_where_each_value_comes_from() {
    let dir = tempfile::tempdir().unwrap();
    let bus = dir.path().join("bus");
    let (_, mut exec, _, _) = fixtures::params_docs();
    exec.params.exits.atr_multiple = 3.0;
    exec.params.exits.atr_period = 20;
    exec.tuned = vec!["exits.atr_multiple".into()];
    std::fs::create_dir_all(bus.join("config")).unwrap();
    let bytes = ae_shared::contracts::to_json_checked(&exec).unwrap();
    std::fs::write(bus.join("config/executor_params.json"), &bytes).unwrap();
    let url = format!("file://{}", bus.display());
    let o = alpha_engine(
        &["config", "show", "--in-force", "--bus", &url],
        &[("ALPHA_ENGINE__EXECUTOR__RISK__MAX_POSITION_PCT", "0.04")],
        dir.path(),
    );
    let out = stdout(&o);
    assert!(o.status.success(), "{out}\n{}", String::from_utf8_lossy(&o.stderr));
    let sha = ae_shared::contracts::lineage::sha256_hex(&bytes);
    for want in [
        format!(
            "exits.atr_multiple = 3.0  # bus config/executor_params.json (sha256 {}, tuned 2010-03-15)",
            &sha[..12]
        ),
        "exits.atr_period = 14  # configuration: defaults".to_string(),
        "risk.max_position_pct = 0.04  # configuration: ALPHA_ENGINE__EXECUTOR__RISK__MAX_POSITION_PCT".to_string(),
        "[scoring]  # scoring_weights".to_string(),
    ] {
        assert!(out.contains(&want), "missing {want:?} in:\n{out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_update_appends_a_session_from_the_bars_vendor() {
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().join("bus").display());
    let o = alpha_engine(&["data", "import", "--bus", &url], &[], dir.path());
    assert!(o.status.success());
    // The vendor's grouped-daily answer for 2010-08-23: last session's bars moved 1% up, plus a
    // symbol the store does not hold and one it cannot read.
    let text = ae_shared::store::import::read_gz_text(
        &ae_shared::store::embedded_data_dir().join("sp500_2009_2010_ohlcv.csv.gz"),
    )
    .unwrap();
    let mut results: Vec<Value> = text
        .lines()
        .filter(|l| l.starts_with("2010-08-20,"))
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            let p = |i: usize| c[i].parse::<f64>().unwrap() * 1.01;
            json!({"T": c[1], "o": p(2), "h": p(3), "l": p(4), "c": p(5), "v": c[6].parse::<f64>().unwrap(), "t": 1282536000000i64, "n": 1000})
        })
        .collect();
    let known = results.len();
    results.push(json!({"T": "ZZZZ", "o": 1.0, "h": 1.0, "l": 1.0, "c": 1.0, "v": 10.0, "t": 1282536000000i64}));
    results.push(json!({"T": "brk.a", "o": 1.0, "h": 1.0, "l": 1.0, "c": 1.0, "v": 10.0, "t": 1282536000000i64}));
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/aggs/grouped/locale/us/market/stocks/2010-08-23"))
        .and(query_param("adjusted", "false"))
        .and(header("authorization", "Bearer test-polygon-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"queryCount": results.len(), "resultsCount": results.len(), "adjusted": false, "results": results, "status": "OK", "request_id": "r1"})))
        .expect(1)
        .mount(&server)
        .await;
    let env = [
        ("POLYGON_API_KEY".to_string(), "test-polygon-key".to_string()),
        ("ALPHA_ENGINE__PROVIDERS__POLYGON__BASE_URL".to_string(), server.uri()),
    ];
    let cwd = dir.path().to_path_buf();
    let url2 = url.clone();
    let o = tokio::task::spawn_blocking(move || {
        let pairs: Vec<(&str, &str)> = env.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        alpha_engine(&["data", "update", "--date", "2010-08-23", "--bus", &url2], &pairs, &cwd)
    })
    .await
    .unwrap();
    let out = stdout(&o);
    assert!(o.status.success(), "{out}\n{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        out.contains(&format!("{known} bars for 2010-08-23 (grouped daily; 1 unreadable symbol(s) skipped)")),
        "{out}"
    );
    let o = alpha_engine(&["data", "quality", "--bus", &url, "AAPL"], &[], dir.path());
    assert!(stdout(&o).contains("(2009-08-21..2010-08-23)"), "{}", stdout(&o));
    // The key travelled in the header only.
    let sent = server.received_requests().await.unwrap();
    assert!(sent.iter().all(|r| !r.url.as_str().contains("test-polygon-key")), "{sent:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_update_never_logs_the_polygon_key_when_the_vendor_fails() {
    use wiremock::{Mock, MockServer, Request, ResponseTemplate};
    const KEY: &str = "SENTINEL-POLYGON-KEY-7f3a";
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().join("bus").display());
    let o = alpha_engine(&["data", "import", "--bus", &url], &[], dir.path());
    assert!(o.status.success());
    // Three ways to fail: a 403 quoting the credentials it was sent (only redaction stands between
    // it and the logs), a 500 doing the same (retried, then given up), and connections closed
    // without a word.
    let echo = |status: u16| {
        move |r: &Request| {
            let auth = r.headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            ResponseTemplate::new(status).set_body_json(
                json!({"status": "ERROR", "request_id": "r1", "error": format!("Unknown API Key ({auth}) for {}", r.url)}),
            )
        }
    };
    let refusing = MockServer::start().await;
    Mock::given(wiremock::matchers::method("GET")).respond_with(echo(403)).mount(&refusing).await;
    let failing = MockServer::start().await;
    Mock::given(wiremock::matchers::method("GET")).respond_with(echo(500)).mount(&failing).await;
    let closing = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closing_url = format!("http://{}", closing.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((socket, _)) = closing.accept().await {
            drop(socket);
        }
    });
    for (what, base, want) in [
        ("403", refusing.uri(), "refused with HTTP 403"),
        ("500", failing.uri(), "transient failure: HTTP 500"),
        ("closed", closing_url, "transient failure"),
    ] {
        let env = [
            ("POLYGON_API_KEY".to_string(), KEY.to_string()),
            ("ALPHA_ENGINE__PROVIDERS__POLYGON__BASE_URL".to_string(), base),
            ("RUST_LOG".to_string(), "debug".to_string()),
        ];
        let (cwd, url) = (dir.path().to_path_buf(), url.clone());
        let o = tokio::task::spawn_blocking(move || {
            let pairs: Vec<(&str, &str)> = env.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            alpha_engine(&["data", "update", "--date", "2010-08-23", "--bus", &url], &pairs, &cwd)
        })
        .await
        .unwrap();
        let (out, err) = (stdout(&o), String::from_utf8_lossy(&o.stderr).into_owned());
        assert_eq!(o.status.code(), Some(1), "{what}: the update fails\n{out}\n{err}");
        assert!(err.contains(want), "{what}: no {want:?} in\n{err}");
        assert!(err.contains("DEBUG"), "{what}: debug logging was on\n{err}");
        assert!(!out.contains(KEY) && !err.contains(KEY), "{what}: the key leaked\n{out}\n{err}");
        if what != "closed" {
            assert!(err.contains("[REDACTED]"), "{what}: the quoted key is redacted\n{err}");
        }
    }
    // Nothing on the bus holds it either.
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() { walk(&p, out) } else { out.push(p) }
        }
    }
    let mut objects = Vec::new();
    walk(&dir.path().join("bus"), &mut objects);
    assert!(objects.len() > 3, "{objects:?}");
    for p in objects {
        let bytes = std::fs::read(&p).unwrap();
        assert!(!bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes()), "{} holds the key", p.display());
    }
    for s in [&refusing, &failing] {
        let sent = s.received_requests().await.unwrap();
        assert!(!sent.is_empty() && sent.iter().all(|r| !r.url.as_str().contains(KEY)), "{sent:?}");
    }
}
