//! The TWS messages that report the book: order state, executions with their commission
//! reports, positions, ticks and errors, as frame bodies.

use ae_core::contracts::common::Side;
use ae_core::types::Ticker;

use crate::book::{Book, Execution, OrderKind};
use crate::wire::{self, ServerMessage};

pub(super) fn error(id: i32, code: i32, message: &str) -> Vec<u8> {
    wire::ErrorMessage {
        id: Some(id),
        time_millis: None,
        code: Some(code),
        message: Some(message.to_string()),
        advanced_reject_json: None,
    }
    .to_body()
}

pub(super) fn contract(t: &Ticker) -> wire::Contract {
    wire::Contract {
        con_id: Some(con_id(t)),
        symbol: Some(t.as_str().to_string()),
        sec_type: Some("STK".into()),
        exchange: Some("SMART".into()),
        currency: Some("USD".into()),
        ..Default::default()
    }
}

/// A stable contract id per symbol.
fn con_id(t: &Ticker) -> i32 {
    t.as_str().bytes().fold(17i32, |h, b| h.wrapping_mul(31).wrapping_add(b as i32)).abs()
}

fn side_str(s: Side) -> &'static str {
    match s {
        Side::Buy => wire::side::BUY,
        Side::Sell => wire::side::SELL,
    }
}

pub(super) fn open_order(book: &Book, id: i32, client_id: i32) -> Option<Vec<Vec<u8>>> {
    let o = book.orders.get(&id)?;
    let (order_type, lmt, aux, trail) = match o.spec.kind {
        OrderKind::Market => ("MKT", None, None, None),
        OrderKind::Limit(p) => ("LMT", Some(p), None, None),
        OrderKind::Stop(p) => ("STP", None, Some(p), None),
        OrderKind::TrailPct(f) => ("TRAIL", None, None, Some(f * 100.0)),
    };
    let order = wire::Order {
        client_id: Some(client_id),
        order_id: Some(id),
        perm_id: Some(o.perm_id as i64),
        parent_id: (o.spec.parent_id != 0).then_some(o.spec.parent_id),
        action: Some(side_str(o.spec.side).into()),
        total_quantity: Some(o.spec.quantity.to_string()),
        order_type: Some(order_type.into()),
        limit_price: lmt,
        aux_price: aux,
        tif: Some("DAY".into()),
        account: Some(book.account.clone()),
        trailing_percent: trail,
        order_ref: Some(o.spec.order_ref.clone()),
        transmit: Some(true),
        filled_quantity: Some(o.filled.to_string()),
        ..Default::default()
    };
    let state = wire::OrderState { status: Some(o.status.as_str().into()), ..Default::default() };
    let status = wire::OrderStatus {
        order_id: Some(id),
        status: Some(o.status.as_str().into()),
        filled: Some(o.filled.to_string()),
        remaining: Some(o.remaining().to_string()),
        avg_fill_price: Some(o.avg_price),
        perm_id: Some(o.perm_id as i64),
        parent_id: Some(o.spec.parent_id),
        last_fill_price: Some(o.last_price),
        client_id: Some(client_id),
        why_held: None,
        mkt_cap_price: None,
    };
    Some(vec![
        wire::OpenOrder {
            order_id: Some(id),
            contract: Some(contract(&o.spec.ticker)),
            order: Some(order),
            state: Some(state),
        }
        .to_body(),
        status.to_body(),
    ])
}

pub(super) fn execution_bodies(book: &Book, x: &Execution, req_id: i32) -> Vec<Vec<u8>> {
    let exec = wire::Execution {
        order_id: Some(x.order_id),
        exec_id: Some(x.exec_id.clone()),
        time: Some(x.time.format("%Y%m%d %H:%M:%S UTC").to_string()),
        account: Some(book.account.clone()),
        exchange: Some("SMART".into()),
        side: Some(if x.side == Side::Buy { wire::side::BOUGHT } else { wire::side::SOLD }.into()),
        shares: Some(x.shares.to_string()),
        price: Some(x.price),
        perm_id: Some(x.perm_id as i64),
        client_id: Some(x.client_id),
        cum_qty: Some(x.cum_qty.to_string()),
        avg_price: Some(x.avg_price),
        order_ref: Some(x.order_ref.clone()),
        last_liquidity: None,
    };
    vec![
        wire::ExecutionData { req_id: Some(req_id), contract: Some(contract(&x.ticker)), execution: Some(exec) }
            .to_body(),
        wire::CommissionReport {
            exec_id: Some(x.exec_id.clone()),
            commission: Some(x.commission),
            currency: Some("USD".into()),
            realized_pnl: Some(wire::UNSET_DOUBLE),
        }
        .to_body(),
    ]
}

pub(super) fn position_body(book: &Book, t: &Ticker, shares: i64, avg: f64) -> Vec<u8> {
    wire::Position {
        account: Some(book.account.clone()),
        contract: Some(contract(t)),
        quantity: Some(shares.to_string()),
        avg_cost: Some(avg),
    }
    .to_body()
}

pub(super) fn tick_bodies(req: i32, price: f64) -> Vec<u8> {
    wire::TickPrice {
        req_id: Some(req),
        tick_type: Some(wire::tick_type::DELAYED_LAST),
        price: Some(price),
        size: Some("100".into()),
        attributes: Some(0),
    }
    .to_body()
}
