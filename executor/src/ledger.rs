//! The trade ledger, `trades.db` (SQLite, WAL, versioned migrations): orders with their write-ahead
//! state, fills, positions, cash, end-of-day P&L, risk events, the shadow book and the decision
//! audit (append-only, enforced by triggers). The executor's own books, reconciled against the
//! broker; backed up to the bus as CSV.

use std::path::{Path, PathBuf};

use ae_rules::ApprovedOrder;
use ae_rules::plan::Decision;
use ae_shared::TradingDay;
use ae_shared::contracts::common::Side;
use ae_shared::types::Ticker;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::oms::{OrderEvent, OrderState};

/// Ledger failures.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// SQLite.
    #[error("trade ledger {path}: {source}")]
    Sqlite {
        /// Database file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: rusqlite::Error,
    },
    /// An order event the state table refuses.
    #[error("order {id}: {source}")]
    Transition {
        /// Order id.
        id: String,
        /// Cause.
        #[source]
        source: crate::oms::InvalidTransition,
    },
    /// Something that must exist does not.
    #[error("trade ledger: {0}")]
    Missing(String),
    /// A bookkeeping invariant would break.
    #[error("trade ledger: {0}")]
    Invariant(String),
}

type Result<T> = std::result::Result<T, LedgerError>;

const MIGRATIONS: &[&str] = &[
    // v1
    "CREATE TABLE account (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        inception TEXT NOT NULL,
        starting_cash REAL NOT NULL,
        cash REAL NOT NULL
    );
    CREATE TABLE orders (
        id TEXT PRIMARY KEY,
        date TEXT NOT NULL,
        ticker TEXT NOT NULL,
        side TEXT NOT NULL,
        intent TEXT NOT NULL,
        shares INTEGER NOT NULL CHECK (shares > 0),
        order_type TEXT NOT NULL,
        limit_price REAL,
        reference_price REAL,
        reasons TEXT NOT NULL,
        state TEXT NOT NULL,
        broker_order_id TEXT,
        filled_shares INTEGER NOT NULL DEFAULT 0,
        avg_fill_price REAL,
        detail TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX orders_by_date ON orders(date);
    CREATE TABLE fills (
        exec_id TEXT PRIMARY KEY,
        order_id TEXT NOT NULL REFERENCES orders(id),
        date TEXT NOT NULL,
        ticker TEXT NOT NULL,
        side TEXT NOT NULL,
        shares INTEGER NOT NULL CHECK (shares > 0),
        price REAL NOT NULL CHECK (price > 0),
        commission REAL NOT NULL,
        realized_pnl REAL,
        at TEXT NOT NULL
    );
    CREATE INDEX fills_by_date ON fills(date);
    CREATE TABLE positions (
        ticker TEXT PRIMARY KEY,
        sector TEXT,
        shares INTEGER NOT NULL CHECK (shares >= 0),
        avg_cost REAL NOT NULL,
        entry_date TEXT NOT NULL,
        high_water REAL NOT NULL,
        profit_taken INTEGER NOT NULL DEFAULT 0,
        decay_reduced INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE splits_applied (ticker TEXT NOT NULL, date TEXT NOT NULL, ratio REAL NOT NULL, PRIMARY KEY (ticker, date));
    CREATE TABLE eod_pnl (
        date TEXT PRIMARY KEY,
        nav REAL NOT NULL,
        cash REAL NOT NULL,
        daily_return REAL NOT NULL,
        benchmark_close REAL NOT NULL,
        benchmark_return REAL NOT NULL,
        alpha REAL NOT NULL,
        realized_pnl REAL NOT NULL,
        unrealized_pnl REAL NOT NULL,
        commission REAL NOT NULL,
        traded_notional REAL NOT NULL,
        positions TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE risk_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        date TEXT NOT NULL,
        source TEXT NOT NULL,
        rule TEXT NOT NULL,
        ticker TEXT,
        detail TEXT NOT NULL,
        UNIQUE (date, source, rule, ticker)
    );
    CREATE TABLE shadow_book (
        date TEXT NOT NULL,
        ticker TEXT NOT NULL,
        rule TEXT NOT NULL,
        reason TEXT NOT NULL,
        intended_shares INTEGER NOT NULL,
        intended_usd REAL NOT NULL,
        reference_price REAL NOT NULL,
        PRIMARY KEY (date, ticker)
    );
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        cycle_id TEXT NOT NULL,
        ticker TEXT NOT NULL,
        at TEXT NOT NULL,
        decision TEXT NOT NULL,
        shares INTEGER NOT NULL,
        stop REAL,
        reasons TEXT NOT NULL,
        mu_hat REAL,
        sigma_hat REAL,
        conviction TEXT,
        score REAL,
        quality REAL NOT NULL,
        confidence REAL,
        risk_checks TEXT NOT NULL,
        sizing TEXT,
        metadata TEXT NOT NULL
    );
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit is append-only'); END;",
];

/// An order as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderRow {
    /// Deterministic client order id.
    pub id: String,
    /// Trading day.
    pub date: TradingDay,
    /// Symbol.
    pub ticker: Ticker,
    /// Side.
    pub side: Side,
    /// ENTER, EXIT, REDUCE.
    pub intent: String,
    /// Shares ordered.
    pub shares: u32,
    /// `MKT` or `LMT`.
    pub order_type: String,
    /// Limit price.
    pub limit_price: Option<f64>,
    /// Planner's reference price.
    pub reference_price: Option<f64>,
    /// Reason codes, JSON array.
    pub reasons: String,
    /// OMS state.
    pub state: OrderState,
    /// Broker's id.
    pub broker_order_id: Option<String>,
    /// Shares filled so far.
    pub filled_shares: u32,
    /// Average fill price.
    pub avg_fill_price: Option<f64>,
    /// Last note (rejection text, ...).
    pub detail: Option<String>,
}

impl OrderRow {
    /// Shares still able to fill.
    pub fn remaining(&self) -> u32 {
        if self.state.is_working() { self.shares.saturating_sub(self.filled_shares) } else { 0 }
    }
}

/// What recording an order ahead of sending found.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteAhead {
    /// A new order: send it.
    New,
    /// The id was already recorded (a restart or a retry): do not send again.
    Existing(Box<OrderRow>),
}

/// A fill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fill {
    /// Broker execution id (unique; a repeated execution is ignored).
    pub exec_id: String,
    /// Client order id.
    pub order_id: String,
    /// Trading day.
    pub date: TradingDay,
    /// Symbol.
    pub ticker: Ticker,
    /// Side.
    pub side: Side,
    /// Shares.
    pub shares: u32,
    /// Price.
    pub price: f64,
    /// Commission.
    pub commission: f64,
    /// When.
    pub at: DateTime<Utc>,
}

/// A held position.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PositionRow {
    /// Symbol.
    pub ticker: Ticker,
    /// GICS sector name.
    pub sector: Option<String>,
    /// Shares.
    pub shares: u32,
    /// Average cost.
    pub avg_cost: f64,
    /// First day held.
    pub entry_date: TradingDay,
    /// Highest close since entry.
    pub high_water: f64,
    /// A profit-take reduction happened.
    pub profit_taken: bool,
    /// A time-decay reduction happened.
    pub decay_reduced: bool,
}

/// One day's P&L row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EodRow {
    /// Day.
    pub date: TradingDay,
    /// NAV.
    pub nav: f64,
    /// Cash.
    pub cash: f64,
    /// Portfolio return.
    pub daily_return: f64,
    /// Benchmark close.
    pub benchmark_close: f64,
    /// Benchmark return.
    pub benchmark_return: f64,
    /// Portfolio − benchmark.
    pub alpha: f64,
    /// Realized P&L.
    pub realized_pnl: f64,
    /// Unrealized P&L.
    pub unrealized_pnl: f64,
    /// Commissions.
    pub commission: f64,
    /// Traded notional.
    pub traded_notional: f64,
    /// Positions, JSON.
    pub positions: String,
}

/// A risk event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskEventRow {
    /// Day.
    pub date: TradingDay,
    /// planner / daemon / session / eod.
    pub source: String,
    /// Rule code.
    pub rule: String,
    /// Symbol.
    pub ticker: Option<Ticker>,
    /// Detail.
    pub detail: String,
}

/// A shadow-book row: an entry the rules blocked, with what it would have been.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShadowRow {
    /// Day.
    pub date: TradingDay,
    /// Symbol.
    pub ticker: Ticker,
    /// Blocking rule.
    pub rule: String,
    /// Detail.
    pub reason: String,
    /// Shares the sizer wanted.
    pub intended_shares: u32,
    /// Dollars the sizer wanted.
    pub intended_usd: f64,
    /// Reference price.
    pub reference_price: f64,
}

/// The account's start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Inception {
    /// First day.
    pub date: TradingDay,
    /// Starting cash.
    pub starting_cash: f64,
}

/// The ledger.
pub struct Ledger {
    conn: Connection,
    path: PathBuf,
}

fn day(s: String) -> rusqlite::Result<TradingDay> {
    TradingDay::parse(&s)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

fn ticker(s: String) -> rusqlite::Result<Ticker> {
    Ticker::new(&s).map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

fn side_str(s: Side) -> &'static str {
    match s {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

fn side(s: String) -> rusqlite::Result<Side> {
    match s.as_str() {
        "BUY" => Ok(Side::Buy),
        "SELL" => Ok(Side::Sell),
        _ => Err(rusqlite::Error::InvalidColumnType(0, s, rusqlite::types::Type::Text)),
    }
}

const ORDER_COLS: &str = "id, date, ticker, side, intent, shares, order_type, limit_price, reference_price, reasons, state, broker_order_id, filled_shares, avg_fill_price, detail";

fn order_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OrderRow> {
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
    })
}

impl Ledger {
    /// Opens (creating and migrating as needed) the ledger at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| LedgerError::Invariant(format!("creating {}: {e}", dir.display())))?;
        }
        let conn = Connection::open(path).map_err(|source| LedgerError::Sqlite { path: path.into(), source })?;
        Self::init(conn, path.to_path_buf())
    }

    /// An in-memory ledger (tests, the backtester).
    pub fn in_memory() -> Result<Self> {
        let conn =
            Connection::open_in_memory().map_err(|source| LedgerError::Sqlite { path: ":memory:".into(), source })?;
        Self::init(conn, PathBuf::from(":memory:"))
    }

    fn init(conn: Connection, path: PathBuf) -> Result<Self> {
        let mut l = Self { conn, path };
        l.conn.pragma_update(None, "journal_mode", "WAL").map_err(|e| l.err(e))?;
        l.conn.pragma_update(None, "foreign_keys", "ON").map_err(|e| l.err(e))?;
        l.conn.pragma_update(None, "synchronous", "FULL").map_err(|e| l.err(e))?;
        l.migrate()?;
        Ok(l)
    }

    fn err(&self, source: rusqlite::Error) -> LedgerError {
        LedgerError::Sqlite { path: self.path.clone(), source }
    }

    fn migrate(&mut self) -> Result<()> {
        let version: i64 = self.conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(|e| self.err(e))?;
        if version as usize > MIGRATIONS.len() {
            return Err(LedgerError::Invariant(format!(
                "{} has schema version {version}, newer than this build ({}); use a newer executor",
                self.path.display(),
                MIGRATIONS.len()
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = self.conn.transaction().map_err(|e| LedgerError::Sqlite { path: self.path.clone(), source: e })?;
            tx.execute_batch(sql).map_err(|e| LedgerError::Sqlite { path: self.path.clone(), source: e })?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)
                .map_err(|e| LedgerError::Sqlite { path: self.path.clone(), source: e })?;
            tx.commit().map_err(|e| LedgerError::Sqlite { path: self.path.clone(), source: e })?;
        }
        Ok(())
    }

    /// Schema version.
    pub fn schema_version(&self) -> Result<i64> {
        self.conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(|e| self.err(e))
    }

    /// Where the ledger lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    // --- account ---------------------------------------------------------------------------

    /// The account's start, if recorded.
    pub fn inception(&self) -> Result<Option<Inception>> {
        self.conn
            .query_row("SELECT inception, starting_cash FROM account WHERE id = 1", [], |r| {
                Ok(Inception { date: day(r.get(0)?)?, starting_cash: r.get(1)? })
            })
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Records the account's start once (later calls keep the first).
    pub fn ensure_inception(&self, date: TradingDay, starting_cash: f64) -> Result<Inception> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO account (id, inception, starting_cash, cash) VALUES (1, ?1, ?2, ?2)",
                params![date.to_string(), starting_cash],
            )
            .map_err(|e| self.err(e))?;
        self.inception()?.ok_or_else(|| LedgerError::Missing("account row".into()))
    }

    /// Cash by the ledger's books.
    pub fn cash(&self) -> Result<f64> {
        self.conn
            .query_row("SELECT cash FROM account WHERE id = 1", [], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?
            .ok_or_else(|| {
                LedgerError::Missing("no account yet: run the planner (or `executor plan`) once to open it".into())
            })
    }

    // --- orders ----------------------------------------------------------------------------

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
        let mut st = self
            .conn
            .prepare(&format!("SELECT {ORDER_COLS} FROM orders WHERE date = ?1 ORDER BY created_at, id"))
            .map_err(|e| self.err(e))?;
        st.query_map([date.to_string()], order_row)
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Orders still able to fill.
    pub fn working_orders(&self) -> Result<Vec<OrderRow>> {
        let mut st = self
            .conn
            .prepare(&format!("SELECT {ORDER_COLS} FROM orders WHERE state IN ('pending','submitted','acknowledged','partial') ORDER BY created_at, id"))
            .map_err(|e| self.err(e))?;
        st.query_map([], order_row).map_err(|e| self.err(e))?.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
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

    /// Applies an OMS event to an order (validated against the state table).
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
        self.conn
            .execute(
                "UPDATE orders SET state = ?2, broker_order_id = COALESCE(?3, broker_order_id), detail = COALESCE(?4, detail), updated_at = ?5 WHERE id = ?1",
                params![id, next.as_str(), broker_order_id, detail, now.to_rfc3339()],
            )
            .map_err(|e| self.err(e))?;
        Ok(next)
    }

    // --- fills and positions -------------------------------------------------------------

    /// Books a fill: the order's filled shares and state, the position, cash and realized P&L, in
    /// one transaction. A fill whose execution id is already booked is ignored (returns false).
    /// A sell can never take a position below zero.
    pub fn record_fill(&mut self, f: &Fill, sector: Option<&str>) -> Result<bool> {
        let path = self.path.clone();
        let e = |source| LedgerError::Sqlite { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(e)?;
        let known: bool = tx
            .query_row("SELECT 1 FROM fills WHERE exec_id = ?1", [&f.exec_id], |_| Ok(true))
            .optional()
            .map_err(e)?
            .unwrap_or(false);
        if known {
            return Ok(false);
        }
        let order = tx
            .query_row(&format!("SELECT {ORDER_COLS} FROM orders WHERE id = ?1"), [&f.order_id], order_row)
            .optional()
            .map_err(e)?
            .ok_or_else(|| LedgerError::Missing(format!("fill {} for unknown order {}", f.exec_id, f.order_id)))?;
        if order.side != f.side || order.ticker != f.ticker {
            return Err(LedgerError::Invariant(format!("fill {} does not match order {}", f.exec_id, f.order_id)));
        }
        let filled = order.filled_shares + f.shares;
        if filled > order.shares {
            return Err(LedgerError::Invariant(format!(
                "fill {} would fill {filled} of {} shares of {}",
                f.exec_id, order.shares, f.order_id
            )));
        }
        let pos: Option<(u32, f64)> = tx
            .query_row("SELECT shares, avg_cost FROM positions WHERE ticker = ?1", [f.ticker.as_str()], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(e)?;
        let notional = f.shares as f64 * f.price;
        let realized = match f.side {
            Side::Buy => {
                let (shares, cost) = pos.unwrap_or((0, 0.0));
                let new_shares = shares + f.shares;
                let avg = (shares as f64 * cost + notional) / new_shares as f64;
                if pos.is_some() {
                    tx.execute(
                        "UPDATE positions SET shares = ?2, avg_cost = ?3 WHERE ticker = ?1",
                        params![f.ticker.as_str(), new_shares, avg],
                    )
                    .map_err(e)?;
                } else {
                    tx.execute(
                        "INSERT INTO positions (ticker, sector, shares, avg_cost, entry_date, high_water) VALUES (?1, ?2, ?3, ?4, ?5, ?4)",
                        params![f.ticker.as_str(), sector, new_shares, avg, f.date.to_string()],
                    )
                    .map_err(e)?;
                }
                tx.execute("UPDATE account SET cash = cash - ?1 WHERE id = 1", [notional + f.commission]).map_err(e)?;
                None
            }
            Side::Sell => {
                let (shares, cost) = pos.ok_or_else(|| {
                    LedgerError::Invariant(format!(
                        "sell fill {} of {} with no position: never short",
                        f.exec_id, f.ticker
                    ))
                })?;
                if f.shares > shares {
                    return Err(LedgerError::Invariant(format!(
                        "sell fill {} of {} shares of {} exceeds the {shares} held: never short",
                        f.exec_id, f.shares, f.ticker
                    )));
                }
                let left = shares - f.shares;
                if left == 0 {
                    tx.execute("DELETE FROM positions WHERE ticker = ?1", [f.ticker.as_str()]).map_err(e)?;
                } else {
                    let r = order.reasons.as_str();
                    let flag = if r.contains("\"PROFIT_TAKE\"") || r.contains("\"INTRADAY_PROFIT_HALF\"") {
                        ", profit_taken = 1"
                    } else if r.contains("\"TIME_DECAY_REDUCE\"") {
                        ", decay_reduced = 1"
                    } else {
                        ""
                    };
                    tx.execute(
                        &format!("UPDATE positions SET shares = ?2{flag} WHERE ticker = ?1"),
                        params![f.ticker.as_str(), left],
                    )
                    .map_err(e)?;
                }
                tx.execute("UPDATE account SET cash = cash + ?1 WHERE id = 1", [notional - f.commission]).map_err(e)?;
                Some((f.price - cost) * f.shares as f64 - f.commission)
            }
        };
        tx.execute(
            "INSERT INTO fills (exec_id, order_id, date, ticker, side, shares, price, commission, realized_pnl, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![f.exec_id, f.order_id, f.date.to_string(), f.ticker.as_str(), side_str(f.side), f.shares, f.price, f.commission, realized, f.at.to_rfc3339()],
        )
        .map_err(e)?;
        let avg_fill = (order.avg_fill_price.unwrap_or(0.0) * order.filled_shares as f64 + notional) / filled as f64;
        let event = if filled == order.shares { OrderEvent::Fill } else { OrderEvent::PartialFill };
        let state = order.state.on(event).map_err(|source| LedgerError::Transition { id: order.id.clone(), source })?;
        tx.execute(
            "UPDATE orders SET filled_shares = ?2, avg_fill_price = ?3, state = ?4, updated_at = ?5 WHERE id = ?1",
            params![order.id, filled, avg_fill, state.as_str(), f.at.to_rfc3339()],
        )
        .map_err(e)?;
        tx.commit().map_err(e)?;
        Ok(true)
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

    /// Raises the high-water mark of a position to `close` when higher.
    pub fn mark_high_water(&self, t: &Ticker, close: f64) -> Result<()> {
        self.conn
            .execute(
                "UPDATE positions SET high_water = MAX(high_water, ?2) WHERE ticker = ?1",
                params![t.as_str(), close],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
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

    // --- end of day ----------------------------------------------------------------------

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

    /// Appends decision audit records (all or none).
    pub fn append_audit(
        &mut self,
        cycle_id: &str,
        at: DateTime<Utc>,
        decisions: &[Decision],
        metadata: &serde_json::Value,
    ) -> Result<usize> {
        let path = self.path.clone();
        let e = |source| LedgerError::Sqlite { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(e)?;
        {
            let mut st = tx
                .prepare(
                    "INSERT INTO audit (cycle_id, ticker, at, decision, shares, stop, reasons, mu_hat, sigma_hat, conviction, score, quality, confidence, risk_checks, sizing, metadata)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
                )
                .map_err(e)?;
            let meta = metadata.to_string();
            for d in decisions {
                let kind = serde_json::to_value(d.kind).expect("serializes");
                st.execute(params![
                    cycle_id,
                    d.ticker.as_str(),
                    at.to_rfc3339(),
                    kind.as_str().unwrap_or("?"),
                    d.shares,
                    d.stop,
                    serde_json::to_string(&ae_rules::reason::codes(&d.reasons)).expect("serializes"),
                    d.mu_hat,
                    d.sigma_hat,
                    d.conviction
                        .and_then(|c| serde_json::to_value(c).ok())
                        .and_then(|v| v.as_str().map(str::to_string)),
                    d.score,
                    d.quality_score,
                    d.confidence,
                    serde_json::to_string(&d.checks).expect("serializes"),
                    d.sizing.as_ref().map(|s| serde_json::to_string(s).expect("serializes")),
                    meta,
                ])
                .map_err(e)?;
            }
        }
        tx.commit().map_err(e)?;
        Ok(decisions.len())
    }

    /// Audit records of a cycle: (ticker, decision, reasons JSON).
    pub fn audit_of(&self, cycle_id: &str) -> Result<Vec<(String, String, String)>> {
        let mut st = self
            .conn
            .prepare("SELECT ticker, decision, reasons FROM audit WHERE cycle_id = ?1 ORDER BY seq")
            .map_err(|e| self.err(e))?;
        let rows = st.query_map([cycle_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }

    /// Tries to change an audit record (it must fail: the audit is append-only).
    pub fn try_rewrite_audit(&self) -> Result<()> {
        self.conn.execute("UPDATE audit SET decision = 'ENTER'", []).map(|_| ()).map_err(|e| self.err(e))
    }

    // --- CSV backups ---------------------------------------------------------------------

    /// Every order with its fills, one row per order (`trades/trades_full.csv`).
    pub fn trades_csv(&self) -> Result<String> {
        let mut st = self
            .conn
            .prepare(
                "SELECT o.id, o.date, o.ticker, o.side, o.intent, o.shares, o.order_type, o.reference_price, o.state, o.filled_shares,
                        o.avg_fill_price, COALESCE(SUM(f.commission), 0), SUM(f.realized_pnl), o.reasons, o.broker_order_id, o.detail
                 FROM orders o LEFT JOIN fills f ON f.order_id = o.id GROUP BY o.id ORDER BY o.date, o.created_at, o.id",
            )
            .map_err(|e| self.err(e))?;
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "order_id",
            "date",
            "ticker",
            "side",
            "intent",
            "shares",
            "order_type",
            "reference_price",
            "state",
            "filled_shares",
            "avg_fill_price",
            "slippage_bps",
            "commission",
            "realized_pnl",
            "reasons",
            "broker_order_id",
            "detail",
        ])
        .expect("in memory");
        let mut rows = st.query([]).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let side: String = r.get(3).map_err(|e| self.err(e))?;
            let reference: Option<f64> = r.get(7).map_err(|e| self.err(e))?;
            let fill: Option<f64> = r.get(10).map_err(|e| self.err(e))?;
            let slip = slippage_bps(&side, reference, fill);
            let opt = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_default();
            let get_s = |i: usize| -> Result<String> {
                r.get::<_, Option<String>>(i).map(Option::unwrap_or_default).map_err(|e| self.err(e))
            };
            let shares: u32 = r.get(5).map_err(|e| self.err(e))?;
            let filled: u32 = r.get(9).map_err(|e| self.err(e))?;
            let commission: f64 = r.get(11).map_err(|e| self.err(e))?;
            let realized: Option<f64> = r.get(12).map_err(|e| self.err(e))?;
            w.write_record([
                get_s(0)?,
                get_s(1)?,
                get_s(2)?,
                side.clone(),
                get_s(4)?,
                shares.to_string(),
                get_s(6)?,
                opt(reference),
                get_s(8)?,
                filled.to_string(),
                opt(fill),
                slip.map(|s| format!("{s:.2}")).unwrap_or_default(),
                format!("{commission:.2}"),
                opt(realized),
                get_s(13)?,
                get_s(14)?,
                get_s(15)?,
            ])
            .expect("in memory");
        }
        Ok(String::from_utf8(w.into_inner().expect("in memory")).expect("utf-8"))
    }

    /// Every P&L row (`trades/eod_pnl.csv`).
    pub fn eod_csv(&self) -> Result<String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "date",
            "portfolio_nav",
            "total_cash",
            "daily_return_pct",
            "spy_return_pct",
            "daily_alpha_pct",
            "benchmark_close",
            "realized_pnl",
            "unrealized_pnl",
            "commission_usd",
            "traded_notional_usd",
            "positions_snapshot",
        ])
        .expect("in memory");
        for r in self.eod_history()? {
            w.write_record([
                r.date.to_string(),
                format!("{:.2}", r.nav),
                format!("{:.2}", r.cash),
                format!("{:.6}", r.daily_return * 100.0),
                format!("{:.6}", r.benchmark_return * 100.0),
                format!("{:.6}", r.alpha * 100.0),
                format!("{:.4}", r.benchmark_close),
                format!("{:.2}", r.realized_pnl),
                format!("{:.2}", r.unrealized_pnl),
                format!("{:.2}", r.commission),
                format!("{:.2}", r.traded_notional),
                r.positions,
            ])
            .expect("in memory");
        }
        Ok(String::from_utf8(w.into_inner().expect("in memory")).expect("utf-8"))
    }
}

/// Adverse slippage of a fill against the reference price, basis points (positive = worse): a
/// buy above the reference or a sell below it.
pub fn slippage_bps(side: &str, reference: Option<f64>, fill: Option<f64>) -> Option<f64> {
    let (r, f) = (reference.filter(|r| *r > 0.0)?, fill?);
    let sign = if side == "SELL" { -1.0 } else { 1.0 };
    Some(sign * (f - r) / r * 1e4)
}
