//! One behavioural suite for the bus, run against the file backend and against a real S3 server on
//! loopback (s3s-fs behind signature-checked credentials), plus S3-only failure modes: refused
//! credentials, a missing bucket, and injected transient failures absorbed by the retry policy.

use ae_shared::bus::{Bus, BusError, Key, PointerMove, Published, PutMode, keys};
use ae_shared::clock::SimulatedClock;
use ae_shared::contracts::signals::Signals;
use ae_shared::contracts::{InputRef, Job, Lineage};
use ae_shared::retry::RetryPolicy;
use ae_shared::store::bars::{Bar, DailyBars};
use ae_shared::{Ticker, TradingDay};
use ae_testkit::{Fault, S3Server, fixtures};
use chrono::NaiveTime;

fn k(s: &str) -> Key {
    Key::parse(s).unwrap()
}

fn clock() -> SimulatedClock {
    SimulatedClock::at_et(fixtures::day(), NaiveTime::from_hms_opt(5, 0, 0).unwrap())
}

async fn raw_objects(bus: &Bus) {
    assert!(bus.get(&k("a/missing.txt")).await.unwrap().is_none());
    assert!(bus.head(&k("a/missing.txt")).await.unwrap().is_none());
    bus.put(&k("a/one.txt"), "1", PutMode::Overwrite).await.unwrap();
    bus.put(&k("a/b/two.txt"), "22", PutMode::Overwrite).await.unwrap();
    bus.put(&k("c/three.txt"), "333", PutMode::Overwrite).await.unwrap();
    let got = bus.get(&k("a/b/two.txt")).await.unwrap().unwrap();
    assert_eq!(&got.bytes[..], b"22");
    assert_eq!(bus.head(&k("a/b/two.txt")).await.unwrap().unwrap().size, 2);
    let listed: Vec<String> = bus.list("a/").await.unwrap().into_iter().map(|m| m.key.to_string()).collect();
    assert_eq!(listed, vec!["a/b/two.txt", "a/one.txt"]);
    let listed: Vec<String> = bus.list("a/o").await.unwrap().into_iter().map(|m| m.key.to_string()).collect();
    assert_eq!(listed, vec!["a/one.txt"]);
    bus.delete(&k("a/one.txt")).await.unwrap();
    bus.delete(&k("a/one.txt")).await.unwrap();
    assert!(bus.get(&k("a/one.txt")).await.unwrap().is_none());
}

async fn conditional_writes(bus: &Bus) {
    let key = k("cond/x.json");
    let etag = bus.put(&key, "v1", PutMode::IfAbsent).await.unwrap();
    let again = bus.put(&key, "v2", PutMode::IfAbsent).await;
    assert!(matches!(again, Err(BusError::PreconditionFailed { .. })), "{again:?}");
    assert_eq!(&bus.get(&key).await.unwrap().unwrap().bytes[..], b"v1");
    let current = bus.get(&key).await.unwrap().unwrap().etag.unwrap();
    assert!(!etag.is_empty());
    bus.put(&key, "v2", PutMode::IfMatch(current.clone())).await.unwrap();
    let stale = bus.put(&key, "v3", PutMode::IfMatch(current)).await;
    assert!(matches!(stale, Err(BusError::PreconditionFailed { .. })), "{stale:?}");
    assert_eq!(&bus.get(&key).await.unwrap().unwrap().bytes[..], b"v2");
}

async fn dated_objects_are_immutable(bus: &Bus) {
    let c = clock();
    let key = k("dated/2010-03-15.txt");
    let never = |_: &ae_shared::bus::Object| Ok(false);
    assert_eq!(bus.put_dated(&key, "A".into(), false, &c, never).await.unwrap(), Published::Written);
    assert_eq!(bus.put_dated(&key, "A".into(), false, &c, never).await.unwrap(), Published::Unchanged);
    let refused = bus.put_dated(&key, "B".into(), false, &c, never).await;
    let msg = refused.unwrap_err().to_string();
    assert!(msg.contains("dated objects are immutable") && msg.contains("--force"), "{msg}");
    let Published::Replaced { archived_to } = bus.put_dated(&key, "B".into(), true, &c, never).await.unwrap() else {
        panic!("force should replace")
    };
    assert_eq!(archived_to.as_str(), "archive/dated/2010-03-15.txt@20100315T090000.000Z");
    assert_eq!(&bus.get(&archived_to).await.unwrap().unwrap().bytes[..], b"A");
    assert_eq!(&bus.get(&key).await.unwrap().unwrap().bytes[..], b"B");
}

async fn documents_publish_dated_then_latest(bus: &Bus) {
    let c = clock();
    let s = fixtures::signals();
    let day = s.date;
    assert_eq!(
        bus.publish_doc(&keys::signals(day), Some(&keys::signals_latest()), &s, false, &c).await.unwrap(),
        Published::Written
    );
    let latest = bus.get_doc_required::<Signals>(&keys::signals_latest()).await.unwrap();
    assert_eq!(latest.doc, s);
    assert_eq!(latest.input.key, "signals/latest.json");
    assert_eq!(latest.input.sha256.len(), 64);

    // Same inputs, different run details: a no-op that says so.
    let mut same = s.clone();
    same.notes.push("rerun".into());
    assert_eq!(bus.publish_doc(&keys::signals(day), None, &same, false, &c).await.unwrap(), Published::Unchanged);

    // Other inputs: refused without --force.
    let mut other = s.clone();
    other.produced_by = Lineage::new(
        Job::Research,
        "0.1.0",
        Some(day),
        vec![InputRef { key: "prices/manifest.json".into(), sha256: "0".repeat(64), etag: None }],
    );
    let err = bus.publish_doc(&keys::signals(day), None, &other, false, &c).await.unwrap_err();
    assert!(matches!(err, BusError::DatedExists { .. }), "{err}");

    // An older date never moves latest back.
    let mut older = s.clone();
    older.date = TradingDay::parse("2010-03-08").unwrap();
    older.population.retain(|m| m.entered <= older.date);
    older.universe.retain(|e| e.ticker.as_str() != "AAPL");
    older.buy_candidates.clear();
    older.population.retain(|m| m.ticker.as_str() != "AAPL");
    bus.publish_doc(&keys::signals(older.date), Some(&keys::signals_latest()), &older, false, &c).await.unwrap();
    assert_eq!(bus.get_doc_required::<Signals>(&keys::signals_latest()).await.unwrap().doc.date, day);

    // An invalid document is refused before anything is written.
    let mut bad = s.clone();
    bad.date = TradingDay::parse("2010-03-22").unwrap();
    bad.buy_candidates.push(Ticker::new("ZZZ").unwrap());
    let err =
        bus.publish_doc(&keys::signals(bad.date), Some(&keys::signals_latest()), &bad, false, &c).await.unwrap_err();
    assert!(err.to_string().contains("buy_candidates[1]: ZZZ is not in the universe"), "{err}");
    assert!(bus.get(&keys::signals(bad.date)).await.unwrap().is_none());
    assert_eq!(bus.get_doc_required::<Signals>(&keys::signals_latest()).await.unwrap().doc.date, day);
}

/// Racing writers move a pointer forward only: sixteen writers per round, each pointing it at its
/// own day in shuffled order, all at once; whoever loses a race re-reads and re-checks. The pointer
/// ends on the latest day every round (an unconditional put would let a slow writer of an earlier
/// day land last).
async fn racing_writers_never_move_a_pointer_back(bus: &Bus) {
    let day_of = |b: &[u8]| {
        let v: serde_json::Value = serde_json::from_slice(b).ok()?;
        TradingDay::parse(v.get("date")?.as_str()?).ok()
    };
    let first = TradingDay::parse("2010-03-01").unwrap();
    let days: Vec<TradingDay> = (0..16).map(|i| first.offset(i).unwrap()).collect();
    for round in 0..4u64 {
        let key = k(&format!("race/{round}/latest.json"));
        // A fixed shuffle per round (no randomness in tests): the latest day starts early or late.
        let mut order: Vec<usize> = (0..days.len()).collect();
        order.rotate_left((round as usize * 5) % days.len());
        if round % 2 == 1 {
            order.reverse();
        }
        let writers: Vec<_> = order
            .into_iter()
            .map(|i| {
                let bus = bus.clone();
                let key = key.clone();
                let day = days[i];
                tokio::spawn(async move {
                    let bytes = serde_json::to_vec(&serde_json::json!({"date": day.to_string(), "writer": i})).unwrap();
                    bus.put_pointer(&key, bytes.into(), Some(day), day_of).await
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for w in writers {
            outcomes.push(w.await.unwrap().unwrap());
        }
        let got = bus.get(&key).await.unwrap().unwrap();
        assert_eq!(day_of(&got.bytes), days.last().copied(), "round {round}: {outcomes:?}");
        assert!(outcomes.contains(&PointerMove::Moved));
    }
    // Sequentially: an earlier day is kept out, the same bytes are a no-op.
    let key = k("race/seq/latest.json");
    let put = |d: &'static str| {
        let bus = bus.clone();
        let key = key.clone();
        let day = TradingDay::parse(d).unwrap();
        async move {
            let bytes = serde_json::to_vec(&serde_json::json!({"date": d})).unwrap();
            bus.put_pointer(&key, bytes.into(), Some(day), day_of).await.unwrap()
        }
    };
    assert_eq!(put("2010-03-10").await, PointerMove::Moved);
    assert_eq!(put("2010-03-10").await, PointerMove::Unchanged);
    assert_eq!(put("2010-03-09").await, PointerMove::KeptLater { current: TradingDay::parse("2010-03-10").unwrap() });
    assert_eq!(put("2010-03-11").await, PointerMove::Moved);
}

async fn invalid_documents_are_refused_on_read(bus: &Bus) {
    let mut v = serde_json::to_value(fixtures::signals()).unwrap();
    v["universe"][0]["score"] = serde_json::json!(140);
    let key = keys::signals(TradingDay::parse("2010-03-29").unwrap());
    bus.put(&key, serde_json::to_vec(&v).unwrap(), PutMode::Overwrite).await.unwrap();
    let err = bus.get_doc::<Signals>(&key).await.unwrap_err().to_string();
    assert!(
        err.contains("signals/2010-03-29/signals.json: invalid document")
            && err.contains("universe[0].score: 140 is above 100"),
        "{err}"
    );
}

async fn parquet_round_trip(bus: &Bus) {
    let t = Ticker::new("AAA").unwrap();
    let d = TradingDay::parse("2010-03-15").unwrap();
    let (bars, _) =
        DailyBars::from_rows(vec![(t, Bar { date: d, open: 1.0, high: 2.0, low: 0.5, close: 1.5, volume: 10.0 })]);
    bus.put_parquet(&k("pq/x.parquet"), &[bars.to_record_batch()], PutMode::Overwrite).await.unwrap();
    let (batches, input) = bus.get_parquet(&k("pq/x.parquet")).await.unwrap().unwrap();
    assert_eq!(DailyBars::from_record_batches(&batches).unwrap(), bars);
    assert_eq!(input.sha256.len(), 64);
}

async fn suite(bus: &Bus) {
    raw_objects(bus).await;
    conditional_writes(bus).await;
    dated_objects_are_immutable(bus).await;
    documents_publish_dated_then_latest(bus).await;
    racing_writers_never_move_a_pointer_back(bus).await;
    invalid_documents_are_refused_on_read(bus).await;
    parquet_round_trip(bus).await;
}

#[tokio::test]
async fn file_backend_passes_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    let bus = Bus::open(&format!("file://{}", dir.path().display())).await.unwrap();
    suite(&bus).await;
}

#[tokio::test]
async fn an_overlay_bus_passes_the_suite() {
    // Every key the suite misses in the layer is looked up below, in a bus of its own.
    let dir = tempfile::tempdir().unwrap();
    let base = Bus::file(dir.path().join("base"));
    suite(&Bus::overlay(&base, &["signals/", "predictor/", "prices/", "research/"])).await;
    assert!(base.list("").await.unwrap().is_empty(), "the bus below is never written");
}

#[tokio::test]
async fn s3_backend_passes_the_suite_over_http() {
    let server = S3Server::start().await;
    let bus = server.bus("alpha");
    suite(&bus).await;
    assert!(server.requests() > 30, "the suite really talked HTTP ({} requests)", server.requests());
    // Objects live under the prefix in the bucket.
    assert!(server.root().join("alpha-engine-test/alpha/signals/latest.json").exists());
}

#[tokio::test]
async fn s3_refuses_wrong_credentials_without_retrying() {
    let server = S3Server::start().await;
    let mut settings = server.settings();
    settings.secret_key = "not-the-secret".into();
    let bus = Bus::s3(&server.bucket, "", &settings).with_retry(RetryPolicy::fast());
    let before = server.requests();
    let err = bus.get(&k("x.json")).await.unwrap_err();
    assert!(matches!(err, BusError::AccessDenied { .. }), "{err:?}");
    assert!(err.to_string().contains("AWS_SECRET_ACCESS_KEY"), "{err}");
    assert_eq!(server.requests() - before, 1, "a refusal is not retried");
}

#[tokio::test]
async fn s3_reports_a_missing_bucket_plainly() {
    let server = S3Server::start().await;
    // (s3s-fs creates a bucket on PUT and answers NoSuchKey on GET, unlike AWS; listings and
    // HEAD show the refusal. Against AWS the GET and PUT map the same NoSuchBucket code.)
    let bus = Bus::s3("no-such-bucket", "", &server.settings()).with_retry(RetryPolicy::fast());
    let err = bus.list("").await.unwrap_err();
    assert!(err.to_string().contains("bucket \"no-such-bucket\" does not exist"), "{err}");
    assert!(matches!(err, BusError::NoSuchBucket { .. }), "{err:?}");
    let err = bus.head(&k("x.json")).await.unwrap_err();
    assert!(matches!(err, BusError::NoSuchBucket { .. }), "{err:?}");
}

#[tokio::test]
async fn transient_failures_are_absorbed_by_the_retry_policy() {
    let server = S3Server::start().await;
    let bus = server.bus("");
    bus.put(&k("r/x.txt"), "payload", PutMode::Overwrite).await.unwrap();

    server.fail_next(3, Fault::SlowDown);
    let before = server.requests();
    let got = bus.get(&k("r/x.txt")).await.unwrap().unwrap();
    assert_eq!(&got.bytes[..], b"payload");
    assert_eq!(server.requests() - before, 4, "three 503s, then success");

    server.fail_next(2, Fault::Drop);
    bus.put(&k("r/y.txt"), "after drops", PutMode::IfAbsent).await.unwrap();
    assert_eq!(&bus.get(&k("r/y.txt")).await.unwrap().unwrap().bytes[..], b"after drops");
    assert_eq!(server.injected(), 5);

    // More failures than attempts: the transient error surfaces after max_attempts tries.
    server.fail_next(10, Fault::SlowDown);
    let before = server.requests();
    let err = bus.get(&k("r/x.txt")).await.unwrap_err();
    assert!(matches!(err, BusError::Transient { .. }), "{err:?}");
    assert_eq!(server.requests() - before, RetryPolicy::fast().max_attempts as u64);
}

#[tokio::test]
async fn an_overlay_retries_a_failure_below_once_per_attempt_not_once_per_attempt_of_each_layer() {
    let server = S3Server::start().await;
    let base = server.bus("");
    base.put(&k("prices/x.txt"), "payload", PutMode::Overwrite).await.unwrap();
    let overlay = Bus::overlay(&base, &["prices/"]);

    server.fail_next(3, Fault::SlowDown);
    let before = server.requests();
    assert_eq!(&overlay.get(&k("prices/x.txt")).await.unwrap().unwrap().bytes[..], b"payload");
    assert_eq!(server.requests() - before, 4, "three 503s, then success");

    // More failures than attempts: the overlay gives up after the bus below's attempts, each one
    // request (nested retries would make it attempts squared).
    server.fail_next(100, Fault::SlowDown);
    let before = server.requests();
    let err = overlay.get(&k("prices/x.txt")).await.unwrap_err();
    assert!(matches!(err, BusError::Transient { .. }), "{err:?}");
    assert_eq!(server.requests() - before, RetryPolicy::fast().max_attempts as u64);
}

#[tokio::test]
async fn a_file_bus_url_must_name_a_directory() {
    let err = Bus::open("file://").await.unwrap_err();
    assert!(err.to_string().contains("needs a directory"), "{err}");
}

/// The directory bus remembers the ETags of the files it put, and a read never returns a
/// remembered ETag for a file another writer has replaced since (renamed into place, or
/// rewritten in place with another size).
#[tokio::test]
async fn a_file_bus_etag_is_the_md5_of_the_bytes_there_now() {
    use md5::{Digest, Md5};
    let dir = tempfile::tempdir().unwrap();
    let bus = Bus::open(&format!("file://{}", dir.path().display())).await.unwrap();
    let md5 = |b: &[u8]| format!("\"{}\"", hex::encode(Md5::digest(b)));
    let key = k("x/doc.json");
    let put = bus.put(&key, "first", PutMode::Overwrite).await.unwrap();
    assert_eq!(put, md5(b"first"));
    assert_eq!(bus.get(&key).await.unwrap().unwrap().etag.unwrap(), put);
    assert_eq!(bus.head(&key).await.unwrap().unwrap().etag.unwrap(), put);
    let path = dir.path().join("x/doc.json");
    // Another writer renames a new file of the same size into place.
    let tmp = dir.path().join("x/other");
    std::fs::write(&tmp, "other").unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    let got = bus.get(&key).await.unwrap().unwrap();
    assert_eq!((&got.bytes[..], got.etag.unwrap()), (&b"other"[..], md5(b"other")));
    assert_eq!(bus.head(&key).await.unwrap().unwrap().etag.unwrap(), md5(b"other"));
    // This process puts it again, then another writer rewrites it in place.
    bus.put(&key, "third", PutMode::Overwrite).await.unwrap();
    std::fs::write(&path, "in place, longer").unwrap();
    let got = bus.get(&key).await.unwrap().unwrap();
    assert_eq!(got.etag.unwrap(), md5(b"in place, longer"));
    assert_eq!(bus.head(&key).await.unwrap().unwrap().etag.unwrap(), md5(b"in place, longer"));
    // Deleted by this process, then written by another writer.
    bus.put(&key, "fifth", PutMode::Overwrite).await.unwrap();
    bus.delete(&key).await.unwrap();
    std::fs::write(&path, "sixth").unwrap();
    assert_eq!(bus.get(&key).await.unwrap().unwrap().etag.unwrap(), md5(b"sixth"));
}
