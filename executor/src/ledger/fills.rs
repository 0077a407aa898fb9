//! Executions, positions and cash. **The broker's executions are facts**: every one is booked,
//! once (by its execution id), whatever the ledger expected:
//! - an execution of an order the ledger knows moves that order through the lifecycle table,
//!   including a late fill after a cancel or the close's expiry;
//! - an execution of an order the ledger does not know (another client's, a mismatched side or
//!   symbol) becomes an external order of its own;
//! - shares beyond an order's size go to an external order too, so filled never exceeds ordered;
//! - a sell beyond the ledger's position is booked and the position floors at zero.
//!
//! Each surprise is recorded as a risk event in the same transaction, for the operator.

use ae_rules::Reason;
use ae_rules::lifecycle::{OrderState, fill_event};
use ae_shared::TradingDay;
use ae_shared::contracts::common::Side;
use ae_shared::types::Ticker;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};

use super::orders::{ORDER_COLS, order_row};
use super::{EXTERNAL_INTENT, Fill, Ledger, LedgerError, OrderRow, PositionRow, Result, day, side, side_str, ticker};

/// What booking an execution did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Booked {
    /// False when the execution was already booked (nothing changed).
    pub new: bool,
    /// The surprises it brought, as risk-event rule codes with details (also recorded).
    pub notes: Vec<(Reason, String)>,
}

/// The id of the external order an execution books to when no recorded order takes it.
pub fn external_order_id(exec_id: &str) -> String {
    format!("EXT:{exec_id}")
}

fn note(tx: &Transaction<'_>, f: &Fill, rule: Reason, detail: &str) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR IGNORE INTO risk_events (date, source, rule, ticker, detail) VALUES (?1, 'reconcile', ?2, ?3, ?4)",
        params![f.date.to_string(), rule.code(), f.ticker.as_str(), detail],
    )?;
    Ok(())
}

/// Applies `shares` of an execution to the position and cash; returns the realized P&L of a sell
/// and whether it sold beyond the ledger's position.
fn move_position(
    tx: &Transaction<'_>,
    f: &Fill,
    shares: u32,
    commission: f64,
    sector: Option<&str>,
    reasons: &str,
) -> rusqlite::Result<(Option<f64>, Option<u32>)> {
    let pos: Option<(u32, f64)> = tx
        .query_row("SELECT shares, avg_cost FROM positions WHERE ticker = ?1", [f.ticker.as_str()], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let notional = shares as f64 * f.price;
    match f.side {
        Side::Buy => {
            let (held, cost) = pos.unwrap_or((0, 0.0));
            let new_shares = held + shares;
            let avg = (held as f64 * cost + notional) / new_shares as f64;
            if pos.is_some() {
                tx.execute(
                    "UPDATE positions SET shares = ?2, avg_cost = ?3 WHERE ticker = ?1",
                    params![f.ticker.as_str(), new_shares, avg],
                )?;
            } else {
                tx.execute(
                    "INSERT INTO positions (ticker, sector, shares, avg_cost, entry_date, high_water) VALUES (?1, ?2, ?3, ?4, ?5, ?4)",
                    params![f.ticker.as_str(), sector, new_shares, avg, f.date.to_string()],
                )?;
            }
            tx.execute("UPDATE account SET cash = cash - ?1 WHERE id = 1", [notional + commission])?;
            Ok((None, None))
        }
        Side::Sell => {
            let (held, cost) = pos.unwrap_or((0, f.price));
            let covered = shares.min(held);
            let beyond = (shares > held).then(|| shares - held);
            let left = held - covered;
            if pos.is_some() && left == 0 {
                tx.execute("DELETE FROM positions WHERE ticker = ?1", [f.ticker.as_str()])?;
            } else if pos.is_some() {
                let flag = if reasons.contains("\"PROFIT_TAKE\"") || reasons.contains("\"INTRADAY_PROFIT_HALF\"") {
                    ", profit_taken = 1"
                } else if reasons.contains("\"TIME_DECAY_REDUCE\"") {
                    ", decay_reduced = 1"
                } else {
                    ""
                };
                tx.execute(
                    &format!("UPDATE positions SET shares = ?2{flag} WHERE ticker = ?1"),
                    params![f.ticker.as_str(), left],
                )?;
            }
            tx.execute("UPDATE account SET cash = cash + ?1 WHERE id = 1", [notional - commission])?;
            // Realized on the shares the ledger held; shares beyond them have no known cost.
            Ok((Some((f.price - cost) * covered as f64 - commission), beyond))
        }
    }
}

fn insert_external(tx: &Transaction<'_>, f: &Fill, shares: u32, why: &str, now: &str) -> rusqlite::Result<String> {
    let id = external_order_id(&f.exec_id);
    tx.execute(
        "INSERT OR IGNORE INTO orders (id, date, ticker, side, intent, shares, order_type, reasons, state, filled_shares, avg_fill_price, detail, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'MKT', ?7, 'filled', ?6, ?8, ?9, ?10, ?10)",
        params![
            id,
            f.date.to_string(),
            f.ticker.as_str(),
            side_str(f.side),
            EXTERNAL_INTENT,
            shares,
            format!("[\"{}\"]", Reason::ExternalExecution.code()),
            f.price,
            why,
            now,
        ],
    )?;
    Ok(id)
}

impl Ledger {
    /// Books an execution: the order's filled shares and state, the position, cash and realized
    /// P&L, in one transaction. An execution whose id is already booked changes nothing. Never
    /// refuses a fact (see the module doc); the surprises come back in [`Booked::notes`].
    pub fn record_fill(&mut self, f: &Fill, sector: Option<&str>) -> Result<Booked> {
        if !(f.price.is_finite() && f.price > 0.0) || f.shares == 0 {
            return Err(LedgerError::Invariant(format!(
                "execution {} of {} has {} shares at {}: not an execution",
                f.exec_id, f.ticker, f.shares, f.price
            )));
        }
        let path = self.path.clone();
        let e = |source| LedgerError::Sqlite { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(e)?;
        let known: bool = tx
            .query_row("SELECT 1 FROM fills WHERE exec_id = ?1", [&f.exec_id], |_| Ok(true))
            .optional()
            .map_err(e)?
            .unwrap_or(false);
        if known {
            return Ok(Booked::default());
        }
        let mut booked = Booked { new: true, notes: Vec::new() };
        let now = f.at.to_rfc3339();
        let order: Option<OrderRow> = if f.order_id.is_empty() {
            None
        } else {
            tx.query_row(&format!("SELECT {ORDER_COLS} FROM orders WHERE id = ?1"), [&f.order_id], order_row)
                .optional()
                .map_err(e)?
        };
        let order = match order {
            Some(o) if o.side == f.side && o.ticker == f.ticker && !o.is_external() => Some(o),
            Some(o) => {
                booked.notes.push((
                    Reason::ExternalExecution,
                    format!(
                        "execution {} ({:?} {} {}) does not match order {} ({:?} {}): booked as external",
                        f.exec_id, f.side, f.shares, f.ticker, o.id, o.side, o.ticker
                    ),
                ));
                None
            }
            None => {
                booked.notes.push((
                    Reason::ExternalExecution,
                    format!(
                        "execution {} ({:?} {} {} at {:.4}, broker order ref {:?}) of an order the ledger does not know: booked as external",
                        f.exec_id, f.side, f.shares, f.ticker, f.price, f.order_id
                    ),
                ));
                None
            }
        };
        // Split the execution between its order (up to the order's size) and an external part.
        let (own, extra) = match &order {
            Some(o) => {
                let room = o.shares.saturating_sub(o.filled_shares);
                (f.shares.min(room), f.shares.saturating_sub(room))
            }
            None => (0, f.shares),
        };
        let mut realized = 0.0;
        let mut beyond_total = 0;
        let reasons = order.as_ref().map(|o| o.reasons.clone()).unwrap_or_default();
        // Commission goes with the first part booked.
        let mut commission = f.commission;
        if let Some(o) = &order
            && own > 0
        {
            let (r, beyond) = move_position(&tx, f, own, commission, sector, &reasons).map_err(e)?;
            commission = 0.0;
            realized += r.unwrap_or(0.0);
            beyond_total += beyond.unwrap_or(0);
            let filled = o.filled_shares + own;
            let avg_fill =
                (o.avg_fill_price.unwrap_or(0.0) * o.filled_shares as f64 + own as f64 * f.price) / filled as f64;
            let event = fill_event(o.shares, o.filled_shares, own);
            // Every execution is accepted by the table (see `ae_rules::lifecycle`); should a state
            // ever refuse one, the shares are still booked and the state stays.
            let state = o.state.on(event).unwrap_or(o.state);
            if o.state.is_terminal() && o.state != OrderState::Filled {
                booked.notes.push((
                    Reason::LateFill,
                    format!(
                        "execution {} of {own} {} arrived after order {} was {}: booked ({})",
                        f.exec_id, f.ticker, o.id, o.state, state
                    ),
                ));
            }
            tx.execute(
                "UPDATE orders SET filled_shares = ?2, avg_fill_price = ?3, state = ?4, updated_at = ?5 WHERE id = ?1",
                params![o.id, filled, avg_fill, state.as_str(), now],
            )
            .map_err(e)?;
        }
        let own_order_id = order.as_ref().filter(|_| own > 0).map(|o| o.id.clone());
        let mut ext_id = None;
        if extra > 0 {
            if order.is_some() {
                booked.notes.push((
                    Reason::Overfill,
                    format!(
                        "execution {} filled {extra} {} beyond order {}'s size: the excess is booked as external",
                        f.exec_id, f.ticker, f.order_id
                    ),
                ));
            }
            let why = format!("broker execution {} (order ref {:?})", f.exec_id, f.order_id);
            let (r, beyond) = move_position(&tx, f, extra, commission, sector, "").map_err(e)?;
            realized += r.unwrap_or(0.0);
            beyond_total += beyond.unwrap_or(0);
            ext_id = Some(insert_external(&tx, f, extra, &why, &now).map_err(e)?);
        }
        if beyond_total > 0 {
            booked.notes.push((
                Reason::SellBeyondLedger,
                format!(
                    "execution {} sold {beyond_total} {} more than the ledger held: booked; the ledger's position is 0",
                    f.exec_id, f.ticker
                ),
            ));
        }
        // The fills table keys each execution once: it points at its order (or the external one).
        let fill_order = own_order_id.or(ext_id).expect("some part of the execution was booked");
        tx.execute(
            "INSERT INTO fills (exec_id, order_id, date, ticker, side, shares, price, commission, realized_pnl, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                f.exec_id,
                fill_order,
                f.date.to_string(),
                f.ticker.as_str(),
                side_str(f.side),
                f.shares,
                f.price,
                f.commission,
                (f.side == Side::Sell).then_some(realized),
                now
            ],
        )
        .map_err(e)?;
        for (rule, detail) in &booked.notes {
            note(&tx, f, *rule, detail).map_err(e)?;
        }
        tx.commit().map_err(e)?;
        Ok(booked)
    }

    /// Fills of a day.
    pub fn fills_on(&self, date: TradingDay) -> Result<Vec<(Fill, Option<f64>)>> {
        let mut st = self
            .conn
            .prepare("SELECT exec_id, order_id, date, ticker, side, shares, price, commission, at, realized_pnl FROM fills WHERE date = ?1 ORDER BY at, exec_id")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([date.to_string()], |r| {
                let at: String = r.get(8)?;
                Ok((
                    Fill {
                        exec_id: r.get(0)?,
                        order_id: r.get(1)?,
                        date: day(r.get(2)?)?,
                        ticker: ticker(r.get(3)?)?,
                        side: side(r.get(4)?)?,
                        shares: r.get(5)?,
                        price: r.get(6)?,
                        commission: r.get(7)?,
                        at: DateTime::parse_from_rfc3339(&at).map(|d| d.with_timezone(&Utc)).unwrap_or_default(),
                    },
                    r.get(9)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }

    /// Whether an execution is booked.
    pub fn has_fill(&self, exec_id: &str) -> Result<bool> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM fills WHERE exec_id = ?1", [exec_id], |_| Ok(true))
            .optional()
            .map_err(|e| self.err(e))?
            .unwrap_or(false))
    }

    /// Held positions.
    pub fn positions(&self) -> Result<Vec<PositionRow>> {
        let mut st = self
            .conn
            .prepare("SELECT ticker, sector, shares, avg_cost, entry_date, high_water, profit_taken, decay_reduced FROM positions WHERE shares > 0 ORDER BY ticker")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok(PositionRow {
                    ticker: ticker(r.get(0)?)?,
                    sector: r.get(1)?,
                    shares: r.get(2)?,
                    avg_cost: r.get(3)?,
                    entry_date: day(r.get(4)?)?,
                    high_water: r.get(5)?,
                    profit_taken: r.get(6)?,
                    decay_reduced: r.get(7)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }

    /// Raises the high-water mark of each held name to its close when higher, in one transaction
    /// (one commit for a session's closes); a close that is not a number is skipped.
    pub fn mark_high_waters<'a>(&mut self, closes: impl IntoIterator<Item = (&'a Ticker, f64)>) -> Result<()> {
        let path = self.path.clone();
        let e = |source| LedgerError::Sqlite { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(e)?;
        {
            let mut raise = tx
                .prepare_cached("UPDATE positions SET high_water = MAX(high_water, ?2) WHERE ticker = ?1")
                .map_err(e)?;
            for (t, close) in closes.into_iter().filter(|(_, c)| c.is_finite()) {
                raise.execute(params![t.as_str(), close]).map_err(e)?;
            }
        }
        tx.commit().map_err(e)
    }

    /// Applies a split (ratio new shares per old share) to a held position once.
    pub fn apply_split(&self, t: &Ticker, date: TradingDay, ratio: f64) -> Result<bool> {
        let fresh = self
            .conn
            .execute(
                "INSERT OR IGNORE INTO splits_applied (ticker, date, ratio) VALUES (?1, ?2, ?3)",
                params![t.as_str(), date.to_string(), ratio],
            )
            .map_err(|e| self.err(e))?;
        if fresh == 0 {
            return Ok(false);
        }
        self.conn
            .execute(
                "UPDATE positions SET shares = CAST(ROUND(shares * ?2) AS INTEGER), avg_cost = avg_cost / ?2, high_water = high_water / ?2 WHERE ticker = ?1",
                params![t.as_str(), ratio],
            )
            .map_err(|e| self.err(e))?;
        Ok(true)
    }

    /// Sets the ledger's position of `t` to what the broker reports, after every execution has
    /// been booked and the two still disagree (a transfer, a corporate action, a position another
    /// system changed). Recorded in `position_adjustments` and as a risk event. A short at the
    /// broker leaves the ledger at zero.
    #[allow(clippy::too_many_arguments)]
    pub fn adopt_broker_position(
        &mut self,
        date: TradingDay,
        t: &Ticker,
        broker_shares: i64,
        broker_avg_cost: f64,
        sector: Option<&str>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<u32> {
        let path = self.path.clone();
        let e = |source| LedgerError::Sqlite { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(e)?;
        let ledger: u32 = tx
            .query_row("SELECT shares FROM positions WHERE ticker = ?1", [t.as_str()], |r| r.get(0))
            .optional()
            .map_err(e)?
            .unwrap_or(0);
        let target = broker_shares.max(0) as u32;
        let cost = if broker_avg_cost.is_finite() && broker_avg_cost > 0.0 { broker_avg_cost } else { 0.0 };
        if target == 0 {
            tx.execute("DELETE FROM positions WHERE ticker = ?1", [t.as_str()]).map_err(e)?;
        } else if ledger == 0 {
            tx.execute(
                "INSERT OR REPLACE INTO positions (ticker, sector, shares, avg_cost, entry_date, high_water) VALUES (?1, ?2, ?3, ?4, ?5, ?4)",
                params![t.as_str(), sector, target, cost, date.to_string()],
            )
            .map_err(e)?;
        } else {
            tx.execute("UPDATE positions SET shares = ?2 WHERE ticker = ?1", params![t.as_str(), target]).map_err(e)?;
        }
        tx.execute(
            "INSERT INTO position_adjustments (date, ticker, ledger_shares, broker_shares, broker_avg_cost, reason, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![date.to_string(), t.as_str(), ledger, broker_shares, broker_avg_cost, reason, now.to_rfc3339()],
        )
        .map_err(e)?;
        let rule = if broker_shares < 0 { Reason::ShortPosition } else { Reason::PositionBreak };
        tx.execute(
            "INSERT OR IGNORE INTO risk_events (date, source, rule, ticker, detail) VALUES (?1, 'reconcile', ?2, ?3, ?4)",
            params![date.to_string(), rule.code(), t.as_str(), reason],
        )
        .map_err(e)?;
        tx.commit().map_err(e)?;
        Ok(target)
    }

    /// Positions adopted from the broker, oldest first.
    pub fn position_adjustments(&self) -> Result<Vec<PositionAdjustment>> {
        let mut st = self
            .conn
            .prepare("SELECT date, ticker, ledger_shares, broker_shares, reason FROM position_adjustments ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok(PositionAdjustment {
                    date: day(r.get(0)?)?,
                    ticker: ticker(r.get(1)?)?,
                    ledger_shares: r.get(2)?,
                    broker_shares: r.get(3)?,
                    reason: r.get(4)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }
}

/// A position the ledger took from the broker (a move no execution explained).
#[derive(Debug, Clone, PartialEq)]
pub struct PositionAdjustment {
    /// Day.
    pub date: TradingDay,
    /// Symbol.
    pub ticker: Ticker,
    /// The ledger's shares before.
    pub ledger_shares: u32,
    /// The broker's shares (negative: a short).
    pub broker_shares: i64,
    /// Why, as reported.
    pub reason: String,
}
