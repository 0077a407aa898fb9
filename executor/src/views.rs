//! The planner's side of the ensemble ([`ae_rules::ensemble`]): today's views of every name
//! research ranked, kept on the bus as a panel (`executor/views/{date}.json`) so later mornings
//! can grade them, and the trailing window of kept panels graded against the returns that
//! followed them — point in time: a panel is graded only once its whole horizon has closed.
//! The backtester builds the same panels and grades them with the same functions.

use std::collections::BTreeMap;

use ae_rules::ensemble::{self, Graded, ResearchView, Skill};
use ae_rules::view::PriceAgents;
use ae_shared::TradingDay;
use ae_shared::bus::{Bus, keys};
use ae_shared::contracts::InputRef;
use ae_shared::contracts::common::Regime;
use ae_shared::contracts::ensemble::{EnsembleBook, ViewPanel};
use ae_shared::contracts::params::{EnsembleParams, ExecutorParams};
use ae_shared::types::Ticker;

use crate::inputs::{PredictionsInForce, SignalsInForce};
use crate::market::MarketData;

/// One morning's views: the panel and each name's ATR as a share of price (the Kelly weight's
/// volatility).
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct TodayViews {
    /// The panel.
    pub panel: ViewPanel,
    /// ATR share by name, where usable.
    pub atr_pct: BTreeMap<Ticker, f64>,
}

/// Today's views of every name of the signals in force that has a market (`agents` gives what a
/// name's price agents read: [`MarketData::price_agents`], or the part of a view already held).
pub fn views_of(
    signals: &SignalsInForce,
    preds: &PredictionsInForce,
    mut agents: impl FnMut(&Ticker) -> Option<PriceAgents>,
    date: TradingDay,
) -> TodayViews {
    let mut names = Vec::with_capacity(signals.doc.universe.len());
    let mut atr_pct = BTreeMap::new();
    for e in &signals.doc.universe {
        let Some(view) = agents(&e.ticker) else { continue };
        if let Some(a) = view.atr_pct {
            atr_pct.insert(e.ticker.clone(), a);
        }
        let research = ResearchView {
            score: e.score.map(|s| s.get()),
            quant: Some(e.sub_scores.quant.get()),
            qual: e.sub_scores.qual.map(|s| s.get()),
        };
        names.push((e.ticker.clone(), ensemble::raw_views(research, preds.by_ticker.get(&e.ticker), &view)));
    }
    TodayViews { panel: ensemble::panel(date, names), atr_pct }
}

/// Grades the panel of decision day `panel.date` on `market` (a later morning's data): each name's
/// return from the close before that day over the horizon. `None` when the horizon has not
/// closed by `market.as_of` or the panel is undated.
pub fn grade_on(panel: &ViewPanel, market: &MarketData<'_>, p: &EnsembleParams) -> Option<Graded> {
    let from = panel.date?.prev();
    if from.offset(i64::from(p.horizon_days))? > market.as_of {
        return None;
    }
    let h = p.horizon_days;
    Some(ensemble::grade(panel, |t: &Ticker| market.forward_return(t, from, h), p.min_names as usize))
}

/// The decision days whose panels are graded on `date`: the newest whose horizon has closed by
/// the session before it, back over the window.
pub fn graded_days(date: TradingDay, p: &EnsembleParams) -> impl Iterator<Item = TradingDay> {
    let h = i64::from(p.horizon_days);
    (0..i64::from(p.window_days)).filter_map(move |k| date.offset(-(h + k)))
}

/// The skill of each view on `date`, from the panels earlier mornings kept on the bus, each panel
/// read going into `inputs` (a panel that is missing or unreadable is passed over, with a note).
pub async fn skill_from_bus(
    bus: &Bus,
    date: TradingDay,
    market: &MarketData<'_>,
    p: &EnsembleParams,
    inputs: &mut Vec<InputRef>,
    notes: &mut Vec<String>,
) -> Skill {
    let mut graded = Vec::new();
    let mut unreadable = 0;
    for d in graded_days(date, p) {
        let key = keys::view_panel(d);
        match bus.get_json::<ViewPanel>(&key).await {
            Ok(Some((panel, input))) if panel.date == Some(d) => {
                inputs.push(input);
                graded.extend(grade_on(&panel, market, p));
            }
            Ok(Some(_)) => unreadable += 1,
            Ok(None) => {}
            Err(e) => {
                tracing::warn!("{key}: {e}");
                unreadable += 1;
            }
        }
    }
    if unreadable > 0 {
        notes.push(format!("ensemble: {unreadable} kept view panel(s) unreadable or misdated, passed over"));
    }
    ensemble::skill(&graded, p)
}

/// The morning's ensemble over today's views with `skill`, in `regime` (the Kelly weight is
/// capped by the largest position in force).
pub fn book_of(today: &TodayViews, skill: &Skill, regime: Regime, params: &ExecutorParams) -> EnsembleBook {
    let max_position = ae_rules::risk::max_position(&params.risk, regime);
    ensemble::book(&today.panel, skill, |t| today.atr_pct.get(t).copied(), max_position, &params.ensemble)
}

/// Gives each candidate its line of the morning's ensemble.
pub fn attach(cands: &mut [ae_rules::view::Candidate], book: &EnsembleBook) {
    for c in cands {
        c.ensemble = book.names.iter().find(|n| n.ticker == c.ticker).cloned();
    }
}
