//! What the gateway answers to each client request (the table in [`crate::wire`]'s module doc).

use ae_core::contracts::common::Side;
use ae_core::types::Ticker;

use super::replies::{error, execution_bodies, open_order, position_body, tick_bodies};
use super::state::{State, advance_for, dispatch, now_of, send};
use crate::book::{Event, OrderKind, OrderSpec, Status};
use crate::wire::{self, ClientRequest, ServerMessage};

pub(super) fn handle(s: &mut State, conn_id: u64, body: &[u8]) -> Result<(), wire::WireError> {
    use wire::in_id;
    let (id, _) = wire::split_protobuf(body)?;
    let client_id = s.conns.get(&conn_id).map(|c| c.client_id).unwrap_or(0);
    s.log.push(format!("{client_id}:{id}"));
    match id {
        in_id::REQ_CURRENT_TIME => {
            advance_for(s, conn_id);
            let t = now_of(s).timestamp();
            send(s, conn_id, wire::CurrentTime { unix_seconds: Some(t) }.to_body());
        }
        in_id::REQ_CURRENT_TIME_IN_MILLIS => {
            advance_for(s, conn_id);
            let t = now_of(s).timestamp_millis();
            send(s, conn_id, wire::CurrentTimeInMillis { unix_millis: Some(t) }.to_body());
        }
        in_id::REQ_IDS => {
            let next = s.book.next_valid_id();
            send(s, conn_id, wire::NextValidId { order_id: Some(next) }.to_body());
        }
        in_id::REQ_MANAGED_ACCTS => {
            let a = s.book.account.clone();
            send(s, conn_id, wire::ManagedAccounts { accounts: Some(a) }.to_body());
        }
        in_id::REQ_MARKET_DATA_TYPE => {}
        in_id::REQ_MKT_DATA => {
            let r = wire::ReqMktData::from_body(body)?;
            let req = r.req_id.unwrap_or(0);
            let sym = r.contract.and_then(|c| c.symbol).unwrap_or_default();
            let known = Ticker::new(&sym)
                .ok()
                .filter(|t| s.moments.iter().any(|m| m.prices.contains_key(t)) || s.book.prices.contains_key(t));
            let Some(t) = known else {
                send(
                    s,
                    conn_id,
                    error(
                        req,
                        wire::error_code::NO_SECURITY_DEFINITION,
                        "No security definition has been found for the request",
                    ),
                );
                return Ok(());
            };
            send(
                s,
                conn_id,
                wire::MarketDataType { req_id: Some(req), market_data_type: Some(wire::market_data_type::DELAYED) }
                    .to_body(),
            );
            let current = s.at.and_then(|i| s.moments.get(i)).and_then(|m| m.prices.get(&t).copied());
            if let Some(p) = current {
                send(s, conn_id, tick_bodies(req, p));
            }
            if r.snapshot.unwrap_or(false) {
                send(s, conn_id, wire::TickSnapshotEnd { req_id: Some(req) }.to_body());
            } else if let Some(c) = s.conns.get_mut(&conn_id) {
                c.ticks.insert(req, t);
            }
        }
        in_id::CANCEL_MKT_DATA => {
            let r = wire::CancelMktData::from_body(body)?;
            if let Some(c) = s.conns.get_mut(&conn_id) {
                c.ticks.remove(&r.req_id.unwrap_or(0));
            }
        }
        in_id::PLACE_ORDER => {
            let r = wire::PlaceOrder::from_body(body)?;
            let order_id = r.order_id.unwrap_or(0);
            let o = r.order.unwrap_or_default();
            let sym = r.contract.and_then(|c| c.symbol).unwrap_or_default();
            let parsed = (|| {
                let ticker = Ticker::new(&sym).map_err(|e| e.to_string())?;
                let side = match o.action.as_deref() {
                    Some("BUY") => Side::Buy,
                    Some("SELL") => Side::Sell,
                    other => return Err(format!("action {other:?} is not traded here")),
                };
                let quantity: f64 =
                    o.total_quantity.as_deref().unwrap_or("0").parse().map_err(|_| "bad quantity".to_string())?;
                if quantity.fract() != 0.0 || quantity < 0.0 {
                    return Err(format!("quantity {quantity} is not whole shares"));
                }
                let kind = match o.order_type.as_deref() {
                    Some("MKT") => OrderKind::Market,
                    Some("LMT") => OrderKind::Limit(o.limit_price.ok_or("LMT without a limit price")?),
                    Some("STP") => OrderKind::Stop(o.aux_price.ok_or("STP without a stop price")?),
                    Some("TRAIL") => {
                        OrderKind::TrailPct(o.trailing_percent.ok_or("TRAIL needs a trailing percent")? / 100.0)
                    }
                    other => return Err(format!("order type {other:?} is not supported")),
                };
                Ok(OrderSpec {
                    order_id,
                    client_id,
                    order_ref: o.order_ref.clone().unwrap_or_default(),
                    ticker,
                    side,
                    quantity: quantity as u32,
                    kind,
                    parent_id: o.parent_id.unwrap_or(0),
                    transmit: o.transmit.unwrap_or(false),
                })
            })();
            match parsed {
                Ok(spec) => {
                    let events = s.book.place(spec);
                    if events.iter().any(|e| matches!(e, Event::Error { code: 103, .. })) {
                        s.duplicate_ids_refused += 1;
                    }
                    // An order answered before it entered the book, or refused as a duplicate id: the answer
                    // goes to its sender.
                    let (direct, events): (Vec<Event>, Vec<Event>) = events.into_iter().partition(|e| {
                        matches!(e, Event::Error { id, code, .. } if *code == 103 || !s.book.orders.contains_key(id))
                    });
                    for e in direct {
                        if let Event::Error { id, code, message } = e {
                            send(s, conn_id, error(id, code, &message));
                        }
                    }
                    // The order's client gets the events even if it is this connection only.
                    dispatch(s, events);
                }
                Err(why) => send(
                    s,
                    conn_id,
                    error(order_id, wire::error_code::ORDER_REJECTED, &format!("Order rejected - reason: {why}")),
                ),
            }
        }
        in_id::CANCEL_ORDER => {
            let r = wire::CancelOrder::from_body(body)?;
            let oid = r.order_id.unwrap_or(0);
            let events = s.book.cancel(oid);
            let cancelled = s.book.orders.get(&oid).is_some_and(|o| o.status == Status::Cancelled);
            dispatch(s, events);
            if cancelled {
                send(s, conn_id, error(oid, wire::error_code::ORDER_CANCELLED, "Order Canceled - reason:"));
            }
        }
        in_id::REQ_GLOBAL_CANCEL => {
            let ids: Vec<i32> =
                s.book.orders.values().filter(|o| o.status.is_working()).map(|o| o.spec.order_id).collect();
            for oid in ids {
                let ev = s.book.cancel(oid);
                dispatch(s, ev);
            }
        }
        in_id::REQ_OPEN_ORDERS | in_id::REQ_ALL_OPEN_ORDERS | in_id::REQ_AUTO_OPEN_ORDERS => {
            let all = id == in_id::REQ_ALL_OPEN_ORDERS;
            let ids: Vec<(i32, i32)> = s
                .book
                .orders
                .values()
                .filter(|o| o.status.is_working() && (all || o.spec.client_id == client_id))
                .map(|o| (o.spec.order_id, o.spec.client_id))
                .collect();
            for (oid, cid) in ids {
                for b in open_order(&s.book, oid, cid).unwrap_or_default() {
                    send(s, conn_id, b);
                }
            }
            send(s, conn_id, wire::OpenOrderEnd {}.to_body());
        }
        in_id::REQ_COMPLETED_ORDERS => {
            let done: Vec<Vec<u8>> = s
                .book
                .orders
                .values()
                .filter(|o| !o.status.is_working())
                .filter_map(|o| {
                    let mut bodies = open_order(&s.book, o.spec.order_id, o.spec.client_id)?;
                    let oo = wire::OpenOrder::from_body(&bodies.remove(0)).ok()?;
                    Some(wire::CompletedOrder { contract: oo.contract, order: oo.order, state: oo.state }.to_body())
                })
                .collect();
            for b in done {
                send(s, conn_id, b);
            }
            send(s, conn_id, wire::CompletedOrdersEnd {}.to_body());
        }
        in_id::REQ_EXECUTIONS => {
            s.book.on_executions_request();
            let r = wire::ReqExecutions::from_body(body)?;
            let req = r.req_id.unwrap_or(0);
            let f = r.filter.unwrap_or_default();
            let bodies: Vec<Vec<u8>> = s
                .book
                .executions
                .iter()
                .filter(|x| f.client_id.is_none_or(|c| c == x.client_id || c == 0))
                .filter(|x| f.symbol.as_deref().is_none_or(|sym| sym.is_empty() || sym == x.ticker.as_str()))
                .flat_map(|x| execution_bodies(&s.book, x, req))
                .collect();
            for b in bodies {
                send(s, conn_id, b);
            }
            send(s, conn_id, wire::ExecutionDataEnd { req_id: Some(req) }.to_body());
        }
        in_id::REQ_POSITIONS => {
            let mut bodies: Vec<Vec<u8>> =
                s.book.positions.iter().map(|(t, (n, avg))| position_body(&s.book, t, *n as i64, *avg)).collect();
            bodies.extend(s.book.shorts.iter().map(|(t, n)| position_body(&s.book, t, -(*n as i64), 0.0)));
            for b in bodies {
                send(s, conn_id, b);
            }
            send(s, conn_id, wire::PositionEnd {}.to_body());
            if let Some(c) = s.conns.get_mut(&conn_id) {
                c.positions = true;
            }
        }
        in_id::CANCEL_POSITIONS => {
            if let Some(c) = s.conns.get_mut(&conn_id) {
                c.positions = false;
            }
        }
        in_id::REQ_ACCOUNT_SUMMARY => {
            let r = wire::ReqAccountSummary::from_body(body)?;
            let req = r.req_id.unwrap_or(0);
            let tags = r.tags.unwrap_or_default();
            let nav = s.book.net_liquidation();
            let cash = s.book.cash;
            for tag in tags.split(',').map(str::trim) {
                let value = match tag {
                    "NetLiquidation" => nav,
                    "TotalCashValue" | "AvailableFunds" | "BuyingPower" | "SettledCash" => cash,
                    "GrossPositionValue" => nav - cash - s.book.accrued_dividend(),
                    "AccruedDividend" => s.book.accrued_dividend(),
                    _ => continue,
                };
                let body = wire::AccountSummary {
                    req_id: Some(req),
                    account: Some(s.book.account.clone()),
                    tag: Some(tag.to_string()),
                    value: Some(format!("{value:.2}")),
                    currency: Some("USD".into()),
                }
                .to_body();
                send(s, conn_id, body);
            }
            send(s, conn_id, wire::AccountSummaryEnd { req_id: Some(req) }.to_body());
        }
        in_id::CANCEL_ACCOUNT_SUMMARY => {}
        other => {
            send(s, conn_id, error(-1, 503, &format!("the paper gateway does not serve message {other}")));
        }
    }
    Ok(())
}
