//! Crash consistency, proven by killing the writer between every two steps of its write sequence
//! (`AE_CRASH_AT`, see `ae_shared::crashpoint`): a process that dies anywhere leaves the bus in a
//! state readers can use (the old one or the new one, never a mix), and running it again leaves
//! exactly what an uninterrupted run leaves.
//!
//! - `alpha-engine data update` for a session with a 2:1 split (ESRX, 2010-06-08), compaction on,
//!   over a store imported up to the session before: killed at each point an uninterrupted run
//!   passes (the store's steps and every file-bus put inside them), then re-run, then brought one
//!   more session forward (GIS's 2:1 split, 2010-06-09).
//! - Publishing a dated document and its `latest` pointer, on a directory and on a real S3 server,
//!   by a child process (this test binary re-run) killed at each point.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ae_shared::bus::{Bus, keys};
use ae_shared::clock::SimulatedClock;
use ae_shared::contracts::signals::Signals;
use ae_shared::crashpoint::{CRASH_AT_ENV, CRASH_LOG_ENV, CRASH_MARKER, points};
use ae_shared::store::PriceStore;
use ae_shared::{Ticker, TradingDay};
use ae_testkit::{S3Server, fixtures};
use serde_json::{Value, json};

const IMPORTED_THROUGH: &str = "2010-06-07";
/// ESRX splits 2:1 on this session.
const CRASH_DAY: &str = "2010-06-08";
/// GIS splits 2:1 on this session.
const NEXT_DAY: &str = "2010-06-09";
const SIGABRT: i32 = 6;

fn alpha_engine(args: &[&str], env: &[(String, String)], cwd: &Path) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_alpha-engine"));
    c.args(args).current_dir(cwd).env("RUST_LOG", "warn");
    for var in ["BUS_URL", "AWS_ENDPOINT_URL", "AWS_PROFILE", "ALPHA_ENGINE_CONFIG", CRASH_AT_ENV, CRASH_LOG_ENV] {
        c.env_remove(var);
    }
    c.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    c.output().expect("run alpha-engine")
}

fn text(o: &Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Each point an uninterrupted run passed, as `name:nth` (its nth hit), in order.
fn crash_targets(log: &Path) -> Vec<String> {
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .map(|name| {
            let n = seen.entry(name.to_string()).or_default();
            *n += 1;
            format!("{name}:{n}")
        })
        .collect()
}

fn assert_died_at(o: &Output, target: &str) {
    assert_eq!(o.status.signal(), Some(SIGABRT), "expected death at {target}: {:?}\n{}", o.status, text(o));
    assert!(String::from_utf8_lossy(&o.stderr).contains(&format!("{CRASH_MARKER} {target}")), "{}", text(o));
}

/// The Polygon stand-in: grouped daily bars for the two sessions, from the embedded data as is.
async fn vendor() -> wiremock::MockServer {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let csv = ae_shared::store::import::read_gz_text(
        &ae_shared::store::embedded_data_dir().join("sp500_2009_2010_ohlcv.csv.gz"),
    )
    .unwrap();
    let server = MockServer::start().await;
    for day in [CRASH_DAY, NEXT_DAY] {
        let results: Vec<Value> = csv
            .lines()
            .filter(|l| l.starts_with(&format!("{day},")))
            .map(|l| {
                let c: Vec<&str> = l.split(',').collect();
                let f = |i: usize| c[i].parse::<f64>().unwrap();
                json!({"T": c[1], "o": f(2), "h": f(3), "l": f(4), "c": f(5), "v": f(6), "t": 0, "n": 1})
            })
            .collect();
        assert!(results.len() > 400, "{day}: {} bars", results.len());
        Mock::given(method("GET"))
            .and(path(format!("/v2/aggs/grouped/locale/us/market/stocks/{day}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"resultsCount": results.len(), "adjusted": false, "results": results, "status": "OK"}),
            ))
            .mount(&server)
            .await;
    }
    server
}

/// What a reader of the store gets: the session it reaches, the splits it applies, every
/// symbol's adjusted closes.
#[derive(Debug, PartialEq)]
struct Logical {
    last_day: TradingDay,
    splits: Vec<(Ticker, TradingDay, u64)>,
    adjusted_closes: BTreeMap<Ticker, Vec<(TradingDay, u64)>>,
}

/// Everything the store holds that a run leaves: the manifest (chunks with their hashes, the
/// splits), the two reports, and what a reader loads.
#[derive(Debug, PartialEq)]
struct Snapshot {
    manifest: Value,
    quality: Value,
    splits_report: Value,
    logical: Logical,
}

async fn logical(bus: &Bus) -> Logical {
    let s = PriceStore::load(bus).await.unwrap();
    let adjusted_closes = s
        .adjusted
        .iter()
        .map(|x| (x.ticker.clone(), x.dates.iter().zip(x.close).map(|(d, c)| (*d, c.to_bits())).collect()))
        .collect();
    let splits = s.splits.iter().map(|x| (x.ticker.clone(), x.date, x.ratio.to_bits())).collect();
    Logical { last_day: s.manifest.last_day, splits, adjusted_closes }
}

async fn snapshot(dir: &Path) -> Snapshot {
    let read = |key: &str| -> Value { serde_json::from_slice(&std::fs::read(dir.join(key)).unwrap()).unwrap() };
    Snapshot {
        manifest: read("prices/manifest.json"),
        quality: read("prices/quality.json"),
        splits_report: read("prices/splits.json"),
        logical: logical(&Bus::file(dir)).await,
    }
}

/// Each split applied once: one entry per (ticker, session), and the adjusted series has no
/// split-sized jump on the split day.
fn assert_splits_applied_once(l: &Logical, ticker: &str, day: &str) {
    let day = TradingDay::parse(day).unwrap();
    let n = l.splits.iter().filter(|(t, d, _)| t.as_str() == ticker && *d == day).count();
    assert_eq!(n, 1, "{ticker} {day}: {:?}", l.splits);
    let mut keys: Vec<_> = l.splits.iter().map(|(t, d, _)| (t, d)).collect();
    keys.dedup();
    assert_eq!(keys.len(), l.splits.len(), "a split recorded twice: {:?}", l.splits);
    let closes = &l.adjusted_closes[&Ticker::new(ticker).unwrap()];
    let i = closes.iter().position(|(d, _)| *d == day).unwrap();
    let jump = f64::from_bits(closes[i].1) / f64::from_bits(closes[i - 1].1);
    assert!((0.9..1.1).contains(&jump), "{ticker} adjusted close moves x{jump:.3} on {day}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_update_killed_at_any_step_then_rerun_leaves_the_store_an_uninterrupted_run_leaves() {
    let t0 = std::time::Instant::now();
    let root = tempfile::tempdir().unwrap();
    let root = root.path().to_path_buf();
    let server = vendor().await;
    let env: Vec<(String, String)> = vec![
        ("POLYGON_API_KEY".into(), "test-polygon-key".into()),
        ("ALPHA_ENGINE__PROVIDERS__POLYGON__BASE_URL".into(), server.uri()),
        // Compact on every update, so compaction's steps are in the sequence too.
        ("ALPHA_ENGINE__DATA__COMPACT_AFTER".into(), "0".into()),
    ];
    let bus_url = |dir: &Path| format!("file://{}", dir.display());
    let run = {
        let root = root.clone();
        move |args: Vec<String>, extra: Vec<(String, String)>| {
            let mut env = env.clone();
            env.extend(extra);
            let root = root.clone();
            tokio::task::spawn_blocking(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                alpha_engine(&args, &env, &root)
            })
        }
    };
    let update = |dir: &Path, day: &str| {
        vec!["data".into(), "update".into(), "--date".into(), day.to_string(), "--bus".into(), bus_url(dir)]
    };

    // The store as imported up to the session before the split.
    let template = root.join("template");
    let o = run(
        vec![
            "data".into(),
            "import".into(),
            "--through".into(),
            IMPORTED_THROUGH.into(),
            "--bus".into(),
            bus_url(&template),
        ],
        vec![],
    )
    .await
    .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains(&format!("2009-08-21..{IMPORTED_THROUGH}")), "{}", text(&o));
    let before = snapshot(&template).await;

    // The uninterrupted run, recording the points it passes.
    let reference = root.join("reference");
    copy_dir(&template, &reference);
    let log = root.join("points.log");
    let o = run(update(&reference, CRASH_DAY), vec![(CRASH_LOG_ENV.into(), log.display().to_string())]).await.unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains(&format!("split detected: ESRX {CRASH_DAY} 2:1")), "{}", text(&o));
    assert!(text(&o).contains("compacted 2 chunks"), "{}", text(&o));
    let after = snapshot(&reference).await;
    assert_splits_applied_once(&after.logical, "ESRX", CRASH_DAY);
    let o = run(update(&reference, NEXT_DAY), vec![]).await.unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let after_next = snapshot(&reference).await;
    assert_splits_applied_once(&after_next.logical, "ESRX", CRASH_DAY);
    assert_splits_applied_once(&after_next.logical, "GIS", NEXT_DAY);

    let targets = crash_targets(&log);
    for p in points::STORE_APPEND.iter().chain([&points::FILE_PUT_AFTER_TEMP, &points::FILE_PUT_AFTER_RENAME]) {
        assert!(targets.iter().any(|t| t.starts_with(&format!("{p}:"))), "{p} never passed: {targets:?}");
    }
    let setup_secs = t0.elapsed().as_secs_f64();

    // One scenario per point, two at a time (each is a chain of processes on its own copy).
    let scenario = |i: usize, target: String| {
        let dir = root.join(format!("crash-{i}"));
        let (run, update, template, before, after, after_next) =
            (&run, &update, &template, &before, &after, &after_next);
        async move {
            copy_dir(template, &dir);
            let o = run(update(&dir, CRASH_DAY), vec![(CRASH_AT_ENV.into(), target.clone())]).await.unwrap();
            assert_died_at(&o, &target);

            // A reader in between sees one of the two committed stores, never a mix.
            let between = logical(&Bus::file(&dir)).await;
            assert!(
                between == before.logical || between == after.logical,
                "{target}: a reader after the crash sees neither the old store nor the new one (last day {}, splits {:?})",
                between.last_day,
                between.splits
            );

            let o = run(update(&dir, CRASH_DAY), vec![]).await.unwrap();
            assert!(o.status.success(), "{target}: the re-run failed\n{}", text(&o));
            assert_eq!(&snapshot(&dir).await, after, "{target}: the re-run left another store");
            let o = run(update(&dir, NEXT_DAY), vec![]).await.unwrap();
            assert!(o.status.success(), "{target}: the next session failed\n{}", text(&o));
            assert_eq!(&snapshot(&dir).await, after_next, "{target}: the next session left another store");
            std::fs::remove_dir_all(&dir).unwrap();
        }
    };
    let mut pending: Vec<(usize, String)> = targets.iter().cloned().enumerate().collect();
    while !pending.is_empty() {
        let pair: Vec<(usize, String)> = pending.drain(..pending.len().min(2)).collect();
        let mut pair = pair.into_iter();
        let (i, a) = pair.next().expect("non-empty");
        match pair.next() {
            Some((j, b)) => {
                tokio::join!(scenario(i, a), scenario(j, b));
            }
            None => scenario(i, a).await,
        }
    }
    eprintln!(
        "{} crash points ({}), each killed, re-run and followed by the next session; setup {setup_secs:.1}s, total {:.1}s",
        targets.len(),
        targets.join(" "),
        t0.elapsed().as_secs_f64()
    );
}

/// In the child process: which bus to publish to.
const PUBLISH_CHILD_ENV: &str = "AE_E2E_PUBLISH_TO";
const PUBLISH_TEST: &str = "crash::publishing_killed_at_any_step_then_rerun_leaves_the_dated_object_and_latest";

fn newer() -> Signals {
    fixtures::signals()
}

fn older() -> Signals {
    let mut older = fixtures::signals();
    older.date = TradingDay::parse("2010-03-08").unwrap();
    older.population.retain(|m| m.entered <= older.date && m.ticker.as_str() != "AAPL");
    older.universe.retain(|e| e.ticker.as_str() != "AAPL");
    older.buy_candidates.clear();
    older
}

fn clock() -> SimulatedClock {
    SimulatedClock::at_et(fixtures::day(), chrono::NaiveTime::from_hms_opt(5, 0, 0).unwrap())
}

async fn publish(bus: &Bus, doc: &Signals) {
    bus.publish_doc(&keys::signals(doc.date), Some(&keys::signals_latest()), doc, false, &clock()).await.unwrap();
}

/// Re-runs this test binary as the writer: it publishes [`newer`] on `url`.
fn publish_child(url: &str, env: &[(String, String)]) -> Output {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args([PUBLISH_TEST, "--exact", "--nocapture", "--test-threads=1"]).env(PUBLISH_CHILD_ENV, url);
    c.env_remove(CRASH_AT_ENV).env_remove(CRASH_LOG_ENV);
    c.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    c.output().unwrap()
}

async fn objects(bus: &Bus) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for m in bus.list("").await.unwrap() {
        out.insert(m.key.to_string(), bus.get(&m.key).await.unwrap().unwrap().bytes.to_vec());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_killed_at_any_step_then_rerun_leaves_the_dated_object_and_latest() {
    if let Ok(url) = std::env::var(PUBLISH_CHILD_ENV) {
        let bus = Bus::open(&url).await.unwrap();
        publish(&bus, &newer()).await;
        return;
    }
    let server = S3Server::start().await;
    let s3_env: Vec<(String, String)> = vec![
        ("AWS_ENDPOINT_URL".into(), server.endpoint.clone()),
        ("AWS_ACCESS_KEY_ID".into(), server.access_key.clone()),
        ("AWS_SECRET_ACCESS_KEY".into(), server.secret_key.clone()),
        ("AWS_REGION".into(), "us-east-1".into()),
    ];
    let root = tempfile::tempdir().unwrap();
    for backend in ["file", "s3"] {
        // A bus per scenario, already holding the older document as latest.
        let fresh = |name: &str| -> (String, Bus) {
            match backend {
                "file" => {
                    let dir: PathBuf = root.path().join(name);
                    (format!("file://{}", dir.display()), Bus::file(dir))
                }
                _ => (format!("s3://{}/{name}", server.bucket), server.bus(name)),
            }
        };
        let env = if backend == "s3" { s3_env.clone() } else { vec![] };
        let child = |url: String, extra: Vec<(String, String)>| {
            let mut env = env.clone();
            env.extend(extra);
            tokio::task::spawn_blocking(move || publish_child(&url, &env))
        };

        let (url, reference) = fresh(&format!("{backend}-reference"));
        publish(&reference, &older()).await;
        let before = objects(&reference).await;
        let log = root.path().join(format!("{backend}-points.log"));
        let o = child(url, vec![(CRASH_LOG_ENV.into(), log.display().to_string())]).await.unwrap();
        assert!(o.status.success() && text(&o).contains("1 passed"), "{}", text(&o));
        let after = objects(&reference).await;
        assert_eq!(reference.get_doc_required::<Signals>(&keys::signals_latest()).await.unwrap().doc, newer());

        let targets = crash_targets(&log);
        let mut expected = vec![points::PUBLISH_AFTER_DATED, points::POINTER_AFTER_READ];
        if backend == "file" {
            expected.extend([points::FILE_PUT_AFTER_TEMP, points::FILE_PUT_AFTER_RENAME]);
        }
        for p in expected {
            assert!(
                targets.iter().any(|t| t.starts_with(&format!("{p}:"))),
                "{backend}: {p} never passed: {targets:?}"
            );
        }
        for (i, target) in targets.iter().enumerate() {
            let (url, bus) = fresh(&format!("{backend}-crash-{i}"));
            publish(&bus, &older()).await;
            let o = child(url.clone(), vec![(CRASH_AT_ENV.into(), target.clone())]).await.unwrap();
            assert_died_at(&o, target);
            // In between: each object is the old one or the new one, whole.
            let between = objects(&bus).await;
            for (key, bytes) in &between {
                assert!(
                    before.get(key) == Some(bytes) || after.get(key) == Some(bytes),
                    "{backend} {target}: {key} is neither the old nor the new object"
                );
            }
            let latest = bus.get_doc_required::<Signals>(&keys::signals_latest()).await.unwrap().doc;
            assert!(latest == older() || latest == newer(), "{backend} {target}");
            let o = child(url, vec![]).await.unwrap();
            assert!(o.status.success() && text(&o).contains("1 passed"), "{backend} {target}: {}", text(&o));
            assert_eq!(objects(&bus).await, after, "{backend} {target}: the re-run left another bus");
        }
        eprintln!("{backend}: {} crash points, each killed and re-run", targets.len());
    }
}
