//! The trade ledger, `trades.db` (SQLite, WAL, versioned migrations): the executor's own books,
//! reconciled against the broker and backed up to the bus as CSV.
//!
//! One file per table family: [`schema`] (migrations), [`orders`] (write-ahead records, the
//! order lifecycle, broker ids), [`fills`] (executions, positions, cash — booked whatever the
//! broker did), [`dividends`] (accrued on ex-dates, paid on pay dates), [`reports`] (end-of-day P&L, risk events, the shadow book), [`audit`] (the
//! append-only decision audit), [`backups`] (the CSV backups) and [`lock`] (one daemon per ledger).

mod audit;
mod backups;
mod dividends;
mod fills;
pub mod lock;
mod orders;
mod reports;
mod schema;

use std::path::{Path, PathBuf};

use ae_rules::lifecycle::{InvalidTransition, OrderState};
use ae_shared::TradingDay;
use ae_shared::contracts::common::Side;
use ae_shared::types::Ticker;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

pub use backups::slippage_bps;
pub use dividends::DividendRow;
pub use fills::{Booked, PositionAdjustment, external_order_id};
pub use lock::LedgerLock;
pub use orders::Applied;

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
        source: InvalidTransition,
    },
    /// Something that must exist does not.
    #[error("trade ledger: {0}")]
    Missing(String),
    /// A bookkeeping invariant would break.
    #[error("trade ledger: {0}")]
    Invariant(String),
    /// Another process holds the ledger.
    #[error("trade ledger {path} is held by another daemon ({holder}): one daemon per ledger and account")]
    Locked {
        /// Database file.
        path: PathBuf,
        /// What the lock file says about its holder.
        holder: String,
    },
}

type Result<T> = std::result::Result<T, LedgerError>;

/// The intent recorded for an order the ledger did not send (another client's, or shares beyond
/// an order's size).
pub const EXTERNAL_INTENT: &str = "EXTERNAL";

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
    /// ENTER, EXIT, REDUCE (or EXTERNAL).
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
    /// Times the broker answered it with an error it did not classify.
    pub attempts: u32,
}

impl OrderRow {
    /// Shares still able to fill.
    pub fn remaining(&self) -> u32 {
        if self.state.is_working() { self.shares.saturating_sub(self.filled_shares) } else { 0 }
    }

    /// An order the ledger did not send.
    pub fn is_external(&self) -> bool {
        self.intent == EXTERNAL_INTENT
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
    /// Client order id (empty when the broker's execution carries none).
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

pub(crate) fn day(s: String) -> rusqlite::Result<TradingDay> {
    TradingDay::parse(&s)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

pub(crate) fn ticker(s: String) -> rusqlite::Result<Ticker> {
    Ticker::new(&s).map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

pub(crate) fn side_str(s: Side) -> &'static str {
    match s {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

pub(crate) fn side(s: String) -> rusqlite::Result<Side> {
    match s.as_str() {
        "BUY" => Ok(Side::Buy),
        "SELL" => Ok(Side::Sell),
        _ => Err(rusqlite::Error::InvalidColumnType(0, s, rusqlite::types::Type::Text)),
    }
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
        l.conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(|e| l.err(e))?;
        l.conn.pragma_update(None, "journal_mode", "WAL").map_err(|e| l.err(e))?;
        l.conn.pragma_update(None, "foreign_keys", "ON").map_err(|e| l.err(e))?;
        l.conn.pragma_update(None, "synchronous", "FULL").map_err(|e| l.err(e))?;
        l.migrate()?;
        Ok(l)
    }

    pub(crate) fn err(&self, source: rusqlite::Error) -> LedgerError {
        LedgerError::Sqlite { path: self.path.clone(), source }
    }

    fn migrate(&mut self) -> Result<()> {
        let version: i64 = self.conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(|e| self.err(e))?;
        if version as usize > schema::MIGRATIONS.len() {
            return Err(LedgerError::Invariant(format!(
                "{} has schema version {version}, newer than this build ({}); use a newer executor",
                self.path.display(),
                schema::MIGRATIONS.len()
            )));
        }
        for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(version as usize) {
            let path = self.path.clone();
            let e = |source| LedgerError::Sqlite { path: path.clone(), source };
            let tx = self.conn.transaction().map_err(e)?;
            tx.execute_batch(sql).map_err(e)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64).map_err(e)?;
            tx.commit().map_err(e)?;
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
}
