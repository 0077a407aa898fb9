//! End-of-day P&L rows, risk events and the shadow book.

use ae_shared::TradingDay;
use ae_shared::types::Ticker;
use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{EodRow, Ledger, Result, RiskEventRow, ShadowRow, day, ticker};

impl Ledger {
    /// Records (or replaces, on a re-run) a day's P&L row.
    pub fn record_eod(&self, r: &EodRow, now: DateTime<Utc>) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO eod_pnl (date, nav, cash, daily_return, benchmark_close, benchmark_return, alpha, realized_pnl, unrealized_pnl, commission, traded_notional, positions, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    r.date.to_string(), r.nav, r.cash, r.daily_return, r.benchmark_close, r.benchmark_return, r.alpha,
                    r.realized_pnl, r.unrealized_pnl, r.commission, r.traded_notional, r.positions, now.to_rfc3339()
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Every P&L row, oldest first.
    pub fn eod_history(&self) -> Result<Vec<EodRow>> {
        let mut st = self
            .conn
            .prepare("SELECT date, nav, cash, daily_return, benchmark_close, benchmark_return, alpha, realized_pnl, unrealized_pnl, commission, traded_notional, positions FROM eod_pnl ORDER BY date")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok(EodRow {
                    date: day(r.get(0)?)?,
                    nav: r.get(1)?,
                    cash: r.get(2)?,
                    daily_return: r.get(3)?,
                    benchmark_close: r.get(4)?,
                    benchmark_return: r.get(5)?,
                    alpha: r.get(6)?,
                    realized_pnl: r.get(7)?,
                    unrealized_pnl: r.get(8)?,
                    commission: r.get(9)?,
                    traded_notional: r.get(10)?,
                    positions: r.get(11)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }

    /// Highest end-of-day NAV before `date` (the starting cash when there is none).
    pub fn peak_nav_before(&self, date: TradingDay) -> Result<f64> {
        let start = self.inception()?.map(|i| i.starting_cash).unwrap_or(0.0);
        let peak: Option<f64> = self
            .conn
            .query_row("SELECT MAX(nav) FROM eod_pnl WHERE date < ?1", [date.to_string()], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        Ok(peak.unwrap_or(start).max(start))
    }

    /// The last P&L row before `date`.
    pub fn eod_before(&self, date: TradingDay) -> Result<Option<EodRow>> {
        Ok(self.eod_history()?.into_iter().rev().find(|r| r.date < date))
    }

    // --- risk events, shadow book, audit -------------------------------------------------

    /// Records a risk event (once per day, source, rule and symbol).
    pub fn record_risk_event(&self, e: &RiskEventRow) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO risk_events (date, source, rule, ticker, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![e.date.to_string(), e.source, e.rule, e.ticker.as_ref().map(Ticker::as_str), e.detail],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Risk events of a day.
    pub fn risk_events_on(&self, date: TradingDay) -> Result<Vec<RiskEventRow>> {
        let mut st = self
            .conn
            .prepare("SELECT date, source, rule, ticker, detail FROM risk_events WHERE date = ?1 ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([date.to_string()], |r| {
                Ok(RiskEventRow {
                    date: day(r.get(0)?)?,
                    source: r.get(1)?,
                    rule: r.get(2)?,
                    ticker: r.get::<_, Option<String>>(3)?.map(ticker).transpose()?,
                    detail: r.get(4)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }

    /// Records a blocked entry in the shadow book.
    pub fn record_shadow(&self, s: &ShadowRow) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO shadow_book (date, ticker, rule, reason, intended_shares, intended_usd, reference_price) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![s.date.to_string(), s.ticker.as_str(), s.rule, s.reason, s.intended_shares, s.intended_usd, s.reference_price],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Shadow-book rows of a day.
    pub fn shadow_on(&self, date: TradingDay) -> Result<Vec<ShadowRow>> {
        let mut st = self
            .conn
            .prepare("SELECT date, ticker, rule, reason, intended_shares, intended_usd, reference_price FROM shadow_book WHERE date = ?1 ORDER BY ticker")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([date.to_string()], |r| {
                Ok(ShadowRow {
                    date: day(r.get(0)?)?,
                    ticker: ticker(r.get(1)?)?,
                    rule: r.get(2)?,
                    reason: r.get(3)?,
                    intended_shares: r.get(4)?,
                    intended_usd: r.get(5)?,

                    reference_price: r.get(6)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }

    /// Risk events recorded after the one numbered `after` (0: all), with their numbers, oldest
    /// first — what an alert pump has not looked at yet.
    pub fn risk_events_after(&self, after: i64) -> Result<Vec<(i64, RiskEventRow)>> {
        let mut st = self
            .conn
            .prepare("SELECT id, date, source, rule, ticker, detail FROM risk_events WHERE id > ?1 ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([after], |r| {
                Ok((
                    r.get(0)?,
                    RiskEventRow {
                        date: day(r.get(1)?)?,
                        source: r.get(2)?,
                        rule: r.get(3)?,
                        ticker: r.get::<_, Option<String>>(4)?.map(ticker).transpose()?,
                        detail: r.get(5)?,
                    },
                ))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }

    /// The number of the newest risk event (0 when there is none).
    pub fn last_risk_event_id(&self) -> Result<i64> {
        self.conn.query_row("SELECT COALESCE(MAX(id), 0) FROM risk_events", [], |r| r.get(0)).map_err(|e| self.err(e))
    }
}
