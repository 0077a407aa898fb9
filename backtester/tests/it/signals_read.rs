//! Prepare reads a weekly signals document once: carrying the day before's signals forward (a
//! day older) gives, day by day, what the executor's own `signals_in_force` finds by walking back,
//! including the days a document is refused or too old; and it lists the signals once instead of
//! asking for every day, which finds the same.

use ae_backtester::prepare::{self, signals_after};
use ae_backtester::replay;
use ae_executor::inputs::signals_in_force;
use std::collections::BTreeSet;

use ae_shared::bus::{Lookup, PutMode, keys};
use ae_shared::contracts::signals::Signals;
use ae_shared::sim::{SimConfig, generate};
use ae_shared::store::PriceStore;

use crate::common::simulated_bus;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn carrying_the_signals_forward_finds_what_walking_back_finds_every_day() {
    let m = generate(&SimConfig::new(30, 140, 0.0, 5));
    let (_dir, bus, cfg) = simulated_bus(&m).await;
    let last = *m.sessions.last().unwrap();
    let store = PriceStore::load(&bus).await.unwrap();
    let days = prepare::period(&store, last.next(), cfg.backtest.warmup_days);
    let rep = replay::build(&bus, &cfg, &days, &|_, _| {}).await.unwrap();
    // One week's document is garbage (refused), and a short maximum age leaves some days without.
    let weeks: Vec<_> = days.iter().copied().filter(week_start).collect();
    let broken = weeks[weeks.len() / 2];
    rep.bus.put(&keys::signals(broken), b"{not json".to_vec(), PutMode::Overwrite).await.unwrap();
    let listed: BTreeSet<_> = rep.bus.dated_days::<Signals>(..).await.unwrap().into_iter().collect();
    for (max_age, lookup) in [3, cfg.executor.risk.max_signal_age_days]
        .into_iter()
        .flat_map(|a| [(a, Lookup::Probe), (a, Lookup::Listed(&listed))])
    {
        let (mut before, mut clean) = (None, false);
        let (mut carried, mut with) = (0, 0);
        for (k, &d) in days.iter().enumerate() {
            let mut want_notes = Vec::new();
            let want = signals_in_force(&rep.bus, Lookup::Probe, d, max_age, &mut want_notes).await.unwrap();
            let mut notes = Vec::new();
            let prev = if clean && k > 0 { before.as_ref() } else { None };
            let got = signals_after(&rep.bus, lookup, d, max_age, prev, &mut notes).await.unwrap();
            assert_eq!(format!("{got:?}"), format!("{want:?}"), "{d} (max age {max_age}, {lookup:?})");
            carried += usize::from(notes.is_empty() && !want_notes.is_empty());
            with += usize::from(got.is_some());
            clean = notes.is_empty();
            before = got;
        }
        assert!(with > 20 && carried == 0, "{with} days with signals; {carried} notes lost");
    }
}

/// Research runs on the first trading day of each week.
fn week_start(d: &ae_shared::TradingDay) -> bool {
    use chrono::Datelike;
    d.prev().date().iso_week() != d.date().iso_week()
}
