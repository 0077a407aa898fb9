//! The quant part of a research run: the regime baseline and sector ratings, technical scores,
//! the quant filter, within-sector factor scores and the composite scores that blend in whatever
//! the agents said.

use std::collections::BTreeMap;

use ae_shared::TradingDay;
use ae_shared::contracts::common::{Regime, Sector};
use ae_shared::contracts::params::{ResearchParams, ScoringWeights};
use ae_shared::contracts::signals::{PopulationMember, SectorView};
use ae_shared::types::Ticker;

use crate::factors::{self, FactorTable};
use crate::filter::{self, FilterResult};
use crate::fundamentals::Fundamentals;
use crate::llm::agents::AnalystAnswer;
use crate::regime::{self, QuantView};
use crate::scoring::{self, Composite};
use crate::snapshot::{NameView, Snapshot};
use crate::technical;

/// The quant screen of the snapshot: regime baseline, technical scores and the filter's result.
pub(super) struct Screen {
    /// Quant regime and sector ratings.
    pub view: QuantView,
    /// Technical score of every eligible name.
    pub tech: BTreeMap<Ticker, f64>,
    /// Liquidity, exclusions and the shortlist.
    pub filt: FilterResult,
}

/// Technical score of every eligible name (20-session momentum ranked across them).
fn technical_scores(snap: &Snapshot, regime: Regime, p: &ResearchParams) -> BTreeMap<Ticker, f64> {
    let eligible: Vec<&NameView> = snap.eligible().collect();
    let rets: Vec<f64> = eligible.iter().filter_map(|n| n.ret_21).collect();
    let ranks = ae_shared::metrics::average_ranks(&rets);
    let mut pct: BTreeMap<&Ticker, f64> = BTreeMap::new();
    let mut k = 0;
    for n in &eligible {
        if n.ret_21.is_some() {
            let denom = (rets.len().max(2) - 1) as f64;
            pct.insert(&n.ticker, (ranks[k] - 1.0) / denom * 100.0);
            k += 1;
        }
    }
    eligible
        .iter()
        .filter_map(|n| {
            technical::score(n, pct.get(&n.ticker).copied(), regime, &p.technical).map(|(s, _)| (n.ticker.clone(), s))
        })
        .collect()
}

/// The quant regime, technical scores and the quant filter over the snapshot.
pub(super) fn screen(snap: &Snapshot, date: TradingDay, rp: &ResearchParams) -> Screen {
    let view = regime::quant_view(snap);
    tracing::info!(%date, as_of = %snap.as_of, names = snap.names.len(), regime = %view.regime, "{}", view.evidence);
    let tech = technical_scores(snap, view.regime, rp);
    let filt: FilterResult = filter::run(snap, &tech, rp);
    Screen { view, tech, filt }
}

/// Names of interest: the current population, then the shortlist.
pub(super) fn interest(prev_pop: &[PopulationMember], filt: &FilterResult) -> Vec<Ticker> {
    let mut interest: Vec<Ticker> = prev_pop.iter().map(|m| m.ticker.clone()).collect();
    for s in &filt.shortlist {
        if !interest.contains(&s.ticker) {
            interest.push(s.ticker.clone());
        }
    }
    interest
}

/// Factor scores over every eligible name (a wide cross-section makes better percentiles); a note
/// for each degenerate factor.
pub(super) fn factor_table(
    snap: &Snapshot,
    fundamentals: &BTreeMap<Ticker, Fundamentals>,
    sw: &ScoringWeights,
    notes: &mut Vec<String>,
) -> FactorTable {
    let eligible: Vec<&NameView> = snap.eligible().collect();
    let table: FactorTable = factors::compute(&eligible, fundamentals, &sw.factors);
    for (f, why) in &table.degenerate {
        notes.push(format!("factor {f} degenerate: {why}"));
    }
    table
}

/// What the composite scores blend: the factor table, the sector views, fundamentals and the
/// analysts' answers.
pub(super) struct Blend<'a> {
    /// The snapshot (for each name's sector).
    pub snap: &'a Snapshot,
    /// Quant scores.
    pub table: &'a FactorTable,
    /// Sector views in force (the macro economist's, else the quant ones).
    pub sector_views: &'a BTreeMap<Sector, SectorView>,
    /// Fundamentals by name (for the boosts).
    pub fundamentals: &'a BTreeMap<Ticker, Fundamentals>,
    /// Sector analysts' answers.
    pub qual: &'a BTreeMap<Ticker, AnalystAnswer>,
    /// Scoring weights.
    pub sw: &'a ScoringWeights,
    /// Research parameters.
    pub rp: &'a ResearchParams,
}

/// Composite scores of every eligible name with a quant score.
pub(super) fn composites(b: &Blend<'_>) -> BTreeMap<Ticker, Composite> {
    b.table
        .composite
        .iter()
        .map(|(t, q)| {
            let sector = b.snap.names[t].sector.expect("eligible");
            let modifier = b.sector_views.get(&sector).map(|v| v.modifier).unwrap_or(1.0);
            let boosts = scoring::boosts(b.fundamentals.get(t));
            (t.clone(), scoring::composite(*q, b.qual.get(t).map(|a| a.score), modifier, &boosts, b.sw, b.rp))
        })
        .collect()
}
