//! Reconciliation: the broker is the truth about what happened.
//!
//! - [`reconcile`], on every (re)connect before anything new is sent: book the broker's
//!   executions, match the day's recorded orders with the broker's working orders, send the ones
//!   that never arrived (same ids), close the ones it no longer works, raise the client's order-id
//!   floor above every id recorded, and compare positions — a break that survives a second look is
//!   adopted from the broker and reported.
//! - [`sync`], at every step: book executions, confirm cancels, close what the broker stopped.
//! - [`settle_earlier_days`], at the start of a day: day orders of earlier days still working in
//!   the ledger are settled (they blocked exits of those names forever otherwise).
//! - [`foreign_activity`], before the first connection of a day is used: today's alpha-engine
//!   orders at the broker that this ledger does not know mean another daemon with another ledger.

use std::collections::{BTreeMap, BTreeSet};

use ae_rules::Reason;
use ae_rules::lifecycle::{OrderEvent, OrderState};
use ae_rules::sells::Books;
use ae_shared::TradingDay;
use ae_shared::clock::Clock;
use ae_shared::contracts::common::Side;
use ae_shared::store::SectorMap;
use ae_shared::types::Ticker;
use serde::Serialize;

use super::{Sent, recorded};
use crate::ExecError;
use crate::broker::{AccountSnapshot, Broker, BrokerError, OpenOrder};
use crate::ledger::{Ledger, RiskEventRow};

/// A position the ledger and the broker disagreed on after every execution was booked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PositionBreak {
    /// Symbol.
    pub ticker: String,
    /// The ledger's shares before.
    pub ledger: u32,
    /// The broker's shares (negative: a short).
    pub broker: i64,
}

/// What a reconciliation found and did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Reconciled {
    /// Executions booked that the ledger did not have.
    pub fills_booked: usize,
    /// Orders the broker has working.
    pub working_at_broker: usize,
    /// Recorded orders that never reached the broker, sent now under their recorded ids.
    pub resent: Vec<String>,
    /// Recorded orders the broker knows but no longer works and never filled (refused or
    /// cancelled at the broker): closed in the ledger.
    pub closed: Vec<String>,
    /// Positions that disagreed after booking every execution and a second look; the ledger took
    /// the broker's (recorded in `position_adjustments`, reported as risk events).
    pub position_breaks: Vec<PositionBreak>,
    /// The broker order-id floor set after reconciling (highest id recorded + 1).
    pub id_floor: Option<i64>,
}

/// What a step's sync found and did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Synced {
    /// Executions booked.
    pub fills: usize,
    /// The broker's working orders.
    pub open: Vec<OpenOrder>,
    /// Orders closed in the ledger (cancels confirmed, orders the broker stopped working).
    pub closed: Vec<String>,
}

/// Both books of one name, for a sell's guard (`except`: leave this order out of the working sells).
pub(crate) fn books_of(
    ledger: &Ledger,
    account: &AccountSnapshot,
    open: &[OpenOrder],
    t: &Ticker,
    except: Option<&str>,
) -> Result<Books, ExecError> {
    let ledger_shares = ledger.positions()?.into_iter().find(|p| &p.ticker == t).map(|p| p.shares).unwrap_or(0);
    let ledger_working_sells = ledger
        .working_orders()?
        .iter()
        .filter(|o| &o.ticker == t && o.side == Side::Sell && Some(o.id.as_str()) != except)
        .map(|o| o.remaining())
        .sum();
    let broker_open_sells = open
        .iter()
        .filter(|o| &o.ticker == t && o.side == Side::Sell && Some(o.order_ref.as_str()) != except)
        .map(|o| o.remaining)
        .sum();
    Ok(Books { broker_shares: account.shares_of(t), ledger_shares, ledger_working_sells, broker_open_sells })
}

/// Books every execution the broker reports for `date` that the ledger does not have yet —
/// whatever the ledger expected (see [`Ledger::record_fill`]).
pub async fn sync_fills<B: Broker>(
    ledger: &mut Ledger,
    broker: &B,
    date: TradingDay,
    sectors: &SectorMap,
) -> Result<usize, ExecError> {
    let mut booked = 0;
    for x in broker.executions(date).await? {
        if ledger.has_fill(&x.exec_id)? {
            continue;
        }
        let fill = x;
        let sector = sectors
            .sector(fill.ticker.as_str())
            .and_then(|s| serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_string)));
        ae_shared::crashpoint::hit(ae_shared::crashpoint::points::OMS_FILL_RECEIVED);
        match ledger.record_fill(&fill, sector.as_deref()) {
            Ok(b) => {
                ae_shared::crashpoint::hit(ae_shared::crashpoint::points::OMS_AFTER_FILL_BOOKED);
                for (rule, detail) in &b.notes {
                    tracing::warn!(rule = rule.code(), "{detail}");
                }
                booked += usize::from(b.new);
            }
            // Not an execution at all (no shares, no price): reported, never booked.
            Err(crate::ledger::LedgerError::Invariant(why)) => {
                tracing::error!(exec_id = %fill.exec_id, "{why}");
                ledger.record_risk_event(&RiskEventRow {
                    date,
                    source: "reconcile".into(),
                    rule: Reason::ExternalExecution.code().into(),
                    ticker: Some(fill.ticker.clone()),
                    detail: why,
                })?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(booked)
}

fn note_refused(ledger: &Ledger, date: TradingDay, id: &str, why: &str) -> Result<(), ExecError> {
    tracing::warn!(id, "{why}");
    ledger.record_risk_event(&RiskEventRow {
        date,
        source: "reconcile".into(),
        rule: Reason::OrderEventRefused.code().into(),
        ticker: None,
        detail: format!("{id}: {why}"),
    })?;
    Ok(())
}

/// Closes the day's working orders the broker no longer works: a confirmed cancel, the rest of a
/// partial fill cancelled at the broker, an acknowledged order the broker dropped.
fn close_stopped(
    ledger: &Ledger,
    date: TradingDay,
    open: &BTreeSet<&str>,
    clock: &dyn Clock,
) -> Result<Vec<String>, ExecError> {
    let mut closed = Vec::new();
    for row in ledger.orders_on(date)?.into_iter().filter(|o| o.state.is_working() && !open.contains(o.id.as_str())) {
        let detail = match row.state {
            OrderState::PendingCancel => "cancel confirmed: no longer working at the broker",
            OrderState::Partial => "rest cancelled at the broker",
            OrderState::Acknowledged => "no longer working at the broker",
            _ => continue,
        };
        match ledger.apply(&row.id, OrderEvent::Cancel, Some(detail), clock.now())? {
            crate::ledger::Applied::Refused(why) => note_refused(ledger, date, &row.id, &why)?,
            _ => closed.push(row.id),
        }
    }
    Ok(closed)
}

/// At every step: the broker's working orders, then its executions (an order that stopped working
/// before the first request has its executions in the second), then orders it stopped working.
pub async fn sync<B: Broker>(
    ledger: &mut Ledger,
    broker: &B,
    date: TradingDay,
    sectors: &SectorMap,
    clock: &dyn Clock,
) -> Result<Synced, ExecError> {
    let open = broker.open_orders().await?;
    let fills = sync_fills(ledger, broker, date, sectors).await?;
    let refs: BTreeSet<&str> = open.iter().map(|o| o.order_ref.as_str()).collect();
    let closed = close_stopped(ledger, date, &refs, clock)?;
    Ok(Synced { fills, open, closed })
}

/// On every (re)connect, before anything new is sent (see the module doc).
pub async fn reconcile<B: Broker>(
    ledger: &mut Ledger,
    broker: &B,
    date: TradingDay,
    sectors: &SectorMap,
    entries_blocked: bool,
    clock: &dyn Clock,
) -> Result<Reconciled, ExecError> {
    let floor = ledger.max_broker_id()?.map(|m| m + 1);
    broker.sync_order_ids(floor).await?;
    let open = broker.open_orders().await?;
    let mut out = Reconciled {
        fills_booked: sync_fills(ledger, broker, date, sectors).await?,
        working_at_broker: open.len(),
        id_floor: floor,
        ..Default::default()
    };
    let refs: BTreeSet<&str> = open.iter().map(|o| o.order_ref.as_str()).collect();
    let account = broker.account().await?;
    for row in ledger.orders_on(date)?.into_iter().filter(|o| o.state.is_working()) {
        if refs.contains(row.id.as_str()) {
            if matches!(row.state, OrderState::Submitted | OrderState::Pending) {
                ledger.apply(&row.id, OrderEvent::Ack, None, clock.now())?;
            }
            continue;
        }
        let result = match row.state {
            OrderState::Pending => {
                let books = books_of(ledger, &account, &open, &row.ticker, Some(&row.id))?;
                match ae_rules::order::reissue(&recorded(&row), books.held(), books.working_sells(), entries_blocked) {
                    Ok(order) => super::submit(ledger, broker, &order, clock).await,
                    Err(refusal) => {
                        ledger.apply(&row.id, OrderEvent::Cancel, Some(&refusal.to_string()), clock.now())?;
                        out.closed.push(row.id.clone());
                        continue;
                    }
                }
            }
            OrderState::Submitted if row.attempts == 0 => {
                // Sent under its recorded id: a broker that has it refuses the duplicate.
                let books = books_of(ledger, &account, &open, &row.ticker, Some(&row.id))?;
                match ae_rules::order::reissue(&recorded(&row), books.held(), books.working_sells(), entries_blocked) {
                    Ok(order) => super::place(ledger, broker, &order, row.broker_order_id.as_deref(), clock).await,
                    Err(refusal) => {
                        super::reject(ledger, &row.id, &row.ticker, &refusal.to_string(), refusal.reason, clock)?;
                        out.closed.push(row.id.clone());
                        continue;
                    }
                }
            }
            OrderState::Submitted => super::resend_fresh(ledger, broker, &row, entries_blocked, clock).await,
            _ => continue, // closed below
        };
        match result {
            Ok(Sent::Acknowledged { .. }) => out.resent.push(row.id.clone()),
            Ok(Sent::Rejected { .. }) => out.closed.push(row.id.clone()),
            Ok(_) => {}
            Err(ExecError::Broker(BrokerError::Duplicate { .. })) => {
                // It did arrive, and it is neither working nor filled: refused or cancelled.
                ledger.apply(
                    &row.id,
                    OrderEvent::Cancel,
                    Some("known to the broker, not working, never filled"),
                    clock.now(),
                )?;
                out.closed.push(row.id.clone());
            }
            Err(e) => return Err(e),
        }
    }
    out.closed.extend(close_stopped(ledger, date, &refs, clock)?);
    // Book anything the re-sent orders filled, then compare positions.
    out.fills_booked += sync_fills(ledger, broker, date, sectors).await?;
    let (fills, breaks) = reconcile_positions(ledger, broker, date, sectors, clock).await?;
    out.fills_booked += fills;
    out.position_breaks = breaks;
    Ok(out)
}

/// Compares positions with the broker's; a break that survives a second look (executions booked
/// again) is adopted from the broker and reported (a short at the broker leaves the ledger at zero).
/// Returns the executions booked on the second look and the breaks adopted.
pub async fn reconcile_positions<B: Broker>(
    ledger: &mut Ledger,
    broker: &B,
    date: TradingDay,
    sectors: &SectorMap,
    clock: &dyn Clock,
) -> Result<(usize, Vec<PositionBreak>), ExecError> {
    let mut booked = 0;
    let mut breaks = position_breaks(ledger, &broker.account().await?)?;
    if !breaks.is_empty() {
        // A second look: an execution may have been reported after the positions were read.
        booked += sync_fills(ledger, broker, date, sectors).await?;
        let account = broker.account().await?;
        breaks = position_breaks(ledger, &account)?;
        for b in &breaks {
            let t = Ticker::new(&b.ticker).map_err(|e| BrokerError::State(e.to_string()))?;
            let avg = account.positions.iter().find(|p| p.ticker == t).map(|p| p.avg_cost).unwrap_or(0.0);
            let what = if b.broker < 0 {
                format!(
                    "the broker shows {} {} SHORT in a long-only account (ledger {}): cover it at the broker; the ledger holds 0",
                    -b.broker, b.ticker, b.ledger
                )
            } else {
                format!(
                    "the broker holds {} {} and the ledger {} after every execution was booked: the ledger now follows the broker; check for a transfer or corporate action",
                    b.broker, b.ticker, b.ledger
                )
            };
            tracing::error!("{what}");
            let sector = ledger.positions()?.into_iter().find(|p| p.ticker == t).and_then(|p| p.sector);
            ledger.adopt_broker_position(date, &t, b.broker, avg, sector.as_deref(), &what, clock.now())?;
        }
    }
    Ok((booked, breaks))
}

fn position_breaks(ledger: &Ledger, account: &AccountSnapshot) -> Result<Vec<PositionBreak>, ExecError> {
    let ledger_pos: BTreeMap<String, u32> =
        ledger.positions()?.into_iter().map(|p| (p.ticker.as_str().to_string(), p.shares)).collect();
    let mut broker: BTreeMap<String, i64> =
        account.positions.iter().map(|p| (p.ticker.as_str().to_string(), p.shares as i64)).collect();
    for (t, n) in &account.shorts {
        broker.insert(t.as_str().to_string(), -(*n as i64));
    }
    let names: BTreeSet<&String> = ledger_pos.keys().chain(broker.keys()).collect();
    Ok(names
        .into_iter()
        .filter_map(|n| {
            let l = ledger_pos.get(n).copied().unwrap_or(0);
            let b = broker.get(n).copied().unwrap_or(0);
            (l as i64 != b).then(|| PositionBreak { ticker: n.clone(), ledger: l, broker: b })
        })
        .collect())
}

/// Day orders of days before `date` still working in the ledger: the broker ended them at their
/// close. Executions the broker still reports are booked first (by the caller's sync); the rest are
/// settled as expired, each reported.
pub fn settle_earlier_days(ledger: &Ledger, date: TradingDay, clock: &dyn Clock) -> Result<Vec<String>, ExecError> {
    let mut settled = Vec::new();
    for row in ledger.working_before(date)? {
        let why = format!(
            "a day order of {} still {} in the ledger at the start of {date}: settled as expired ({} of {} filled)",
            row.date, row.state, row.filled_shares, row.shares
        );
        let event = if row.state == OrderState::Pending { OrderEvent::Cancel } else { OrderEvent::Expire };
        ledger.apply(&row.id, event, Some(&why), clock.now())?;
        ledger.record_risk_event(&RiskEventRow {
            date,
            source: "reconcile".into(),
            rule: Reason::StaleOrder.code().into(),
            ticker: Some(row.ticker.clone()),
            detail: format!("{}: {why}", row.id),
        })?;
        tracing::warn!(id = %row.id, "{why}");
        settled.push(row.id);
    }
    Ok(settled)
}

/// Today's alpha-engine orders and executions at the broker that this ledger does not know: ids of
/// the form `{date}:…` that are not recorded. Non-empty means another daemon with another ledger
/// is trading this account.
pub async fn foreign_activity<B: Broker>(
    ledger: &Ledger,
    broker: &B,
    date: TradingDay,
) -> Result<Vec<String>, ExecError> {
    let prefix = format!("{date}:");
    let mut refs: BTreeSet<String> =
        broker.open_orders().await?.into_iter().map(|o| o.order_ref).filter(|r| r.starts_with(&prefix)).collect();
    refs.extend(broker.executions(date).await?.into_iter().map(|x| x.order_id).filter(|r| r.starts_with(&prefix)));
    let mut unknown = Vec::new();
    for r in refs {
        if ledger.order(&r)?.is_none() {
            unknown.push(r);
        }
    }
    Ok(unknown)
}
