//! The price store on the real embedded data: import, what the quality layer catches, splits,
//! loading back, appending a day, compaction, and point-in-time views.

use std::collections::BTreeMap;

use ae_shared::bus::{Bus, Published, PutMode};
use ae_shared::clock::SimulatedClock;
use ae_shared::config::Config;
use ae_shared::store::bars::Bar;
use ae_shared::store::quality::{self, Status};
use ae_shared::store::{self, ImportFiles, PriceStore, embedded_data_dir, splits};
use ae_shared::{Ticker, TradingDay};
use chrono::NaiveTime;

fn clock() -> SimulatedClock {
    SimulatedClock::at_et(TradingDay::parse("2010-08-23").unwrap(), NaiveTime::from_hms_opt(4, 0, 0).unwrap())
}

async fn imported() -> (tempfile::TempDir, Bus, store::ImportReport) {
    let dir = tempfile::tempdir().unwrap();
    let bus = Bus::file(dir.path());
    let cfg = Config::defaults();
    let report = store::import_files(&bus, &ImportFiles::embedded(&embedded_data_dir()), &cfg.data, &clock(), false)
        .await
        .unwrap();
    (dir, bus, report)
}

#[tokio::test]
async fn import_catches_what_the_real_data_has() {
    let (_dir, _bus, r) = imported().await;
    assert_eq!(r.rows, 122_574);
    assert_eq!(r.symbols, 524);
    assert_eq!((r.range.0.to_string(), r.range.1.to_string()), ("2009-08-21".into(), "2010-08-20".into()));
    assert!(r.issues.is_empty(), "{:?}", r.issues);
    assert_eq!(r.duplicates, 0);
    // The 78 OHLC-inconsistent rows are all caught.
    assert_eq!(r.quality.ohlc_bad_rows(), 78);
    // Real 2:1 splits in June 2010 are found and adjusted for.
    let found: BTreeMap<String, (String, String)> =
        r.splits.iter().map(|s| (s.ticker.to_string(), (s.date.to_string(), s.label.clone()))).collect();
    assert_eq!(found["DHR"], ("2010-06-14".into(), "2:1".into()));
    assert_eq!(found["ESRX"], ("2010-06-08".into(), "2:1".into()));
    assert_eq!(found["GIS"], ("2010-06-09".into(), "2:1".into()));
    // A 1:10 reverse split across a 25-session hole in the data.
    assert_eq!(found["ETFC"], ("2010-06-30".into(), "1:10".into()));
    // A real -20% earnings collapse is not a split.
    assert!(!found.contains_key("CVS"), "{found:?}");
    // Names that stopped trading are quarantined with a reason; a split is not a spike.
    let wye = r.quality.get("WYE").unwrap();
    assert_eq!(wye.status, Status::Quarantined);
    assert!(wye.reasons.iter().any(|x| x.starts_with("STOPPED_TRADING: last bar 2009-10-15")), "{:?}", wye.reasons);
    assert!(r.quality.get("DHR").unwrap().spikes.is_empty());
    // An unexplained collapse is a spike that degrades the name.
    let wy = r.quality.get("WY").unwrap();
    assert_eq!(wy.status, Status::Degraded);
    assert!(wy.reasons.iter().any(|x| x.starts_with("EXTREME_SPIKE: 2010-07-20")), "{:?}", wy.reasons);
    // Four inconsistent rows exceed the tolerance of two.
    let fisv = r.quality.get("FISV").unwrap();
    assert_eq!(fisv.status, Status::Degraded);
    assert!(fisv.reasons.iter().any(|x| x.starts_with("OHLC_INCONSISTENT: 4 row(s)")), "{:?}", fisv.reasons);
    // Seven NYSE sessions are absent from the whole dataset; symbols are measured against the rest.
    let gaps: Vec<String> = r.quality.calendar_gaps.iter().map(|d| d.to_string()).collect();
    assert_eq!(
        gaps,
        ["2009-09-08", "2009-10-29", "2009-10-30", "2009-11-02", "2009-11-03", "2009-11-04", "2010-08-18"]
    );
    assert_eq!(r.quality.get("ETFC").unwrap().missing_sessions, 25);
    assert_eq!(r.quality.get("AAPL").unwrap().missing_sessions, 4);
    assert_eq!(r.quality.get("XOM").unwrap().missing_sessions, 0);
    let counts = r.quality.counts();
    assert!(counts[&Status::Active] > 400, "{counts:?}");
    assert_eq!(r.without_sector.len(), 524 - 442);
}

#[tokio::test]
async fn loads_back_and_reimport_is_a_no_op() {
    let (_dir, bus, r) = imported().await;
    let s = PriceStore::load(&bus).await.unwrap();
    assert_eq!(s.raw.n_rows(), r.rows);
    assert_eq!(s.raw.n_tickers(), 524);
    assert_eq!(s.benchmark.n_tickers(), 1);
    assert_eq!(s.benchmark_series().len(), 5031);
    assert!(s.sectors.sector("AAPL").is_some());
    assert_eq!(
        s.earnings.next_on_or_after("AAPL", chrono::NaiveDate::from_ymd_opt(2010, 3, 15).unwrap()).unwrap().to_string(),
        "2010-04-20"
    );
    assert_eq!(s.manifest.chunks.len(), 2, "one chunk per calendar year");
    // Adjusted DHR has no 50% gap.
    let dhr = s.adjusted.get("DHR").unwrap();
    let i = dhr.dates.iter().position(|d| d.to_string() == "2010-06-14").unwrap();
    assert!((dhr.close[i] / dhr.close[i - 1] - 1.0).abs() < 0.05);
    let raw = s.raw.get("DHR").unwrap();
    assert!(raw.close[i] / raw.close[i - 1] < 0.55);

    let cfg = Config::defaults();
    let again = store::import_files(&bus, &ImportFiles::embedded(&embedded_data_dir()), &cfg.data, &clock(), false)
        .await
        .unwrap();
    let chunks: Vec<_> = again.published.iter().filter(|(k, _)| k.as_str().starts_with("prices/bars/")).collect();
    assert!(chunks.iter().all(|(_, p)| *p == Published::Unchanged), "{chunks:?}");
}

#[tokio::test]
async fn point_in_time_view_knows_only_past_splits() {
    let (_dir, bus, _) = imported().await;
    let s = PriceStore::load(&bus).await.unwrap();
    let before = s.adjusted_as_of(TradingDay::parse("2010-06-11").unwrap());
    let dhr = before.get("DHR").unwrap();
    assert_eq!(dhr.dates.last().unwrap().to_string(), "2010-06-11");
    let raw = s.raw.get("DHR").unwrap();
    assert_eq!(dhr.close[0], raw.close[0], "the June split is not known in a view as of 2010-06-11");
    let after = s.adjusted_as_of(TradingDay::parse("2010-06-14").unwrap());
    assert!((after.get("DHR").unwrap().close[0] - raw.close[0] / 2.0).abs() < 1e-9);
}

#[tokio::test]
async fn quality_as_of_a_day_ignores_later_data() {
    let (_dir, bus, _) = imported().await;
    let s = PriceStore::load(&bus).await.unwrap();
    let cfg = Config::defaults();
    let t = TradingDay::parse("2010-02-01").unwrap();
    let assess = |raw: &ae_shared::store::bars::DailyBars| {
        let adj = splits::adjust(raw, &s.splits, Some(t));
        quality::assess(raw, &adj, &BTreeMap::new(), &s.splits, t, &cfg.data.quality, &cfg.data.governance)
    };
    let base = assess(&s.raw);
    let mut poisoned = s.raw.clone();
    for i in 0..poisoned.n_rows() {
        if poisoned.dates[i] > t {
            poisoned.close[i] = -1.0;
            poisoned.low[i] = 1e9;
        }
    }
    assert_eq!(assess(&poisoned), base);
}

/// The last session's bars of every name that traded on it, dated `day`, closes scaled by `scale`
/// (highs raised to stay consistent).
fn last_bars_on(s: &PriceStore, day: TradingDay, scale: f64) -> Vec<(Ticker, Bar)> {
    s.raw
        .iter()
        .filter(|x| x.dates.last() == Some(&s.manifest.last_day))
        .map(|x| {
            let mut b = x.bar(x.len() - 1);
            b.date = day;
            b.close *= scale;
            b.high = b.high.max(b.close);
            (x.ticker.clone(), b)
        })
        .collect()
}

#[tokio::test]
async fn appends_a_day_then_compacts() {
    let (_dir, bus, _) = imported().await;
    let cfg = Config::defaults();
    let s = PriceStore::load(&bus).await.unwrap();
    let mut day = s.manifest.last_day;
    for n in 0..3 {
        day = day.next();
        let rows = last_bars_on(&s, day, 1.0 + 0.001 * n as f64);
        let rep = store::append_day(&bus, day, rows, &cfg.data, 2).await.unwrap();
        assert!(rep.rows > 400);
        if n == 2 {
            assert_eq!(rep.compacted, 4, "three single days folded into the 2010 chunk");
        }
    }
    let again = store::append_day(&bus, day.prev(), vec![], &cfg.data, 2).await.unwrap_err();
    assert!(again.to_string().contains("already reaches"), "{again}");
    let loaded = PriceStore::load(&bus).await.unwrap();
    assert_eq!(loaded.manifest.last_day, day);
    assert_eq!(loaded.manifest.chunks.len(), 2);
    assert_eq!(loaded.quality.as_of, day);
    let listed = bus.list("prices/bars/").await.unwrap();
    assert_eq!(listed.len(), 2, "folded chunks are deleted: {listed:?}");
}

#[tokio::test]
async fn a_store_loaded_again_in_the_process_is_decoded_once_and_a_new_chunk_set_afresh() {
    let (_dir, bus, _) = imported().await;
    let cfg = Config::defaults();
    let set = |s: &PriceStore| -> store::decoded::ChunkSet {
        s.manifest.chunks.iter().map(|c| (c.key.clone(), c.sha256.clone())).collect()
    };
    let cold = PriceStore::load(&bus).await.unwrap();
    let kept = store::decoded::kept(&set(&cold)).expect("the decoded chunks are kept");
    assert_eq!(*kept, cold.raw);
    let again = PriceStore::load(&bus).await.unwrap();
    assert_eq!(again.raw, cold.raw);
    assert_eq!(again.adjusted, cold.adjusted);
    assert_eq!(again.inputs, cold.inputs, "the lineage names the same manifest");
    // A new session rewrites the manifest with another chunk set: decoded afresh, with the day.
    let day = cold.manifest.last_day.next();
    let rows = last_bars_on(&cold, day, 1.0);
    let n = rows.len();
    store::append_day(&bus, day, rows, &cfg.data, 2).await.unwrap();
    let grown = PriceStore::load(&bus).await.unwrap();
    assert_ne!(set(&grown), set(&cold));
    assert_eq!(grown.raw.n_rows(), cold.raw.n_rows() + n);
    assert_eq!(grown.raw.iter().filter(|x| x.dates.last() == Some(&day)).count(), n);
}

#[tokio::test]
async fn a_session_link_moves_only_when_a_bar_up_to_that_session_does() {
    use store::sessions::SessionChain;
    let (_dir, bus, _) = imported().await;
    let full = PriceStore::load(&bus).await.unwrap();
    let chain = SessionChain::of(&full);
    let (first, last) = (full.manifest.first_day, full.manifest.last_day);
    let mid = TradingDay::parse("2010-03-01").unwrap();
    // The store as it was at `mid`: every link up to it is the same, later sessions add links.
    let mut then = full.clone();
    then.raw = full.raw.between(first, mid);
    then.benchmark = full.benchmark.between(full.benchmark.dates[0], mid);
    let early = SessionChain::of(&then);
    for d in [first, first.next(), mid.prev(), mid] {
        assert_eq!(early.through(d), chain.through(d), "{d}");
    }
    assert_eq!(early.through(last), chain.through(mid), "nothing after mid in the early store");
    assert_ne!(chain.through(last), chain.through(mid));
    assert_eq!(chain.through(full.benchmark.dates[0].prev()), [0; 32], "before the first session");
    // One close revised on `mid`: the links before it stay, it and every later one move.
    let mut revised = full.clone();
    let k = revised.raw.dates.iter().position(|d| *d == mid).expect("a bar on mid");
    revised.raw.close[k] *= 1.0 + 1e-12;
    let moved = SessionChain::of(&revised);
    assert_eq!(moved.through(mid.prev()), chain.through(mid.prev()));
    assert_ne!(moved.through(mid), chain.through(mid));
    assert_ne!(moved.through(last), chain.through(last));
    // So does a revised benchmark bar.
    let mut bench = full.clone();
    let k = bench.benchmark.dates.iter().position(|d| *d == mid).expect("a benchmark bar on mid");
    bench.benchmark.close[k] += 0.01;
    assert_ne!(SessionChain::of(&bench).through(mid), chain.through(mid));
    assert_eq!(SessionChain::of(&bench).through(mid.prev()), chain.through(mid.prev()));
}

#[tokio::test]
async fn a_session_link_is_the_digest_of_the_link_before_the_day_and_its_bars() {
    use sha2::{Digest as _, Sha256};
    use store::sessions::SessionChain;
    let (_dir, bus, _) = imported().await;
    let full = PriceStore::load(&bus).await.unwrap();
    let chain = SessionChain::of(&full);
    let mut days: Vec<TradingDay> = full.raw.dates.iter().chain(&full.benchmark.dates).copied().collect();
    days.sort_unstable();
    days.dedup();
    let mut prev = [0u8; 32];
    for d in &days {
        // Every raw bar on the day in ticker order (tag 0), then the benchmark's (tag 1): the
        // tag, the ticker's length and bytes, and the bits of the open, high, low, close, volume.
        let mut day = Sha256::new();
        for (tag, bars) in [(0u8, &full.raw), (1, &full.benchmark)] {
            for s in bars.iter() {
                let Ok(i) = s.dates.binary_search(d) else { continue };
                day.update([tag]);
                day.update((s.ticker.as_str().len() as u32).to_le_bytes());
                day.update(s.ticker.as_str().as_bytes());
                for v in [s.open[i], s.high[i], s.low[i], s.close[i], s.volume[i]] {
                    day.update(v.to_bits().to_le_bytes());
                }
            }
        }
        let mut link = Sha256::new();
        link.update(prev);
        link.update(chrono::Datelike::num_days_from_ce(&d.date()).to_le_bytes());
        link.update(day.finalize());
        prev = link.finalize().into();
        assert_eq!(chain.through(*d), prev, "{d}");
    }
    // Read back from the process's kept chains, or computed again: the same chain.
    assert_eq!(SessionChain::of(&full), chain);
}

/// The embedded data imported up to `through` into a fresh directory bus, and the embedded bars of
/// the session `day` (as the vendor would send them).
async fn imported_through(through: &str, day: &str) -> (tempfile::TempDir, Bus, Vec<(Ticker, Bar)>) {
    let dir = tempfile::tempdir().unwrap();
    let bus = Bus::file(dir.path());
    let cfg = Config::defaults();
    let files = ImportFiles::embedded(&embedded_data_dir());
    let p = store::prepare_import_through(&files, &cfg.data, Some(TradingDay::parse(through).unwrap())).await.unwrap();
    assert_eq!(p.report.range.1.to_string(), through);
    store::write_import(&bus, p, &clock(), false).await.unwrap();
    let text = store::import::read_gz_text(&files.ohlcv).unwrap();
    let (rows, _) = store::import::ohlcv_csv("ohlcv", &text).unwrap();
    let day = TradingDay::parse(day).unwrap();
    (dir, bus, rows.into_iter().filter(|(_, b)| b.date == day).collect())
}

#[tokio::test]
async fn rerunning_the_append_of_the_last_session_appends_nothing_and_other_bars_are_refused() {
    let (_dir, bus, rows) = imported_through("2010-06-07", "2010-06-08").await;
    let cfg = Config::defaults();
    let day = TradingDay::parse("2010-06-08").unwrap();
    let first = store::append_day(&bus, day, rows.clone(), &cfg.data, 20).await.unwrap();
    assert!(!first.already_appended);
    let esrx: Vec<String> = first.new_splits.iter().map(|s| format!("{} {}", s.ticker, s.label)).collect();
    assert_eq!(esrx, ["ESRX 2:1"]);
    let manifest = bus.get(&ae_shared::bus::keys::prices_manifest()).await.unwrap().unwrap();

    let again = store::append_day(&bus, day, rows.clone(), &cfg.data, 20).await.unwrap();
    assert!(again.already_appended);
    assert_eq!(again.new_splits, first.new_splits);
    let unchanged = bus.get(&ae_shared::bus::keys::prices_manifest()).await.unwrap().unwrap();
    assert_eq!(unchanged.bytes, manifest.bytes, "a re-run commits nothing");
    let s = PriceStore::load(&bus).await.unwrap();
    assert_eq!(s.splits.iter().filter(|x| x.ticker.as_str() == "ESRX").count(), 1);

    let mut other = rows;
    other[0].1.close *= 1.01;
    let err = store::append_day(&bus, day, other, &cfg.data, 20).await.unwrap_err().to_string();
    assert!(err.contains("with other bars for it"), "{err}");
}

/// What the schema-1 store's append left when it was killed between `splits.json` and the manifest:
/// the day's chunk and a split for the day that the manifest did not reach. Readers then halved
/// ESRX's whole history, and the re-run recorded the split twice. Loading such a store applies
/// only the splits the manifest reaches, each once, and the re-run converges to a clean append.
#[tokio::test]
async fn a_store_left_by_a_killed_schema_1_append_loads_clean_and_its_rerun_records_the_split_once() {
    let cfg = Config::defaults();
    let day = TradingDay::parse("2010-06-08").unwrap();
    let (_clean_dir, clean, rows) = imported_through("2010-06-07", "2010-06-08").await;
    let before = PriceStore::load(&clean).await.unwrap();
    store::append_day(&clean, day, rows.clone(), &cfg.data, 20).await.unwrap();
    let want = PriceStore::load(&clean).await.unwrap();

    let (_dir, bus, _) = imported_through("2010-06-07", "2010-06-08").await;
    let mkey = ae_shared::bus::keys::prices_manifest();
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&bus.get(&mkey).await.unwrap().unwrap().bytes).unwrap();
    let committed = manifest.as_object_mut().unwrap().remove("splits").unwrap();
    manifest["schema_version"] = 1.into();
    bus.put_json(&mkey, &manifest, PutMode::Overwrite).await.unwrap();
    let mut splits = committed.as_array().unwrap().clone();
    let esrx = want.splits.iter().find(|s| s.ticker.as_str() == "ESRX" && s.date == day).unwrap();
    // Ahead of the bars, as the killed run left it, and a second time, as its re-run added it.
    splits.push(serde_json::to_value(esrx).unwrap());
    splits.push(serde_json::to_value(esrx).unwrap());
    bus.put_json(
        &ae_shared::bus::keys::splits(),
        &serde_json::json!({"schema_version": 1, "splits": splits}),
        PutMode::Overwrite,
    )
    .await
    .unwrap();

    let legacy = PriceStore::load(&bus).await.unwrap();
    assert_eq!(legacy.splits, before.splits, "a split ahead of the bars or recorded twice is not applied");
    assert_eq!(legacy.adjusted, before.adjusted);

    store::append_day(&bus, day, rows, &cfg.data, 20).await.unwrap();
    let got = PriceStore::load(&bus).await.unwrap();
    assert_eq!(got.splits, want.splits);
    assert_eq!(got.adjusted, want.adjusted);
    assert_eq!(got.manifest, want.manifest);
    assert_eq!(got.quality, want.quality);
}

mod risk_panel {
    //! The factor risk model's input aligned from bars, the benchmark and sectors.

    use ae_shared::contracts::common::Sector;
    use ae_shared::store::bars::{Bar, DailyBars};
    use ae_shared::store::risk_panel::RiskPanel;
    use ae_shared::store::{SectorInfo, SectorMap};
    use ae_shared::{Ticker, TradingDay};

    fn panel_bar(date: &str, close: f64) -> Bar {
        Bar { date: TradingDay::parse(date).unwrap(), open: close, high: close, low: close, close, volume: 10.0 }
    }

    #[test]
    fn the_risk_panel_needs_a_bar_on_the_previous_session_and_lists_present_sectors_densely() {
        let t = |s: &str| Ticker::new(s).unwrap();
        let rows = vec![
            (t("AAA"), panel_bar("2010-01-04", 10.0)),
            (t("AAA"), panel_bar("2010-01-05", 11.0)),
            (t("AAA"), panel_bar("2010-01-06", 12.1)),
            (t("BBB"), panel_bar("2010-01-04", 20.0)),
            (t("BBB"), panel_bar("2010-01-06", 21.0)),
        ];
        let (bars, _) = DailyBars::from_rows(rows);
        let (bench, _) = DailyBars::from_rows(vec![
            (t("SPX"), panel_bar("2009-12-31", 90.0)),
            (t("SPX"), panel_bar("2010-01-04", 100.0)),
            (t("SPX"), panel_bar("2010-01-05", 101.0)),
            (t("SPX"), panel_bar("2010-01-06", 100.0)),
            (t("SPX"), panel_bar("2010-01-07", 90.0)),
        ]);
        let mut symbols = std::collections::BTreeMap::new();
        symbols.insert(t("BBB"), SectorInfo { name: "B".into(), sector: Sector::Energy, industry: String::new() });
        let map = SectorMap { schema_version: 1, source: String::new(), note: String::new(), symbols };
        let p = RiskPanel::build(&bars, bench.series(0), &map);
        assert_eq!(p.dates.len(), 3);
        assert!(p.returns[0][0].is_nan());
        assert!((p.returns[0][1] - 0.1).abs() < 1e-15 && (p.returns[0][2] - 0.1).abs() < 1e-15);
        assert!(p.returns[1][1].is_nan() && p.returns[1][2].is_nan(), "no bar on 01-05: no daily return");
        assert_eq!(p.dollar_volume[1][2], 210.0);
        assert!(p.dollar_volume[1][1].is_nan());
        assert!(p.benchmark[0].is_nan(), "the panel's first session has no previous one");
        assert!((p.benchmark[1] - 0.01).abs() < 1e-15);
        assert_eq!((p.sectors.clone(), p.sector_names.clone()), (vec![None, Some(0)], vec!["Energy".to_string()]));
    }
}

#[tokio::test]
async fn a_risk_model_read_back_is_the_estimate_of_its_panel_and_a_changed_panel_is_estimated_anew() {
    use ae_shared::risk_model::{ModelParams, estimate};
    use ae_shared::store::risk_panel::RiskPanel;
    let (_dir, bus, _) = imported().await;
    let s = PriceStore::load(&bus).await.unwrap();
    let as_of = TradingDay::parse("2010-06-30").unwrap();
    let window = s.adjusted.between(TradingDay::parse("2009-07-01").unwrap(), as_of);
    let panel = RiskPanel::build(&window, s.benchmark_series(), &s.sectors);
    let params = ModelParams::default();
    let first = panel.estimate(&params).unwrap();
    assert_eq!(*first, estimate(&panel.panel(), &params).unwrap());
    // The same content (another copy of the panel) reads the kept model back.
    let again = panel.clone().estimate(&params).unwrap();
    assert!(std::sync::Arc::ptr_eq(&first, &again), "the same panel is estimated once");
    // One return changed, or other parameters: estimated anew, and equal to a fresh estimate.
    let mut moved = panel.clone();
    let (i, j) = (0..moved.returns.len())
        .flat_map(|i| (0..moved.returns[i].len()).map(move |j| (i, j)))
        .rfind(|&(i, j)| moved.returns[i][j].is_finite())
        .unwrap();
    moved.returns[i][j] += 0.001;
    let other = moved.estimate(&params).unwrap();
    assert!(!std::sync::Arc::ptr_eq(&first, &other));
    assert_eq!(*other, estimate(&moved.panel(), &params).unwrap());
    assert_ne!(*other, *first);
    let shorter = ModelParams { window: 60, ..params };
    assert_eq!(*panel.estimate(&shorter).unwrap(), estimate(&panel.panel(), &shorter).unwrap());
}

#[tokio::test]
async fn the_lineage_digest_of_the_bars_is_every_bar_up_to_the_day_in_series_order() {
    use sha2::{Digest, Sha256};
    let (_dir, bus, _) = imported().await;
    let s = PriceStore::load(&bus).await.unwrap();
    let mid = TradingDay::parse("2010-03-01").unwrap();
    // The definition, one field at a time: the digest of each series' digest, in series order, a
    // series' bytes being each bar's ticker, a zero byte, its day number, and its open, high,
    // low, close and volume (little-endian).
    let mut all = Sha256::new();
    for series in s.raw.iter() {
        let mut h = Sha256::new();
        for i in 0..series.dates.partition_point(|d| *d <= mid) {
            h.update(series.ticker.as_str().as_bytes());
            h.update([0]);
            h.update(chrono::Datelike::num_days_from_ce(&series.dates[i].date()).to_le_bytes());
            for v in [series.open[i], series.high[i], series.low[i], series.close[i], series.volume[i]] {
                h.update(v.to_le_bytes());
            }
        }
        all.update(h.finalize());
    }
    let want = hex::encode(all.finalize());
    let bars =
        |as_of: TradingDay| s.inputs_as_of(as_of).into_iter().find(|i| i.key.starts_with("prices/bars")).unwrap();
    assert_eq!(bars(mid).sha256, want);
    assert_eq!(bars(mid).key, format!("prices/bars (sessions to {mid})"));
    // A bar after the day does not move it; one on the day does.
    let mut later = s.clone();
    let k = later.raw.dates.iter().rposition(|d| *d > mid).unwrap();
    later.raw.close[k] += 0.01;
    assert_eq!(later.inputs_as_of(mid)[0].sha256, want);
    let mut on = s.clone();
    let k = on.raw.dates.iter().position(|d| *d == mid).unwrap();
    on.raw.close[k] += 0.01;
    assert_ne!(on.inputs_as_of(mid)[0].sha256, want);
}

#[tokio::test]
async fn the_kept_digest_of_the_bars_is_computed_again_after_any_change_to_a_bit() {
    use ae_shared::store::lineage::{digest, kept_digest};
    let (_dir, bus, _) = imported().await;
    let mut s = PriceStore::load(&bus).await.unwrap();
    let mid = TradingDay::parse("2010-03-01").unwrap();
    let want = digest(&s.raw, mid);
    // Kept, then read back, by this store and by a copy of it.
    assert_eq!(kept_digest(&s.raw, mid), want);
    assert_eq!(kept_digest(&s.raw, mid), want);
    assert_eq!(kept_digest(&s.raw.clone(), mid), want);
    // A change in place to the store whose digest was kept, on or before the day, is seen.
    let k = s.raw.dates.iter().position(|d| *d == mid).unwrap();
    s.raw.volume[k] = 0.0;
    let zero = kept_digest(&s.raw, mid);
    assert_eq!(zero, digest(&s.raw, mid));
    assert_ne!(zero, want);
    // Even one equal to the old value as a number: -0.0 == 0.0, but not as bytes.
    s.raw.volume[k] = -0.0;
    let negative = kept_digest(&s.raw, mid);
    assert_eq!(negative, digest(&s.raw, mid));
    assert_ne!(negative, zero);
    // Days before and after, carried forward or not, and another store between them, each get
    // their own.
    let before = mid.prev();
    assert_eq!(kept_digest(&s.raw, before), digest(&s.raw, before));
    let (later, last) = (mid.offset(20).unwrap(), s.manifest.last_day);
    assert_eq!(kept_digest(&s.raw, later), digest(&s.raw, later));
    assert_eq!(kept_digest(&s.raw, last), digest(&s.raw, last));
    let other = s.raw.between(before, mid);
    assert_eq!(kept_digest(&other, mid), digest(&other, mid));
    assert_eq!(kept_digest(&s.raw, mid), negative);
    assert_eq!(kept_digest(&s.raw, later), digest(&s.raw, later));
}
