//! The macro features: rates, credit spreads and the VIX from the FRED series the nightly update
//! keeps on the bus (`prices/macro/{series}.json`), the same for every name on a session.
//!
//! Point in time: FRED dates an observation by the day it describes and publishes it after that
//! day (the H.15 10-year yield the next business day, the ICE BofA spread and the VIX close the
//! next morning), and a row of session t is what the predictor knows after t's close. So row t
//! reads only observations dated **before** t, and none older than [`MAX_AGE_DAYS`] (a series
//! that stopped arriving goes missing instead of repeating its last value forever). Without FRED
//! configured the columns are missing (NaN) on every row, and LightGBM never splits on them.

use std::collections::BTreeMap;

use ae_shared::TradingDay;
use chrono::NaiveDate;

/// The 10-year Treasury constant-maturity yield, in percent.
pub const RATE_10Y: &str = "DGS10";
/// The ICE BofA US high-yield option-adjusted spread, in percent.
pub const HY_SPREAD: &str = "BAMLH0A0HYM2";
/// The CBOE VIX close.
pub const VIX: &str = "VIXCLS";
/// The series the features read (all three are in `providers.fred.series` by default).
pub const SERIES: [&str; 3] = [RATE_10Y, HY_SPREAD, VIX];

/// The oldest observation a row uses, in calendar days before its session.
pub const MAX_AGE_DAYS: i64 = 10;

/// Sessions over which the changes are taken (about a month).
pub const CHANGE_SESSIONS: usize = 21;

/// Number of macro feature columns.
pub const N: usize = 5;

/// Macro observations by FRED series id: (date, value), dates ascending.
pub type MacroSeries = BTreeMap<String, Vec<(NaiveDate, f64)>>;

/// The latest value of `obs` dated before `day` and at most [`MAX_AGE_DAYS`] before it (NaN when
/// there is none).
pub fn known_before(obs: &[(NaiveDate, f64)], day: NaiveDate) -> f64 {
    let i = obs.partition_point(|(d, _)| *d < day);
    match i.checked_sub(1).map(|i| obs[i]) {
        Some((d, v)) if (day - d).num_days() <= MAX_AGE_DAYS => v,
        _ => f64::NAN,
    }
}

/// The macro columns of every session of `dates` (ascending), in feature order: the 10-year
/// yield, its change over [`CHANGE_SESSIONS`] sessions, the high-yield spread, its change, and
/// the VIX. Missing series give NaN columns.
pub fn per_session(dates: &[TradingDay], series: Option<&MacroSeries>) -> Vec<[f64; N]> {
    let empty = Vec::new();
    let get = |id: &str| series.and_then(|s| s.get(id)).unwrap_or(&empty);
    let (rate, spread, vix) = (get(RATE_10Y), get(HY_SPREAD), get(VIX));
    let at = |obs: &[(NaiveDate, f64)], t: usize| known_before(obs, dates[t].date());
    let change = |obs: &[(NaiveDate, f64)], t: usize| match t.checked_sub(CHANGE_SESSIONS) {
        Some(b) => at(obs, t) - at(obs, b),
        None => f64::NAN,
    };
    (0..dates.len()).map(|t| [at(rate, t), change(rate, t), at(spread, t), change(spread, t), at(vix, t)]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_row_reads_only_observations_dated_before_its_session_and_not_too_old() {
        let obs = vec![(d("2010-03-01"), 3.6), (d("2010-03-04"), 3.7), (d("2010-03-05"), 3.8)];
        for (day, want) in [
            ("2010-03-01", f64::NAN), // nothing before it
            ("2010-03-02", 3.6),
            ("2010-03-05", 3.7), // the 5th's own value is published after the 5th
            ("2010-03-08", 3.8),
            ("2010-03-15", 3.8),      // ten days old: still used
            ("2010-03-16", f64::NAN), // eleven: the series stopped arriving
        ] {
            let got = known_before(&obs, d(day));
            assert!(got == want || (got.is_nan() && want.is_nan()), "{day}: {got} vs {want}");
        }
    }

    #[test]
    fn changes_span_the_stated_sessions_and_missing_series_are_nan_columns() {
        let days: Vec<TradingDay> = (0..40)
            .scan(TradingDay::parse("2010-03-01").unwrap(), |d, _| {
                let now = *d;
                *d = d.next();
                Some(now)
            })
            .collect();
        let obs: Vec<(NaiveDate, f64)> = days.iter().enumerate().map(|(i, d)| (d.date(), i as f64)).collect();
        let series: MacroSeries = [(RATE_10Y.to_string(), obs)].into_iter().collect();
        let cols = per_session(&days, Some(&series));
        // Session t reads the value of session t - 1, which is t - 1.
        assert_eq!(cols[30][0], 29.0);
        assert_eq!(cols[30][1], CHANGE_SESSIONS as f64);
        assert!(cols[CHANGE_SESSIONS - 1][1].is_nan());
        assert!(cols.iter().all(|c| c[2].is_nan() && c[3].is_nan() && c[4].is_nan()));
        assert!(per_session(&days, None).iter().all(|c| c.iter().all(|x| x.is_nan())));
    }
}
