//! The LLM pipeline of a research run: the agents' session and answer cache, then the macro
//! economist (regime and sector views), the sector analysts (qualitative scores and theses), the
//! CIO (which new names advance) and the consolidator (the brief's prose).
//!
//! Every agent is optional: a missing key, a failed client or a dropped answer leaves the quant
//! view in force and says so in a note.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use ae_shared::TradingDay;
use ae_shared::bus::{Bus, Key, PutMode, keys};
use ae_shared::clock::Clock;
use ae_shared::config::Config;
use ae_shared::contracts::common::{Rating, Regime, Sector};
use ae_shared::contracts::signals::{SectorView, Signals};
use ae_shared::fmt::pct_1dp;
use ae_shared::secrets;
use ae_shared::types::Ticker;

use super::RunOptions;
use super::inputs::RunInputs;
use crate::factors::FactorTable;
use crate::filter::FilterResult;
use crate::fundamentals::Fundamentals;
use crate::llm::agents::{self, AnalystAnswer, BriefAnswer, CioAnswer, Decision, MacroAnswer};
use crate::llm::cache::AnswerCache;
use crate::llm::client::Anthropic;
use crate::llm::{Ask, LlmSession, LlmStats, Request};
use crate::population::Rotation;
use crate::regime::QuantView;

/// A started agent session and where its answer cache lives (locally and on the bus).
pub(super) struct Agents {
    session: LlmSession,
    cache_key: Key,
    cache_path: std::path::PathBuf,
}

/// Starts the agents when a key is configured (the answer cache is fetched from the bus when it is
/// not on disk); `None`, with a note, for a quant-only run.
pub(super) async fn start(
    bus: &Bus,
    cfg: &Config,
    clock: Arc<dyn Clock>,
    opts: &RunOptions,
    notes: &mut Vec<String>,
) -> Option<Agents> {
    let key = opts.llm_key.clone().filter(|k| !k.trim().is_empty()).or_else(|| secrets::from_env(&cfg.llm.api_key_env));
    let Some(key) = key else {
        let why = if cfg.llm.api_key_env.trim().is_empty() {
            "no LLM key is configured".to_string()
        } else {
            format!("no ${} set", cfg.llm.api_key_env)
        };
        notes.push(format!("quant-only: {why}, so no LLM agents ran; composite scores are 100% quant"));
        tracing::info!("quant-only run: {why}");
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
        Some(v) if pct => pct_1dp(v),
        Some(v) => format!("{v:.2}"),
        None => "n/a".into(),
    }
}

/// What the sector analysts read besides the snapshot: the quant screen and scores, fundamentals
/// and the sector views in force.
pub(super) struct AnalystBrief<'a> {
    /// The quant filter's shortlist.
    pub filt: &'a FilterResult,
    /// Quant scores.
    pub table: &'a FactorTable,
    /// Fundamentals by name.
    pub fundamentals: &'a BTreeMap<Ticker, Fundamentals>,
    /// Sector views in force.
    pub sector_views: &'a BTreeMap<Sector, SectorView>,
}

/// What the CIO decides on: the candidates, their composite scores and the analysts' theses.
pub(super) struct Slate<'a> {
    /// Shortlisted names with a score.
    pub candidates: &'a [Ticker],
    /// Composite scores.
    pub scores: &'a BTreeMap<Ticker, f64>,
    /// Sector analysts' answers.
    pub qual: &'a BTreeMap<Ticker, AnalystAnswer>,
}

/// The sector analysts' answers, and how many names were asked.
pub(super) struct Analysts {
    /// Answers by name.
    pub qual: BTreeMap<Ticker, AnalystAnswer>,
    /// Names asked (a stopped session does not count the name it stopped on).
    pub asked: usize,
}

impl Agents {
    /// The macro economist: its regime (`None` when unavailable), with its sector views written
    /// over `sector_views`; a note on disagreement with the quant baseline or on failure.
    pub(super) async fn macro_view(
        &self,
        cfg: &Config,
        inp: &RunInputs,
        quant: &QuantView,
        macro_lines: &[String],
        sector_views: &mut BTreeMap<Sector, SectorView>,
        notes: &mut Vec<String>,
    ) -> Option<Regime> {
        let mut llm_regime = None;
        let prompt = agents::MACRO.render(&[
            ("as_of", inp.snap.as_of.to_string()),
            ("quant_regime", quant.regime.to_string()),
            ("quant_evidence", quant.evidence.clone()),
            (
                "macro",
                if macro_lines.is_empty() { "(no macro provider configured)".into() } else { macro_lines.join("\n") },
            ),
            ("sectors", sector_table(quant)),
        ]);
        let req = Request {
            agent: agents::MACRO.agent,
            subject: "market",
            prompt_version: agents::MACRO.version,
            model: &cfg.llm.strategic_model,
            max_tokens: cfg.llm.max_tokens_strategic,
            prompt,
        };
        match self.session.ask::<MacroAnswer>(req, |m| m.validate()).await {
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
        llm_regime
    }

    /// Sector analysts: the population first, then the shortlist by quant score, up to
    /// `llm.max_names`.
    pub(super) async fn analysts(&self, cfg: &Config, inp: &RunInputs, b: &AnalystBrief<'_>) -> Analysts {
        let (snap, table) = (&inp.snap, b.table);
        let as_of = snap.as_of.to_string();
        let mut qual: BTreeMap<Ticker, AnalystAnswer> = BTreeMap::new();
        let mut asked = 0usize;
        let mut order: Vec<&Ticker> =
            inp.prev_pop.iter().map(|m| &m.ticker).filter(|t| table.composite.contains_key(*t)).collect();
        let mut rest: Vec<&Ticker> = b
            .filt
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
            let f = b.fundamentals.get(t);
            let factors_txt = table
                .scores
                .get(t)
                .map(|m| m.iter().map(|(k, v)| format!("{k} {v:.0}")).collect::<Vec<_>>().join(", "))
                .unwrap_or_default();
            let prompt = agents::ANALYST.render(&[
                ("sector", sector.name().to_string()),
                ("as_of", as_of.clone()),
                ("ticker", t.to_string()),
                ("name", inp.store.sectors.symbols.get(t).map(|i| i.name.clone()).unwrap_or_default()),
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
                    b.sector_views
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
            match self.session.ask::<AnalystAnswer>(req, |x| x.validate(t.as_str())).await {
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
        Analysts { qual, asked }
    }

    /// The CIO on the best-scoring new candidates that fit: the names it advances (`None` when
    /// nothing was proposed or it was unavailable, so new names are admitted by score); a note per
    /// rejection.
    pub(super) async fn cio(
        &self,
        cfg: &Config,
        inp: &RunInputs,
        regime: Regime,
        slate: &Slate<'_>,
        notes: &mut Vec<String>,
    ) -> Option<BTreeSet<Ticker>> {
        let (snap, rp, prev_pop) = (&inp.snap, &inp.rp, &inp.prev_pop);
        let Slate { candidates, scores, qual } = *slate;
        let mut approved: Option<BTreeSet<Ticker>> = None;
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
            for m in prev_pop.iter() {
                if let Some(s) = snap.names.get(&m.ticker).and_then(|n| n.sector) {
                    *by_sector.entry(s.name()).or_default() += 1;
                }
            }
            let prompt = agents::CIO.render(&[
                ("as_of", snap.as_of.to_string()),
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
            match self.session.ask::<CioAnswer>(req, |c| c.validate(&names)).await {
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
        approved
    }

    /// The consolidator's prose for the brief (after the signals exist; it writes nothing else).
    pub(super) async fn consolidate(
        &self,
        cfg: &Config,
        as_of: TradingDay,
        quant: &QuantView,
        signals: &Signals,
        rotation: &Rotation,
    ) -> Option<BriefAnswer> {
        let mut commentary: Option<BriefAnswer> = None;
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
            ("as_of", as_of.to_string()),
            ("regime", signals.market_regime.to_string()),
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
        if let Ask::Answer(b) = self.session.ask::<BriefAnswer>(req, |b| b.validate()).await {
            commentary = Some(b);
        }
        commentary
    }

    /// The session's counters.
    pub(super) fn stats(&self) -> LlmStats {
        self.session.stats()
    }

    /// Checkpoints the answer cache and copies it to the bus.
    pub(super) async fn save_cache(&self, bus: &Bus) -> anyhow::Result<()> {
        if let Some(c) = self.session.cache() {
            c.checkpoint();
            if let Ok(bytes) = std::fs::read(&self.cache_path) {
                bus.put(&self.cache_key, bytes, PutMode::Overwrite).await?;
            }
        }
        Ok(())
    }
}

/// The closing note on the agents' work: calls, cache hits, spend against the ceiling, analyst
/// coverage and why the session stopped, if it did.
pub(super) fn stats_note(cfg: &Config, s: &LlmStats, analysts: &Analysts) -> String {
    let line = format!(
        "agents: {} call(s), {} cached, ${:.4} spent (ceiling ${:.2}), analysts covered {} of {} asked{}",
        s.calls,
        s.cached,
        s.cost_usd,
        cfg.llm.cost_ceiling_usd,
        analysts.qual.len(),
        analysts.asked,
        s.stopped.as_ref().map(|w| format!("; stopped: {w}")).unwrap_or_default()
    );
    tracing::info!("{line}");
    line
}
