//! Risk: the morning risk state — exposures, the factor decomposition, VaR/CVaR by method, the
//! stress table, the breakers that fired — and the breakers over time.

use ae_shared::fmt::{pct, usd};
use maud::{Markup, html};

use crate::dashboard::layout::{doc_href, empty, fig, num, sign_class};
use crate::dashboard::snapshot::Snapshot;
use crate::dashboard::svg::{self, Series};

/// The page body.
pub fn render(s: &Snapshot) -> Markup {
    let Some(last) = s.last_risk() else {
        return empty("risk state", "executor plan, 09:20 New York, writes risk/{date}/risk_state.json");
    };
    let r = &last.doc;
    let key = &last.key;
    let var99 = r.tail.iter().find(|t| {
        t.horizon_days == 1
            && (t.confidence - 0.99).abs() < 1e-9
            && matches!(t.method, ae_shared::contracts::risk_state::TailMethod::Historical)
    });
    let labels: Vec<String> = s.risk.keys().map(|d| d.to_string()).collect();
    let var_series: Vec<f64> = s
        .risk
        .values()
        .map(|x| {
            x.doc
                .tail
                .iter()
                .find(|t| {
                    t.horizon_days == 1
                        && (t.confidence - 0.99).abs() < 1e-9
                        && matches!(t.method, ae_shared::contracts::risk_state::TailMethod::Historical)
                })
                .map(|t| t.var * 100.0)
                .unwrap_or(f64::NAN)
        })
        .collect();
    html! {
        p { "Risk state of " (fig(r.date.to_string(), key, "risk_date", r.date)) " · NAV " (usd(r.nav.get())) }
        div.cards {
            div.card { div.label { "Gross / net" } div.value { (pct(r.exposures.gross).trim_start_matches('+')) } div.sub { "net " (pct(r.exposures.net)) " · cash " (pct(r.exposures.cash).trim_start_matches('+')) } }
            div.card { div.label { "Beta" } div.value { @match r.exposures.beta { Some(b) => (num(b, 2)), None => "–" } } div.sub { "to the benchmark" } }
            div.card { div.label { "1-day 99% VaR" } div.value { @match var99 { Some(t) => (fig(pct(t.var).trim_start_matches('+').to_string(), key, "var99", t.var)), None => "–" } }
                div.sub { @if let Some(t) = var99 { "CVaR " (pct(t.cvar).trim_start_matches('+')) " · " (usd(t.var_usd.get())) " · n = " (t.n) } @else { "historical" } } }
            div.card { div.label { "Volatility (σ, daily)" } div.value { @match &r.decomposition { Some(d) => (pct(d.sigma).trim_start_matches('+')), None => "–" } }
                div.sub { @if let Some(d) = &r.decomposition { "factor " (pct(d.factor_share).trim_start_matches('+')) " · specific " (pct(d.specific_share).trim_start_matches('+')) } @else { "no model fit" } } }
            div.card { div.label { "Breakers" } div.value { (r.breakers.len()) } div.sub { (r.alerts.len()) " alerts" } }
        }
        @if !r.breakers.is_empty() {
            h2 { "Breakers that fired" }
            div.scroll { table {
                tr { th.l { "rule" } th { "value" } th { "limit" } th.l { "effect" } th.l { "detail" } }
                @for b in &r.breakers {
                    tr data-breaker=(b.rule) { td.l { (b.rule) } td { (num(b.value, 4)) } td { (num(b.limit, 4)) } td.l { (b.effect) } td.wrap { (b.detail) } }
                }
            } }
        }
        @for a in &r.alerts { p.bad { (a) } }
        h2 { "VaR and CVaR" }
        div.scroll { table {
            tr { th.l { "method" } th { "confidence" } th { "horizon" } th { "VaR" } th { "CVaR" } th { "VaR $" } th { "n" } }
            @for t in &r.tail {
                tr { td.l { (format!("{:?}", t.method).to_lowercase()) } td { (format!("{:.0}%", t.confidence * 100.0)) } td { (t.horizon_days) "d" }
                     td { (pct(t.var).trim_start_matches('+')) } td { (pct(t.cvar).trim_start_matches('+')) } td { (usd(t.var_usd.get())) } td { (t.n) } }
            }
        } }
        (svg::lines("1-day 99% historical VaR, % of NAV, by morning", &labels, &[Series { label: "VaR", class: "s2", values: &var_series }]))
        h2 { "Stress scenarios" }
        @if r.stress.is_empty() { p.muted { "No scenario applies (no positions, or no window before this date)." } } @else {
            div.scroll { table {
                tr { th.l { "scenario" } th { "market" } th { "P&L" } th { "% of NAV" } th.l { "worst position" } }
                @for x in &r.stress {
                    @let worst = x.positions.iter().min_by(|a, b| a.pnl.get().total_cmp(&b.pnl.get()));
                    tr {
                        td.l { (x.scenario.name) }
                        td { @match x.market_move { Some(m) => (pct(m)), None => "–" } }
                        td class=(sign_class(x.pnl.get())) { (usd(x.pnl.get())) }
                        td class=(sign_class(x.pnl_of_nav)) { (pct(x.pnl_of_nav)) }
                        td.l { @if let Some(w) = worst { (w.ticker.as_str()) " " (usd(w.pnl.get())) } }
                    }
                }
            } }
        }
        @if let Some(d) = &r.decomposition {
            h2 { "Risk by position" }
            p.muted { "Euler contributions to σ, " (d.names) " names over " (d.sessions) " sessions; flagged when the risk share is above 1.5× the weight." }
            @let rows = by_risk_share(&d.positions);
            div.scroll { table {
                tr { th.l { "ticker" } th { "weight" } th { "MCTR" } th { "contribution" } th { "risk share" } }
                @for p in rows.iter().take(20) {
                    tr { td.l { a href=(format!("/research?ticker={}", p.ticker.as_str())) { (p.ticker.as_str()) } } td { (pct(p.weight).trim_start_matches('+')) } td { (num(p.mctr, 4)) }
                         td { (num(p.contribution, 5)) } td { (format!("{:.1}%", p.risk_share * 100.0)) @if p.flagged { " " span.badge.warn { "HIGH" } } } }
                }
            } }
        }
        h2 { "Sector exposure" }
        div.scroll { table {
            tr { th.l { "sector" } th { "weight" } }
            @for x in &r.exposures.sectors { tr { td.l { @match &x.sector { Some(s) => (s.to_string()), None => "unknown" } } td { (pct(x.weight).trim_start_matches('+')) } } }
        } }
        h2 { "Breakers over time" }
        @let fired: Vec<_> = s.risk.values().filter(|x| !x.doc.breakers.is_empty()).collect();
        @if fired.is_empty() { p.muted { "No breaker has fired on this bus." } } @else {
            div.scroll { table {
                tr { th { "morning" } th.l { "rules" } }
                @for x in fired.iter().rev().take(30) {
                    tr { td { a href=(doc_href(&x.key)) { (x.doc.date) } } td.l { (x.doc.breakers.iter().map(|b| b.rule.as_str()).collect::<Vec<_>>().join(", ")) } }
                }
            } }
        }
    }
}

/// Positions by their share of the book's risk, largest first.
fn by_risk_share(
    p: &[ae_shared::contracts::risk_state::PositionRisk],
) -> Vec<ae_shared::contracts::risk_state::PositionRisk> {
    let mut rows = p.to_vec();
    rows.sort_by(|a, b| b.risk_share.total_cmp(&a.risk_share));
    rows
}
