//! Execution: the day's orders and what became of them, the ensemble's view of each name, the
//! fills with their slippage, and the entry-trigger scorecard.

use std::collections::BTreeMap;

use ae_shared::fmt::{pct, usd};
use maud::{Markup, html};

use crate::dashboard::layout::{doc_href, empty, fig, num};
use crate::dashboard::snapshot::Snapshot;

/// What became of an order by the end of its day.
pub fn order_state(ordered: u32, filled: u32) -> &'static str {
    match (filled, ordered) {
        (0, _) => "not filled",
        (f, o) if f >= o => "filled",
        _ => "partially filled",
    }
}

/// The page body.
pub fn render(s: &Snapshot) -> Markup {
    let Some(book) = s.last_book() else {
        return empty("order book", "executor plan, 09:20 New York");
    };
    let b = &book.doc;
    let eod = s.eods.get(&b.date);
    let mut filled: BTreeMap<&str, u32> = BTreeMap::new();
    for f in eod.iter().flat_map(|e| e.doc.fills.iter()) {
        *filled.entry(f.order_id.as_str()).or_default() += f.shares;
    }
    let all_fills: Vec<_> = s.eods.values().flat_map(|e| e.doc.fills.iter().map(move |f| (e, f))).collect();
    let slips: Vec<f64> = all_fills.iter().filter_map(|(_, f)| f.slippage_bps.map(|x| x.get())).collect();
    let mean_slip = if slips.is_empty() { f64::NAN } else { slips.iter().sum::<f64>() / slips.len() as f64 };
    html! {
        p {
            "Order book of " (fig(b.date.to_string(), &book.key, "book_date", b.date)) " · NAV " (usd(b.nav.get()))
            " · regime " (format!("{:?}", b.market_regime).to_lowercase())
            @match eod { Some(e) => { " · outcomes from " a href=(doc_href(&e.key)) { "the EOD of " (e.doc.date) } }, None => { " · the day's EOD is not on the bus yet" } }
        }
        div.cards {
            div.card { div.label { "Entries" } div.value { (b.entries.len()) } div.sub { (b.blocked.len()) " blocked" } }
            div.card { div.label { "Exits" } div.value { (b.urgent_exits.len()) } div.sub { (b.stops.len()) " stops working" } }
            div.card { div.label { "Fills (all days)" } div.value { (all_fills.len()) } div.sub { (s.eods.len()) " sessions" } }
            div.card { div.label { "Mean slippage" } div.value { (num(mean_slip, 1)) " bps" } div.sub { "n = " (slips.len()) " fills with a signal price" } }
        }
        h2 { "Entries" }
        @if b.entries.is_empty() { p.muted { "No entries planned." } } @else {
            div.scroll { table {
                tr { th.l { "order" } th { "shares" } th { "ref. price" } th { "weight" } th { "dollars" } th { "score" } th.l { "capped by" } th.l { "state" } }
                @for o in &b.entries {
                    @let f = filled.get(o.id.as_str()).copied().unwrap_or(0);
                    tr data-order=(o.id) {
                        td.l { (o.id) }
                        td { (o.shares) }
                        td { (usd(o.reference_price.get())) }
                        td { (pct(o.sizing.final_weight.get()).trim_start_matches('+')) }
                        td { (usd(o.sizing.dollars.get())) }
                        td { (num(o.score.get(), 0)) }
                        td.l { (o.sizing.capped_by.join(", ")) }
                        td.l { @if eod.is_some() { (order_state(o.shares, f)) " (" (f) ")" } @else { "working" } }
                    }
                }
            } }
        }
        h2 { "Exits" }
        @if b.urgent_exits.is_empty() { p.muted { "No exits planned." } } @else {
            div.scroll { table {
                tr { th.l { "order" } th { "shares" } th.l { "why" } th.l { "state" } }
                @for o in &b.urgent_exits {
                    @let f = filled.get(o.id.as_str()).copied().unwrap_or(0);
                    tr { td.l { (o.id) } td { (o.shares) } td.wrap { (o.reasons.join("; ")) } td.l { @if eod.is_some() { (order_state(o.shares, f)) } @else { "working" } } }
                }
            } }
        }
        @if !b.blocked.is_empty() {
            h2 { "Blocked entries" }
            div.scroll { table {
                tr { th.l { "ticker" } th.l { "rule" } th.l { "why" } }
                @for x in &b.blocked { tr { td.l { (x.ticker.as_str()) } td.l { (x.rule) } td.wrap { (x.reason) } } }
            } }
        }
        @if let Some(en) = &b.ensemble { (ensemble(en)) }
        h2 { "Fills, last 5 sessions" }
        div.scroll { table {
            tr { th { "day" } th.l { "order" } th.l { "side" } th { "shares" } th { "price" } th { "signal price" } th { "slippage" } th { "commission" } }
            @for e in s.eods.values().rev().take(5) {
                @for f in &e.doc.fills {
                    tr {
                        td { a href=(doc_href(&e.key)) { (e.doc.date) } }
                        td.l { (f.order_id) }
                        td.l { (format!("{:?}", f.side).to_lowercase()) }
                        td { (f.shares) }
                        td { (usd(f.price.get())) }
                        td { @if let Some(p) = f.signal_price { (usd(p.get())) } @else { "–" } }
                        td { @if let Some(x) = f.slippage_bps { (num(x.get(), 1)) " bps" } @else { "–" } }
                        td { (usd(f.commission.get())) }
                    }
                }
            }
        } }
        h2 { "Entry-trigger scorecard" }
        @match s.last_backtest() {
            Some(r) => { p.muted { "From the simulator over the executor's own rules (" a href=(doc_href(&r.key)) { "the last backtest" } ")." } (super::backtester::triggers(&r.doc)) }
            None => (empty("backtest report", "the backtester, Saturdays 04:00")),
        }
    }
}

/// The ensemble of the book: each view's measured skill and weight, and the names it expects most
/// of, with the view that moved each most.
fn ensemble(en: &ae_shared::contracts::ensemble::EnsembleBook) -> Markup {
    let mut names: Vec<_> = en.names.iter().collect();
    names.sort_by(|a, b| b.expected_alpha.total_cmp(&a.expected_alpha));
    html! {
        h2 { "Ensemble" }
        p.muted {
            "Each view weighted by its rank IC against the " (en.horizon_days) "-session return that followed, over "
            (en.graded_days) " graded mornings, shrunk toward zero when few."
        }
        div.scroll { table {
            tr { th.l { "view" } th { "weight" } th { "rank IC" } th { "± s.e." } th { "n" } }
            @for v in &en.skill {
                tr data-view=(v.view) {
                    td.l { (v.view) }
                    td { (num(v.weight, 2)) }
                    td { (num(v.ic, 3)) }
                    td { @if let Some(se) = v.std_error { (num(se, 3)) } @else { "–" } }
                    td { (v.n_days) }
                }
            }
        } }
        div.scroll { table {
            tr { th.l { "name" } th { "expected alpha" } th { "confidence" } th { "Kelly" } th.l { "moved most by" } }
            @for n in names.iter().take(10) {
                @let lead = n.views.iter().max_by(|a, b| a.contribution.abs().total_cmp(&b.contribution.abs()));
                tr {
                    td.l { (n.ticker.as_str()) }
                    td { (pct(n.expected_alpha)) }
                    td { (num(n.confidence, 2)) }
                    td { @if let Some(k) = n.kelly { (pct(k).trim_start_matches('+')) } @else { "–" } }
                    td.l { @if let Some(l) = lead { (l.view) " (z " (num(l.z, 1)) ")" } @else { "no measured skill yet" } }
                }
            }
        } }
    }
}
