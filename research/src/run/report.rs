//! The run report: what a research run did, for logs, the CLI, Lambda and
//! `research/archive/{date}/run.json`, with every quoted outside text redacted.

use std::collections::BTreeMap;

use ae_shared::TradingDay;
use ae_shared::contracts::common::Regime;
use ae_shared::contracts::signals::{ResearchMode, Signals};
use ae_shared::secrets;
use serde::Serialize;

use crate::filter::FilterResult;
use crate::llm::LlmStats;
use crate::population::Change;
use crate::providers::ProviderStats;

/// What a run did, for logs, the CLI and `research/archive/{date}/run.json`.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// Run date.
    pub date: TradingDay,
    /// Last session used.
    pub as_of: TradingDay,
    /// Quant-only or with agents.
    pub mode: ResearchMode,
    /// Lineage run id.
    pub run_id: String,
    /// Names with bars as of the run.
    pub names: usize,
    /// Eligible names (no defects, with a sector).
    pub eligible: usize,
    /// Names without a sector (reported, not silently dropped).
    pub without_sector: Vec<String>,
    /// Names with data defects.
    pub ineligible: usize,
    /// Names that passed liquidity.
    pub liquid: usize,
    /// Shortlist size by path.
    pub shortlist: BTreeMap<String, usize>,
    /// Exclusion counts by reason kind.
    pub exclusions: BTreeMap<String, usize>,
    /// Degenerate factors and why.
    pub degenerate_factors: BTreeMap<String, String>,
    /// Regime used.
    pub regime: Regime,
    /// Quant baseline regime.
    pub quant_regime: Regime,
    /// Macro economist's regime.
    pub llm_regime: Option<Regime>,
    /// Population after rotation.
    pub population: usize,
    /// Joined.
    pub entries: Vec<Change>,
    /// Left.
    pub exits: Vec<Change>,
    /// Signals by action.
    pub signals: BTreeMap<String, usize>,
    /// Provider counters.
    pub providers: BTreeMap<String, ProviderStats>,
    /// Agent counters.
    pub llm: Option<LlmStats>,
    /// Sector analysts: answered / asked.
    pub analysts: (usize, usize),
    /// Notes (also in the signals).
    pub notes: Vec<String>,
    /// What happened to the signals document.
    pub published: String,
    /// Where the brief went.
    pub brief: String,
    /// Wall time.
    pub elapsed_secs: f64,
}

impl RunReport {
    /// Redacts every registered secret from the text the report quotes from outside (provider and
    /// agent failures, delivery errors, notes): the report is logged, printed, returned to Lambda
    /// and written to the bus.
    pub(super) fn redact(&mut self) {
        secrets::redact_all(&mut self.notes);
        secrets::redact_in_place(&mut self.published);
        secrets::redact_in_place(&mut self.brief);
        for p in self.providers.values_mut() {
            for (subject, why) in &mut p.failures {
                secrets::redact_in_place(subject);
                secrets::redact_in_place(why);
            }
        }
        if let Some(llm) = &mut self.llm {
            for (subject, why) in &mut llm.dropped {
                secrets::redact_in_place(subject);
                secrets::redact_in_place(why);
            }
            if let Some(why) = &mut llm.stopped {
                secrets::redact_in_place(why);
            }
        }
    }
}

/// Shortlist size by path.
pub(super) fn shortlist_counts(filt: &FilterResult) -> BTreeMap<String, usize> {
    filt.shortlist.iter().fold(BTreeMap::new(), |mut m, s| {
        *m.entry(format!("{:?}", s.path).to_lowercase()).or_default() += 1;
        m
    })
}

/// Exclusion counts by reason kind (the reason up to its first `:` or ` (`).
pub(super) fn exclusion_counts(filt: &FilterResult) -> BTreeMap<String, usize> {
    filt.excluded.values().fold(BTreeMap::new(), |mut m, r| {
        *m.entry(r.split(':').next().unwrap_or(r).split(" (").next().unwrap_or(r).to_string()).or_default() += 1;
        m
    })
}

/// Signals by action.
pub(super) fn signal_counts(signals: &Signals) -> BTreeMap<String, usize> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for e in &signals.universe {
        *counts.entry(e.signal.to_string()).or_default() += 1;
    }
    counts
}
