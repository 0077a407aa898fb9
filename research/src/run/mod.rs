//! One research run: from the bus and the providers to `signals/{date}/signals.json`, the brief
//! and a run report.
//!
//! Steps: parameters (tuned `config/*.json` on the bus when valid, else the configuration) → the
//! price store → a point-in-time snapshot as of the session before the run date → quant regime and
//! sector ratings → technical scores and the quant filter → earlier signals (population, score
//! history) → fundamentals and macro series from providers (each failure isolated) → factor scores
//! → LLM agents when a key is configured (macro economist, sector analysts, CIO) → composite
//! scores, rotation, ratings, conviction, signal actions → signals written (dated, then latest) →
//! consolidator → brief stored and mailed → run report.
//!
//! This file owns the run's options and [`run`], the sequence of steps; each step lives in its
//! own module: `inputs` (what the run reads), `quant` (regime, technicals, filter, factor and
//! composite scores), `fetch` (outside data providers), `agents` (the LLM pipeline), `assemble`
//! (the signals document), `publish` (what is written and sent) and `report` (the run report).

mod agents;
mod assemble;
mod fetch;
mod inputs;
mod publish;
mod quant;
mod report;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use ae_shared::TradingDay;
use ae_shared::bus::Bus;
use ae_shared::clock::Clock;
use ae_shared::config::Config;
use ae_shared::contracts::signals::ResearchMode;
use ae_shared::contracts::{Job, Lineage};
use ae_shared::retry::RetryPolicy;
use ae_shared::secrets;
use ae_shared::types::Ticker;

pub use report::RunReport;

use crate::brief;
use crate::population::{self, Rotation};
use crate::scoring::Composite;

/// Version written into lineage.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Run date (a Monday in production; any trading day works).
    pub date: TradingDay,
    /// Compute and report, write nothing and send nothing.
    pub dry_run: bool,
    /// Replace an existing dated document made from other inputs (the old one is archived).
    pub force: bool,
    /// Anthropic key; `None` reads the variable named by `llm.api_key_env`.
    pub llm_key: Option<String>,
    /// Retry policy for providers and agents.
    pub retry: RetryPolicy,
}

impl RunOptions {
    /// Defaults for `date`.
    pub fn new(date: TradingDay) -> Self {
        Self { date, dry_run: false, force: false, llm_key: None, retry: RetryPolicy::default() }
    }
}

/// Runs research for `opts.date`.
pub async fn run(bus: &Bus, cfg: &Config, clock: Arc<dyn Clock>, opts: &RunOptions) -> anyhow::Result<RunReport> {
    let t0 = Instant::now();
    let date = opts.date;
    let inp = inputs::load(bus, cfg, date).await?;
    let mut notes = inp.notes.clone();
    let screen = quant::screen(&inp.snap, date, &inp.rp);

    // Outside data, then factor scores.
    let mut provider_stats = BTreeMap::new();
    let interest = quant::interest(&inp.prev_pop, &screen.filt);
    let fundamentals =
        fetch::fundamentals(cfg, &inp.snap, &interest, opts.retry, &mut provider_stats, &mut notes).await;
    let macro_lines = fetch::macro_lines(cfg, inp.snap.as_of, opts.retry, &mut provider_stats, &mut notes).await;
    let table = quant::factor_table(&inp.snap, &fundamentals, &inp.sw, &mut notes);

    // Agents: regime and sector views, then analysts.
    let agents = agents::start(bus, cfg, clock.clone(), opts, &mut notes).await;
    let mode = if agents.is_some() { ResearchMode::QuantAndLlm } else { ResearchMode::QuantOnly };
    let mut sector_views = screen.view.sectors.clone();
    let mut llm_regime = None;
    let mut analysts = agents::Analysts { qual: BTreeMap::new(), asked: 0 };
    if let Some(a) = &agents {
        llm_regime = a.macro_view(cfg, &inp, &screen.view, &macro_lines, &mut sector_views, &mut notes).await;
        let brief = agents::AnalystBrief {
            filt: &screen.filt,
            table: &table,
            fundamentals: &fundamentals,
            sector_views: &sector_views,
        };
        analysts = a.analysts(cfg, &inp, &brief).await;
    }
    let regime = llm_regime.unwrap_or(screen.view.regime);

    // Composite scores; the CIO on new candidates (shortlisted names with a score); rotation.
    let composites: BTreeMap<Ticker, Composite> = quant::composites(&quant::Blend {
        snap: &inp.snap,
        table: &table,
        sector_views: &sector_views,
        fundamentals: &fundamentals,
        qual: &analysts.qual,
        sw: &inp.sw,
        rp: &inp.rp,
    });
    let scores: BTreeMap<Ticker, f64> = composites.iter().map(|(t, c)| (t.clone(), c.score)).collect();
    let candidates: Vec<Ticker> =
        screen.filt.shortlist.iter().map(|s| s.ticker.clone()).filter(|t| scores.contains_key(t)).collect();
    let mut approved: Option<BTreeSet<Ticker>> = None;
    if let Some(a) = &agents {
        approved = a
            .cio(
                cfg,
                &inp,
                regime,
                &agents::Slate { candidates: &candidates, scores: &scores, qual: &analysts.qual },
                &mut notes,
            )
            .await;
    }
    // Notes carry provider and agent errors (text from outside) into the signals and the brief.
    secrets::redact_all(&mut notes);
    let rotation: Rotation = population::rotate(&inp.prev_pop, &scores, &candidates, approved.as_ref(), date, &inp.rp);

    // The signals, then the consolidator's prose for the brief.
    let signals = assemble::assemble(assemble::Assembly {
        date,
        mode,
        regime,
        quant_regime: screen.view.regime,
        llm_regime,
        sectors: &sector_views,
        snap: &inp.snap,
        filt: &screen.filt,
        table: &table,
        tech: &screen.tech,
        composites: &composites,
        qual: &analysts.qual,
        rot: &rotation,
        hist: &inp.hist,
        rp: &inp.rp,
        lineage: Lineage::new(Job::Research, VERSION, Some(date), inp.inputs.clone()),
        notes: notes.clone(),
    })?;
    let mut commentary = None;
    let mut llm_stats = None;
    let mut all_notes = signals.notes.clone();
    if let Some(a) = &agents {
        commentary = a.consolidate(cfg, inp.snap.as_of, &screen.view, &signals, &rotation).await;
        let stats = a.stats();
        all_notes.push(agents::stats_note(cfg, &stats, &analysts));
        llm_stats = Some(stats);
    }

    // Write: signals (dated, then latest), brief, report.
    let drivers = inputs::model_drivers(bus, date).await;
    let email = brief::build(&brief::BriefInput {
        signals: &signals,
        rotation: &rotation,
        quant_evidence: &screen.view.evidence,
        commentary: commentary.as_ref(),
        model_drivers: drivers.as_ref().map(|(d, m)| (*d, m)),
    });
    let delivery = publish::publish(bus, cfg, clock.as_ref(), opts, &signals, &email, agents.as_ref()).await?;
    let mut report = RunReport {
        date,
        as_of: inp.snap.as_of,
        mode,
        run_id: signals.produced_by.run_id.clone(),
        names: inp.snap.names.len(),
        eligible: inp.snap.eligible().count(),
        without_sector: inp.snap.without_sector().iter().map(|t| t.to_string()).collect(),
        ineligible: inp.snap.names.values().filter(|n| !n.defects.is_empty()).count(),
        liquid: screen.filt.liquid,
        shortlist: report::shortlist_counts(&screen.filt),
        exclusions: report::exclusion_counts(&screen.filt),
        degenerate_factors: table.degenerate.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
        regime,
        quant_regime: screen.view.regime,
        llm_regime,
        population: rotation.members.len(),
        entries: rotation.entries.clone(),
        exits: rotation.exits.clone(),
        signals: report::signal_counts(&signals),
        providers: provider_stats,
        llm: llm_stats,
        analysts: (analysts.qual.len(), analysts.asked),
        notes: all_notes,
        published: delivery.published,
        brief: delivery.brief,
        elapsed_secs: t0.elapsed().as_secs_f64(),
    };
    report.redact();
    publish::archive_report(bus, opts, &report).await?;
    Ok(report)
}
