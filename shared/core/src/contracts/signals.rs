//! `signals/{date}/signals.json`: research's weekly view, read by the predictor and the executor.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::{Conviction, Rating, Regime, Sector, SectorRating, SignalAction};
use super::{Checker, DocKind, Document, Lineage, Problems};
use crate::calendar::TradingDay;
use crate::types::{Score, Ticker};

/// How the research run was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResearchMode {
    /// No LLM ran (no API key, or the cost ceiling was hit before any agent answered): composite = 100% quant.
    QuantOnly,
    /// LLM agents contributed qualitative scores for at least part of the universe.
    QuantAndLlm,
}

/// The macro view of one sector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SectorView {
    /// Rating.
    pub rating: SectorRating,
    /// Score multiplier 0.7..=1.3 (1.0 neutral); shifts composite scores by up to ±10 points.
    #[schemars(range(min = 0.7, max = 1.3))]
    pub modifier: f64,
    /// Why, in one or two sentences (quant evidence when no LLM ran).
    pub rationale: String,
}

/// Sub-scores behind a composite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubScores {
    /// Quantitative composite (factor scores).
    pub quant: Score,
    /// Qualitative score from the sector-team analyst; absent when no LLM scored the name.
    #[serde(default)]
    pub qual: Option<Score>,
}

/// One name's signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("allOf" = [{
    "if": { "properties": { "rating": { "const": "BUY" } }, "required": ["rating"] },
    "then": {
        "$comment": "a BUY without a score is invalid (a reader turns it into HOLD)",
        "required": ["score"],
        "properties": { "score": { "type": "number" } }
    }
}]))]
pub struct SignalEntry {
    /// Symbol.
    pub ticker: Ticker,
    /// What the executor should do.
    pub signal: SignalAction,
    /// Composite score; required for a BUY.
    #[serde(default)]
    pub score: Option<Score>,
    /// Rating from the score thresholds.
    pub rating: Rating,
    /// Direction of recent score changes.
    pub conviction: Conviction,
    /// GICS sector.
    pub sector: Sector,
    /// The sector's rating (copied from `sector_ratings`).
    pub sector_rating: SectorRating,
    /// Expected upside to the price target as a fraction (0.12 = +12%), when known.
    #[serde(default)]
    #[schemars(range(min = -1.0, max = 10.0))]
    pub price_target_upside: Option<f64>,
    /// One-paragraph thesis (quant evidence when no LLM ran).
    pub thesis_summary: String,
    /// Sub-scores.
    pub sub_scores: SubScores,
    /// Upcoming events that could move the name.
    #[serde(default)]
    pub catalysts: Vec<String>,
}

/// A name in the tracked population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PopulationMember {
    /// Symbol.
    pub ticker: Ticker,
    /// When it joined the population.
    pub entered: TradingDay,
    /// Whole weeks in the population.
    pub tenure_weeks: u32,
}

/// The weekly signals document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Signals {
    /// Contract version.
    pub schema_version: u32,
    /// Lineage.
    pub produced_by: Lineage,
    /// The research run's trading day.
    pub date: TradingDay,
    /// Quant-only or with LLM agents.
    pub mode: ResearchMode,
    /// The regime the signals were made under.
    pub market_regime: Regime,
    /// The quant baseline regime (index trend, volatility, breadth), always computed.
    pub quant_regime: Regime,
    /// The macro economist agent's regime, when it ran.
    #[serde(default)]
    pub llm_regime: Option<Regime>,
    /// Sector ratings.
    pub sector_ratings: BTreeMap<Sector, SectorView>,
    /// Every scored name with its signal.
    pub universe: Vec<SignalEntry>,
    /// Tickers of `universe` entries with signal ENTER, best first.
    pub buy_candidates: Vec<Ticker>,
    /// The tracked population after this week's rotation.
    pub population: Vec<PopulationMember>,
    /// Run notes a reader should see (e.g. "quant-only: no ANTHROPIC_API_KEY").
    #[serde(default)]
    pub notes: Vec<String>,
}

impl Document for Signals {
    const KIND: DocKind = DocKind::Signals;
    const SCHEMA_VERSION: u32 = 1;

    fn lineage(&self) -> &Lineage {
        &self.produced_by
    }

    fn date(&self) -> Option<TradingDay> {
        Some(self.date)
    }

    fn check(&self, c: &mut Checker) {
        let mut seen = BTreeSet::new();
        let mut by_ticker = BTreeMap::new();
        for (i, e) in self.universe.iter().enumerate() {
            let at = |f: &str| format!("universe[{i}].{f}");
            if !seen.insert(e.ticker.clone()) {
                c.push(at("ticker"), format!("{} appears more than once", e.ticker));
            }
            by_ticker.insert(e.ticker.clone(), e);
            if e.signal == SignalAction::Enter && e.rating != Rating::Buy {
                c.push(at("signal"), format!("ENTER needs a BUY rating, found {:?}", e.rating));
            }
            if let Some(view) = self.sector_ratings.get(&e.sector)
                && view.rating != e.sector_rating
            {
                c.push(
                    at("sector_rating"),
                    format!("{:?} disagrees with sector_ratings.{} ({:?})", e.sector_rating, e.sector, view.rating),
                );
            }
            if self.mode == ResearchMode::QuantOnly && e.sub_scores.qual.is_some() {
                c.push(at("sub_scores.qual"), "a quant-only run cannot have qualitative scores");
            }
        }
        let mut cands = BTreeSet::new();
        for (i, t) in self.buy_candidates.iter().enumerate() {
            if !cands.insert(t.clone()) {
                c.push(format!("buy_candidates[{i}]"), format!("{t} appears more than once"));
            }
            match by_ticker.get(t) {
                None => c.push(format!("buy_candidates[{i}]"), format!("{t} is not in the universe")),
                Some(e) if e.signal != SignalAction::Enter => {
                    c.push(format!("buy_candidates[{i}]"), format!("{t} has signal {}, not ENTER", e.signal))
                }
                _ => {}
            }
        }
        let mut pop = BTreeSet::new();
        for (i, m) in self.population.iter().enumerate() {
            if !pop.insert(m.ticker.clone()) {
                c.push(format!("population[{i}].ticker"), format!("{} appears more than once", m.ticker));
            }
            if !by_ticker.contains_key(&m.ticker) {
                c.push(format!("population[{i}].ticker"), format!("{} is not in the universe", m.ticker));
            }
            if m.entered > self.date {
                c.push(
                    format!("population[{i}].entered"),
                    format!("{} is after the document date {}", m.entered, self.date),
                );
            }
        }
        if self.mode == ResearchMode::QuantOnly && self.llm_regime.is_some() {
            c.push("llm_regime", "a quant-only run cannot have an LLM regime");
        }
    }
}

impl Signals {
    /// The entry for `ticker`.
    pub fn entry(&self, ticker: &str) -> Option<&SignalEntry> {
        self.universe.iter().find(|e| e.ticker.as_str() == ticker)
    }
}

/// A repair a lenient reader made, to be logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repair {
    /// Where.
    pub path: String,
    /// What was done and why.
    pub reason: String,
}

/// Reads signals the way the executor must: strictly, except that a BUY without a score is turned
/// into HOLD (and dropped from `buy_candidates`) with a logged reason, as the contract says. Any
/// other problem refuses the whole document.
pub fn parse_lenient(bytes: &[u8]) -> Result<(Signals, Vec<Repair>), Problems> {
    let strict = match super::parse::<Signals>(bytes) {
        Ok(s) => return Ok((s, Vec::new())),
        Err(p) => p,
    };
    let Ok(mut value) = serde_json::from_slice::<Value>(bytes) else {
        return Err(strict);
    };
    let mut repairs = Vec::new();
    let mut downgraded = BTreeSet::new();
    if let Some(universe) = value.get_mut("universe").and_then(Value::as_array_mut) {
        for (i, e) in universe.iter_mut().enumerate() {
            let buy = e.get("rating").and_then(Value::as_str) == Some("BUY");
            let unscored = e.get("score").is_none_or(Value::is_null);
            if buy && unscored {
                e["rating"] = Value::from("HOLD");
                if e.get("signal").and_then(Value::as_str) == Some("ENTER") {
                    e["signal"] = Value::from("HOLD");
                }
                let t = e.get("ticker").and_then(Value::as_str).unwrap_or("?").to_string();
                repairs.push(Repair {
                    path: format!("universe[{i}]"),
                    reason: format!("{t}: BUY without a score read as HOLD"),
                });
                downgraded.insert(t);
            }
        }
    }
    if repairs.is_empty() {
        return Err(strict);
    }
    if let Some(cands) = value.get_mut("buy_candidates").and_then(Value::as_array_mut) {
        cands.retain(|t| !t.as_str().is_some_and(|t| downgraded.contains(t)));
    }
    match super::parse_value::<Signals>(value) {
        Ok(s) => Ok((s, repairs)),
        Err(_) => Err(strict),
    }
}
