//! Every default number of the design's executor section is a configured parameter with that
//! value (DESIGN.md §5): change the configuration, not the code.

use ae_core::contracts::params::ExecutorParams;

fn params() -> ExecutorParams {
    let table: toml::Table = include_str!("../../../shared/config/default.toml").parse().unwrap();
    table["executor"].clone().try_into().unwrap()
}

#[test]
fn the_design_numbers_are_the_configured_defaults() {
    let p = params();
    let (e, r, s, i, b) = (&p.exits, &p.risk, &p.sizing, &p.intraday, &p.breakers);
    let table: &[(&str, f64, f64)] = &[
        ("ATR period 14", e.atr_period as f64, 14.0),
        ("ATR trailing multiple 2.5", e.atr_multiple, 2.5),
        ("time decay: reduce after 7 days", e.time_decay_reduce_days as f64, 7.0),
        ("time decay: exit after 14 days", e.time_decay_exit_days as f64, 14.0),
        ("momentum exit: 20d below −15%", e.momentum_exit_return.get(), -0.15),
        ("momentum exit: RSI below 30", e.momentum_exit_rsi, 30.0),
        ("drawdown band 1 at 2%", r.drawdown_tiers[0].at_pct.get(), 0.02),
        ("drawdown band 1 sizes × 0.5", r.drawdown_tiers[0].multiplier.get(), 0.5),
        ("drawdown band 2 at 4%", r.drawdown_tiers[1].at_pct.get(), 0.04),
        ("drawdown band 2 sizes × 0.25", r.drawdown_tiers[1].multiplier.get(), 0.25),
        ("drawdown breaker 6%", r.drawdown_breaker_pct.get(), 0.06),
        ("max position 5%", r.max_position_pct.get(), 0.05),
        ("bear max position 2.5%", r.bear_max_position_pct.get(), 0.025),
        ("sector cap 25%", r.max_sector_pct.get(), 0.25),
        ("equity cap 90%", r.max_equity_pct.get(), 0.90),
        ("same-sector correlation 0.80", r.max_sector_correlation, 0.80),
        ("ADV cap 10%", s.adv_cap_pct.get(), 0.10),
        ("minimum position $500", s.min_position_usd.get(), 500.0),
        ("pullback 2%", i.pullback_pct.get(), 0.02),
        ("VWAP discount 0.5%", i.vwap_discount_pct.get(), 0.005),
        ("support bounce 1%", i.support_pct.get(), 0.01),
        ("intraday trail 2.0 ATR", i.trail_atr_multiple, 2.0),
        ("intraday profit take +8%", i.profit_take_pct.get(), 0.08),
        ("intraday profit take sells half", i.profit_take_fraction.get(), 0.5),
        ("collapse 5% from the high", i.collapse_pct.get(), 0.05),
        ("tighten after 3 days", i.tighten_after_days as f64, 3.0),
        ("earnings: within 5 days ...", s.earnings_window_days as f64, 5.0),
        ("... at most 50% of the position cap", s.earnings_cap.get(), 0.5),
        ("daily loss 1.5% sizes down ...", b.daily_loss_size_down_pct.get(), 0.015),
        ("... by 30%", b.size_down_multiplier.get(), 0.7),
        ("daily loss 2.5%: no new entries today", b.daily_loss_halt_pct.get(), 0.025),
        ("5-day loss 4% sizes down", b.window_loss_size_down_pct.get(), 0.04),
        ("the loss window is 5 sessions", b.loss_window_days as f64, 5.0),
        ("drawdown 8%: kill switch", b.kill_drawdown_pct.get(), 0.08),
        ("mean pairwise correlation alert 0.6", b.correlation_alert, 0.6),
        ("recovery ramp from 20%", b.recovery_start.get(), 0.2),
    ];
    for (what, got, want) in table {
        assert!((got - want).abs() < 1e-12, "{what}: configured {got}");
    }
    assert!(r.bear_blocks_underweight && r.block_declining_conviction && r.use_predictor_veto);
    assert_eq!(i.close_enough_after, "14:00");
}
