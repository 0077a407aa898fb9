//! Overview: NAV against the benchmark rebased to 100, the headline figures, the status strip of
//! every job and the data's freshness.

use ae_shared::fmt::{pct, usd};
use ae_shared::metrics::Summary;
use maud::{Markup, html};

use crate::dashboard::layout::{card, empty, fig, num, sign_class};
use crate::dashboard::snapshot::Snapshot;
use crate::dashboard::status::{self, State};
use crate::dashboard::svg::{self, Series};

/// NAV and the benchmark, both rebased to 100 on the first EOD shown.
pub fn rebased(s: &Snapshot) -> (Vec<String>, Vec<f64>, Vec<f64>) {
    let first_nav = s.eods.values().next().map(|e| e.doc.nav.get()).unwrap_or(f64::NAN);
    let mut bench = 100.0;
    let mut labels = Vec::new();
    let mut nav = Vec::new();
    let mut b = Vec::new();
    for (i, (d, e)) in s.eods.iter().enumerate() {
        labels.push(d.to_string());
        nav.push(100.0 * e.doc.nav.get() / first_nav);
        if i > 0 {
            bench *= 1.0 + e.doc.benchmark.daily_return.get();
        }
        b.push(bench);
    }
    (labels, nav, b)
}

/// The page body.
pub fn render(s: &Snapshot, now: chrono::DateTime<chrono::Utc>) -> Markup {
    let strip = status::strip(s, now);
    html! {
        @if let Some(k) = &s.kill_switch {
            div.banner {
                strong { "Kill switch set" } " (" (format!("{:?}", k.doc.mode).to_lowercase()) ", by " (format!("{:?}", k.doc.set_by)) ", "
                (k.doc.set_at.format("%Y-%m-%d %H:%M UTC")) "): " (k.doc.reason) ". "
                a href=(crate::dashboard::layout::doc_href(&k.key)) { "the switch" }
                " · clear it with " code { "executor kill-switch clear" } " on the trading host."
            }
        }
        @match s.last_eod() {
            None => (empty("end-of-day report", "executor EOD, 16:40 New York")),
            Some(last) => {
                @let e = &last.doc;
                @let r: Vec<f64> = s.eods.values().map(|x| x.doc.daily_return.get()).collect();
                @let b: Vec<f64> = s.eods.values().map(|x| x.doc.benchmark.daily_return.get()).collect();
                @let sum = Summary::of(&r, &b);
                @let prev_nav = s.eods.range(..e.date).next_back().map(|(_, p)| p.doc.nav.get());
                @let pnl = prev_nav.map(|p| e.nav.get() - p);
                @let gross: f64 = e.positions.iter().map(|p| p.weight.get()).sum();
                div.cards {
                    (card("NAV", fig(usd(e.nav.get()), &last.key, "nav", e.nav.get()), html! { "EOD " (e.date) }))
                    (card("Today", html! {
                        span class=(sign_class(e.daily_return.get())) { (fig(pct(e.daily_return.get()), &last.key, "daily_return", e.daily_return.get())) }
                    }, html! { @if let Some(p) = pnl { (usd(p)) " · " } (e.benchmark.name) " " (pct(e.benchmark.daily_return.get())) }))
                    (card("Return", fig(pct(e.cumulative.portfolio.get()), &last.key, "cumulative_return", e.cumulative.portfolio.get()),
                        html! { "since " (e.cumulative.since) " · benchmark " (pct(e.cumulative.benchmark.get())) }))
                    (card("Alpha", html! { span class=(sign_class(e.cumulative.alpha)) { (fig(pct(e.cumulative.alpha), &last.key, "alpha", e.cumulative.alpha)) } },
                        html! { "portfolio − benchmark, same period" }))
                    (card("Sharpe", html! { (num(sum.sharpe, 2)) }, html! { "n = " (sum.n) " sessions · Jensen " (pct(sum.alpha)) "/yr at β " (num(sum.beta, 2)) }))
                    (card("Drawdown", fig(pct(-e.drawdown.abs()), &last.key, "drawdown", e.drawdown), html! { "max " (pct(sum.max_drawdown)) " over " (sum.n) " sessions" }))
                    (card("Exposure", html! { (pct(gross).trim_start_matches('+')) }, html! { (e.positions.len()) " positions · cash " (usd(e.cash.get())) }))
                }
                @let (labels, nav, bench) = rebased(s);
                (svg::lines("NAV and benchmark, rebased to 100", &labels, &[
                    Series { label: "portfolio", class: "s0", values: &nav },
                    Series { label: &e.benchmark.name, class: "s1", values: &bench },
                ]))
            }
        }
        h2 { "Jobs" }
        div.strip {
            @for j in &strip {
                div class=(format!("job {}", j.state.class())) data-job=(j.job) data-state=(j.state.label()) {
                    strong { (j.job) } " · " (j.state.label()) br;
                    span.muted {
                        @match &j.key { Some(k) => { "last " a href=(crate::dashboard::layout::doc_href(k)) { (j.last.map(|d| d.to_string()).unwrap_or_default()) } }, None => "never" }
                        " · " (j.schedule.describe())
                    }
                    @match &j.state {
                        State::Late { expected } => { br; span.muted { "expected " (expected) } }
                        State::Failed { detail, key } => { br; a.bad href=(crate::dashboard::layout::doc_href(key)) { (detail.chars().take(120).collect::<String>()) } }
                        State::Idle(why) => { br; span.muted { (why) } }
                        _ => {}
                    }
                }
            }
        }
        h2 { "Data freshness" }
        @match &s.manifest {
            None => (empty("price store", "alpha-engine data import, then the nightly update at 16:20")),
            Some(m) => {
                p {
                    "Daily bars " (m.doc.get("first_day").and_then(|v| v.as_str()).unwrap_or("?")) " .. "
                    (fig(m.doc.get("last_day").and_then(|v| v.as_str()).unwrap_or("?").to_string(), &m.key, "prices_last_day", m.doc.get("last_day").and_then(|v| v.as_str()).unwrap_or("")))
                    ", " (m.doc.get("symbols").and_then(|v| v.as_u64()).unwrap_or(0)) " symbols."
                }
            }
        }
        @if let Some(f) = &s.freshness {
            @let today = ae_shared::TradingDay::on_or_before(ae_shared::calendar::et_date(now));
            div.scroll { table {
                tr { th { "datum" } th { "last" } th { "bound (sessions)" } th.l { "source" } th.l { "status" } }
                @for (name, d) in &f.doc.data {
                    @let stale = today.is_some_and(|t| d.is_stale(t));
                    tr {
                        td { a href=(crate::dashboard::layout::doc_href(&f.key)) { (name) } }
                        td { (d.last.map(|x| x.to_string()).unwrap_or_else(|| "–".into())) }
                        td { (d.bound_sessions) }
                        td.l { (d.source) }
                        td.l {
                            @if stale { span.badge.bad { "STALE" } } @else { span.badge.ok { "FRESH" } }
                            @if let Some(p) = &d.problem { " " (p) }
                        }
                    }
                }
            } }
        }
        @if !s.alerts.is_empty() {
            h2 { "Latest alerts" }
            div.scroll { table {
                tr { th { "when" } th.l { "severity" } th.l { "alert" } }
                @for a in s.alerts.iter().rev().take(8) {
                    tr { td { (a.doc.at.format("%Y-%m-%d %H:%M")) } td.l { (a.doc.severity.label()) } td.wrap { a href=(crate::dashboard::layout::doc_href(&a.key)) { (a.doc.title) } } }
                }
            } }
        }
    }
}
