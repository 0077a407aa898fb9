//! Point-in-time fundamentals from XBRL company facts and Form 4 filings.
//!
//! Only facts **filed on or before `as_of`** are used, and for each period the latest such filing
//! wins (so a later restatement is not seen early). The anchor is the latest fiscal year (a
//! 350–380 day duration) known by `as_of`; balance-sheet values are taken at that year's end and
//! the previous one. Concept names vary by filer and era, so each measure tries a list.
//!
//! - value: earnings yield (net income / market cap), book / price, sales / price;
//! - quality: ROE, gross margin, Piotroski F (all nine tests, else none), Altman Z (all inputs, else none);
//! - growth: revenue and diluted EPS, year on year;
//! - insider: distinct open-market buyers minus sellers over 90 days; buyers over 30 days.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::Serialize;

use crate::providers::form4::InsiderTransaction;
use crate::providers::sec::{CompanyFacts, Fact};

const REVENUE: &[&str] =
    &["Revenues", "SalesRevenueNet", "RevenueFromContractWithCustomerExcludingAssessedTax", "SalesRevenueGoodsNet"];
const NET_INCOME: &[&str] = &["NetIncomeLoss", "ProfitLoss"];
const CFO: &[&str] = &["NetCashProvidedByUsedInOperatingActivities"];
const GROSS_PROFIT: &[&str] = &["GrossProfit"];
const EBIT: &[&str] = &["OperatingIncomeLoss"];
const ASSETS: &[&str] = &["Assets"];
const LIABILITIES: &[&str] = &["Liabilities"];
const EQUITY: &[&str] =
    &["StockholdersEquity", "StockholdersEquityIncludingPortionAttributableToNoncontrollingInterest"];
const CURRENT_ASSETS: &[&str] = &["AssetsCurrent"];
const CURRENT_LIABILITIES: &[&str] = &["LiabilitiesCurrent"];
const LONG_TERM_DEBT: &[&str] = &["LongTermDebtNoncurrent", "LongTermDebt"];
const RETAINED: &[&str] = &["RetainedEarningsAccumulatedDeficit"];
const SHARES: &[&str] = &["CommonStockSharesOutstanding"];
const EPS: &[&str] = &["EarningsPerShareDiluted"];

/// One company's fundamentals as known on a day.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Fundamentals {
    /// Fiscal year end the annual figures describe.
    pub fiscal_year_end: Option<NaiveDate>,
    /// Net income / market cap.
    pub earnings_yield: Option<f64>,
    /// Equity / market cap.
    pub book_to_price: Option<f64>,
    /// Revenue / market cap.
    pub sales_to_price: Option<f64>,
    /// Net income / equity.
    pub roe: Option<f64>,
    /// Gross profit / revenue.
    pub gross_margin: Option<f64>,
    /// Piotroski F-score, 0..=9.
    pub piotroski_f: Option<u8>,
    /// Altman Z-score.
    pub altman_z: Option<f64>,
    /// Revenue growth, year on year.
    pub revenue_growth: Option<f64>,
    /// Diluted EPS growth, year on year (when last year's EPS was positive).
    pub eps_growth: Option<f64>,
    /// Distinct open-market buyers minus sellers over 90 days.
    pub insider_net_buyers_90d: Option<i32>,
    /// Distinct open-market buyers over 30 days.
    pub insider_buyers_30d: Option<u32>,
}

fn known(facts: &[Fact], as_of: NaiveDate) -> impl Iterator<Item = &Fact> {
    facts.iter().filter(move |f| f.filed <= as_of)
}

fn is_year(f: &Fact) -> bool {
    f.start.is_some_and(|s| (350..=380).contains(&(f.end - s).num_days()))
}

/// The latest-filed value (by `as_of`) of the period ending near `end` (±20 days).
fn at_end(facts: Option<&[Fact]>, end: NaiveDate, as_of: NaiveDate, annual: bool) -> Option<f64> {
    near(facts, end, as_of, annual, 20)
}

/// Like [`at_end`] with a wider window (cover-page share counts are dated weeks after the year end).
fn near(facts: Option<&[Fact]>, end: NaiveDate, as_of: NaiveDate, annual: bool, days: i64) -> Option<f64> {
    known(facts?, as_of)
        .filter(|f| (f.end - end).num_days().abs() <= days && (!annual || is_year(f)) && (annual || f.start.is_none()))
        .max_by_key(|f| (f.filed, f.end))
        .map(|f| f.val)
}

fn year_before(d: NaiveDate) -> NaiveDate {
    d - chrono::Duration::days(365)
}

/// Fundamentals of one company as of `as_of`, with the market cap from `price` (as traded on `as_of`).
pub fn from_facts(facts: &CompanyFacts, as_of: NaiveDate, price: f64) -> Fundamentals {
    let g = |c: &[&str], unit: &str| facts.series("us-gaap", c, unit);
    let revenue = g(REVENUE, "USD");
    let ni = g(NET_INCOME, "USD");
    // Anchor: the latest annual period known by as_of, from revenue or net income.
    let anchor =
        [revenue, ni].into_iter().flatten().flat_map(|s| known(s, as_of).filter(|f| is_year(f)).map(|f| f.end)).max();
    let Some(end) = anchor else { return Fundamentals::default() };
    let prev = year_before(end);
    let annual = |c: &[&str], e| at_end(g(c, "USD"), e, as_of, true);
    let instant = |c: &[&str], e| at_end(g(c, "USD"), e, as_of, false);
    let (rev, rev0) = (annual(REVENUE, end), annual(REVENUE, prev));
    let (inc, inc0) = (annual(NET_INCOME, end), annual(NET_INCOME, prev));
    let (cfo, gp, gp0, ebit) =
        (annual(CFO, end), annual(GROSS_PROFIT, end), annual(GROSS_PROFIT, prev), annual(EBIT, end));
    let (assets, assets0) = (instant(ASSETS, end), instant(ASSETS, prev));
    let liabilities = instant(LIABILITIES, end);
    let equity = instant(EQUITY, end);
    let (ca, cl, ca0, cl0) = (
        instant(CURRENT_ASSETS, end),
        instant(CURRENT_LIABILITIES, end),
        instant(CURRENT_ASSETS, prev),
        instant(CURRENT_LIABILITIES, prev),
    );
    let retained = instant(RETAINED, end);
    // No long-term debt reported means none (Apple in 2009–2010).
    let ltd = instant(LONG_TERM_DEBT, end).unwrap_or(0.0);
    let ltd0 = instant(LONG_TERM_DEBT, prev).unwrap_or(0.0);
    // Market cap from the most recent share count known (the cover page's, usually); the dilution
    // test compares balance-sheet share counts at the two year ends.
    let cover = facts.series("dei", &["EntityCommonStockSharesOutstanding"], "shares");
    let balance = g(SHARES, "shares");
    let latest_shares = [cover, balance]
        .into_iter()
        .flatten()
        .flat_map(|s| known(s, as_of))
        .max_by_key(|f| (f.end, f.filed))
        .map(|f| f.val);
    let shares_at = |e| near(balance, e, as_of, false, 20).or_else(|| near(cover, e, as_of, false, 75));
    let eps = at_end(g(EPS, "USD/shares"), end, as_of, true);
    let eps0 = at_end(g(EPS, "USD/shares"), prev, as_of, true);
    let mcap = latest_shares.filter(|s| *s > 0.0 && price > 0.0).map(|s| s * price);
    let div = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b.abs() > 0.0 => Some(a / b),
        _ => None,
    };
    let piotroski = (|| {
        let (rev, rev0, inc, inc0, cfo, a, a0) = (rev?, rev0?, inc?, inc0?, cfo?, assets?, assets0?);
        let (gp, gp0, ca, cl, ca0, cl0) = (gp?, gp0?, ca?, cl?, ca0?, cl0?);
        let (sh, sh0) = (shares_at(end)?, shares_at(prev)?);
        let tests = [
            inc / a > 0.0,
            cfo > 0.0,
            inc / a > inc0 / a0,
            cfo > inc,
            ltd / a <= ltd0 / a0,
            ca / cl > ca0 / cl0,
            sh <= sh0,
            gp / rev > gp0 / rev0,
            rev / a > rev0 / a0,
        ];
        Some(tests.iter().filter(|t| **t).count() as u8)
    })();
    let altman = (|| {
        let (a, tl) = (assets?, liabilities?);
        Some(1.2 * (ca? - cl?) / a + 1.4 * retained? / a + 3.3 * ebit? / a + 0.6 * mcap? / tl + 1.0 * rev? / a)
    })();
    Fundamentals {
        fiscal_year_end: Some(end),
        earnings_yield: div(inc, mcap),
        book_to_price: div(equity, mcap),
        sales_to_price: div(rev, mcap),
        roe: div(inc, equity).filter(|_| equity.is_some_and(|e| e > 0.0)),
        gross_margin: div(gp, rev),
        piotroski_f: piotroski,
        altman_z: altman,
        revenue_growth: div(rev, rev0).map(|r| r - 1.0),
        eps_growth: match (eps, eps0) {
            (Some(e), Some(e0)) if e0 > 0.0 => Some(e / e0 - 1.0),
            _ => None,
        },
        insider_net_buyers_90d: None,
        insider_buyers_30d: None,
    }
}

/// Adds insider activity (open-market purchases `P` and sales `S` known by `as_of`).
pub fn with_insiders(mut f: Fundamentals, txs: &[InsiderTransaction], as_of: NaiveDate) -> Fundamentals {
    let within = |t: &&InsiderTransaction, days: i64| t.filed_or_traded <= as_of && (as_of - t.date).num_days() <= days;
    let buyers90: BTreeSet<&str> =
        txs.iter().filter(|t| t.code == "P" && within(t, 90)).map(|t| t.owner.as_str()).collect();
    let sellers90: BTreeSet<&str> =
        txs.iter().filter(|t| t.code == "S" && within(t, 90)).map(|t| t.owner.as_str()).collect();
    let buyers30: BTreeSet<&str> =
        txs.iter().filter(|t| t.code == "P" && within(t, 30)).map(|t| t.owner.as_str()).collect();
    f.insider_net_buyers_90d = Some(buyers90.len() as i32 - sellers90.len() as i32);
    f.insider_buyers_30d = Some(buyers30.len() as u32);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(start: Option<&str>, end: &str, val: f64, filed: &str) -> Fact {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        Fact { start: start.map(d), end: d(end), val, form: "10-K".into(), filed: d(filed), fp: Some("FY".into()) }
    }

    #[test]
    fn a_restatement_is_not_seen_before_it_is_filed() {
        let facts = vec![
            fact(Some("2008-09-28"), "2009-09-26", 36.5e9, "2009-10-27"),
            fact(Some("2008-09-28"), "2009-09-26", 42.9e9, "2010-01-25"),
        ];
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let end = d("2009-09-26");
        assert_eq!(at_end(Some(&facts), end, d("2009-12-01"), true), Some(36.5e9));
        assert_eq!(at_end(Some(&facts), end, d("2010-02-01"), true), Some(42.9e9));
        assert_eq!(at_end(Some(&facts), end, d("2009-10-01"), true), None, "not filed yet");
    }
}
