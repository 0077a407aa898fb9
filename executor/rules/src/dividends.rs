//! Cash dividends as money, the one rule for the ledger, the paper broker, the TWS-protocol
//! gateway and the backtester: a dividend going ex today accrues on the shares held at today's
//! open (held at the previous close), and the accrual is paid into cash on its pay date. Between
//! the two it is a receivable that counts in NAV (as a broker's net liquidation counts it), so
//! returns are total returns from the ex-date on.

use ae_core::types::Ticker;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A cash dividend announced for a symbol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DividendEvent {
    /// Symbol.
    pub ticker: Ticker,
    /// Ex-dividend date.
    pub ex_date: NaiveDate,
    /// Pay date (on or after the ex-date).
    pub pay_date: NaiveDate,
    /// Dollars per share.
    pub per_share: f64,
}

/// A dividend owed on shares held at an ex-date's open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accrual {
    /// Symbol.
    pub ticker: Ticker,
    /// Ex-dividend date.
    pub ex_date: NaiveDate,
    /// Pay date.
    pub pay_date: NaiveDate,
    /// Shares held at the ex-date's open.
    pub shares: u32,
    /// Dollars owed.
    pub amount: f64,
}

/// The accruals of the dividends going ex on `today`, on the shares `held_at_open` reports (names
/// not held accrue nothing; an amount that is not money accrues nothing).
pub fn accrue(today: NaiveDate, held_at_open: impl Fn(&Ticker) -> u32, events: &[DividendEvent]) -> Vec<Accrual> {
    events
        .iter()
        .filter(|e| e.ex_date == today && e.per_share.is_finite() && e.per_share > 0.0)
        .filter_map(|e| {
            let shares = held_at_open(&e.ticker);
            (shares > 0).then(|| Accrual {
                ticker: e.ticker.clone(),
                ex_date: e.ex_date,
                pay_date: e.pay_date.max(e.ex_date),
                shares,
                amount: shares as f64 * e.per_share,
            })
        })
        .collect()
}

/// Whether an accrual is paid on `today` (its pay date has come).
pub fn is_payable(a: &Accrual, today: NaiveDate) -> bool {
    a.pay_date <= today
}

/// One day's dividends for a book that keeps its accruals in memory (the gateway's book, the
/// backtester): accrues those going ex on `today` on `held_at_open` (once per symbol and ex-date),
/// then takes out of `accrued` every accrual payable today. Returns the dollars to credit to cash.
pub fn settle(
    today: NaiveDate,
    held_at_open: impl Fn(&Ticker) -> u32,
    events: &[DividendEvent],
    accrued: &mut Vec<Accrual>,
) -> f64 {
    for a in accrue(today, held_at_open, events) {
        if !accrued.iter().any(|x| x.ticker == a.ticker && x.ex_date == a.ex_date) {
            accrued.push(a);
        }
    }
    let mut paid = 0.0;
    accrued.retain(|a| {
        let due = is_payable(a, today);
        if due {
            paid += a.amount;
        }
        !due
    });
    paid
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn t(s: &str) -> Ticker {
        Ticker::new(s).unwrap()
    }

    #[test]
    fn a_dividend_accrues_on_the_shares_held_at_the_ex_date_open_and_is_paid_on_its_pay_date() {
        let events = [
            DividendEvent { ticker: t("AAA"), ex_date: d("2010-06-09"), pay_date: d("2010-06-16"), per_share: 0.25 },
            DividendEvent { ticker: t("BBB"), ex_date: d("2010-06-09"), pay_date: d("2010-06-16"), per_share: 0.10 },
            DividendEvent { ticker: t("CCC"), ex_date: d("2010-06-10"), pay_date: d("2010-06-16"), per_share: 0.50 },
            DividendEvent {
                ticker: t("DDD"),
                ex_date: d("2010-06-09"),
                pay_date: d("2010-06-01"),
                per_share: f64::NAN,
            },
        ];
        let held = |x: &Ticker| match x.as_str() {
            "AAA" => 400,
            "CCC" => 100,
            _ => 0,
        };
        let a = accrue(d("2010-06-09"), held, &events);
        // TC1: held at the open, going ex today: 400 × 0.25. TC2: not held: nothing. TC3: ex
        // tomorrow: not yet. TC4: not money: nothing.
        assert_eq!(a.len(), 1);
        assert_eq!((a[0].shares, a[0].amount), (400, 100.0));
        assert!(!is_payable(&a[0], d("2010-06-15")));
        assert!(is_payable(&a[0], d("2010-06-16")));
        // Settling day by day: accrued once on the ex-date (a restarted day adds nothing), paid once.
        let mut book = Vec::new();
        assert_eq!(settle(d("2010-06-09"), held, &events, &mut book), 0.0);
        assert_eq!(settle(d("2010-06-09"), held, &events, &mut book), 0.0);
        assert_eq!(book.len(), 1);
        assert_eq!(settle(d("2010-06-10"), held, &events, &mut book), 0.0);
        assert_eq!(book.len(), 2, "CCC goes ex on the 10th");
        assert_eq!(settle(d("2010-06-16"), held, &events, &mut book), 150.0);
        assert!(book.is_empty());
    }
}
