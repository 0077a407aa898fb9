//! The attribution of a book's return to the model's factors: for one session from that
//! session's fit, and over a period as the sum of the sessions.

use serde::{Deserialize, Serialize};

use super::{DayFit, N_STYLES};

/// A return split into the model's parts. The parts sum to `total`: `market + sector + style +
/// specific + trading + compounding = total`, exactly up to float rounding, by construction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribution {
    /// `Σ w_i β_i b`: the market factor.
    pub market: f64,
    /// `Σ w_i g_s(i)`: the sector factors.
    pub sector: f64,
    /// `Σ_i Σ_k w_i X_ik f_k`: the style factors.
    pub style: f64,
    /// Each factor's part, in factor order (market, sectors, styles); the three groups above are
    /// its sums.
    pub by_factor: Vec<f64>,
    /// `Σ w_i e_i`: the names' specific returns.
    pub specific: f64,
    /// What the start-of-day book and the model do not explain: trades during the day, costs,
    /// dividends, and the names that were not in the session's regression.
    pub trading: f64,
    /// Over a period: the compounded return minus the sum of the sessions' returns (0 for a
    /// session).
    pub compounding: f64,
    /// The book's actual return (compounded over a period).
    pub total: f64,
    /// Sessions summed.
    pub days: usize,
}

/// The attribution of the book's `actual` return on `day`'s session, with `weights` the
/// start-of-day book (name index, dollars over NAV, signed) and the session's fitted factor
/// returns (market = the benchmark's return) and residuals. A name that was not in the session's
/// regression is not attributed: its return lands in `trading` with the rest of what the
/// start-of-day book does not explain, which is `actual − (market + sector + style + specific)`.
/// `None` when `day` is inconsistent (its vectors over names differ in length, or a sector has
/// no factor), as a fit read from outside could be.
pub fn attribute(day: &DayFit, weights: &[(usize, f64)], actual: f64) -> Option<Attribution> {
    let k = day.factor_returns.len();
    let n_sectors = k.checked_sub(1 + N_STYLES)?;
    let m = day.names.len();
    if [day.beta.len(), day.sector.len(), day.styles.len(), day.residuals.len()].iter().any(|l| *l != m)
        || day.sector.iter().any(|s| *s >= n_sectors)
    {
        return None;
    }
    let mut by_factor = vec![0.0; k];
    let mut specific = 0.0;
    for &(name, w) in weights {
        let Ok(row) = day.names.binary_search(&name) else { continue };
        by_factor[0] += w * day.beta[row] * day.factor_returns[0];
        by_factor[1 + day.sector[row]] += w * day.factor_returns[1 + day.sector[row]];
        for (j, x) in day.styles[row].iter().enumerate() {
            by_factor[1 + n_sectors + j] += w * x * day.factor_returns[1 + n_sectors + j];
        }
        specific += w * day.residuals[row];
    }
    let market = by_factor[0];
    let sector: f64 = by_factor[1..1 + n_sectors].iter().sum();
    let style: f64 = by_factor[1 + n_sectors..].iter().sum();
    let trading = actual - (market + sector + style + specific);
    Some(Attribution { market, sector, style, by_factor, specific, trading, compounding: 0.0, total: actual, days: 1 })
}

impl Attribution {
    /// `market + sector + style + specific + trading + compounding`: `total`, up to rounding.
    pub fn explained(&self) -> f64 {
        self.market + self.sector + self.style + self.specific + self.trading + self.compounding
    }

    /// A period's attribution from its sessions' (or sub-periods'), oldest first: each part is
    /// the sum of the parts, `total` the compounded return, and `compounding` the difference
    /// between that and the summed parts (the interaction of the sessions' returns), so the
    /// parts still sum to `total`. `None` when `parts` is empty or their factor counts disagree.
    pub fn sum(parts: &[Attribution]) -> Option<Attribution> {
        let k = parts.first()?.by_factor.len();
        if parts.iter().any(|p| p.by_factor.len() != k) {
            return None;
        }
        let add = |f: fn(&Attribution) -> f64| parts.iter().map(f).sum::<f64>();
        let by_factor = (0..k).map(|j| parts.iter().map(|p| p.by_factor[j]).sum()).collect();
        let (market, sector, style) = (add(|p| p.market), add(|p| p.sector), add(|p| p.style));
        let (specific, trading) = (add(|p| p.specific), add(|p| p.trading));
        let total = parts.iter().fold(1.0, |g, p| g * (1.0 + p.total)) - 1.0;
        let compounding = total - (market + sector + style + specific + trading);
        Some(Attribution {
            market,
            sector,
            style,
            by_factor,
            specific,
            trading,
            compounding,
            total,
            days: parts.iter().map(|p| p.days).sum(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::risk_model::testdata;

    #[test]
    fn a_day_parts_sum_to_the_actual_return() {
        let model = testdata::model();
        let day = model.days.last().unwrap();
        // A book in the regression held all day, with no costs: its return is the weighted sum of
        // its names' returns, which the model explains exactly, so nothing is left for trading.
        let book: Vec<(usize, f64)> =
            day.names.iter().take(10).enumerate().map(|(j, &i)| (i, 0.02 * (j as f64 - 4.5))).collect();
        let returns = testdata::returns();
        let held: f64 = book.iter().map(|&(i, w)| w * returns[i][day.session]).sum();
        let a = attribute(day, &book, held).unwrap();
        assert!((a.explained() - held).abs() < 1e-15, "{a:?}");
        assert!(a.trading.abs() < 1e-15, "the regression explains each name's return: {a:?}");
        let groups = a.by_factor.iter().sum::<f64>();
        assert!((groups - (a.market + a.sector + a.style)).abs() < 1e-15);
        // Costs and intraday trades land in trading, and the parts still sum.
        let actual = held - 0.0007;
        let b = attribute(day, &book, actual).unwrap();
        assert!((b.explained() - actual).abs() < 1e-15 && (b.trading + 0.0007).abs() < 1e-15);
    }

    #[test]
    fn a_name_outside_the_regression_lands_in_trading() {
        let model = testdata::model();
        let day = model.days.last().unwrap();
        let outside = (0..testdata::NAMES).find(|i| day.names.binary_search(i).is_err()).unwrap();
        let a = attribute(day, &[(outside, 0.05)], 0.003).unwrap();
        assert_eq!((a.market, a.sector, a.style, a.specific), (0.0, 0.0, 0.0, 0.0));
        assert_eq!(a.trading, 0.003);
    }

    #[test]
    fn an_inconsistent_fit_is_refused() {
        let mut day = testdata::model().days[0].clone();
        day.sector[0] = 3;
        assert_eq!(attribute(&day, &[(0, 0.1)], 0.0), None, "sector 3 of 3");
        let mut day = testdata::model().days[0].clone();
        day.residuals.pop();
        assert_eq!(attribute(&day, &[(0, 0.1)], 0.0), None, "a residual short");
    }

    #[test]
    fn a_period_is_the_sum_of_its_days_plus_compounding() {
        let model = testdata::model();
        let book = [(2usize, 0.03), (9, -0.02), (14, 0.04)];
        let returns = testdata::returns();
        let days: Vec<Attribution> = model
            .days
            .iter()
            .map(|d| {
                attribute(d, &book, book.iter().map(|&(i, w)| w * returns[i][d.session]).sum::<f64>() + 0.0001).unwrap()
            })
            .collect();
        let p = Attribution::sum(&days).unwrap();
        let compounded = days.iter().fold(1.0, |g, d| g * (1.0 + d.total)) - 1.0;
        assert_eq!(p.total, compounded);
        assert!((p.explained() - p.total).abs() < 1e-15, "{p:?}");
        assert!((p.market - days.iter().map(|d| d.market).sum::<f64>()).abs() < 1e-15);
        assert_eq!(p.days, days.len());
        // Sub-periods sum to the same period.
        let (a, b) = days.split_at(days.len() / 2);
        let halves = Attribution::sum(&[Attribution::sum(a).unwrap(), Attribution::sum(b).unwrap()]).unwrap();
        assert!((halves.total - p.total).abs() < 1e-14 && (halves.explained() - halves.total).abs() < 1e-15);
        assert_eq!(Attribution::sum(&[]), None);
    }
}
