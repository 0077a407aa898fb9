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

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ae_shared::TradingDay;
use ae_shared::bus::{Bus, Published, keys};
use ae_shared::clock::Clock;
use ae_shared::config::Config;
use ae_shared::contracts::common::{Conviction, Rating, Regime, Sector, SignalAction};
use ae_shared::contracts::params::{ResearchParams, ScoringWeights};
use ae_shared::contracts::signals::{ResearchMode, SectorView, SignalEntry, Signals, SubScores};
use ae_shared::contracts::{InputRef, Job, Lineage};
use ae_shared::mail;
use ae_shared::retry::RetryPolicy;
use ae_shared::secrets;
use ae_shared::store::PriceStore;
use ae_shared::types::{Score, Ticker};
use anyhow::Context;
use serde::Serialize;

use crate::factors::{self, FactorTable};
use crate::filter::{self, FilterResult};
use crate::fundamentals::{self, Fundamentals};
use crate::history::{self, History};
use crate::llm::agents::{self, AnalystAnswer, BriefAnswer, CioAnswer, Decision, MacroAnswer};
use crate::llm::cache::AnswerCache;
use crate::llm::client::Anthropic;
use crate::llm::{Ask, LlmSession, LlmStats, Request};
use crate::population::{self, Change, Rotation};
use crate::providers::fred::FredClient;
use crate::providers::sec::SecClient;
use crate::providers::{FundamentalsProvider, MacroProvider, ProviderStats};
use crate::regime::{self, QuantView};
use crate::scoring::{self, Composite};
use crate::snapshot::{NameView, Snapshot};
use crate::{brief, technical};

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

/// Tuned parameters from the bus when present and valid, else the configuration's.
async fn params(
    bus: &Bus,
    cfg: &Config,
    inputs: &mut Vec<InputRef>,
    notes: &mut Vec<String>,
) -> (ResearchParams, ScoringWeights) {
    let research = bus.tuned_params(&cfg.research, inputs, notes).await;
    let scoring = bus.tuned_params(&cfg.scoring, inputs, notes).await;
    (research, scoring)
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

async fn fetch_fundamentals(
    cfg: &Config,
    snap: &Snapshot,
    names: &[Ticker],
    retry: RetryPolicy,
    stats: &mut BTreeMap<String, ProviderStats>,
    notes: &mut Vec<String>,
) -> BTreeMap<Ticker, Fundamentals> {
    let mut out = BTreeMap::new();
    if !cfg.providers.sec.enabled {
        return out;
    }
    let timeout = Duration::from_secs(cfg.providers.timeout_secs as u64);
    let sec = match SecClient::new(&cfg.providers.sec, timeout, retry) {
        Ok(c) => c,
        Err(e) => {
            notes.push(format!("SEC EDGAR not used: {e}"));
            return out;
        }
    };
    let st = stats.entry("sec".into()).or_default();
    for t in names {
        let Some(view) = snap.names.get(t) else { continue };
        let Some(facts) = st.record(t.as_str(), sec.company_facts(t.as_str()).await) else { continue };
        let mut f = fundamentals::from_facts(&facts, snap.as_of.date(), view.close);
        if cfg.providers.sec.form4_max_per_ticker > 0
            && let Some(txs) =
                st.record(&format!("{t} form 4"), sec.insider_transactions(t.as_str(), snap.as_of.date()).await)
        {
            f = fundamentals::with_insiders(f, &txs, snap.as_of.date());
        }
        out.insert(t.clone(), f);
    }
    out
}

/// Latest value and one-month change of each macro series, as text for the macro economist.
async fn fetch_macro(
    cfg: &Config,
    as_of: TradingDay,
    retry: RetryPolicy,
    stats: &mut BTreeMap<String, ProviderStats>,
    notes: &mut Vec<String>,
) -> Vec<String> {
    let mut lines = Vec::new();
    if !cfg.providers.fred.enabled {
        return lines;
    }
    let fred = match FredClient::new(&cfg.providers.fred, Duration::from_secs(cfg.providers.timeout_secs as u64), retry)
    {
        Ok(c) => c,
        Err(e) => {
            notes.push(format!("FRED not used: {e}"));
            return lines;
        }
    };
    let st = stats.entry("fred".into()).or_default();
    for series in &cfg.providers.fred.series {
        if let Some(obs) = st.record(series, fred.observations(series, as_of.date()).await) {
            match obs.last() {
                Some((d, v)) => {
                    let month_ago = obs.iter().rev().find(|(od, _)| (*d - *od).num_days() >= 28).map(|x| x.1);
                    let change = month_ago.map(|m| format!(", {:+.2} over a month", v - m)).unwrap_or_default();
                    lines.push(format!("- {series}: {v:.2} on {d}{change}"));
                }
                None => lines.push(format!("- {series}: no observations up to {as_of}")),
            }
        }
    }
    lines
}

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

struct Agents {
    session: LlmSession,
    cache_key: ae_shared::bus::Key,
    cache_path: std::path::PathBuf,
}

async fn start_agents(
    bus: &Bus,
    cfg: &Config,
    clock: Arc<dyn Clock>,
    opts: &RunOptions,
    notes: &mut Vec<String>,
) -> Option<Agents> {
    let key = opts.llm_key.clone().filter(|k| !k.trim().is_empty()).or_else(|| secrets::from_env(&cfg.llm.api_key_env));
    let Some(key) = key else {
        notes.push(format!(
            "quant-only: no ${} set, so no LLM agents ran; composite scores are 100% quant",
            cfg.llm.api_key_env
        ));
        tracing::info!("quant-only run: no ${} set", cfg.llm.api_key_env);
        return None;
    };
    let client =
        match Anthropic::new(&cfg.llm.base_url, &key, Duration::from_secs(cfg.llm.timeout_secs as u64), opts.retry) {
            Ok(c) => c,
            Err(e) => {
                notes.push(format!("quant-only: the LLM client could not start: {e}"));
                return None;
            }
        };
    let cache_path = std::path::PathBuf::from(&cfg.llm.cache_path);
    let cache_key = keys::research_db();
    if !cache_path.exists()
        && let Ok(Some(obj)) = bus.get(&cache_key).await
    {
        if let Some(dir) = cache_path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = std::fs::write(&cache_path, &obj.bytes);
    }
    let cache = match AnswerCache::open(&cache_path, cfg.llm.cache_ttl_days, clock.now()) {
        Ok((c, evicted)) => {
            tracing::info!(path = %cache_path.display(), evicted, "answer cache open");
            Some(c)
        }
        Err(e) => {
            notes.push(format!("answer cache unavailable ({e}); every agent call goes to the API"));
            None
        }
    };
    Some(Agents { session: LlmSession::new(client, cache, cfg.llm.clone(), clock), cache_key, cache_path })
}

fn sector_table(q: &QuantView) -> String {
    q.sectors
        .iter()
        .map(|(s, v)| format!("- {}: {:?} {:.2} — {}", s.name(), v.rating, v.modifier, v.rationale))
        .collect::<Vec<_>>()
        .join("\n")
}

fn fmt_opt(x: Option<f64>, pct: bool) -> String {
    match x {
        Some(v) if pct => format!("{:+.1}%", v * 100.0),
        Some(v) => format!("{v:.2}"),
        None => "n/a".into(),
    }
}

/// Runs research for `opts.date`.
pub async fn run(bus: &Bus, cfg: &Config, clock: Arc<dyn Clock>, opts: &RunOptions) -> anyhow::Result<RunReport> {
    let t0 = Instant::now();
    let date = opts.date;
    let mut inputs = Vec::new();
    let mut notes = Vec::new();
    let (rp, sw) = params(bus, cfg, &mut inputs, &mut notes).await;

    let stale = ae_shared::store::freshness::stale_for(bus, &["bars", "sectors", "earnings"], opts.date)
        .await
        .context("reading the data freshness")?;
    if !stale.is_empty() {
        anyhow::bail!(ae_shared::store::freshness::refusal("research", &stale));
    }
    let store = PriceStore::load(bus).await.context("loading the price store")?;
    let snap = Snapshot::build(&store, date, &cfg.data);
    inputs.extend(store.inputs_as_of(snap.as_of));
    if snap.names.is_empty() {
        anyhow::bail!(
            "the price store has no bars before {date} (it covers {}..{})",
            store.manifest.first_day,
            store.manifest.last_day
        );
    }
    if snap.as_of < store.manifest.last_day.min(date.prev()) {
        notes.push(format!("prices end {} although the run date is {date}", snap.as_of));
    }
    let quant = regime::quant_view(&snap);
    tracing::info!(%date, as_of = %snap.as_of, names = snap.names.len(), regime = %quant.regime, "{}", quant.evidence);

    // Technicals and the quant filter.
    let tech = technical_scores(&snap, quant.regime, &rp);
    let filt: FilterResult = filter::run(&snap, &tech, &rp);

    // Earlier runs.
    let hist: History =
        history::load(bus, date, rp.conviction_runs as usize + 1).await.context("reading earlier signals")?;
    inputs.extend(hist.inputs.iter().cloned());
    notes.extend(hist.skipped.iter().map(|s| format!("earlier signals skipped: {s}")));
    let prev_pop = hist.previous.as_ref().map(|p| p.population.clone()).unwrap_or_default();

    // Names of interest: the shortlist and the current population.
    let mut interest: Vec<Ticker> = prev_pop.iter().map(|m| m.ticker.clone()).collect();
    for s in &filt.shortlist {
        if !interest.contains(&s.ticker) {
            interest.push(s.ticker.clone());
        }
    }
    let mut provider_stats = BTreeMap::new();
    let fundamentals = fetch_fundamentals(cfg, &snap, &interest, opts.retry, &mut provider_stats, &mut notes).await;
    let macro_lines = fetch_macro(cfg, snap.as_of, opts.retry, &mut provider_stats, &mut notes).await;

    // Factor scores over every eligible name (a wide cross-section makes better percentiles).
    let eligible: Vec<&NameView> = snap.eligible().collect();
    let table: FactorTable = factors::compute(&eligible, &fundamentals, &sw.factors);
    for (f, why) in &table.degenerate {
        notes.push(format!("factor {f} degenerate: {why}"));
    }

    // Agents.
    let agents = start_agents(bus, cfg, clock.clone(), opts, &mut notes).await;
    let mode = if agents.is_some() { ResearchMode::QuantAndLlm } else { ResearchMode::QuantOnly };
    let as_of = snap.as_of.to_string();
    let mut llm_regime = None;
    let mut sector_views: BTreeMap<Sector, SectorView> = quant.sectors.clone();
    if let Some(a) = &agents {
        let prompt = agents::MACRO.render(&[
            ("as_of", as_of.clone()),
            ("quant_regime", quant.regime.to_string()),
            ("quant_evidence", quant.evidence.clone()),
            (
                "macro",
                if macro_lines.is_empty() { "(no macro provider configured)".into() } else { macro_lines.join("\n") },
            ),
            ("sectors", sector_table(&quant)),
        ]);
        let req = Request {
            agent: agents::MACRO.agent,
            subject: "market",
            prompt_version: agents::MACRO.version,
            model: &cfg.llm.strategic_model,
            max_tokens: cfg.llm.max_tokens_strategic,
            prompt,
        };
        match a.session.ask::<MacroAnswer>(req, |m| m.validate()).await {
            Ask::Answer(m) => {
                llm_regime = Some(m.market_regime);
                for (s, v) in m.by_sector() {
                    sector_views.insert(
                        s,
                        SectorView { rating: v.rating, modifier: v.modifier, rationale: v.rationale.clone() },
                    );
                }
                if m.market_regime != quant.regime {
                    let msg = format!(
                        "regime disagreement: macro economist says {}, quant baseline says {} ({})",
                        m.market_regime, quant.regime, quant.evidence
                    );
                    tracing::warn!("{msg}");
                    notes.push(msg);
                }
            }
            Ask::Dropped(why) | Ask::Stopped(why) => {
                notes.push(format!("macro economist unavailable ({why}); quant regime and sector ratings used"))
            }
        }
    }
    let regime = llm_regime.unwrap_or(quant.regime);

    // Sector analysts: the population first, then the shortlist by quant score.
    let mut qual: BTreeMap<Ticker, AnalystAnswer> = BTreeMap::new();
    let mut asked = 0usize;
    if let Some(a) = &agents {
        let mut order: Vec<&Ticker> =
            prev_pop.iter().map(|m| &m.ticker).filter(|t| table.composite.contains_key(*t)).collect();
        let mut rest: Vec<&Ticker> = filt
            .shortlist
            .iter()
            .map(|s| &s.ticker)
            .filter(|t| table.composite.contains_key(*t) && !order.contains(t))
            .collect();
        rest.sort_by(|x, y| table.composite[*y].total_cmp(&table.composite[*x]).then(x.cmp(y)));
        order.extend(rest);
        order.truncate(cfg.llm.max_names as usize);
        for t in order {
            let n = &snap.names[t];
            let sector = n.sector.expect("eligible");
            let f = fundamentals.get(t);
            let factors_txt = table
                .scores
                .get(t)
                .map(|m| m.iter().map(|(k, v)| format!("{k} {v:.0}")).collect::<Vec<_>>().join(", "))
                .unwrap_or_default();
            let prompt = agents::ANALYST.render(&[
                ("sector", sector.name().to_string()),
                ("as_of", as_of.clone()),
                ("ticker", t.to_string()),
                ("name", store.sectors.symbols.get(t).map(|i| i.name.clone()).unwrap_or_default()),
                ("quant", format!("{:.1}", table.composite[t])),
                ("factors", factors_txt),
                (
                    "technicals",
                    format!(
                        "RSI {}, vs MA50 {}, vs MA200 {}, 1-month {}, 3-month {}, ATR {}",
                        fmt_opt(n.rsi14, false),
                        fmt_opt(n.vs_ma50, true),
                        fmt_opt(n.vs_ma200, true),
                        fmt_opt(n.ret_21, true),
                        fmt_opt(n.ret_63, true),
                        fmt_opt(n.atr_pct, true)
                    ),
                ),
                (
                    "fundamentals",
                    f.map(|f| serde_json::to_string(f).unwrap_or_default()).unwrap_or_else(|| "none available".into()),
                ),
                ("earnings", n.next_earnings.map(|d| d.to_string()).unwrap_or_else(|| "none within 60 days".into())),
                (
                    "sector_view",
                    sector_views
                        .get(&sector)
                        .map(|v| format!("{:?} ({:.2}): {}", v.rating, v.modifier, v.rationale))
                        .unwrap_or_default(),
                ),
            ]);
            asked += 1;
            let req = Request {
                agent: agents::ANALYST.agent,
                subject: t.as_str(),
                prompt_version: agents::ANALYST.version,
                model: &cfg.llm.ticker_model,
                max_tokens: cfg.llm.max_tokens_ticker,
                prompt,
            };
            match a.session.ask::<AnalystAnswer>(req, |x| x.validate(t.as_str())).await {
                Ask::Answer(x) => {
                    qual.insert(t.clone(), x);
                }
                Ask::Dropped(_) => {}
                Ask::Stopped(_) => {
                    asked -= 1;
                    break;
                }
            }
        }
    }

    // Composite scores of every eligible name with a quant score.
    let composites: BTreeMap<Ticker, Composite> = table
        .composite
        .iter()
        .map(|(t, q)| {
            let sector = snap.names[t].sector.expect("eligible");
            let modifier = sector_views.get(&sector).map(|v| v.modifier).unwrap_or(1.0);
            let b = scoring::boosts(fundamentals.get(t));
            (t.clone(), scoring::composite(*q, qual.get(t).map(|a| a.score), modifier, &b, &sw, &rp))
        })
        .collect();
    let scores: BTreeMap<Ticker, f64> = composites.iter().map(|(t, c)| (t.clone(), c.score)).collect();

    // Candidates for the population: shortlisted names with a score.
    let candidates: Vec<Ticker> =
        filt.shortlist.iter().map(|s| s.ticker.clone()).filter(|t| scores.contains_key(t)).collect();
    let mut approved: Option<BTreeSet<Ticker>> = None;
    if let Some(a) = &agents {
        let members: BTreeSet<&Ticker> = prev_pop.iter().map(|m| &m.ticker).collect();
        let mut proposals: Vec<&Ticker> =
            candidates.iter().filter(|t| !members.contains(t) && scores[*t] >= rp.min_long_term_score.get()).collect();
        proposals.sort_by(|x, y| scores[*y].total_cmp(&scores[*x]).then(x.cmp(y)));
        let room = (rp.population_size as usize).saturating_sub(prev_pop.len()) + rp.max_rotations_per_run as usize;
        proposals.truncate(room);
        if !proposals.is_empty() {
            let lines: Vec<String> = proposals
                .iter()
                .map(|t| {
                    let thesis = qual
                        .get(*t)
                        .map(|q| q.thesis.clone())
                        .unwrap_or_else(|| "no analyst thesis (quant only)".into());
                    format!(
                        "- {t} ({}), score {:.1}: {thesis}",
                        snap.names[*t].sector.map(|s| s.name()).unwrap_or(""),
                        scores[*t]
                    )
                })
                .collect();
            let mut by_sector: BTreeMap<&str, usize> = BTreeMap::new();
            for m in &prev_pop {
                if let Some(s) = snap.names.get(&m.ticker).and_then(|n| n.sector) {
                    *by_sector.entry(s.name()).or_default() += 1;
                }
            }
            let prompt = agents::CIO.render(&[
                ("as_of", as_of.clone()),
                ("regime", regime.to_string()),
                ("population_sectors", if by_sector.is_empty() { "empty".into() } else { format!("{by_sector:?}") }),
                ("proposals", lines.join("\n")),
            ]);
            let names: Vec<String> = proposals.iter().map(|t| t.to_string()).collect();
            let req = Request {
                agent: agents::CIO.agent,
                subject: "proposals",
                prompt_version: agents::CIO.version,
                model: &cfg.llm.strategic_model,
                max_tokens: cfg.llm.max_tokens_strategic,
                prompt,
            };
            match a.session.ask::<CioAnswer>(req, |c| c.validate(&names)).await {
                Ask::Answer(c) => {
                    for d in c.decisions.iter().filter(|d| d.decision == Decision::Reject) {
                        notes.push(format!("CIO rejected {}: {}", d.ticker, d.reason));
                    }
                    approved = Some(
                        c.decisions
                            .iter()
                            .filter(|d| d.decision == Decision::Advance)
                            .filter_map(|d| Ticker::new(&d.ticker).ok())
                            .collect(),
                    );
                }
                Ask::Dropped(why) | Ask::Stopped(why) => {
                    notes.push(format!("CIO unavailable ({why}); new names admitted by score"))
                }
            }
        }
    }

    // Notes carry provider and agent errors (text from outside) into the signals and the brief.
    secrets::redact_all(&mut notes);
    let rotation: Rotation = population::rotate(&prev_pop, &scores, &candidates, approved.as_ref(), date, &rp);
    let signals = assemble(
        date,
        mode,
        regime,
        quant.regime,
        llm_regime,
        &sector_views,
        &snap,
        &filt,
        &table,
        &tech,
        &composites,
        &qual,
        &rotation,
        &hist,
        &rp,
        Lineage::new(Job::Research, VERSION, Some(date), inputs),
        notes.clone(),
    )?;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for e in &signals.universe {
        *counts.entry(e.signal.to_string()).or_default() += 1;
    }

    // Consolidator (after the signals exist; it only writes prose for the brief).
    let mut commentary: Option<BriefAnswer> = None;
    if let Some(a) = &agents {
        let ratings: Vec<String> = signals
            .universe
            .iter()
            .filter(|e| e.rating == Rating::Buy)
            .take(10)
            .map(|e| format!("{} {:.0}", e.ticker, e.score.map(|s| s.get()).unwrap_or(0.0)))
            .collect();
        let changes: Vec<String> = rotation
            .entries
            .iter()
            .map(|c| format!("+{}", c.ticker))
            .chain(rotation.exits.iter().map(|c| format!("-{} ({})", c.ticker, c.reason)))
            .collect();
        let prompt = agents::CONSOLIDATOR.render(&[
            ("as_of", as_of.clone()),
            ("regime", regime.to_string()),
            ("regime_detail", quant.evidence.clone()),
            ("changes", if changes.is_empty() { "none".into() } else { changes.join(", ") }),
            ("ratings", ratings.join(", ")),
            ("notes", signals.notes.join("; ")),
        ]);
        let req = Request {
            agent: agents::CONSOLIDATOR.agent,
            subject: "brief",
            prompt_version: agents::CONSOLIDATOR.version,
            model: &cfg.llm.strategic_model,
            max_tokens: cfg.llm.max_tokens_strategic,
            prompt,
        };
        if let Ask::Answer(b) = a.session.ask::<BriefAnswer>(req, |b| b.validate()).await {
            commentary = Some(b);
        }
    }
    let llm_stats = agents.as_ref().map(|a| a.session.stats());
    let mut all_notes = signals.notes.clone();
    if let Some(s) = &llm_stats {
        let line = format!(
            "agents: {} call(s), {} cached, ${:.4} spent (ceiling ${:.2}), analysts covered {} of {} asked{}",
            s.calls,
            s.cached,
            s.cost_usd,
            cfg.llm.cost_ceiling_usd,
            qual.len(),
            asked,
            s.stopped.as_ref().map(|w| format!("; stopped: {w}")).unwrap_or_default()
        );
        tracing::info!("{line}");
        all_notes.push(line);
    }

    // Write: signals (dated, then latest), brief, report.
    let email = brief::build(&brief::BriefInput {
        signals: &signals,
        rotation: &rotation,
        quant_evidence: &quant.evidence,
        commentary: commentary.as_ref(),
    });
    let (published, brief_to) = if opts.dry_run {
        ("dry run: nothing written".to_string(), "dry run: not sent".to_string())
    } else {
        let outcome = bus
            .publish_doc(&keys::signals(date), Some(&keys::signals_latest()), &signals, opts.force, clock.as_ref())
            .await?;
        let brief_to = if outcome == Published::Unchanged {
            "not sent again (signals unchanged)".to_string()
        } else {
            bus.put(&keys::research_brief(date), email.html.clone().into_bytes(), ae_shared::bus::PutMode::Overwrite)
                .await?;
            match mail::send(&cfg.mail, &email, &format!("{date}-research-brief")).await {
                Ok(mail::Delivery::Smtp { host, recipients }) => {
                    format!("sent via {host} to {recipients} recipient(s)")
                }
                Ok(mail::Delivery::Outbox { path }) => format!("written to {}", path.display()),
                Err(e) => {
                    tracing::error!("brief not delivered: {e}");
                    format!("NOT delivered: {e}")
                }
            }
        };
        if let Some(a) = &agents
            && let Some(c) = a.session.cache()
        {
            c.checkpoint();
            if let Ok(bytes) = std::fs::read(&a.cache_path) {
                bus.put(&a.cache_key, bytes, ae_shared::bus::PutMode::Overwrite).await?;
            }
        }
        (outcome.to_string(), brief_to)
    };
    let mut report = RunReport {
        date,
        as_of: snap.as_of,
        mode,
        run_id: signals.produced_by.run_id.clone(),
        names: snap.names.len(),
        eligible: eligible.len(),
        without_sector: snap.without_sector().iter().map(|t| t.to_string()).collect(),
        ineligible: snap.names.values().filter(|n| !n.defects.is_empty()).count(),
        liquid: filt.liquid,
        shortlist: filt.shortlist.iter().fold(BTreeMap::new(), |mut m, s| {
            *m.entry(format!("{:?}", s.path).to_lowercase()).or_default() += 1;
            m
        }),
        exclusions: filt.excluded.values().fold(BTreeMap::new(), |mut m, r| {
            *m.entry(r.split(':').next().unwrap_or(r).split(" (").next().unwrap_or(r).to_string()).or_default() += 1;
            m
        }),
        degenerate_factors: table.degenerate.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
        regime,
        quant_regime: quant.regime,
        llm_regime,
        population: rotation.members.len(),
        entries: rotation.entries.clone(),
        exits: rotation.exits.clone(),
        signals: counts,
        providers: provider_stats,
        llm: llm_stats,
        analysts: (qual.len(), asked),
        notes: all_notes,
        published,
        brief: brief_to,
        elapsed_secs: t0.elapsed().as_secs_f64(),
    };
    report.redact();
    if !opts.dry_run {
        // The report quotes provider and agent failures: its every string is redacted once more on
        // its way to the bus.
        let mut doc = serde_json::to_value(&report).context("serializing the run report")?;
        secrets::redact_json(&mut doc);
        bus.put_json(&keys::research_archive(date, "run.json"), &doc, ae_shared::bus::PutMode::Overwrite).await?;
    }
    Ok(report)
}

impl RunReport {
    /// Redacts every registered secret from the text the report quotes from outside (provider and
    /// agent failures, delivery errors, notes): the report is logged, printed, returned to Lambda
    /// and written to the bus.
    fn redact(&mut self) {
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

/// Builds the signals document.
#[allow(clippy::too_many_arguments)]
fn assemble(
    date: TradingDay,
    mode: ResearchMode,
    regime: Regime,
    quant_regime: Regime,
    llm_regime: Option<Regime>,
    sectors: &BTreeMap<Sector, SectorView>,
    snap: &Snapshot,
    filt: &FilterResult,
    table: &FactorTable,
    tech: &BTreeMap<Ticker, f64>,
    composites: &BTreeMap<Ticker, Composite>,
    qual: &BTreeMap<Ticker, AnalystAnswer>,
    rot: &Rotation,
    hist: &History,
    rp: &ResearchParams,
    lineage: Lineage,
    notes: Vec<String>,
) -> anyhow::Result<Signals> {
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
