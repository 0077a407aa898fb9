//! The nightly update against the local vendor stand-in (Polygon's and FMP's payload shapes,
//! generated from the embedded files): a store imported up to a cutoff is brought forward a week,
//! through a vendor outage, a new listing, a removal, splits, a dividend and earnings dates, and
//! ends equal to a full import of the same days.

use std::path::Path;

use ae_research::nightly::{self, Vendors};
use ae_shared::bus::Bus;
use ae_shared::clock::SimulatedClock;
use ae_shared::config::Config;
use ae_shared::retry::RetryPolicy;
use ae_shared::store::freshness::load_freshness;
use ae_shared::store::{self, ImportFiles, PriceStore, embedded_data_dir};
use ae_shared::types::Ticker;
use ae_testkit::vendor::{VendorChange, VendorDividendRow, VendorKeys, VendorSplitRow, VendorStandIn, VendorWorld};
use chrono::{NaiveDate, NaiveTime};

use crate::common::day;

const POLYGON_ENV: &str = "AE_TEST_NIGHTLY_POLYGON_KEY";
const FMP_ENV: &str = "AE_TEST_NIGHTLY_FMP_KEY";
const FRED_ENV: &str = "AE_TEST_NIGHTLY_FRED_KEY";

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// The embedded files with the bars cut at `through` and without `drop` (a name the vendor will
/// list later), as a user's own folder.
fn user_files(dir: &Path, drop: &str) -> ImportFiles {
    let src = embedded_data_dir();
    let text = store::import::read_gz_text(&src.join("sp500_2009_2010_ohlcv.csv.gz")).unwrap();
    let kept: String = text.lines().filter(|l| l.split(',').nth(1) != Some(drop)).map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.join("bars.csv"), kept).unwrap();
    ImportFiles { ohlcv: dir.join("bars.csv"), ..ImportFiles::embedded(&src) }
}

async fn import(bus: &Bus, files: &ImportFiles, cfg: &Config, through: &str) {
    let prepared = store::prepare_import_through(files, &cfg.data, Some(day(through))).await.unwrap();
    let clock = SimulatedClock::at_et(day(through), NaiveTime::from_hms_opt(17, 0, 0).unwrap());
    store::write_import(bus, prepared, &clock, false).await.unwrap();
}

fn config(server: &str) -> Config {
    let mut cfg = Config::defaults();
    cfg.providers.polygon.base_url = server.to_string();
    cfg.providers.polygon.api_key_env = POLYGON_ENV.into();
    cfg.providers.polygon.requests_per_second = 100;
    cfg.providers.fmp.base_url = server.to_string();
    cfg.providers.fmp.api_key_env = FMP_ENV.into();
    cfg.providers.fmp.requests_per_second = 100;
    cfg.providers.fred.base_url = server.to_string();
    cfg.providers.fred.api_key_env = FRED_ENV.into();
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_week_of_nightly_updates_ends_equal_to_a_full_import() {
    // SAFETY: nextest runs each test in its own process; these names are this test's own.
    unsafe {
        std::env::set_var(POLYGON_ENV, "nightly-polygon-key");
        std::env::set_var(FMP_ENV, "nightly-fmp-key");
        std::env::set_var(FRED_ENV, "nightly-fred-key");
    }
    let mut world = VendorWorld::embedded();
    world.splits = vec![
        VendorSplitRow { ticker: "ESRX".into(), date: d("2010-06-08"), from: 1.0, to: 2.0 },
        VendorSplitRow { ticker: "DHR".into(), date: d("2010-06-11"), from: 1.0, to: 2.0 },
    ];
    world.dividends = vec![VendorDividendRow {
        ticker: "XOM".into(),
        declared: d("2010-05-26"),
        ex: d("2010-06-09"),
        pay: d("2010-06-10"),
        amount: 0.44,
    }];
    world.changes = vec![
        VendorChange {
            date: d("2010-06-07"),
            added: Some("KO".into()),
            removed: None,
            reason: "stand-in listing".into(),
        },
        VendorChange {
            date: d("2010-06-09"),
            added: None,
            removed: Some("BIG".into()),
            reason: "stand-in removal".into(),
        },
    ];
    // The grouped request fails all day on the first session (one request per name instead),
    // and the first two requests of the week fail (the retry absorbs them).
    world.grouped_outages.insert(d("2010-06-07"));
    world.transient_failures = 2;
    let vendor = VendorStandIn::start(world, &VendorKeys::named("nightly")).await;
    let cfg = config(&vendor.uri());

    let dir = tempfile::tempdir().unwrap();
    let bus = Bus::file(dir.path().join("bus"));
    let files = user_files(dir.path(), "KO");
    import(&bus, &files, &cfg, "2010-06-04").await;
    let mut notes = Vec::new();
    let retry = RetryPolicy { base_delay: std::time::Duration::from_millis(5), ..RetryPolicy::default() };
    let vendors = Vendors::from_config(&cfg, retry, &mut notes);
    assert!(notes.is_empty() && vendors.polygon.is_some() && vendors.fmp.is_some(), "{notes:?}");
    assert!(vendors.fred.is_some(), "a FRED key is enough for the data path");

    let mut reports = Vec::new();
    for s in ["2010-06-07", "2010-06-08", "2010-06-09", "2010-06-10", "2010-06-11"] {
        let clock = SimulatedClock::at_et(day(s), NaiveTime::from_hms_opt(16, 20, 0).unwrap());
        let r = nightly::run(&bus, &cfg, &vendors, day(s), &clock).await.unwrap();
        assert!(r.failures().is_empty(), "{s}: {:?}", r.failures());
        reports.push(r);
    }
    // The outage day went through one request per name; the new name entered with its history.
    let first = &reports[0];
    let bars = first.steps.iter().find(|s| s.name == "bars").unwrap();
    assert!(bars.detail.contains("one request per name"), "{}", bars.detail);
    assert_eq!(first.entered, vec!["KO".to_string()]);
    assert_eq!(reports[2].left, vec!["BIG".to_string()]);
    assert!(vendor.served().failures >= 3, "{:?}", vendor.served().failures);

    let live = PriceStore::load(&bus).await.unwrap();
    assert_eq!(live.manifest.last_day, day("2010-06-11"));
    // The benchmark ETF's bars arrived for every session.
    let spy = live.benchmark_etf.as_ref().and_then(|b| b.get("SPY").map(|s| s.dates.len())).unwrap_or(0);
    // The benchmark ETF's history came with the first update, so the first day already
    // measures against SPY.
    assert!(spy > 150, "{spy} SPY bars");
    for s in ["2010-06-07", "2010-06-11"] {
        let b = live.benchmark_day(day(s), "SPY").unwrap();
        assert_eq!(b.source, ae_shared::store::benchmark::BenchmarkSource::Etf, "{s}");
    }
    // The dividend, the earnings dates and KO's sector.
    assert!(live.dividends.dividends.iter().any(|x| x.ticker.as_str() == "XOM" && x.cash_amount == 0.44));
    assert!(live.sectors.symbols.contains_key(&Ticker::new("KO").unwrap()));
    let u = live.universe.as_ref().unwrap();
    assert!(u.contains(&Ticker::new("KO").unwrap()) && !u.contains(&Ticker::new("BIG").unwrap()));
    // Freshness: nothing stale on the next session.
    let f = load_freshness(&bus).await.unwrap();
    let names: Vec<&str> = f.data.keys().map(String::as_str).collect();
    assert!(f.stale(&names, day("2010-06-14")).is_empty(), "{:?}", f.data);
    // No answer carried a datum dated after the session it was asked for.
    for (path, last) in vendor.served().answers {
        if let Some(last) = last {
            assert!(last <= d("2010-06-11"), "{path} served {last}");
        }
    }

    // The macro series: the first update fetched a year before the store's first session, later
    // ones only what was new; every value is one the vendor served, none after the last session,
    // and FRED's "." days are absent.
    for series in ["DGS10", "BAMLH0A0HYM2", "VIXCLS"] {
        let key = ae_shared::bus::keys::macro_series(series).unwrap();
        let (obs, _) = bus.get_json::<Vec<(NaiveDate, f64)>>(&key).await.unwrap().unwrap();
        assert!(obs.first().unwrap().0 <= live.manifest.first_day.date() - chrono::Duration::days(300), "{series}");
        assert_eq!(obs.last().unwrap().0, d("2010-06-11"), "{series}");
        assert!(obs.windows(2).all(|w| w[0].0 < w[1].0), "{series}: dates ascending, each once");
        let world = vendor.world();
        let held = &world.macro_series[series];
        assert!(obs.iter().all(|(day, v)| held[day] == Some(*v)), "{series}: only served values");
        let first_step = &reports[0].steps.iter().find(|s| s.name == format!("macro:{series}")).unwrap().detail;
        let last_step = &reports[4].steps.iter().find(|s| s.name == format!("macro:{series}")).unwrap().detail;
        assert!(first_step.starts_with(&format!("{} new", obs.len() - 4)), "{series}: {first_step}");
        assert!(last_step.starts_with("1 new"), "{series}: {last_step}");
    }
    let fred_asks = vendor.served().answers.iter().filter(|(p, _)| p.starts_with("/fred/")).count();
    assert_eq!(fred_asks, 15, "three series a night for five nights");

    // The same days imported at once (BIG is still in the store: a removal does not erase history,
    // its bars keep coming for a month).
    let full_bus = Bus::file(dir.path().join("full"));
    let all = ImportFiles::embedded(&embedded_data_dir());
    import(&full_bus, &all, &cfg, "2010-06-11").await;
    let full = PriceStore::load(&full_bus).await.unwrap();
    let mut compared = 0;
    for s in full.adjusted.iter() {
        let l = live.adjusted.get(s.ticker.as_str()).unwrap_or_else(|| panic!("{} missing", s.ticker));
        assert_eq!(l.dates, s.dates, "{}", s.ticker);
        for (i, (a, b)) in l.close.iter().zip(s.close).enumerate() {
            assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{} {}: {a} vs {b}", s.ticker, l.dates[i]);
        }
        compared += 1;
    }
    assert_eq!(compared, full.adjusted.n_tickers());
    assert_eq!(live.adjusted.n_tickers(), full.adjusted.n_tickers());
}

/// The nightly update's speed for 900 names against the stand-in (the embedded ~500 names plus
/// 400 copies under other symbols), grouped and through the per-name fallback. Full size behind
/// `--ignored`: `cargo nextest run -p ae-research --run-ignored only nightly_update_of_900`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --ignored and read the timings it prints"]
async fn nightly_update_of_900_names_takes_under_30_seconds() {
    // SAFETY: nextest runs each test in its own process; these names are this test's own.
    unsafe {
        std::env::set_var(POLYGON_ENV, "nightly-polygon-key");
        std::env::set_var(FMP_ENV, "nightly-fmp-key");
        std::env::set_var(FRED_ENV, "nightly-fred-key");
    }
    let mut world = VendorWorld::embedded();
    // 400 more names: copies of real series under other symbols.
    let originals: Vec<String> = world.bars.values().next().unwrap().keys().take(400).cloned().collect();
    for bars in world.bars.values_mut() {
        let copies: Vec<(String, _)> =
            originals.iter().filter_map(|t| bars.get(t).map(|b| (format!("Z{}", t.replace('.', "")), *b))).collect();
        bars.extend(copies);
    }
    world.grouped_outages.insert(d("2010-06-08"));
    let dir = tempfile::tempdir().unwrap();
    // The user's file: every name of the vendor through the cutoff.
    let mut csv = String::from("date,ticker,open,high,low,close,volume\n");
    for (day, bars) in world.bars.range(..=d("2010-06-04")) {
        for (t, b) in bars {
            csv.push_str(&format!("{day},{t},{},{},{},{},{}\n", b.ohlc[0], b.ohlc[1], b.ohlc[2], b.ohlc[3], b.volume));
        }
    }
    std::fs::write(dir.path().join("bars.csv"), csv).unwrap();
    let files = ImportFiles { ohlcv: dir.path().join("bars.csv"), ..ImportFiles::embedded(&embedded_data_dir()) };
    let vendor = VendorStandIn::start(world, &VendorKeys::named("nightly")).await;
    let cfg = config(&vendor.uri());
    let bus = Bus::file(dir.path().join("bus"));
    import(&bus, &files, &cfg, "2010-06-04").await;
    let names = PriceStore::load(&bus).await.unwrap().raw.n_tickers();
    assert!(names >= 900, "{names} names");
    let vendors = Vendors::from_config(&cfg, RetryPolicy::default(), &mut Vec::new());
    for (s, how) in [("2010-06-07", "grouped daily"), ("2010-06-08", "one request per name")] {
        let clock = SimulatedClock::at_et(day(s), NaiveTime::from_hms_opt(16, 20, 0).unwrap());
        let t0 = std::time::Instant::now();
        let r = nightly::run(&bus, &cfg, &vendors, day(s), &clock).await.unwrap();
        let secs = t0.elapsed().as_secs_f64();
        assert!(r.failures().is_empty(), "{:?}", r.failures());
        let steps: Vec<String> = r.steps.iter().map(|x| format!("{} {:.2}s", x.name, x.secs)).collect();
        eprintln!("nightly update, {names} names, {how}: {secs:.1} s ({})", steps.join(", "));
        assert!(r.bars >= 850, "{} bars", r.bars);
    }
}
