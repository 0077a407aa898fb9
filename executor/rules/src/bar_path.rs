//! A daily bar as the path of a session, for replaying intraday rules at daily resolution (the
//! paper session and the backtester): the open, then the extreme nearer the open's side, then the
//! other, then the close — an up day (close ≥ open) is assumed to have made its low first. VWAP
//! is the running mean of the path so far: nothing later in the day is ever seen early.

use ae_core::calendar::{CLOSE_ET, EARLY_CLOSE_ET, TradingDay};
use chrono::{NaiveTime, TimeDelta};
use serde::{Deserialize, Serialize};

use crate::intraday::Tick;

/// One session's bar.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DayBar {
    /// Open.
    pub open: f64,
    /// High.
    pub high: f64,
    /// Low.
    pub low: f64,
    /// Close.
    pub close: f64,
}

fn t(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("valid time")
}

/// The session's open (New York).
pub fn session_open() -> NaiveTime {
    t(9, 30)
}

/// The session's close in New York (13:00 on early-close days).
pub fn close_time(day: TradingDay) -> NaiveTime {
    if day.is_early_close() { EARLY_CLOSE_ET } else { CLOSE_ET }
}

/// Expiry in force on a day that closes at `session_close`: the configured time, or 30 minutes
/// before an early close.
pub fn effective_expiry(expiry: NaiveTime, session_close: NaiveTime) -> NaiveTime {
    expiry.min(session_close - TimeDelta::minutes(30))
}

/// The four ticks a bar stands for, at fixed fractions of the session; the last is one minute
/// before the close.
pub fn bar_ticks(bar: &DayBar, session_close: NaiveTime) -> [Tick; 4] {
    let open = session_open();
    let len = (session_close - open).num_minutes();
    let at = |frac: f64| open + TimeDelta::minutes((len as f64 * frac).round() as i64);
    let (x1, x2) = if bar.close >= bar.open { (bar.low, bar.high) } else { (bar.high, bar.low) };
    let prices = [bar.open, x1, x2, bar.close];
    let times = [open, at(0.25), at(0.6), session_close - TimeDelta::minutes(1)];
    let mut out = [Tick { time: open, price: bar.open, day_high: bar.open, vwap: Some(bar.open) }; 4];
    let (mut high, mut sum) = (f64::MIN, 0.0);
    for k in 0..4 {
        high = high.max(prices[k]);
        sum += prices[k];
        out[k] = Tick { time: times[k], price: prices[k], day_high: high, vwap: Some(sum / (k + 1) as f64) };
    }
    out
}

/// `day`'s bar as its four-tick session path, closing at the day's [`close_time`].
pub fn path_of(bar: &DayBar, day: TradingDay) -> [Tick; 4] {
    bar_ticks(bar, close_time(day))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_days_visit_the_low_first_and_never_see_later_prices() {
        let bar = DayBar { open: 100.0, high: 104.0, low: 97.0, close: 103.0 };
        let ticks = bar_ticks(&bar, t(16, 0));
        assert_eq!(ticks.map(|k| k.price), [100.0, 97.0, 104.0, 103.0]);
        assert_eq!(ticks[1].day_high, 100.0, "the high is not known before it happens");
        assert_eq!(ticks[3].time, t(15, 59));
        let down = DayBar { open: 100.0, high: 101.0, low: 95.0, close: 96.0 };
        assert_eq!(bar_ticks(&down, t(16, 0)).map(|k| k.price), [100.0, 101.0, 95.0, 96.0]);
        // Early close: the expiry moves before it.
        assert_eq!(effective_expiry(t(15, 30), t(13, 0)), t(12, 30));
        assert_eq!(effective_expiry(t(15, 30), t(16, 0)), t(15, 30));
    }

    #[test]
    fn paths_close_at_the_sessions_close() {
        let day = |s: &str| TradingDay::parse(s).unwrap();
        let bar = DayBar { open: 100.0, high: 104.0, low: 97.0, close: 103.0 };
        // The day after Thanksgiving closes at 13:00; the day before it at 16:00.
        assert_eq!(close_time(day("2009-11-27")), t(13, 0));
        assert_eq!(close_time(day("2009-11-25")), t(16, 0));
        assert_eq!(path_of(&bar, day("2009-11-27")), bar_ticks(&bar, t(13, 0)));
        assert_eq!(path_of(&bar, day("2009-11-25"))[3].time, t(15, 59));
    }
}
