//! The signals document a research run writes, assembled from everything the run computed: one
//! entry per member, leaver and scored shortlisted name, with its rating, conviction, action and
//! thesis (the analyst's, else a quant one), plus the sector ratings and the new population.

use std::collections::{BTreeMap, BTreeSet};

use ae_shared::TradingDay;
use ae_shared::contracts::Lineage;
use ae_shared::contracts::common::{Conviction, Rating, Regime, Sector, SignalAction};
use ae_shared::contracts::params::ResearchParams;
use ae_shared::contracts::signals::{ResearchMode, SectorView, SignalEntry, Signals, SubScores};
use ae_shared::types::{Score, Ticker};

use crate::factors::FactorTable;
use crate::filter::FilterResult;
use crate::history::History;
use crate::llm::agents::AnalystAnswer;
use crate::population::Rotation;
use crate::scoring::{self, Composite};
use crate::snapshot::{NameView, Snapshot};

/// Everything the signals document is assembled from.
pub(super) struct Assembly<'a> {
    /// Run date.
    pub date: TradingDay,
    /// Quant-only or with agents.
    pub mode: ResearchMode,
    /// Regime in force (the macro economist's, else the quant baseline).
    pub regime: Regime,
    /// Quant baseline regime.
    pub quant_regime: Regime,
    /// Macro economist's regime.
    pub llm_regime: Option<Regime>,
    /// Sector views in force.
    pub sectors: &'a BTreeMap<Sector, SectorView>,
    /// The point-in-time snapshot.
    pub snap: &'a Snapshot,
    /// The quant filter's result.
    pub filt: &'a FilterResult,
    /// Factor scores.
    pub table: &'a FactorTable,
    /// Technical scores.
    pub tech: &'a BTreeMap<Ticker, f64>,
    /// Composite scores.
    pub composites: &'a BTreeMap<Ticker, Composite>,
    /// Sector analysts' answers.
    pub qual: &'a BTreeMap<Ticker, AnalystAnswer>,
    /// The population after rotation.
    pub rot: &'a Rotation,
    /// Earlier runs (score history, previous ratings).
    pub hist: &'a History,
    /// Research parameters.
    pub rp: &'a ResearchParams,
    /// The document's lineage.
    pub lineage: Lineage,
    /// Notes (redacted).
    pub notes: Vec<String>,
}

/// A quant thesis for a name no analyst covered.
fn quant_thesis(n: &NameView, fs: Option<&BTreeMap<&'static str, f64>>, quant: f64, tech: Option<f64>) -> String {
    let mut parts = vec![format!("quant composite {quant:.1}")];
    if let Some(fs) = fs {
        let top: Vec<String> = fs.iter().map(|(k, v)| format!("{k} {v:.0}")).collect();
        parts.push(format!("factor percentiles in sector: {}", top.join(", ")));
    }
    if let Some(t) = tech {
        parts.push(format!("technical {t:.0}"));
    }
    if let Some(r) = n.ret_63.or(n.ret_21) {
        parts.push(format!("{} return {:+.1}%", if n.ret_63.is_some() { "3-month" } else { "1-month" }, r * 100.0));
    }
    if let Some(r) = n.rsi14 {
        parts.push(format!("RSI {r:.0}"));
    }
    format!("Quant view: {}.", parts.join("; "))
}

/// Builds the signals document.
pub(super) fn assemble(a: Assembly<'_>) -> anyhow::Result<Signals> {
    let Assembly {
        date,
        mode,
        regime,
        quant_regime,
        llm_regime,
        sectors,
        snap,
        filt,
        table,
        tech,
        composites,
        qual,
        rot,
        hist,
        rp,
        lineage,
        notes,
    } = a;
    let members: BTreeSet<&Ticker> = rot.members.iter().map(|m| &m.ticker).collect();
    let entrants: BTreeSet<&Ticker> = rot.entries.iter().map(|c| &c.ticker).collect();
    let exits: BTreeMap<&Ticker, &str> = rot.exits.iter().map(|c| (&c.ticker, c.reason.as_str())).collect();
    let mut tickers: BTreeSet<&Ticker> = members.clone();
    tickers.extend(exits.keys().copied());
    for s in &filt.shortlist {
        if composites.contains_key(&s.ticker) {
            tickers.insert(&s.ticker);
        }
    }
    let mut universe = Vec::new();
    for t in tickers {
        let Some(n) = snap.names.get(t) else { continue };
        let Some(sector) = n.sector else { continue };
        let comp = composites.get(t);
        let score = comp.map(|c| c.score);
        let mut history: Vec<f64> = hist.scores.get(t).cloned().unwrap_or_default();
        if let Some(s) = score {
            history.push(s);
        }
        let conviction = scoring::conviction(&history, rp.conviction_runs);
        let a = qual.get(t);
        let standing = if exits.contains_key(t) {
            scoring::Standing::Leaving
        } else if entrants.contains(t) {
            scoring::Standing::Entrant
        } else if members.contains(t) {
            scoring::Standing::Member
        } else {
            scoring::Standing::Candidate
        };
        let (rating, conviction, thesis) = match exits.get(t) {
            // A name leaving is rated SELL with declining conviction; the thesis is the exit reason.
            Some(reason) => (Rating::Sell, Conviction::Declining, format!("Exit: {reason}.")),
            None => {
                let rating = scoring::rating(score.expect("members and shortlisted names have scores"), rp);
                let thesis = match a {
                    Some(a) => a.thesis.clone(),
                    None => {
                        quant_thesis(n, table.scores.get(t), comp.map(|c| c.quant).unwrap_or(0.0), tech.get(t).copied())
                    }
                };
                (rating, conviction, thesis)
            }
        };
        let was_buy = hist.previous_ratings.get(t) == Some(&Rating::Buy);
        let signal = scoring::action(standing, rating, was_buy, conviction);
        let catalysts = match a {
            Some(a) => a.catalysts.clone(),
            None => n.next_earnings.map(|d| vec![format!("earnings {d}")]).unwrap_or_default(),
        };
        universe.push(SignalEntry {
            ticker: t.clone(),
            signal,
            score: score.map(Score::saturating),
            rating,
            conviction,
            sector,
            sector_rating: sectors
                .get(&sector)
                .map(|v| v.rating)
                .unwrap_or(ae_shared::contracts::common::SectorRating::MarketWeight),
            price_target_upside: a.and_then(|a| a.price_target_upside),
            thesis_summary: thesis,
            sub_scores: SubScores {
                quant: Score::saturating(comp.map(|c| c.quant).unwrap_or(0.0)),
                qual: a.map(|a| Score::saturating(a.score)),
            },
            catalysts,
        });
    }
    let mut buy: Vec<&SignalEntry> = universe.iter().filter(|e| e.signal == SignalAction::Enter).collect();
    buy.sort_by(|a, b| {
        b.score
            .map(|s| s.get())
            .unwrap_or(0.0)
            .total_cmp(&a.score.map(|s| s.get()).unwrap_or(0.0))
            .then(a.ticker.cmp(&b.ticker))
    });
    let buy_candidates = buy.into_iter().map(|e| e.ticker.clone()).collect();
    let sector_ratings: BTreeMap<Sector, SectorView> = Sector::ALL
        .iter()
        .map(|s| {
            (
                *s,
                sectors.get(s).cloned().unwrap_or(SectorView {
                    rating: ae_shared::contracts::common::SectorRating::MarketWeight,
                    modifier: 1.0,
                    rationale: "no view".into(),
                }),
            )
        })
        .collect();
    Ok(Signals {
        schema_version: 1,
        produced_by: lineage,
        date,
        mode,
        market_regime: regime,
        quant_regime,
        llm_regime,
        sector_ratings,
        universe,
        buy_candidates,
        population: rot.members.clone(),
        notes,
    })
}
