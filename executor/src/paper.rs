//! The paper broker for local runs: a cash account kept in SQLite (tables `paper_*`, in the trade
//! ledger's file or in memory), quotes set by whoever drives the session, fills at the quote with
//! adverse slippage and IB-like commissions. Like a real broker it refuses what it would refuse: an
//! unknown quote, a buy beyond cash, a sell beyond the position (never a short), a duplicate client
//! id.

use std::path::Path;
use std::sync::{Arc, Mutex};

use std::collections::BTreeMap;

use ae_rules::costs::{CostModel, within_limit};
use ae_rules::dividends::{self, DividendEvent};
use ae_rules::{ApprovedOrder, OrderPrice};
use ae_shared::TradingDay;
use ae_shared::clock::Clock;
use ae_shared::contracts::common::Side;
use ae_shared::types::Ticker;
use rusqlite::{Connection, OptionalExtension, params};

use crate::broker::{AccountSnapshot, Broker, BrokerAck, BrokerError, BrokerPosition, OpenOrder};
use crate::ledger::Fill;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS paper_account (id INTEGER PRIMARY KEY CHECK (id = 1), account_id TEXT NOT NULL, cash REAL NOT NULL);
CREATE TABLE IF NOT EXISTS paper_positions (ticker TEXT PRIMARY KEY, shares INTEGER NOT NULL CHECK (shares >= 0), avg_cost REAL NOT NULL);
CREATE TABLE IF NOT EXISTS paper_orders (
    broker_id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id TEXT NOT NULL UNIQUE,
    date TEXT NOT NULL,
    ticker TEXT NOT NULL,
    side TEXT NOT NULL,
    shares INTEGER NOT NULL,
    limit_price REAL,
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS paper_executions (
    exec_id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    date TEXT NOT NULL,
    ticker TEXT NOT NULL,
    side TEXT NOT NULL,
    shares INTEGER NOT NULL,
    price REAL NOT NULL,
    commission REAL NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS paper_quotes (ticker TEXT PRIMARY KEY, date TEXT NOT NULL, price REAL NOT NULL);
CREATE TABLE IF NOT EXISTS paper_splits (ticker TEXT NOT NULL, date TEXT NOT NULL, PRIMARY KEY (ticker, date));
CREATE TABLE IF NOT EXISTS paper_dividends (ticker TEXT NOT NULL, ex_date TEXT NOT NULL, pay_date TEXT NOT NULL, amount REAL NOT NULL, paid INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (ticker, ex_date));
";

/// Paper account settings.
#[derive(Debug, Clone, PartialEq)]
pub struct PaperSettings {
    /// Account id ("D…").
    pub account_id: String,
    /// Starting cash of a new account.
    pub starting_cash: f64,
    /// Slippage and commissions (per share, with a minimum per order).
    pub costs: CostModel,
}

impl PaperSettings {
    /// From the trading configuration.
    pub fn from_config(t: &ae_shared::config::TradingConfig) -> Self {
        Self { account_id: t.paper_account_id.clone(), starting_cash: t.paper_starting_cash_usd, costs: paper_costs(t) }
    }
}

/// The paper brokers' costs (this broker's and the TWS-protocol gateway's): `[trading]`'s paper
/// slippage and commissions, nothing on notional.
pub fn paper_costs(t: &ae_shared::config::TradingConfig) -> CostModel {
    CostModel::new(t.paper_slippage_bps, t.commission_per_share_usd, t.commission_min_usd)
}

/// The paper broker.
pub struct PaperBroker {
    conn: Mutex<Connection>,
    settings: PaperSettings,
    clock: Arc<dyn Clock>,
    today: Mutex<Option<TradingDay>>,
}

fn state_err(e: rusqlite::Error) -> BrokerError {
    BrokerError::State(e.to_string())
}

impl PaperBroker {
    /// Opens the paper account stored at `path` (created with the starting cash if new).
    pub fn open(path: &Path, settings: PaperSettings, clock: Arc<dyn Clock>) -> Result<Self, BrokerError> {
        let conn = Connection::open(path).map_err(state_err)?;
        Self::init(conn, settings, clock)
    }

    /// An in-memory paper account.
    pub fn in_memory(settings: PaperSettings, clock: Arc<dyn Clock>) -> Result<Self, BrokerError> {
        Self::init(Connection::open_in_memory().map_err(state_err)?, settings, clock)
    }

    fn init(conn: Connection, settings: PaperSettings, clock: Arc<dyn Clock>) -> Result<Self, BrokerError> {
        conn.pragma_update(None, "journal_mode", "WAL").map_err(state_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(state_err)?;
        conn.execute_batch(SCHEMA).map_err(state_err)?;
        conn.execute(
            "INSERT OR IGNORE INTO paper_account (id, account_id, cash) VALUES (1, ?1, ?2)",
            params![settings.account_id, settings.starting_cash],
        )
        .map_err(state_err)?;
        Ok(Self { conn: Mutex::new(conn), settings, clock, today: Mutex::new(None) })
    }

    /// Settings in force.
    pub fn settings(&self) -> &PaperSettings {
        &self.settings
    }

    /// Starts a session day: executions are dated with it, and only its quotes fill orders.
    pub fn begin_day(&self, day: TradingDay) {
        *self.today.lock().expect("lock") = Some(day);
    }

    /// Sets today's quote of `t` (what market orders fill at, before slippage; also what the
    /// broker values the position at).
    pub fn set_quote(&self, t: &Ticker, price: f64) -> Result<(), BrokerError> {
        self.set_quotes([(t, price)])
    }

    /// Sets today's quotes of several names at once ([`PaperBroker::set_quote`] of each), in one
    /// transaction: one commit, where a commit a quote was most of a replayed session's writes.
    /// All are set or, on an error, none.
    pub fn set_quotes<'a>(&self, quotes: impl IntoIterator<Item = (&'a Ticker, f64)>) -> Result<(), BrokerError> {
        let day = self.today.lock().expect("lock").ok_or_else(|| BrokerError::State("no session day begun".into()))?;
        let day = day.to_string();
        let conn = self.conn.lock().expect("lock");
        let tx = conn.unchecked_transaction().map_err(state_err)?;
        {
            let mut put = tx
                .prepare_cached(
                    "INSERT INTO paper_quotes (ticker, date, price) VALUES (?1, ?2, ?3) ON CONFLICT(ticker) DO UPDATE SET date = ?2, price = ?3",
                )
                .map_err(state_err)?;
            for (t, price) in quotes {
                put.execute(params![t.as_str(), day, price]).map_err(state_err)?;
            }
        }
        tx.commit().map_err(state_err)
    }

    /// Today's quote of `t`, if one was set today.
    pub fn quote(&self, t: &Ticker) -> Option<f64> {
        let day = (*self.today.lock().expect("lock"))?;
        self.conn
            .lock()
            .expect("lock")
            .query_row(
                "SELECT price FROM paper_quotes WHERE ticker = ?1 AND date = ?2",
                params![t.as_str(), day.to_string()],
                |r| r.get(0),
            )
            .optional()
            .ok()
            .flatten()
    }

    /// Applies a split (`ratio` new shares per old) to a held position, once per (symbol, day).
    pub fn apply_split(&self, t: &Ticker, date: TradingDay, ratio: f64) -> Result<bool, BrokerError> {
        let conn = self.conn.lock().expect("lock");
        // The split's mark, the position and the quote move together (one transaction).
        let conn = conn.unchecked_transaction().map_err(state_err)?;
        let fresh = conn
            .execute(
                "INSERT OR IGNORE INTO paper_splits (ticker, date) VALUES (?1, ?2)",
                params![t.as_str(), date.to_string()],
            )
            .map_err(state_err)?;
        if fresh == 1 {
            conn.execute(
                "UPDATE paper_positions SET shares = CAST(ROUND(shares * ?2) AS INTEGER), avg_cost = avg_cost / ?2 WHERE ticker = ?1",
                params![t.as_str(), ratio],
            )
            .map_err(state_err)?;
            conn.execute("UPDATE paper_quotes SET price = price / ?2 WHERE ticker = ?1", params![t.as_str(), ratio])
                .map_err(state_err)?;
        }
        conn.commit().map_err(state_err)?;
        Ok(fresh == 1)
    }

    /// Cash dividends at the start of `today`, by the one rule (`ae_rules::dividends`): accrues
    /// those going ex today on the shares held now, then pays every accrual whose pay date has
    /// come into cash, once each. Returns the dollars accrued and paid.
    pub fn settle_dividends(&self, today: TradingDay, events: &[DividendEvent]) -> Result<(f64, f64), BrokerError> {
        let conn = self.conn.lock().expect("lock");
        // One transaction: an accrual paid into cash is marked paid in the same commit, so no
        // crash can pay it twice.
        let conn = conn.unchecked_transaction().map_err(state_err)?;
        let held: BTreeMap<String, u32> = {
            let mut st =
                conn.prepare("SELECT ticker, shares FROM paper_positions WHERE shares > 0").map_err(state_err)?;
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(state_err)?
                .collect::<rusqlite::Result<_>>()
                .map_err(state_err)?
        };
        let mut accrued = 0.0;
        for a in dividends::accrue(today.date(), |t| held.get(t.as_str()).copied().unwrap_or(0), events) {
            let n = conn
                .execute(
                    "INSERT OR IGNORE INTO paper_dividends (ticker, ex_date, pay_date, amount) VALUES (?1, ?2, ?3, ?4)",
                    params![a.ticker.as_str(), a.ex_date.to_string(), a.pay_date.to_string(), a.amount],
                )
                .map_err(state_err)?;
            if n == 1 {
                accrued += a.amount;
            }
        }
        let due: f64 = conn
            .query_row(
                "SELECT COALESCE(SUM(amount), 0) FROM paper_dividends WHERE paid = 0 AND pay_date <= ?1",
                [today.to_string()],
                |r| r.get(0),
            )
            .map_err(state_err)?;
        conn.execute("UPDATE paper_account SET cash = cash + ?1 WHERE id = 1", [due]).map_err(state_err)?;
        conn.execute("UPDATE paper_dividends SET paid = 1 WHERE paid = 0 AND pay_date <= ?1", [today.to_string()])
            .map_err(state_err)?;
        conn.commit().map_err(state_err)?;
        Ok((accrued, due))
    }

    /// Expires every working order (day orders at the close); returns their client ids.
    pub fn expire_day_orders(&self) -> Result<Vec<String>, BrokerError> {
        let conn = self.conn.lock().expect("lock");
        let ids: Vec<String> = {
            let mut st =
                conn.prepare("SELECT client_id FROM paper_orders WHERE state = 'working'").map_err(state_err)?;
            st.query_map([], |r| r.get(0)).map_err(state_err)?.collect::<rusqlite::Result<_>>().map_err(state_err)?
        };
        conn.execute("UPDATE paper_orders SET state = 'expired' WHERE state = 'working'", []).map_err(state_err)?;
        Ok(ids)
    }

    fn fill(&self, conn: &Connection, broker_id: i64, o: &ApprovedOrder, price: f64) -> Result<(), BrokerError> {
        let day = self.today.lock().expect("lock").ok_or_else(|| BrokerError::State("no session day begun".into()))?;
        let shares = o.shares();
        let commission = self.settings.costs.commission(shares);
        let notional = shares as f64 * price;
        let t = o.ticker().as_str();
        let pos: Option<(u32, f64)> = conn
            .query_row("SELECT shares, avg_cost FROM paper_positions WHERE ticker = ?1", [t], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(state_err)?;
        match o.side() {
            Side::Buy => {
                let (held, cost) = pos.unwrap_or((0, 0.0));
                let n = held + shares;
                let avg = (held as f64 * cost + notional) / n as f64;
                conn.execute(
                    "INSERT INTO paper_positions (ticker, shares, avg_cost) VALUES (?1, ?2, ?3)
                     ON CONFLICT(ticker) DO UPDATE SET shares = ?2, avg_cost = ?3",
                    params![t, n, avg],
                )
                .map_err(state_err)?;
                conn.execute("UPDATE paper_account SET cash = cash - ?1", [notional + commission])
                    .map_err(state_err)?;
            }
            Side::Sell => {
                let (held, _) = pos.unwrap_or((0, 0.0));
                let left = held - shares; // checked by the caller
                if left == 0 {
                    conn.execute("DELETE FROM paper_positions WHERE ticker = ?1", [t]).map_err(state_err)?;
                } else {
                    conn.execute("UPDATE paper_positions SET shares = ?2 WHERE ticker = ?1", params![t, left])
                        .map_err(state_err)?;
                }
                conn.execute("UPDATE paper_account SET cash = cash + ?1", [notional - commission])
                    .map_err(state_err)?;
            }
        }
        conn.execute(
            "INSERT INTO paper_executions (exec_id, client_id, date, ticker, side, shares, price, commission, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                format!("paper-{broker_id}-1"),
                o.id(),
                day.to_string(),
                t,
                side_str(o.side()),
                shares,
                price,
                commission,
                self.clock.now().to_rfc3339()
            ],
        )
        .map_err(state_err)?;
        conn.execute("UPDATE paper_orders SET state = 'filled' WHERE broker_id = ?1", [broker_id])
            .map_err(state_err)?;
        Ok(())
    }
}

fn side_str(s: Side) -> &'static str {
    match s {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

impl Broker for PaperBroker {
    async fn account(&self) -> Result<AccountSnapshot, BrokerError> {
        let conn = self.conn.lock().expect("lock");
        let (account_id, cash): (String, f64) = conn
            .query_row("SELECT account_id, cash FROM paper_account WHERE id = 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(state_err)?;
        let mut st = conn
            .prepare("SELECT ticker, shares, avg_cost FROM paper_positions WHERE shares > 0 ORDER BY ticker")
            .map_err(state_err)?;
        let positions = st
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?, r.get::<_, f64>(2)?)))
            .map_err(state_err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(state_err)?
            .into_iter()
            .filter_map(|(t, shares, avg_cost)| {
                Some(BrokerPosition { ticker: Ticker::new(&t).ok()?, shares, avg_cost })
            })
            .collect::<Vec<_>>();
        let mut value = cash;
        for p in &positions {
            let q: Option<f64> = conn
                .query_row("SELECT price FROM paper_quotes WHERE ticker = ?1", [p.ticker.as_str()], |r| r.get(0))
                .optional()
                .map_err(state_err)?;
            value += p.shares as f64 * q.unwrap_or(p.avg_cost);
        }
        let accrued_dividends: f64 = conn
            .query_row("SELECT COALESCE(SUM(amount), 0) FROM paper_dividends WHERE paid = 0", [], |r| r.get(0))
            .map_err(state_err)?;
        value += accrued_dividends;
        Ok(AccountSnapshot {
            account_id,
            cash,
            positions,
            net_liquidation: Some(value),
            shorts: Vec::new(),
            accrued_dividends,
        })
    }

    async fn place(&self, o: &ApprovedOrder, _reserved: Option<&str>) -> Result<BrokerAck, BrokerError> {
        let reject = |reason: String| Err(BrokerError::Rejected { id: o.id().to_string(), reason });
        let day = self.today.lock().expect("lock").ok_or_else(|| BrokerError::State("no session day begun".into()))?;
        let conn = self.conn.lock().expect("lock");
        // One transaction: the order is accepted and, when marketable, filled (position, cash,
        // execution, state) all at once or not at all; one commit.
        let conn = conn.unchecked_transaction().map_err(state_err)?;
        let dup: Option<i64> = conn
            .query_row("SELECT broker_id FROM paper_orders WHERE client_id = ?1", [o.id()], |r| r.get(0))
            .optional()
            .map_err(state_err)?;
        if dup.is_some() {
            return reject(format!("duplicate client order id {}", o.id()));
        }
        let quote: Option<f64> = conn
            .query_row(
                "SELECT price FROM paper_quotes WHERE ticker = ?1 AND date = ?2",
                params![o.ticker().as_str(), day.to_string()],
                |r| r.get(0),
            )
            .optional()
            .map_err(state_err)?;
        let Some(quote) = quote else {
            return reject(format!("no quote for {} today", o.ticker()));
        };
        let px = self.settings.costs.fill_price(o.side(), quote);
        let limit = match o.price() {
            OrderPrice::Market => None,
            OrderPrice::Limit(l) => Some(l),
        };
        let marketable = limit.is_none_or(|l| within_limit(o.side(), px, l));
        match o.side() {
            Side::Buy => {
                let cash: f64 = conn
                    .query_row("SELECT cash FROM paper_account WHERE id = 1", [], |r| r.get(0))
                    .map_err(state_err)?;
                let need = o.shares() as f64 * px + self.settings.costs.commission(o.shares());
                if need > cash + 1e-6 {
                    return reject(format!("insufficient cash: {need:.2} needed, {cash:.2} available"));
                }
            }
            Side::Sell => {
                let held: u32 = conn
                    .query_row("SELECT shares FROM paper_positions WHERE ticker = ?1", [o.ticker().as_str()], |r| {
                        r.get(0)
                    })
                    .optional()
                    .map_err(state_err)?
                    .unwrap_or(0);
                let working: u32 = conn
                    .query_row(
                        "SELECT COALESCE(SUM(shares), 0) FROM paper_orders WHERE ticker = ?1 AND side = 'SELL' AND state = 'working'",
                        [o.ticker().as_str()],
                        |r| r.get(0),
                    )
                    .map_err(state_err)?;
                if o.shares() + working > held {
                    return reject(format!(
                        "sell of {} with {held} held and {working} in working sells: no short selling",
                        o.shares()
                    ));
                }
            }
        }
        conn.execute(
            "INSERT INTO paper_orders (client_id, date, ticker, side, shares, limit_price, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'working')",
            params![o.id(), day.to_string(), o.ticker().as_str(), side_str(o.side()), o.shares(), limit],
        )
        .map_err(state_err)?;
        let broker_id = conn.last_insert_rowid();
        if marketable {
            self.fill(&conn, broker_id, o, px)?;
        }
        conn.commit().map_err(state_err)?;
        Ok(BrokerAck { broker_order_id: format!("paper-{broker_id}") })
    }

    async fn executions(&self, date: TradingDay) -> Result<Vec<Fill>, BrokerError> {
        let conn = self.conn.lock().expect("lock");
        let mut st = conn
            .prepare("SELECT exec_id, client_id, date, ticker, side, shares, price, commission, at FROM paper_executions WHERE date = ?1 ORDER BY at, exec_id")
            .map_err(state_err)?;
        let rows = st
            .query_map([date.to_string()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, u32>(5)?,
                    r.get::<_, f64>(6)?,
                    r.get::<_, f64>(7)?,
                    r.get::<_, String>(8)?,
                ))
            })
            .map_err(state_err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(state_err)?;
        rows.into_iter()
            .map(|(exec_id, order_id, t, side, shares, price, commission, at)| {
                Ok(Fill {
                    exec_id,
                    order_id,
                    date,
                    ticker: Ticker::new(&t).map_err(|e| BrokerError::State(e.to_string()))?,
                    side: if side == "BUY" { Side::Buy } else { Side::Sell },
                    shares,
                    price,
                    commission,
                    at: chrono::DateTime::parse_from_rfc3339(&at)
                        .map_err(|e| BrokerError::State(e.to_string()))?
                        .with_timezone(&chrono::Utc),
                })
            })
            .collect()
    }

    async fn open_orders(&self) -> Result<Vec<OpenOrder>, BrokerError> {
        let conn = self.conn.lock().expect("lock");
        let mut st = conn
            .prepare(
                "SELECT client_id, broker_id, ticker, side, shares FROM paper_orders WHERE state = 'working' ORDER BY broker_id",
            )
            .map_err(state_err)?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, u32>(4)?,
                ))
            })
            .map_err(state_err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(state_err)?;
        rows.into_iter()
            .map(|(order_ref, broker_id, t, side, shares)| {
                Ok(OpenOrder {
                    order_ref,
                    broker_order_id: format!("paper-{broker_id}"),
                    ticker: Ticker::new(&t).map_err(|e| BrokerError::State(e.to_string()))?,
                    side: if side == "BUY" { Side::Buy } else { Side::Sell },
                    remaining: shares,
                })
            })
            .collect()
    }

    async fn cancel(&self, order_id: &str) -> Result<(), BrokerError> {
        let conn = self.conn.lock().expect("lock");
        conn.execute(
            "UPDATE paper_orders SET state = 'cancelled' WHERE client_id = ?1 AND state = 'working'",
            [order_id],
        )
        .map_err(state_err)?;
        Ok(())
    }
}
