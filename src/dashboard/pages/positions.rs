//! Positions: each holding at the last close with its entry, P&L, stop and trail, days held,
//! sector, the research signal, the predictor's view and its share of the book's risk.

use ae_shared::TradingDay;
use ae_shared::fmt::{pct, usd};
use maud::{Markup, html};

use crate::dashboard::layout::{doc_href, empty, fig, num, sign_class};
use crate::dashboard::snapshot::Snapshot;

/// The page body.
pub fn render(s: &Snapshot) -> Markup {
    let Some(eod) = s.last_eod() else {
        return empty("end-of-day report, so no positions", "executor EOD, 16:40 New York");
    };
    let asof = eod.doc.date;
    // The stops the planner set the morning of the last close (the day's book).
    let book = s.books.range(..=asof).next_back().map(|(_, b)| b);
    let signals = s.signals.range(..=asof).next_back().map(|(_, x)| x);
    let preds = s.predictions.range(..=asof).next_back().map(|(_, x)| x);
    let risk = s.risk.range(..=asof).next_back().map(|(_, x)| x);
    html! {
        p.muted {
            (eod.doc.positions.len()) " positions at the close of " a href=(doc_href(&eod.key)) { (asof) }
            @if let Some(b) = book { " · stops from " a href=(doc_href(&b.key)) { "the order book of " (b.doc.date) } }
            @if let Some(x) = signals { " · signals of " a href=(doc_href(&x.key)) { (x.doc.date) } }
            @if let Some(x) = preds { " · predictions of " a href=(doc_href(&x.key)) { (x.doc.date) } }
            @if let Some(x) = risk { " · risk of " a href=(doc_href(&x.key)) { (x.doc.date) } }
        }
        div.scroll { table {
            tr {
                th { "ticker" } th { "shares" } th { "entry" } th { "entry price" } th { "mark" } th { "P&L" } th { "P&L %" }
                th { "weight" } th { "stop" } th { "trail (high)" } th { "days held" } th.l { "sector" } th.l { "signal" }
                th { "score" } th.l { "predictor" } th { "risk share" }
            }
            @for p in &eod.doc.positions {
                @let t = p.ticker.as_str();
                @let stop = book.and_then(|b| b.doc.stops.iter().find(|x| x.ticker.as_str() == t));
                @let sig = signals.and_then(|x| x.doc.universe.iter().find(|e| e.ticker.as_str() == t));
                @let pred = preds.and_then(|x| x.doc.entries.iter().find(|e| e.ticker.as_str() == t));
                @let rs = risk.and_then(|r| r.doc.decomposition.as_ref()).and_then(|d| d.positions.iter().find(|x| x.ticker.as_str() == t));
                @let cost = p.avg_cost.get() * f64::from(p.shares);
                @let ret = if cost > 0.0 { p.unrealized_pnl.get() / cost } else { f64::NAN };
                tr data-ticker=(t) {
                    td { a href=(format!("/research?ticker={t}")) { (t) } }
                    td { (p.shares) }
                    td { @if let Some(x) = stop { (x.entry_date) } @else { "–" } }
                    td { (usd(p.avg_cost.get())) }
                    td { (usd(p.mark.get())) }
                    td class=(sign_class(p.unrealized_pnl.get())) { (fig(usd(p.unrealized_pnl.get()), &eod.key, &format!("pnl:{t}"), p.unrealized_pnl.get())) }
                    td class=(sign_class(ret)) { (pct(ret)) }
                    td { (pct(p.weight.get()).trim_start_matches('+')) }
                    td { @if let (Some(x), Some(b)) = (stop, book) { (fig(usd(x.stop_price.get()), &b.key, &format!("stop:{t}"), x.stop_price.get())) } @else { "–" } }
                    td { @if let Some(x) = stop { (usd(x.high_water.get())) " · " (num(x.atr_multiple, 1)) "×ATR" } @else { "–" } }
                    td { @if let Some(x) = stop { (held(x.entry_date, asof)) } @else { "–" } }
                    td.l { @if let Some(x) = sig { (x.sector.to_string()) } @else { "–" } }
                    td.l { @if let Some(x) = sig { (format!("{:?}", x.signal).to_uppercase()) " · " (format!("{:?}", x.rating).to_lowercase()) } @else { span.muted { "not rated" } } }
                    td { @if let Some(sc) = sig.and_then(|x| x.score) { (num(sc.get(), 0)) } @else { "–" } }
                    td.l {
                        @if let Some(x) = pred {
                            (format!("{:?}", x.predicted_direction).to_lowercase()) " p=" (num(x.p_up.get(), 2))
                            @if x.gbm_veto || x.momentum_veto { " " span.badge.bad { "VETO" } }
                        } @else { span.muted { "no prediction" } }
                    }
                    td { @if let (Some(x), Some(r)) = (rs, risk) { (fig(format!("{:.0}%", x.risk_share * 100.0), &r.key, &format!("risk_share:{t}"), x.risk_share)) @if x.flagged { " " span.badge.warn { "HIGH" } } } @else { "–" } }
                }
            }
        } }
        p.muted { "Unrealized P&L: " (usd(eod.doc.unrealized_pnl.get())) " · realized today: " (usd(eod.doc.realized_pnl.get())) " · cash " (usd(eod.doc.cash.get())) }
    }
}

/// Trading sessions from entry to `asof` (the entry day counts as day 0).
pub fn held(entry: TradingDay, asof: TradingDay) -> i64 {
    entry.days_until(asof).max(0)
}
