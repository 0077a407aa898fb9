//! Predictor: the registry (champion, challengers, promotion gates), each fold's out-of-sample IC,
//! the live rolling IC, price freshness and the veto rate.

use ae_shared::fmt::pct;
use maud::{Markup, html};

use crate::dashboard::layout::{badge, doc_href, empty, fig, num};
use crate::dashboard::snapshot::Snapshot;
use crate::dashboard::svg;

/// The share of predicted names vetoed over the last `days` prediction documents, and n.
pub fn veto_rate(s: &Snapshot, days: usize) -> (f64, usize) {
    let (mut n, mut v) = (0usize, 0usize);
    for p in s.predictions.values().rev().take(days) {
        n += p.doc.entries.len();
        v += p.doc.entries.iter().filter(|e| e.gbm_veto).count();
    }
    (if n > 0 { v as f64 / n as f64 } else { f64::NAN }, n)
}

/// The page body.
pub fn render(s: &Snapshot) -> Markup {
    let champion = s.registry.as_ref().and_then(|r| r.doc.champion.clone());
    let latest = s.latest_model();
    let live = s.metrics.values().next_back();
    let (veto, veto_n) = veto_rate(s, 20);
    html! {
        div.cards {
            div.card {
                div.label { "Champion" }
                div.value {
                    @match (&champion, &s.registry) {
                        (Some(c), Some(r)) => (fig(c.clone(), &r.key, "champion", c)),
                        (None, Some(r)) => (fig("none", &r.key, "champion", "")),
                        _ => "no registry",
                    }
                }
                div.sub { @if champion.is_none() { "no model has passed the promotion gate: no predictions, the executor runs without them" } @else { "serves the daily predictions" } }
            }
            @if let Some(m) = latest {
                div.card {
                    div.label { "Latest model" }
                    div.value { (fig(m.doc.model_version.clone(), &m.key, "latest_model", &m.doc.model_version)) }
                    div.sub { "trained " (m.doc.trained_at) " on " (m.doc.training_rows) " rows · " @if m.doc.promoted { "promoted" } @else { "not promoted" } }
                }
                div.card {
                    div.label { "Walk-forward median IC" }
                    div.value { (fig(num(m.doc.summary.median_ic, 4), &m.key, "median_ic", m.doc.summary.median_ic)) }
                    div.sub { (m.doc.summary.n_folds) " folds · ICIR " (num(m.doc.summary.icir, 2)) " · hit " (pct(m.doc.summary.hit_rate.get()).trim_start_matches('+')) }
                }
            }
            div.card {
                div.label { "Live rolling IC" }
                div.value { @match live.and_then(|l| l.doc.live.as_ref().map(|x| (l, x))) {
                    Some((l, x)) => (fig(num(x.rank_ic, 3), &l.key, "live_rank_ic", x.rank_ic)),
                    None => "–",
                } }
                div.sub { @match live.and_then(|l| l.doc.live.as_ref()) { Some(x) => { "rank IC over " (x.window_days) " days, n = " (x.n) }, None => "no matured predictions yet" } }
            }
            div.card {
                div.label { "Veto rate" }
                div.value { (if veto.is_finite() { pct(veto).trim_start_matches('+').to_string() } else { "–".into() }) }
                div.sub { "last 20 prediction days, n = " (veto_n) }
            }
            div.card {
                div.label { "Price freshness" }
                div.value { @match live.and_then(|l| l.doc.price_freshness.as_ref()) { Some(f) => { (f.max_age_days) " d" }, None => "–" } }
                div.sub { @match live.and_then(|l| l.doc.price_freshness.as_ref()) { Some(f) => { (f.n_stale) " stale names" }, None => "from the daily metrics" } }
            }
        }
        @match latest {
            None => (empty("trained model", "predictor training, Mondays 06:00 New York")),
            Some(m) => {
                h2 { "Promotion gates of " (m.doc.model_version) }
                div.scroll { table {
                    tr { th.l { "gate" } th { "value" } th { "threshold" } th.l { "" } th.l { "detail" } }
                    @for g in &m.doc.gates {
                        tr data-gate=(g.name) {
                            td.l { (g.name) }
                            td { (fig(num(g.value, 4), &m.key, &format!("gate:{}", g.name), g.value)) }
                            td { (num(g.threshold, 4)) }
                            td.l { (badge(g.passed)) }
                            td.wrap { (g.detail) }
                        }
                    }
                } }
                h2 { "Out-of-sample IC by fold" }
                @let labels: Vec<String> = m.doc.walk_forward.iter().map(|f| format!("{}", f.fold)).collect();
                @let ics: Vec<f64> = m.doc.walk_forward.iter().map(|f| f.rank_ic).collect();
                (svg::bars("rank IC per walk-forward fold", &labels, &ics))
                div.scroll { table {
                    tr { th { "fold" } th { "test" } th { "n test" } th { "IC" } th { "rank IC" } th { "hit rate" } }
                    @for f in &m.doc.walk_forward {
                        tr { td { (f.fold) } td { (f.test_start) " .. " (f.test_end) } td { (f.n_test) } td { (num(f.ic, 4)) } td { (num(f.rank_ic, 4)) } td { (pct(f.hit_rate.get()).trim_start_matches('+')) } }
                    }
                } }
            }
        }
        h2 { "Registry" }
        @match &s.registry {
            None => (empty("model registry", "predictor training")),
            Some(r) => {
                div.scroll { table {
                    tr { th.l { "version" } th { "trained" } th { "median IC" } th.l { "" } th.l { "decision" } }
                    @for e in r.doc.models.iter().rev() {
                        @let metrics = s.model_metrics.get(&e.version);
                        tr {
                            td.l { @match metrics { Some(m) => a href=(doc_href(&m.key)) { (e.version) }, None => (e.version) }
                                @if champion.as_deref() == Some(e.version.as_str()) { " " span.badge.ok { "CHAMPION" } } }
                            td { (e.trained_at) }
                            td { (num(e.median_ic, 4)) }
                            td.l { (badge(e.promoted)) }
                            td.wrap { (e.reason) }
                        }
                    }
                } }
            }
        }
    }
}
