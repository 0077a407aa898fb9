//! The demo on a simulated market (`alpha-engine demo --market simulated`): the market built from
//! the flags (`ae_shared::sim`, a planted short-term reversal signal of stated strength, or none),
//! and what only a simulator can tell after the run: the planted signal's oracle rank IC against
//! the predictor's live out-of-sample rank IC on the days traded, the share recovered, how often
//! the veto fired, and what the backtester wrote back.

use std::collections::BTreeMap;

use ae_shared::TradingDay;
use ae_shared::bus::{Bus, keys};
use ae_shared::config::Config;
use ae_shared::contracts::common::Sector;
use ae_shared::contracts::ensemble::{ViewKind, ViewSkill};
use ae_shared::contracts::order_book::OrderBook;
use ae_shared::contracts::predictions::Predictions;
use ae_shared::in_force;
use ae_shared::metrics::{group_demean, mean, spearman, std_sample};
use ae_shared::sim::{SimConfig, SimMarket, generate};

use crate::local::LocalReport;

/// Sessions in a simulated year.
pub const SESSIONS_PER_YEAR: usize = 252;

/// The fewest years: one traded, the ones before it the history research and the predictor learn
/// from (the predictor's walk-forward gate needs about two years of a few hundred names).
pub const MIN_YEARS: usize = 2;

/// The fewest names: research's population and the sector-neutral labels need several per sector.
pub const MIN_NAMES: usize = 44;

/// The rule code the planner records when the predictor's veto blocks an entry.
const GBM_VETO: &str = "GBM_VETO";

/// The simulated market's flags, checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimMarketArgs {
    /// Names.
    pub names: usize,
    /// Years of sessions (the demo trades the last one).
    pub years: usize,
    /// Planted signal strength φ (0: the null market).
    pub signal: f64,
    /// Seed.
    pub seed: u64,
}

impl SimMarketArgs {
    /// Checks the flags, every problem at once.
    pub fn checked(self) -> anyhow::Result<Self> {
        let mut problems = Vec::new();
        if self.years < MIN_YEARS {
            problems.push(format!(
                "--years {}: at least {MIN_YEARS} (the last year is traded, the years before are the history the predictor learns from)",
                self.years
            ));
        }
        if self.years > 40 {
            problems.push(format!("--years {}: at most 40", self.years));
        }
        if self.names < MIN_NAMES {
            problems.push(format!("--names {}: at least {MIN_NAMES} (four per sector)", self.names));
        }
        if self.names > 5000 {
            problems.push(format!("--names {}: at most 5000", self.names));
        }
        anyhow::ensure!(problems.is_empty(), "{}", problems.join("; "));
        Ok(self)
    }

    /// The market (a function of the flags alone).
    pub fn generate(&self) -> SimMarket {
        generate(&SimConfig::new(self.names, self.years * SESSIONS_PER_YEAR, self.signal, self.seed))
    }
}

/// `--signal`: the planted signal's strength φ, or `none` for the null market.
pub fn parse_signal(s: &str) -> Result<f64, String> {
    if s.eq_ignore_ascii_case("none") {
        return Ok(0.0);
    }
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && (0.0..=2.0).contains(&x) => Ok(x),
        _ => Err(format!("{s:?} is not a signal strength: a number from 0 to 2 (0.4 is clearly learnable) or `none`")),
    }
}

/// The first trading day of the demo on `market`: the first Monday of its last year.
pub fn first_traded_day(market: &SimMarket) -> Option<TradingDay> {
    let start = market.sessions.len().checked_sub(SESSIONS_PER_YEAR)?;
    market.sessions[start..].iter().copied().find(|d| d.is_first_of_week())
}

/// The market in a few words.
pub fn describe(c: &SimConfig) -> String {
    let signal = if c.signal == 0.0 {
        "no planted signal (the null market)".to_string()
    } else {
        format!("a planted short-term reversal signal of strength {}", c.signal)
    };
    format!(
        "a simulated market of {} names x {} years with {signal}, seed {}",
        c.names,
        c.days / SESSIONS_PER_YEAR,
        c.seed
    )
}

/// The summary's lines on what the loop learned.
pub fn summary(c: &SimConfig, r: &Recovered, rep: &LocalReport) -> Vec<String> {
    let mut out = vec![format!("market: {}", describe(c))];
    let mut written: BTreeMap<&str, usize> = BTreeMap::new();
    for name in rep.backtests.iter().flat_map(|(_, w)| w) {
        *written.entry(name.as_str()).or_default() += 1;
    }
    let written_text = if written.is_empty() {
        "nothing".to_string()
    } else {
        written.iter().map(|(k, n)| format!("{k} x{n}")).collect::<Vec<_>>().join(", ")
    };
    if c.signal == 0.0 {
        let learned = !rep.promoted.is_empty() || !written.is_empty();
        out.push(if learned {
            format!(
                "null market: {} promotion(s) and write-backs of {written_text} on a market with nothing to learn: false discoveries",
                rep.promoted.len()
            )
        } else {
            "null market: nothing promoted and nothing written back, as it should be (there is nothing to learn)"
                .to_string()
        });
        return out;
    }
    if r.days == 0 {
        out.push(
            "planted signal: no predictions reached the planner (no model passed the gate), so none was scored"
                .to_string(),
        );
    } else {
        out.push(format!(
            "planted signal: the predictor's live rank IC {:.3} (95% CI {:.3}..{:.3}, n = {} days) against the oracle's {:.3} on the same days: {:.0}% recovered",
            r.live_ic,
            r.live_ci.0,
            r.live_ci.1,
            r.days,
            r.oracle_ic,
            100.0 * r.share()
        ));
    }
    out.push(format!(
        "veto: the predictor vetoed {} name-days; the planner blocked {} entries on it",
        r.vetoed, r.veto_blocks
    ));
    out.push(format!("backtester write-backs over the run: {written_text}"));
    out.push(format!(
        "toward the planted truth: the weight of reversal_1m (the research factor nearest the planted reversal) in the quant composite {:.2} -> {:.2}; the veto threshold {:.2} -> {:.2}",
        r.tuned.reversal_weight.0, r.tuned.reversal_weight.1, r.tuned.veto_threshold.0, r.tuned.veto_threshold.1
    ));
    if let Some(line) = ensemble_line(r) {
        out.push(line);
    }
    out
}

/// The ensemble's weights at the start and the end of the run, heaviest first.
fn ensemble_line(r: &Recovered) -> Option<String> {
    let (first, last, graded) = r.ensemble.as_ref()?;
    let weight_of = |skill: &[ViewSkill], v: ViewKind| skill.iter().find(|s| s.view == v).map_or(0.0, |s| s.weight);
    let mut order: Vec<&ViewSkill> = last.iter().collect();
    order.sort_by(|a, b| b.weight.abs().total_cmp(&a.weight.abs()));
    let views: Vec<String> = order
        .iter()
        .take(4)
        .map(|s| format!("{} {:+.2} (IC {:.3}, n = {})", s.view, s.weight, s.ic, s.n_days))
        .collect();
    Some(format!(
        "ensemble: view weights after {graded} graded days: {}; the reversal price agent (the planted signal's own view) 0 before any graded day, {:+.2} after the first -> {:+.2}",
        views.join(", "),
        weight_of(first, ViewKind::Reversal),
        weight_of(last, ViewKind::Reversal)
    ))
}

/// Where the backtester's write-backs left what it tunes: (configured, in force at the end).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tuned {
    /// The research factor nearest the planted signal (one-month reversal), its weight.
    pub reversal_weight: (f64, f64),
    /// The predictor's veto confidence threshold.
    pub veto_threshold: (f64, f64),
}

/// What the write-backs left in force on `bus`, against `cfg`.
pub async fn tuned(bus: &Bus, cfg: &Config) -> Tuned {
    let scoring = in_force::params(bus, &cfg.scoring).await.value;
    let predictor = in_force::params(bus, &cfg.predictor).await.value;
    Tuned {
        reversal_weight: (cfg.scoring.factors.reversal_1m, scoring.factors.reversal_1m),
        veto_threshold: (cfg.predictor.veto_confidence.get(), predictor.veto_confidence.get()),
    }
}

/// What the run recovered of the planted signal.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovered {
    /// Trading days whose predictions could be scored (the horizon ended within the market).
    pub days: usize,
    /// Mean daily rank IC of the published predictions' alpha against the realised sector-neutral
    /// forward return, out of sample by construction (NaN without predictions).
    pub live_ic: f64,
    /// Its 95% interval over the days.
    pub live_ci: (f64, f64),
    /// The planted signal's oracle rank IC over the same sessions.
    pub oracle_ic: f64,
    /// Name-days the predictor vetoed.
    pub vetoed: usize,
    /// Entries the planner blocked because of the veto.
    pub veto_blocks: usize,
    /// What the write-backs left in force.
    pub tuned: Tuned,
    /// The ensemble's view skill on the first morning with a graded day, and on the last morning.
    pub ensemble: Option<(Vec<ViewSkill>, Vec<ViewSkill>, u32)>,
}

impl Recovered {
    /// Live rank IC as a share of the oracle's.
    pub fn share(&self) -> f64 {
        self.live_ic / self.oracle_ic
    }
}

/// Scores the predictions the run published for `days` against what `market` did next.
pub async fn recovered(bus: &Bus, cfg: &Config, market: &SimMarket, days: &[TradingDay]) -> anyhow::Result<Recovered> {
    let names = market.config.names;
    let closes: Vec<&[f64]> = (0..names).map(|i| market.bars.series(i).close).collect();
    let sectors: Vec<Option<Sector>> =
        (0..names).map(|i| market.sectors.sector(market.bars.tickers[i].as_str())).collect();
    let (mut ics, mut oracle, mut vetoed, mut veto_blocks) = (Vec::new(), Vec::new(), 0, 0);
    let (mut first_skill, mut last_skill) = (None, None);
    for &d in days {
        if let Some(book) = bus.get_doc::<OrderBook>(&keys::order_book(d)).await? {
            veto_blocks += book.doc.blocked.iter().filter(|b| b.rule == GBM_VETO).count();
            if let Some(e) = book.doc.ensemble.filter(|e| e.graded_days > 0) {
                first_skill.get_or_insert_with(|| e.skill.clone());
                last_skill = Some((e.skill, e.graded_days));
            }
        }
        let Some(p) = bus.get_doc::<Predictions>(&keys::predictions(d)).await? else { continue };
        vetoed += p.doc.entries.iter().filter(|e| e.gbm_veto).count();
        // Predictions for `d` see closes up to the session before it.
        let Ok(t) = market.sessions.binary_search(&d.prev()) else { continue };
        let h = p.doc.horizon_days as usize;
        if t + h >= market.sessions.len() {
            continue;
        }
        let forward: Vec<f64> = closes.iter().map(|c| (c[t + h] / c[t]).ln()).collect();
        let neutral = group_demean(&forward, &sectors);
        let (x, y): (Vec<f64>, Vec<f64>) = p
            .doc
            .entries
            .iter()
            .filter_map(|e| market.bars.find(e.ticker.as_str()).map(|i| (e.predicted_alpha, neutral[i])))
            .filter(|(a, b)| a.is_finite() && b.is_finite())
            .unzip();
        let ic = spearman(&x, &y);
        let best = market.oracle_rank_ic(t, t + 1);
        if ic.is_finite() && best.is_finite() {
            ics.push(ic);
            oracle.push(best);
        }
    }
    let live_ic = if ics.is_empty() { f64::NAN } else { mean(&ics) };
    let half = if ics.len() >= 2 { 1.96 * std_sample(&ics) / (ics.len() as f64).sqrt() } else { f64::NAN };
    Ok(Recovered {
        days: ics.len(),
        live_ic,
        live_ci: (live_ic - half, live_ic + half),
        oracle_ic: if oracle.is_empty() { f64::NAN } else { mean(&oracle) },
        vetoed,
        veto_blocks,
        tuned: tuned(bus, cfg).await,
        ensemble: first_skill.zip(last_skill).map(|(a, (b, n))| (a, b, n)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_is_a_strength_or_none() {
        for (arg, want) in
            [("none", Some(0.0)), ("NONE", Some(0.0)), ("0.4", Some(0.4)), ("0", Some(0.0)), ("2", Some(2.0))]
        {
            assert_eq!(parse_signal(arg).ok(), want, "{arg}");
        }
        for bad in ["-0.1", "2.5", "NaN", "inf", "strong", ""] {
            let e = parse_signal(bad).unwrap_err();
            assert!(e.contains("0 to 2") && e.contains("none"), "{bad}: {e}");
        }
    }

    #[test]
    fn every_problem_with_the_flags_is_reported_at_once() {
        let e = SimMarketArgs { names: 10, years: 1, signal: 0.4, seed: 1 }.checked().unwrap_err().to_string();
        assert!(e.contains("--years 1") && e.contains("--names 10"), "{e}");
        assert!(SimMarketArgs { names: 60, years: 2, signal: 0.0, seed: 1 }.checked().is_ok());
    }

    #[test]
    fn the_demo_trades_the_last_year_from_a_monday() {
        let m = SimMarketArgs { names: 44, years: 2, signal: 0.0, seed: 1 }.generate();
        let first = first_traded_day(&m).unwrap();
        assert!(first.is_first_of_week());
        let k = m.sessions.binary_search(&first).unwrap();
        assert!((SESSIONS_PER_YEAR..SESSIONS_PER_YEAR + 5).contains(&k), "{k}");
    }
}
