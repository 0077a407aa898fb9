//! A quant-only research run over the whole embedded universe (dry run: computed, not written).

use std::sync::Arc;

use ae_research::run::{RunOptions, run};
use ae_shared::TradingDay;
use ae_shared::bus::Bus;
use ae_shared::clock::{Clock, SimulatedClock};
use ae_shared::config::Config;
use ae_shared::store::{self, ImportFiles, embedded_data_dir};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bus = Bus::file(dir.path());
    let cfg = Config::defaults();
    let day = TradingDay::parse("2010-06-14").unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SimulatedClock::at_et(day, chrono::NaiveTime::from_hms_opt(5, 0, 0).unwrap()));
    rt.block_on(store::import_files(
        &bus,
        &ImportFiles::embedded(&embedded_data_dir()),
        &cfg.data,
        clock.as_ref(),
        false,
    ))
    .unwrap();
    let mut opts = RunOptions::new(day);
    opts.dry_run = true;
    let mut g = c.benchmark_group("research");
    g.sample_size(10);
    g.bench_function(
        "quant-only run, 524 symbols (load store, snapshot, filter, factors, rotation, signals, brief)",
        |b| b.iter(|| rt.block_on(run(&bus, &cfg, clock.clone(), &opts)).unwrap()),
    );
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
