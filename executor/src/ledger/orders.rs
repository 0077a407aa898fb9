//! Orders: the write-ahead record, the lifecycle (through `ae_rules::lifecycle` only), the broker
//! ids reserved for them, and the attempts of orders the broker answered with an unknown error.

use ae_rules::ApprovedOrder;
use ae_rules::lifecycle::{OrderEvent, OrderState};
use ae_shared::TradingDay;
use ae_shared::contracts::common::Side;
use ae_shared::types::Ticker;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Ledger, LedgerError, OrderRow, Result, WriteAhead, day, side, side_str, ticker};

pub(super) const ORDER_COLS: &str = "id, date, ticker, side, intent, shares, order_type, limit_price, reference_price, reasons, state, broker_order_id, filled_shares, avg_fill_price, detail, attempts";

pub(super) fn order_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OrderRow> {
    Ok(OrderRow {
        id: r.get(0)?,
        date: day(r.get(1)?)?,
        ticker: ticker(r.get(2)?)?,
        side: side(r.get(3)?)?,
        intent: r.get(4)?,
        shares: r.get(5)?,
        order_type: r.get(6)?,
        limit_price: r.get(7)?,
        reference_price: r.get(8)?,
        reasons: r.get(9)?,
        state: r.get::<_, String>(10)?.parse().map_err(|e: String| {
            rusqlite::Error::FromSqlConversionFailure(10, rusqlite::types::Type::Text, e.into())
        })?,
        broker_order_id: r.get(11)?,
        filled_shares: r.get(12)?,
        avg_fill_price: r.get(13)?,
        detail: r.get(14)?,
        attempts: r.get(15)?,
    })
}

/// What applying a broker-reported event to an order came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// The order moved (or stayed, for a duplicate) to this state.
    To(OrderState),
    /// The order is not in the ledger.
    Unknown,
    /// The state table refuses the event from the order's state: nothing changed.
    Refused(String),
}

impl Ledger {
    /// Records `order` as `pending` BEFORE it is sent. If its id is already known, nothing is
    /// written and the existing row is returned: the caller must not send it again.
    pub fn write_ahead(&self, order: &ApprovedOrder, date: TradingDay, now: DateTime<Utc>) -> Result<WriteAhead> {
        if let Some(existing) = self.order(order.id())? {
            return Ok(WriteAhead::Existing(Box::new(existing)));
        }
        let (order_type, limit) = match order.price() {
            ae_rules::OrderPrice::Market => ("MKT", None),
            ae_rules::OrderPrice::Limit(p) => ("LMT", Some(p)),
        };
        let reasons = serde_json::to_string(&ae_rules::reason::codes(order.reasons())).expect("strings serialize");
        self.conn
            .execute(
                "INSERT INTO orders (id, date, ticker, side, intent, shares, order_type, limit_price, reference_price, reasons, state, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'pending', ?11, ?11)",
                params![
                    order.id(),
                    date.to_string(),
                    order.ticker().as_str(),
                    side_str(order.side()),
                    order.intent().to_string(),
                    order.shares(),
                    order_type,
                    limit,
                    order.reference_price(),
                    reasons,
                    now.to_rfc3339(),
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(WriteAhead::New)
    }

    /// One order.
    pub fn order(&self, id: &str) -> Result<Option<OrderRow>> {
        self.conn
            .query_row(&format!("SELECT {ORDER_COLS} FROM orders WHERE id = ?1"), [id], order_row)
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Orders of a day.
    pub fn orders_on(&self, date: TradingDay) -> Result<Vec<OrderRow>> {
        self.select_orders("WHERE date = ?1", [date.to_string()])
    }

    /// Orders still able to fill, every day.
    pub fn working_orders(&self) -> Result<Vec<OrderRow>> {
        self.select_orders("WHERE state IN ('pending','submitted','acknowledged','partial','pending_cancel')", [])
    }

    /// Orders of days before `date` still working in the ledger (day orders that should have ended).
    pub fn working_before(&self, date: TradingDay) -> Result<Vec<OrderRow>> {
        self.select_orders(
            "WHERE date < ?1 AND state IN ('pending','submitted','acknowledged','partial','pending_cancel')",
            [date.to_string()],
        )
    }

    fn select_orders<P: rusqlite::Params>(&self, filter: &str, p: P) -> Result<Vec<OrderRow>> {
        let mut st = self
            .conn
            .prepare(&format!("SELECT {ORDER_COLS} FROM orders {filter} ORDER BY created_at, id"))
            .map_err(|e| self.err(e))?;
        st.query_map(p, order_row).map_err(|e| self.err(e))?.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }

    /// Shares of `ticker` in working sells.
    pub fn working_sells(&self, t: &Ticker) -> Result<u32> {
        Ok(self
            .working_orders()?
            .iter()
            .filter(|o| &o.ticker == t && o.side == Side::Sell)
            .map(OrderRow::remaining)
            .sum())
    }

    /// Applies an OMS event to an order (validated against the state table); a refused event is
    /// an error. For events the broker reports, see [`Ledger::apply`].
    pub fn transition(
        &self,
        id: &str,
        event: OrderEvent,
        broker_order_id: Option<&str>,
        detail: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<OrderState> {
        let row = self.order(id)?.ok_or_else(|| LedgerError::Missing(format!("order {id}")))?;
        let next = row.state.on(event).map_err(|source| LedgerError::Transition { id: id.into(), source })?;
        // The broker id and the state it comes with are one commit.
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        if let Some(b) = broker_order_id {
            self.record_broker_id(id, row.date, b, now)?;
        }
        self.conn
            .execute(
                "UPDATE orders SET state = ?2, broker_order_id = COALESCE(?3, broker_order_id), detail = COALESCE(?4, detail), updated_at = ?5 WHERE id = ?1",
                params![id, next.as_str(), broker_order_id, detail, now.to_rfc3339()],
            )
            .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(next)
    }

    /// Applies an event the broker reported (or that reconciliation inferred from it). A broker
    /// fact never aborts anything: an unknown order or an event the table refuses is returned as
    /// such for the caller to report, and nothing changes.
    pub fn apply(&self, id: &str, event: OrderEvent, detail: Option<&str>, now: DateTime<Utc>) -> Result<Applied> {
        let Some(row) = self.order(id)? else { return Ok(Applied::Unknown) };
        match row.state.on(event) {
            Ok(_) => self.transition(id, event, None, detail, now).map(Applied::To),
            Err(e) => Ok(Applied::Refused(e.to_string())),
        }
    }

    /// Records a broker id reserved for order `id` (kept forever: the floor of the ids a client
    /// may use after a reconnect). A broker id is unique per day.
    pub fn record_broker_id(
        &self,
        id: &str,
        date: TradingDay,
        broker_order_id: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let owner: Option<String> = self
            .conn
            .query_row(
                "SELECT order_id FROM broker_ids WHERE date = ?1 AND broker_order_id = ?2",
                params![date.to_string(), broker_order_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        match owner {
            Some(o) if o == id => Ok(()),
            Some(o) => Err(LedgerError::Invariant(format!(
                "broker id {broker_order_id} of {date} is already used by order {o}: not reused for {id}"
            ))),
            None => {
                self.conn
                    .execute(
                        "INSERT INTO broker_ids (date, broker_order_id, order_id, at) VALUES (?1, ?2, ?3, ?4)",
                        params![date.to_string(), broker_order_id, id, now.to_rfc3339()],
                    )
                    .map_err(|e| self.err(e))?;
                Ok(())
            }
        }
    }

    /// Gives order `id` a new broker id (a retry after an error the broker did not classify).
    pub fn replace_broker_id(&self, id: &str, broker_order_id: &str, now: DateTime<Utc>) -> Result<()> {
        let row = self.order(id)?.ok_or_else(|| LedgerError::Missing(format!("order {id}")))?;
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        self.record_broker_id(id, row.date, broker_order_id, now)?;
        self.conn
            .execute(
                "UPDATE orders SET broker_order_id = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, broker_order_id, now.to_rfc3339()],
            )
            .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The highest numeric broker id ever recorded (the next one must be above it).
    pub fn max_broker_id(&self) -> Result<Option<i64>> {
        self.conn
            .query_row(
                "SELECT MAX(CAST(broker_order_id AS INTEGER)) FROM broker_ids WHERE broker_order_id GLOB '[0-9]*'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// Counts one more attempt of order `id` that the broker answered with an error it did not
    /// classify; returns the attempts so far.
    pub fn bump_attempts(&self, id: &str, detail: &str, now: DateTime<Utc>) -> Result<u32> {
        self.conn
            .execute(
                "UPDATE orders SET attempts = attempts + 1, detail = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, detail, now.to_rfc3339()],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.order(id)?.map(|o| o.attempts).unwrap_or(0))
    }
}
