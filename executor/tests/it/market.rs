//! The decision's market views read a window of history: a day in year three costs what a day in
//! year one costs, and the views are those of the whole history (the smoothed indicators to
//! within rounding, everything else exactly).

use ae_executor::market::MarketData;
use ae_shared::config::Config;
use ae_shared::sim::SimConfig;

#[tokio::test]
async fn views_over_the_history_window_match_the_whole_history() {
    let (_dir, store, m) = crate::common::sim_store(&SimConfig::new(30, 700, 0.0, 5)).await;
    let cfg = Config::defaults();
    let decision = m.sessions.last().unwrap().next();
    let windowed = MarketData::for_decision(&store, decision, &cfg.data);
    let mut whole_cfg = cfg.data.clone();
    whole_cfg.governance.history_sessions = 10_000;
    let whole = MarketData::for_decision(&store, decision, &whole_cfg);
    let window = cfg.data.governance.history_sessions as usize;
    assert!(whole.bars.iter().any(|s| s.len() > window), "the market is longer than the window");
    assert!(windowed.bars.iter().all(|s| s.len() <= window), "no name reads past the window");
    assert_eq!(windowed.quality.symbols.len(), whole.quality.symbols.len());

    let params = cfg.executor.clone();
    let sessions = windowed.last_sessions(params.breakers.var_days as usize + 1);
    let (mut windowed, mut whole) = (windowed, whole);
    let tickers: Vec<_> = whole.bars.tickers.clone();
    for t in &tickers {
        let (a, b) = (windowed.view(t, decision, &params), whole.view(t, decision, &params));
        let (Some(a), Some(b)) = (a, b) else {
            assert_eq!(
                windowed.view(t, decision, &params).is_some(),
                whole.view(t, decision, &params).is_some(),
                "{t}"
            );
            continue;
        };
        assert_eq!(
            (a.close, a.prev_close, a.ret_20d, a.sector_relative, a.adv_usd, a.support, a.quality),
            (b.close, b.prev_close, b.ret_20d, b.sector_relative, b.adv_usd, b.support, b.quality),
            "{t}"
        );
        let near = |x: Option<f64>, y: Option<f64>| match (x, y) {
            (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * y.abs().max(1.0),
            (x, y) => x.is_none() && y.is_none(),
        };
        assert!(
            near(a.atr, b.atr) && near(a.rsi_14, b.rsi_14),
            "{t}: {:?} {:?} vs {:?} {:?}",
            a.atr,
            a.rsi_14,
            b.atr,
            b.rsi_14
        );
        let aligned = windowed.aligned_returns(t, &sessions);
        assert_eq!(aligned, whole.aligned_returns(t, &sessions), "{t}");
        // Sessions in any order give the same return for each session.
        let backwards: Vec<_> = sessions.iter().rev().copied().collect();
        let mut back = windowed.aligned_returns(t, &backwards);
        back.reverse();
        assert_eq!(format!("{back:?}"), format!("{aligned:?}"), "{t}");
    }
}
