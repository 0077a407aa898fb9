//! The ensemble over the prepared days and its grading both ways.
//!
//! [`attach`] walks the days in order with the planner's own functions (`ae_rules::ensemble`,
//! `ae_executor::views`): each day first grades the panel whose horizon closed at the session
//! before it (with the returns [`crate::prepare`] read that day), then measures each view's skill
//! over the graded days of the trailing window and gives every candidate its line of the ensemble
//! — so a backtest sizes with exactly what the planner would have known that morning.
//!
//! [`grade`] runs the sizer without and with the ensemble (`sizing.ensemble` 0 and 1) as a
//! two-point sweep through the sweep's own scoring and gates, so the switch is written back only
//! on the evidence that writes any executor parameter back.

use std::collections::{BTreeMap, HashMap};

use ae_executor::views::{attach as attach_to, book_of, graded_days};
use ae_rules::ensemble::{self, Graded};
use ae_shared::TradingDay;
use ae_shared::config::{BacktestConfig, SweepGrid};
use ae_shared::contracts::params::ExecutorParams;

use crate::prepare::DayInput;
use crate::sim::Simulator;
use crate::sweep::{self, SweepOutcome};

/// The sizer's ensemble switch, as a sweep path.
pub const PATH: &str = "sizing.ensemble";

/// Gives every day's candidates their line of the ensemble measured that morning.
pub fn attach(days: &mut [DayInput], params: &ExecutorParams) {
    let p = &params.ensemble;
    let index: HashMap<TradingDay, usize> = days.iter().enumerate().map(|(i, d)| (d.date, i)).collect();
    let mut graded: BTreeMap<TradingDay, Graded> = BTreeMap::new();
    for k in 0..days.len() {
        let date = days[k].date;
        let closed = date.offset(-i64::from(p.horizon_days)).and_then(|d| Some((d, *index.get(&d)?)));
        if let Some((d, j)) = closed
            && let Some(v) = &days[j].panel
        {
            let forward = &days[k].forward;
            graded.insert(d, ensemble::grade(&v.panel, |t| forward.get(t).copied(), p.min_names as usize));
        }
        let window: Vec<Graded> = graded_days(date, p).filter_map(|d| graded.get(&d).copied()).collect();
        if let Some(oldest) = graded_days(date, p).last() {
            graded.retain(|d, _| *d >= oldest);
        }
        let day = &mut days[k];
        if let Some(v) = &day.panel {
            let skill = ensemble::skill(&window, p);
            let book = book_of(v, &skill, day.regime, params);
            attach_to(&mut day.candidates, &book);
        }
    }
}

/// The sizer without and with the ensemble on top of `base`, graded by the sweep's gates.
pub fn grade(sim: &Simulator<'_>, base: &ExecutorParams, bt: &BacktestConfig) -> SweepOutcome {
    let bt = BacktestConfig { sweep: SweepGrid::of(&[(PATH, &[0.0, 1.0])]), ..bt.clone() };
    sweep::sweep(sim, base, &bt, None, &|| {}).0
}
