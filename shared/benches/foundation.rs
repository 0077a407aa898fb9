//! Foundation benchmarks: importing the embedded dataset, loading the price store back, and the
//! indicator library over the whole embedded universe. Numbers go in the README.

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
}

criterion_group!(benches, bench);
criterion_main!(benches);
