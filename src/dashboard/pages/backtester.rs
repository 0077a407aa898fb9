//! Backtester: the latest report — tear sheet, every write-back gate PASS/FAIL with its figure, the
//! sweep as a heat map, signal quality by bucket with intervals — and the parameters written back.

use ae_shared::fmt::pct;
use maud::{Markup, html};
use serde_json::Value;

use crate::dashboard::layout::{badge, doc_href, empty, fig, gate_line, jnum, num};
use crate::dashboard::snapshot::Snapshot;
use crate::dashboard::svg;

/// A heat map of a sweep: the two parameters with the most distinct values on the axes, each cell
/// the best training objective over the other parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Heat {
    /// Row parameter and its values.
    pub row: (String, Vec<f64>),
    /// Column parameter and its values.
    pub col: (String, Vec<f64>),
    /// `cells[row][col]`; NaN where no point was valid.
    pub cells: Vec<Vec<f64>>,
}

/// Builds the heat map from a report's `sweep.surface` (`None` with fewer than two swept axes).
pub fn heat(surface: &Value) -> Option<Heat> {
    let params: Vec<String> =
        surface.get("params")?.as_array()?.iter().filter_map(|p| p.as_str().map(String::from)).collect();
    let rows: Vec<(Vec<f64>, f64)> = surface
        .get("rows")?
        .as_array()?
        .iter()
        .filter_map(|r| {
            let values = r.get("values")?.as_array()?.iter().map(|v| v.as_f64().unwrap_or(f64::NAN)).collect();
            Some((values, r.get("train").and_then(Value::as_f64).unwrap_or(f64::NAN)))
        })
        .collect();
    let distinct = |i: usize| {
        let mut v: Vec<f64> = rows.iter().filter_map(|r| r.0.get(i).copied()).filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        v.dedup();
        v
    };
    let mut axes: Vec<(usize, Vec<f64>)> =
        (0..params.len()).map(|i| (i, distinct(i))).filter(|(_, v)| v.len() >= 2).collect();
    // Most distinct values first; the grid's own order breaks ties.
    axes.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    let (ri, rv) = axes.first()?.clone();
    let (ci, cv) = axes.get(1)?.clone();
    let mut cells = vec![vec![f64::NAN; cv.len()]; rv.len()];
    for (values, train) in &rows {
        let (Some(r), Some(c)) = (values.get(ri), values.get(ci)) else { continue };
        let (Some(i), Some(j)) = (rv.iter().position(|x| x == r), cv.iter().position(|x| x == c)) else { continue };
        if train.is_finite() && (cells[i][j].is_nan() || cells[i][j] < *train) {
            cells[i][j] = *train;
        }
    }
    Some(Heat { row: (params[ri].clone(), rv), col: (params[ci].clone(), cv), cells })
}

fn label(x: f64) -> String {
    if x.fract() == 0.0 { format!("{x:.0}") } else { format!("{x}") }
}

/// The page body.
pub fn render(s: &Snapshot) -> Markup {
    let Some((day, last)) = s.backtests.iter().next_back() else {
        return html! { (empty("backtest report", "the backtester, Saturdays 04:00 New York")) (history(s)) };
    };
    let r = &*last.doc;
    let key = &last.key;
    let ts = |p: &str| jnum(r, &format!("/tear_sheet/summary/{p}"));
    html! {
        p {
            "Report of " (fig(r.get("date").and_then(Value::as_str).unwrap_or("?").to_string(), key, "backtest_date", r.get("date").and_then(Value::as_str).unwrap_or("")))
            " · simulated " (r.pointer("/period/0").and_then(Value::as_str).unwrap_or("?")) " .. " (r.pointer("/period/1").and_then(Value::as_str).unwrap_or("?"))
            " · " a href=(doc_href(&ae_shared::bus::keys::backtest(*day, "report.md"))) { "report.md" }
        }
        div.cards {
            div.card { div.label { "Return" } div.value { (fig(pct(ts("total_return")), key, "bt_total_return", ts("total_return"))) } div.sub { "benchmark " (pct(ts("benchmark_total_return"))) } }
            div.card { div.label { "Sharpe" } div.value { (fig(num(ts("sharpe"), 2), key, "bt_sharpe", ts("sharpe"))) } div.sub { "n = " (num(ts("n"), 0)) " days" } }
            div.card { div.label { "Max drawdown" } div.value { (pct(ts("max_drawdown"))) } div.sub { "Calmar " (num(ts("calmar"), 2)) } }
            div.card { div.label { "Jensen's alpha" } div.value { (pct(ts("alpha"))) } div.sub { "β " (num(ts("beta"), 2)) } }
            div.card { div.label { "Trades" } div.value { (num(jnum(r, "/tear_sheet/trades"), 0)) } div.sub { "turnover " (num(jnum(r, "/tear_sheet/turnover"), 1)) "×" } }
        }
        h2 { "Write-back decisions" }
        @for (i, w) in r.get("write_back").and_then(Value::as_array).into_iter().flatten().enumerate() {
            @let name = w.get("name").and_then(Value::as_str).unwrap_or("?");
            h3 data-write-back=(name) {
                (name) " " (badge(w.get("written").and_then(Value::as_bool).unwrap_or(false)))
                @if w.get("written").and_then(Value::as_bool) == Some(true) { " written back" } @else { " not written" }
            }
            ul.gates {
                @for (j, line) in w.get("why").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).enumerate() {
                    @if j == 0 && i == 0 { span data-figure="first_gate" data-value=(line) {} }
                    (gate_line(line))
                }
            }
        }
        h2 { "Executor sweep" }
        p {
            (num(jnum(r, "/sweep/declared"), 0)) " points declared, " (num(jnum(r, "/sweep/invalid"), 0)) " refused · train/holdout "
            (num(jnum(r, "/sweep/split/0"), 0)) "/" (num(jnum(r, "/sweep/split/1"), 0)) " days · deflated Sharpe "
            (fig(num(jnum(r, "/sweep/deflated/probability"), 3), key, "deflated_sharpe", jnum(r, "/sweep/deflated/probability")))
            " · PBO " (fig(num(jnum(r, "/sweep/pbo/probability"), 3), key, "pbo", jnum(r, "/sweep/pbo/probability")))
            " · " (num(jnum(r, "/sweep/seconds"), 2)) " s"
        }
        @match r.pointer("/sweep/surface").and_then(heat) {
            Some(h) => (svg::heat_map(
                "best training objective (Sharpe − ½|max drawdown|) over the other parameters",
                &h.row.0, &h.row.1.iter().map(|x| label(*x)).collect::<Vec<_>>(),
                &h.col.0, &h.col.1.iter().map(|x| label(*x)).collect::<Vec<_>>(), &h.cells)),
            None => p.muted { "This report has no sweep surface with two swept axes (reports before the dashboard carried only the top 10 points)." },
        }
        h2 { "Signal quality by bucket" }
        div.scroll { table {
            tr { th.l { "bucket" } th { "horizon" } th { "n" } th { "beat the benchmark" } th { "95% interval" } th { "p" } }
            @for b in r.pointer("/signals/buckets").and_then(Value::as_array).into_iter().flatten() {
                tr {
                    td.l { (b.get("bucket").and_then(Value::as_str).unwrap_or("?")) }
                    td { (num(jnum(b, "/horizon"), 0)) "d" }
                    td { (num(jnum(b, "/n"), 0)) }
                    td { (pct(jnum(b, "/rate")).trim_start_matches('+')) }
                    td { (pct(jnum(b, "/interval/0")).trim_start_matches('+')) " .. " (pct(jnum(b, "/interval/1")).trim_start_matches('+')) }
                    td { (num(jnum(b, "/p_value"), 3)) }
                }
            }
        } }
        h2 { "Entry triggers (simulated)" }
        (triggers(r))
        (history(s))
    }
}

/// The entry-trigger scorecard of a report (also on the Execution page).
pub fn triggers(r: &Value) -> Markup {
    html! {
        div.scroll { table {
            tr { th.l { "trigger" } th { "entries" } th { "closed" } th { "win rate" } th { "mean return" } }
            @for t in r.get("triggers").and_then(Value::as_array).into_iter().flatten() {
                tr {
                    td.l { (t.get("trigger").and_then(Value::as_str).unwrap_or("?")) }
                    td { (num(jnum(t, "/entries"), 0)) }
                    td { (num(jnum(t, "/closed"), 0)) }
                    td { (pct(jnum(t, "/win_rate")).trim_start_matches('+')) }
                    td { (pct(jnum(t, "/mean_return"))) }
                }
            }
        } }
    }
}

fn history(s: &Snapshot) -> Markup {
    html! {
        h2 { "Parameters written back" }
        @if s.written_back.is_empty() {
            p.muted { "Nothing written back yet: every write-back needs its gates to pass." }
        } @else {
            div.scroll { table {
                tr { th { "week" } th.l { "file" } th { "before" } th { "after" } th { "holdout retention" } th.l { "metric" } }
                @for w in s.written_back.iter().rev() {
                    tr {
                        td { (w.date) }
                        td.l { a href=(doc_href(&w.key)) { (w.name) } }
                        td { (num(jnum(&w.doc, "/evidence/before"), 3)) }
                        td { (num(jnum(&w.doc, "/evidence/after"), 3)) }
                        td { (num(jnum(&w.doc, "/evidence/holdout/retention"), 2)) }
                        td.l { (w.doc.pointer("/evidence/metric").and_then(Value::as_str).unwrap_or("–")) }
                    }
                }
            } }
        }
        h2 { "Reports" }
        p { @for (d, b) in s.backtests.iter().rev() { a href=(doc_href(&b.key)) { (d) } " " } }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heat_map_takes_the_two_widest_axes_and_the_best_point_per_cell() {
        let surface = serde_json::json!({
            "params": ["a", "b", "c"],
            "rows": [
                {"values": [1.0, 10.0, 5.0], "train": 0.1},
                {"values": [1.0, 10.0, 6.0], "train": 0.3},
                {"values": [1.0, 20.0, 5.0], "train": null},
                {"values": [2.0, 20.0, 5.0], "train": -0.2},
                {"values": [1.0, 30.0, 5.0], "train": 0.05},
            ]
        });
        let h = heat(&surface).unwrap();
        assert_eq!(h.row, ("b".to_string(), vec![10.0, 20.0, 30.0]));
        assert_eq!(h.col, ("a".to_string(), vec![1.0, 2.0]));
        assert_eq!(h.cells[0][0], 0.3, "the best of the points sharing (b, a)");
        assert!(h.cells[1][0].is_nan(), "no finite objective");
        assert_eq!(h.cells[1][1], -0.2);
        assert!(heat(&serde_json::json!({"params": ["a"], "rows": [{"values": [1.0], "train": 1.0}]})).is_none());
    }
}
