//! Cash dividends in the ledger's books: accrued on the shares held at an ex-date's open, paid
//! into cash on the pay date, by the one rule in [`ae_rules::dividends`] the paper broker, the
//! gateway and the backtester also use. Both steps are idempotent (keyed by symbol and ex-date),
//! so a restarted day never accrues or pays twice.

use ae_rules::dividends::{self, Accrual, DividendEvent};
use ae_shared::TradingDay;
use ae_shared::types::Ticker;
use chrono::NaiveDate;
use rusqlite::params;
use serde::Serialize;

use super::{Ledger, LedgerError, Result};

/// A dividend as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DividendRow {
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
    /// When it reached cash.
    pub paid_on: Option<NaiveDate>,
}

fn day(s: String) -> rusqlite::Result<NaiveDate> {
    NaiveDate::parse_from_str(&s, "%Y-%m-%d")
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

impl Ledger {
    /// Accrues the dividends going ex on `today` on the positions held now (call it at the start
    /// of the day, before any of the day's fills); returns the accruals that are new.
    pub fn accrue_dividends(&mut self, today: TradingDay, events: &[DividendEvent]) -> Result<Vec<Accrual>> {
        let held: std::collections::BTreeMap<Ticker, u32> =
            self.positions()?.into_iter().map(|p| (p.ticker, p.shares)).collect();
        let accruals = dividends::accrue(today.date(), |t| held.get(t).copied().unwrap_or(0), events);
        let path = self.path.clone();
        let e = |source| LedgerError::Sqlite { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(e)?;
        let mut fresh = Vec::new();
        for a in accruals {
            let n = tx
                .execute(
                    "INSERT OR IGNORE INTO dividends (ticker, ex_date, pay_date, shares, amount) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![a.ticker.as_str(), a.ex_date.to_string(), a.pay_date.to_string(), a.shares, a.amount],
                )
                .map_err(e)?;
            if n == 1 {
                fresh.push(a);
            }
        }
        tx.commit().map_err(e)?;
        Ok(fresh)
    }

    /// Pays every accrued dividend whose pay date has come into cash; returns the dollars paid.
    pub fn pay_dividends(&mut self, today: TradingDay) -> Result<f64> {
        let path = self.path.clone();
        let e = |source| LedgerError::Sqlite { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(e)?;
        let due: f64 = tx
            .query_row(
                "SELECT COALESCE(SUM(amount), 0) FROM dividends WHERE paid_on IS NULL AND pay_date <= ?1",
                [today.to_string()],
                |r| r.get(0),
            )
            .map_err(e)?;
        if due > 0.0 {
            tx.execute("UPDATE account SET cash = cash + ?1 WHERE id = 1", [due]).map_err(e)?;
        }
        tx.execute("UPDATE dividends SET paid_on = ?1 WHERE paid_on IS NULL AND pay_date <= ?1", [today.to_string()])
            .map_err(e)?;
        tx.commit().map_err(e)?;
        Ok(due)
    }

    /// Dividends accrued and not yet paid (they count in NAV, as a broker's net liquidation
    /// counts them).
    pub fn dividend_receivable(&self) -> Result<f64> {
        self.conn
            .query_row("SELECT COALESCE(SUM(amount), 0) FROM dividends WHERE paid_on IS NULL", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Dividends that went ex or were paid on `date`.
    pub fn dividends_on(&self, date: TradingDay) -> Result<Vec<DividendRow>> {
        self.dividend_rows("WHERE ex_date = ?1 OR paid_on = ?1", Some(date))
    }

    /// Dividends accrued and not yet paid, as the accruals a broker carries (the receivable a
    /// gateway opened from the ledger starts with).
    pub fn unpaid_accruals(&self) -> Result<Vec<Accrual>> {
        Ok(self
            .dividend_rows("WHERE paid_on IS NULL", None)?
            .into_iter()
            .map(|d| Accrual {
                ticker: d.ticker,
                ex_date: d.ex_date,
                pay_date: d.pay_date,
                shares: d.shares,
                amount: d.amount,
            })
            .collect())
    }

    fn dividend_rows(&self, filter: &str, date: Option<TradingDay>) -> Result<Vec<DividendRow>> {
        let sql = format!(
            "SELECT ticker, ex_date, pay_date, shares, amount, paid_on FROM dividends {filter} ORDER BY ex_date, ticker"
        );
        let mut st = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let map = |r: &rusqlite::Row<'_>| -> rusqlite::Result<Option<DividendRow>> {
            let t: String = r.get(0)?;
            let Ok(ticker) = Ticker::new(&t) else { return Ok(None) };
            let paid: Option<String> = r.get(5)?;
            Ok(Some(DividendRow {
                ticker,
                ex_date: day(r.get(1)?)?,
                pay_date: day(r.get(2)?)?,
                shares: r.get(3)?,
                amount: r.get(4)?,
                paid_on: paid.map(day).transpose()?,
            }))
        };
        let rows = match date {
            Some(d) => st.query_map([d.to_string()], map),
            None => st.query_map([], map),
        }
        .map_err(|e| self.err(e))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(|e| self.err(e))?;
        Ok(rows.into_iter().flatten().collect())
    }
}
