//! Corporate actions from the vendor's reference data: cash dividends (`prices/dividends.json`,
//! money that reaches cash on the pay date) and announced splits, checked against the splits the
//! store detects in the prices (the detector stays what adjusts prices; a disagreement is
//! reported).
//!
//! The dividends file only grows: a nightly update merges what the vendor announced, keyed by
//! (symbol, ex-date), with a conditional write, so a re-run or two racing writers converge.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::splits::Split;
use crate::bus::{Bus, BusError, PutMode, keys};
use crate::calendar::TradingDay;
use crate::types::Ticker;

/// A cash dividend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dividend {
    /// Symbol.
    pub ticker: Ticker,
    /// Ex-dividend date: holders at the close of the session before it are paid.
    pub ex_date: NaiveDate,
    /// Pay date: cash arrives (the ex-date when the vendor gives none).
    pub pay_date: NaiveDate,
    /// Dollars per share, on the share basis of the ex-date.
    pub cash_amount: f64,
    /// When it was declared, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared: Option<NaiveDate>,
}

/// `prices/dividends.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct DividendsDoc {
    /// Format version.
    pub schema_version: u32,
    /// The last session an update merged.
    #[serde(default)]
    pub as_of: Option<TradingDay>,
    /// Every dividend known, by symbol then ex-date.
    pub dividends: Vec<Dividend>,
}

impl DividendsDoc {
    /// Merges `new` (keyed by symbol and ex-date; a vendor correction of an amount or a pay date
    /// replaces the old record); returns how many records were added or changed.
    pub fn merge(&mut self, new: impl IntoIterator<Item = Dividend>) -> usize {
        let mut by_key: BTreeMap<(Ticker, NaiveDate), Dividend> =
            self.dividends.drain(..).map(|d| ((d.ticker.clone(), d.ex_date), d)).collect();
        let mut changed = 0;
        for d in new {
            if !(d.cash_amount.is_finite() && d.cash_amount > 0.0) {
                continue;
            }
            let k = (d.ticker.clone(), d.ex_date);
            if by_key.get(&k) != Some(&d) {
                changed += 1;
                by_key.insert(k, d);
            }
        }
        self.dividends = by_key.into_values().collect();
        changed
    }

    /// Dividends whose ex-date is `date`.
    pub fn going_ex(&self, date: NaiveDate) -> impl Iterator<Item = &Dividend> {
        self.dividends.iter().filter(move |d| d.ex_date == date)
    }

    /// Dividends of `ticker` with an ex-date in `[from, to]`.
    pub fn of(&self, ticker: &Ticker, from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = &Dividend> {
        self.dividends.iter().filter(move |d| &d.ticker == ticker && d.ex_date >= from && d.ex_date <= to)
    }
}

/// The dividends on the bus (empty when the store has none yet).
pub async fn load_dividends(bus: &Bus) -> Result<DividendsDoc, BusError> {
    Ok(bus.get_json::<DividendsDoc>(&keys::dividends()).await?.map(|(d, _)| d).unwrap_or_default())
}

/// Merges `new` into the dividends on the bus (a conditional write, retried on a lost race);
/// returns how many records were added or changed.
pub async fn merge_dividends(bus: &Bus, new: Vec<Dividend>, as_of: TradingDay) -> Result<usize, BusError> {
    let key = keys::dividends();
    for _ in 0..16 {
        let current = bus.get(&key).await?;
        let (mut doc, mode) = match &current {
            Some(obj) => (
                serde_json::from_slice::<DividendsDoc>(&obj.bytes)
                    .map_err(|e| BusError::Decode { key: key.to_string(), detail: e.to_string() })?,
                obj.etag.clone().map(PutMode::IfMatch).unwrap_or(PutMode::Overwrite),
            ),
            None => (DividendsDoc { schema_version: 1, ..Default::default() }, PutMode::IfAbsent),
        };
        let changed = doc.merge(new.clone());
        if changed == 0 && doc.as_of.is_some_and(|d| d >= as_of) {
            return Ok(0);
        }
        doc.as_of = Some(doc.as_of.map_or(as_of, |d| d.max(as_of)));
        let bytes = serde_json::to_vec_pretty(&doc).expect("dividends serialize");
        match bus.put(&key, bytes, mode).await {
            Ok(_) => return Ok(changed),
            Err(BusError::PreconditionFailed { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(BusError::PreconditionFailed { key: key.to_string() })
}

/// A split the vendor announced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VendorSplit {
    /// Symbol.
    pub ticker: Ticker,
    /// First session on the new basis.
    pub date: NaiveDate,
    /// New shares per old share (`split_to / split_from`).
    pub ratio: f64,
}

/// The vendor's splits against the detected ones over the sessions `[from, to]`: a vendor split the
/// prices do not show, or a detected split the vendor does not list, each described.
pub fn split_disagreements(vendor: &[VendorSplit], detected: &[Split], from: NaiveDate, to: NaiveDate) -> Vec<String> {
    let mut out = Vec::new();
    let within = |d: NaiveDate| d >= from && d <= to;
    for v in vendor.iter().filter(|v| within(v.date)) {
        let found = detected.iter().find(|s| s.ticker == v.ticker && s.date.date() == v.date);
        match found {
            Some(s) if (s.ratio / v.ratio - 1.0).abs() < 0.02 => {}
            Some(s) => out.push(format!(
                "{} {}: the vendor announces a ratio of {:.4}, the prices show {:.4} ({})",
                v.ticker, v.date, v.ratio, s.ratio, s.label
            )),
            None => out.push(format!(
                "{} {}: the vendor announces a split of {:.4} the prices do not show (no adjustment made)",
                v.ticker, v.date, v.ratio
            )),
        }
    }
    for s in detected.iter().filter(|s| within(s.date.date())) {
        if !vendor.iter().any(|v| v.ticker == s.ticker && v.date == s.date.date()) {
            out.push(format!("{} {}: the prices show a {} split the vendor does not list", s.ticker, s.date, s.label));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn div(t: &str, ex: &str, amount: f64) -> Dividend {
        Dividend {
            ticker: Ticker::new(t).unwrap(),
            ex_date: d(ex),
            pay_date: d(ex),
            cash_amount: amount,
            declared: None,
        }
    }

    #[test]
    fn merging_is_keyed_by_symbol_and_ex_date_and_idempotent() {
        let mut doc = DividendsDoc::default();
        assert_eq!(doc.merge([div("AAA", "2010-06-10", 0.5), div("BBB", "2010-06-10", 0.2)]), 2);
        assert_eq!(doc.merge([div("AAA", "2010-06-10", 0.5)]), 0, "a re-run adds nothing");
        assert_eq!(doc.merge([div("AAA", "2010-06-10", 0.55)]), 1, "a correction replaces");
        assert_eq!(doc.merge([div("CCC", "2010-06-11", f64::NAN), div("CCC", "2010-06-11", -1.0)]), 0, "not money");
        assert_eq!(doc.dividends.len(), 2);
        assert_eq!(doc.going_ex(d("2010-06-10")).count(), 2);
    }
}
