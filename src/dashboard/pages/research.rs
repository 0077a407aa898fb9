//! Research: the latest signals with sub-scores and theses, sector ratings, the population's
//! changes against the week before, and one ticker's scores and signals across the weeks.

use std::collections::BTreeSet;

use maud::{Markup, html};

use crate::dashboard::layout::{doc_href, empty, fig, num};
use crate::dashboard::snapshot::Snapshot;
use crate::dashboard::svg::{self, Series};

/// Rows shown from the latest signals (highest scores first).
pub const TOP: usize = 40;

/// The page body; `ticker` adds that name's timeline.
pub fn render(s: &Snapshot, ticker: Option<&str>) -> Markup {
    let Some(last) = s.last_signals() else {
        return empty("signals", "research, Mondays 05:00 New York");
    };
    let d = &last.doc;
    let prev = s.signals.range(..d.date).next_back().map(|(_, x)| x);
    let now_pop: BTreeSet<&str> = d.population.iter().map(|p| p.ticker.as_str()).collect();
    let was_pop: BTreeSet<&str> =
        prev.map(|p| p.doc.population.iter().map(|m| m.ticker.as_str()).collect()).unwrap_or_default();
    let mut rows: Vec<_> = d.universe.iter().collect();
    rows.sort_by(|a, b| b.score.map(|x| x.get()).unwrap_or(-1.0).total_cmp(&a.score.map(|x| x.get()).unwrap_or(-1.0)));
    let brief = ae_shared::bus::keys::research_brief(d.date);
    html! {
        form method="get" action="/research" {
            label for="ticker" { "Ticker timeline" }
            input id="ticker" name="ticker" value=(ticker.unwrap_or("")) placeholder="e.g. AAPL" maxlength="12";
            button type="submit" { "Show" }
        }
        @if let Some(t) = ticker { (timeline(s, t)) }
        p {
            "Signals of " (fig(d.date.to_string(), &last.key, "signals_date", d.date)) " · "
            (format!("{:?}", d.mode)) " · regime " (format!("{:?}", d.market_regime).to_lowercase())
            " · " (d.universe.len()) " names rated, " (d.buy_candidates.len()) " buy candidates · "
            a href=(doc_href(&brief)) { "the brief" }
        }
        h2 { "Sector ratings" }
        div.scroll { table {
            tr { th { "sector" } th.l { "rating" } th { "modifier" } th.l { "why" } }
            @for (sector, v) in &d.sector_ratings {
                tr { td { (sector.to_string()) } td.l { (format!("{:?}", v.rating)) } td { (num(v.modifier, 2)) } td.wrap { (v.rationale) } }
            }
        } }
        h2 { "Population" }
        p {
            (d.population.len()) " names"
            @if prev.is_some() {
                " · entered: "
                @for t in now_pop.difference(&was_pop) { a href=(format!("/research?ticker={t}")) { (t) } " " }
                " · left: "
                @for t in was_pop.difference(&now_pop) { a href=(format!("/research?ticker={t}")) { (t) } " " }
            }
        }
        h2 { "Top " (TOP.min(rows.len())) " by score" }
        div.scroll { table {
            tr { th { "ticker" } th.l { "signal" } th { "score" } th { "quant" } th { "qual" } th.l { "rating" } th.l { "conviction" } th.l { "sector" } th { "upside" } th.l { "thesis" } }
            @for e in rows.iter().take(TOP) {
                @let t = e.ticker.as_str();
                tr data-ticker=(t) {
                    td { a href=(format!("/research?ticker={t}")) { (t) } }
                    td.l { (format!("{:?}", e.signal).to_uppercase()) }
                    td { @if let Some(sc) = e.score { (fig(num(sc.get(), 1), &last.key, &format!("score:{t}"), sc.get())) } @else { "–" } }
                    td { (num(e.sub_scores.quant.get(), 1)) }
                    td { @if let Some(q) = e.sub_scores.qual { (num(q.get(), 1)) } @else { "–" } }
                    td.l { (format!("{:?}", e.rating)) }
                    td.l { (format!("{:?}", e.conviction).to_lowercase()) }
                    td.l { (e.sector.to_string()) }
                    td { @if let Some(u) = e.price_target_upside { (ae_shared::fmt::pct(u)) } @else { "–" } }
                    td.wrap { (e.thesis_summary) }
                }
            }
        } }
    }
}

/// One ticker across every week of signals: score line and the signal each week.
fn timeline(s: &Snapshot, ticker: &str) -> Markup {
    let ticker = ticker.trim().to_ascii_uppercase();
    let weeks: Vec<_> =
        s.signals.values().map(|x| (x, x.doc.universe.iter().find(|e| e.ticker.as_str() == ticker))).collect();
    if weeks.iter().all(|(_, e)| e.is_none()) {
        return html! { p.bad { (ticker) " is in no signals document on this bus." } };
    }
    let labels: Vec<String> = weeks.iter().map(|(x, _)| x.doc.date.to_string()).collect();
    let scores: Vec<f64> =
        weeks.iter().map(|(_, e)| e.and_then(|e| e.score).map(|v| v.get()).unwrap_or(f64::NAN)).collect();
    let quant: Vec<f64> = weeks.iter().map(|(_, e)| e.map(|e| e.sub_scores.quant.get()).unwrap_or(f64::NAN)).collect();
    html! {
        h2 { (ticker) ": " (weeks.len()) " weeks" }
        (svg::lines(&format!("{ticker}: score by week"), &labels, &[
            Series { label: "score", class: "s0", values: &scores },
            Series { label: "quant", class: "s1", values: &quant },
        ]))
        div.scroll { table {
            tr { th { "week" } th.l { "signal" } th { "score" } th.l { "rating" } th.l { "thesis" } }
            @for (x, e) in weeks.iter().rev() {
                tr {
                    td { a href=(doc_href(&x.key)) { (x.doc.date) } }
                    @match e {
                        Some(e) => {
                            td.l { (format!("{:?}", e.signal).to_uppercase()) }
                            td { @if let Some(sc) = e.score { (num(sc.get(), 1)) } @else { "–" } }
                            td.l { (format!("{:?}", e.rating)) }
                            td.wrap { (e.thesis_summary) }
                        }
                        None => { td.l.muted { "not rated" } td {} td {} td {} }
                    }
                }
            }
        } }
    }
}
