//! Foundation benchmarks: importing the embedded dataset, loading the price store back, the
//! indicator library over the whole embedded universe, tail risk and the factor risk model.
//! Numbers go in the README.

use ae_shared::TradingDay;
use ae_shared::bus::Bus;
use ae_shared::clock::SimulatedClock;
use ae_shared::config::Config;
use ae_shared::indicators as ind;
use ae_shared::store::{self, ImportFiles, PriceStore, embedded_data_dir};
use criterion::{Criterion, criterion_group, criterion_main};

fn clock() -> SimulatedClock {
    SimulatedClock::at_et(TradingDay::parse("2010-08-23").unwrap(), chrono::NaiveTime::from_hms_opt(4, 0, 0).unwrap())
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cfg = Config::defaults();
    let files = ImportFiles::embedded(&embedded_data_dir());
    let mut g = c.benchmark_group("store");
    g.sample_size(10);
    g.bench_function("import embedded year (524 symbols, 122k bars) into a file bus", |b| {
        b.iter(|| {
            let dir = tempfile::tempdir().unwrap();
            let bus = Bus::file(dir.path());
            rt.block_on(store::import_files(&bus, &files, &cfg.data, &clock(), false)).unwrap()
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let bus = Bus::file(dir.path());
    rt.block_on(store::import_files(&bus, &files, &cfg.data, &clock(), false)).unwrap();
    g.bench_function("load the full price store back (bars, splits applied, reference data)", |b| {
        b.iter(|| rt.block_on(PriceStore::load(&bus)).unwrap())
    });
    g.finish();

    let s = rt.block_on(PriceStore::load(&bus)).unwrap();
    let mut g = c.benchmark_group("indicators");
    g.bench_function("16 indicators x 524 symbols x 245 days", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            for x in s.adjusted.iter() {
                let (h, l, cl, v) = (x.high, x.low, x.close, x.volume);
                let m = ind::macd(cl, 12, 26, 9);
                let bb = ind::bollinger(cl, 20, 2.0);
                let outs = [
                    ind::sma(cl, 20),
                    ind::ema(cl, 12),
                    ind::rsi(cl, 14),
                    m.line,
                    m.signal,
                    bb.percent_b,
                    ind::atr(h, l, cl, 14),
                    ind::obv(cl, v),
                    ind::realized_vol(cl, 20),
                    ind::rolling_vwap(h, l, cl, v, 14),
                    ind::pct_return(cl, 5),
                    ind::pct_return(cl, 20),
                    ind::pct_return(cl, 60),
                    ind::dist_from_high(h, cl, 252, 20),
                    ind::dist_from_low(l, cl, 252, 20),
                    ind::rolling_min(l, 20),
                ];
                acc += outs.iter().map(|o| o.last().copied().unwrap_or(0.0)).sum::<f64>();
            }
            acc
        })
    });
    g.finish();

    // Tail risk: 10,000 ten-session paths (100,000 path-days) drawn in 5-session blocks from a
    // 60-name book revalued over 500 sessions of the embedded year's returns (cycled).
    let mut g = c.benchmark_group("tail risk");
    let returns: Vec<Vec<f64>> = s
        .adjusted
        .iter()
        .take(60)
        .map(|x| {
            let r: Vec<f64> = x.close.windows(2).map(|w| w[1] / w[0] - 1.0).collect();
            (0..500).map(|t| r[t % r.len()]).collect()
        })
        .collect();
    let book: Vec<(f64, &[f64])> = returns.iter().map(|r| (1.0 / 60.0, r.as_slice())).collect();
    let history = ae_shared::tail_risk::book_returns(&book);
    let cfg = ae_shared::tail_risk::Bootstrap { paths: 10_000, horizon: 10, block: 5, seed: 42 };
    g.throughput(criterion::Throughput::Elements((cfg.paths * cfg.horizon) as u64));
    g.bench_function("block bootstrap: 10,000 paths x 10 sessions (elements = path-days)", |b| {
        b.iter(|| {
            let paths = ae_shared::tail_risk::block_bootstrap(&history, &cfg);
            ae_shared::tail_risk::Tail::of(&paths, 0.01)
        })
    });
    g.throughput(criterion::Throughput::Elements((60 * 500) as u64));
    g.bench_function("revalue a 60-name book over 500 sessions (elements = name-sessions)", |b| {
        b.iter(|| ae_shared::tail_risk::book_returns(&book))
    });
    g.finish();

    // Risk model: estimated over the embedded year (524 symbols, ~480 with a sector and the
    // history, 120 sessions of regressions), then a 60-name long/short book decomposed.
    use ae_shared::risk_model::{ModelParams, decompose, estimate};
    let mut g = c.benchmark_group("risk model");
    g.sample_size(10);
    let panel = ae_shared::store::risk_panel::RiskPanel::build(&s.adjusted, s.benchmark_series(), &s.sectors);
    let params = ModelParams::default();
    let model = estimate(&panel.panel(), &params).unwrap();
    let book: Vec<(usize, f64)> = (0..model.exposures.len())
        .filter(|i| model.complete[*i])
        .take(60)
        .enumerate()
        .map(|(j, i)| (i, if j % 2 == 0 { 1.0 / 60.0 } else { -1.0 / 60.0 }))
        .collect();
    g.bench_function("estimate over the embedded year and decompose a 60-name book", |b| {
        b.iter(|| decompose(&estimate(&panel.panel(), &params).unwrap(), &book).unwrap().sigma)
    });
    g.bench_function("decompose a 60-name book", |b| b.iter(|| decompose(&model, &book).unwrap().sigma));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
