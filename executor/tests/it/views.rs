//! The ensemble's grading is point in time: a morning's views are graded only once their whole
//! horizon has closed, and on a market with a planted short-term reversal the reversal price
//! agent is the view the grading finds skill in, the momentum agent the one it finds backwards.

use ae_executor::market::MarketData;
use ae_executor::views::{grade_on, graded_days};
use ae_rules::ensemble::{self, ResearchView};
use ae_shared::TradingDay;
use ae_shared::config::Config;
use ae_shared::contracts::ensemble::{ViewKind, ViewPanel};
use ae_shared::sim::SimConfig;
use ae_shared::store::PriceStore;

/// The morning's panel of every name, from price agents alone (no research, no predictor).
fn panel(store: &PriceStore, cfg: &Config, date: TradingDay) -> ViewPanel {
    let mut market = MarketData::for_decision(store, date, &cfg.data);
    let tickers = market.bars.tickers.clone();
    let names = tickers
        .iter()
        .filter_map(|t| {
            let agents = market.price_agents(t, &cfg.executor)?;
            // Computed alone, they are exactly what the name's full view holds.
            assert_eq!(Some(agents), market.view(t, date, &cfg.executor).map(|v| v.price_agents()), "{t}");
            Some((t.clone(), ensemble::raw_views(ResearchView::default(), None, &agents)))
        })
        .collect();
    ensemble::panel(date, names)
}

#[tokio::test]
async fn views_are_graded_only_after_their_horizon_and_the_planted_reversal_is_found() {
    let (_dir, store, m) = crate::common::sim_store(&SimConfig::new(60, 400, 0.4, 7)).await;
    let cfg = Config::defaults();
    let p = &cfg.executor.ensemble;
    let h = i64::from(p.horizon_days);

    // A panel of day d: not gradable the morning before its horizon closes, gradable on it.
    let d = m.sessions[300].next();
    let pnl = panel(&store, &cfg, d);
    let early = MarketData::for_decision(&store, d.offset(h - 1).unwrap(), &cfg.data);
    assert_eq!(grade_on(&pnl, &early, p), None, "a horizon still open is never graded");
    let on_time = MarketData::for_decision(&store, d.offset(h).unwrap(), &cfg.data);
    assert!(grade_on(&pnl, &on_time, p).is_some());
    assert_eq!(graded_days(d.offset(h).unwrap(), p).next(), Some(d), "the newest day graded is the horizon ago");

    // Over a trailing window, the grading finds the planted reversal and momentum backwards.
    let today = m.sessions[390].next();
    let market = MarketData::for_decision(&store, today, &cfg.data);
    let graded: Vec<_> =
        graded_days(today, p).filter_map(|day| grade_on(&panel(&store, &cfg, day), &market, p)).collect();
    assert_eq!(graded.len(), p.window_days as usize);
    let skill = ensemble::skill(&graded, p);
    let of = |v: ViewKind| skill.views.iter().find(|s| s.view == v).unwrap().clone();
    let (rev, mom) = (of(ViewKind::Reversal), of(ViewKind::Momentum));
    println!("reversal {rev:?}\nmomentum {mom:?}");
    assert!(rev.ic > 0.05 && rev.ic > 2.0 * rev.std_error.unwrap(), "{rev:?}");
    assert!(rev.weight > 0.0 && rev.weight.abs() == skill.views.iter().map(|s| s.weight.abs()).fold(0.0, f64::max));
    assert!(mom.weight <= 0.0, "{mom:?}");
    assert_eq!(of(ViewKind::Research).n_days, 0, "no research view, no skill");
}
