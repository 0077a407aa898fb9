//! Intraday rules (the daemon, and the backtester's day replay): when a planned entry may go, and
//! when a held position must go.
//!
//! Entries (any one fires): a pullback from the intraday high, a discount to session VWAP, a bounce
//! just above support, and from the afternoon a price close enough to the reference; at the expiry
//! time an untriggered entry goes at market. Exits, in order: a collapse from the intraday high, the
//! ATR trail from the high water (tighter after a few days held), and a partial profit-take.

use ae_core::contracts::order_book::EntryTriggers;
use ae_core::contracts::params::IntradayParams;
use chrono::NaiveTime;
use serde::{Deserialize, Serialize};

use crate::reason::Reason;
use crate::sells::sellable;

/// One observation of a name during the session.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    /// New York time.
    pub time: NaiveTime,
    /// Last price.
    pub price: f64,
    /// Session high so far.
    pub day_high: f64,
    /// Session VWAP so far, when known.
    pub vwap: Option<f64>,
}

/// A planned entry's triggers, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EntrySpec {
    /// The planner's reference price (last close).
    pub reference_price: f64,
    /// Pullback from the intraday high.
    pub pullback_pct: f64,
    /// Discount to VWAP.
    pub vwap_discount_pct: f64,
    /// Support level.
    pub support: Option<f64>,
    /// Band above support.
    pub support_pct: f64,
    /// From this time a small premium is accepted.
    pub close_enough_after: NaiveTime,
    /// That premium.
    pub close_enough_premium: f64,
    /// At this time an untriggered entry goes at market.
    pub expiry: NaiveTime,
}

/// A time in `HH:MM`, 00:00..23:59 (the order book's and the parameters' checks refuse any other).
pub fn parse_hhmm(s: &str) -> Option<NaiveTime> {
    ae_core::contracts::common::time_of_day(s)
}

impl EntrySpec {
    /// From an order book entry's triggers; `None` when a time does not parse.
    pub fn from_triggers(reference_price: f64, t: &EntryTriggers) -> Option<Self> {
        Some(Self {
            reference_price,
            pullback_pct: t.pullback_pct.get(),
            vwap_discount_pct: t.vwap_discount_pct.get(),
            support: t.support_level.map(|u| u.get()),
            support_pct: t.support_pct.get(),
            close_enough_after: parse_hhmm(&t.close_enough_after)?,
            close_enough_premium: t.close_enough_max_premium_pct.get(),
            expiry: parse_hhmm(&t.expiry_time)?,
        })
    }
}

/// The trigger that fires on `tick`, if any.
pub fn entry_trigger(spec: &EntrySpec, tick: &Tick) -> Option<Reason> {
    let px = tick.price;
    if !(px > 0.0 && px.is_finite()) {
        return None;
    }
    if tick.time >= spec.expiry {
        return Some(Reason::TimeExpiry);
    }
    if tick.day_high > 0.0 && (tick.day_high - px) / tick.day_high >= spec.pullback_pct {
        return Some(Reason::Pullback);
    }
    if let Some(vwap) = tick.vwap.filter(|v| *v > 0.0)
        && (vwap - px) / vwap >= spec.vwap_discount_pct
    {
        return Some(Reason::VwapDiscount);
    }
    if let Some(s) = spec.support.filter(|s| *s > 0.0) {
        let above = (px - s) / s;
        if (0.0..=spec.support_pct).contains(&above) {
            return Some(Reason::SupportBounce);
        }
    }
    if tick.time >= spec.close_enough_after && px <= spec.reference_price * (1.0 + spec.close_enough_premium) {
        return Some(Reason::CloseEnough);
    }
    None
}

/// A held position as the intraday exits see it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IntradayPosition {
    /// Average cost.
    pub entry_price: f64,
    /// Highest price since entry (including today so far).
    pub high_water: f64,
    /// ATR at planning.
    pub atr: Option<f64>,
    /// Trading days held.
    pub days_held: u32,
    /// Shares held.
    pub shares: u32,
    /// Shares in working sells.
    pub working_sells: u32,
    /// The partial profit-take already happened.
    pub profit_taken: bool,
}

/// The intraday trail in force: high water − ATR × (tightened multiple after enough days).
pub fn intraday_stop(pos: &IntradayPosition, p: &IntradayParams) -> Option<f64> {
    let atr = crate::view::usable_atr(pos.atr)?;
    let mult = if pos.days_held >= p.tighten_after_days { p.tighten_atr_multiple } else { p.trail_atr_multiple };
    Some(pos.high_water - atr * mult)
}

/// The intraday exit that fires on `tick`: the rule and the shares to sell.
pub fn intraday_exit(pos: &IntradayPosition, tick: &Tick, p: &IntradayParams) -> Option<(Reason, u32)> {
    let free = sellable(pos.shares, pos.working_sells);
    let px = tick.price;
    if free == 0 || !(px > 0.0 && px.is_finite()) {
        return None;
    }
    if tick.day_high > 0.0 && (tick.day_high - px) / tick.day_high > p.collapse_pct.get() {
        return Some((Reason::IntradayCollapse, free));
    }
    if let Some(stop) = intraday_stop(pos, p)
        && px < stop
    {
        return Some((Reason::IntradayTrail, free));
    }
    if !pos.profit_taken && pos.entry_price > 0.0 && px > pos.entry_price * (1.0 + p.profit_take_pct.get()) {
        let n = ((pos.shares as f64) * p.profit_take_fraction.get()).floor().max(1.0) as u32;
        return Some((Reason::IntradayProfitHalf, n.min(free)));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::params;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn spec() -> EntrySpec {
        EntrySpec {
            reference_price: 100.0,
            pullback_pct: 0.02,
            vwap_discount_pct: 0.005,
            support: Some(95.0),
            support_pct: 0.01,
            close_enough_after: t(14, 0),
            close_enough_premium: 0.01,
            expiry: t(15, 30),
        }
    }

    #[test]
    fn entry_triggers_table() {
        // (time, price, day high, vwap, expected)
        let table = [
            (t(10, 0), 101.0, 101.5, Some(101.0), None),
            (t(10, 0), 99.0, 101.0, None, None), // a 1.98% pullback is below the 2% trigger
            (t(10, 0), 98.9, 101.0, None, Some(Reason::Pullback)),
            (t(10, 0), 100.4, 100.5, Some(101.0), Some(Reason::VwapDiscount)),
            (t(10, 0), 95.5, 96.0, None, Some(Reason::SupportBounce)),
            (t(10, 0), 94.9, 95.0, None, None), // below support: not a bounce
            (t(13, 59), 100.9, 101.0, None, None),
            (t(14, 0), 100.9, 101.0, None, Some(Reason::CloseEnough)),
            (t(14, 0), 101.2, 101.3, None, None),
            (t(15, 30), 105.0, 105.0, None, Some(Reason::TimeExpiry)),
        ];
        for (time, price, high, vwap, want) in table {
            let tick = Tick { time, price, day_high: high, vwap };
            let got = entry_trigger(&spec(), &tick);
            assert_eq!(got, want, "{time} {price} high {high} vwap {vwap:?}");
        }
    }

    #[test]
    fn intraday_exits_table() {
        let p = params().intraday;
        let pos = IntradayPosition {
            entry_price: 100.0,
            high_water: 110.0,
            atr: Some(2.0),
            days_held: 1,
            shares: 100,
            working_sells: 0,
            profit_taken: false,
        };
        let tick = |price: f64, high: f64| Tick { time: t(11, 0), price, day_high: high, vwap: None };
        assert_eq!(intraday_exit(&pos, &tick(109.0, 110.0), &p), Some((Reason::IntradayProfitHalf, 50)));
        assert_eq!(intraday_exit(&pos, &tick(105.9, 106.0), &p), Some((Reason::IntradayTrail, 100)), "110 − 2×2 = 106");
        assert_eq!(
            intraday_exit(&pos, &tick(104.0, 110.0), &p),
            Some((Reason::IntradayCollapse, 100)),
            "5.5% off the high"
        );
        let tightened = IntradayPosition { days_held: 3, ..pos };
        assert_eq!(intraday_stop(&tightened, &p), Some(107.0), "after 3 days: 110 − 1.5×2");
        let taken = IntradayPosition { profit_taken: true, ..pos };
        assert_eq!(intraday_exit(&taken, &tick(109.0, 110.0), &p), None);
        let all_working = IntradayPosition { working_sells: 100, ..pos };
        assert_eq!(intraday_exit(&all_working, &tick(90.0, 110.0), &p), None, "nothing left to sell");
    }
}
