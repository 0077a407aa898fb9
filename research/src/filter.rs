//! The quant filter: the whole universe down to a shortlist of about `shortlist_size` names, with
//! a reason for every name left out.
//!
//! 1. eligibility (data defects, no sector) and liquidity (average dollar volume, price floor);
//! 2. the **momentum path**: technical score ≥ `tech_score_min`, not in a confirmed downtrend (price
//!    no more than `momentum_ma200_floor` below its trend average), ATR% ≤ `max_atr_pct`; best
//!    technical scores first;
//! 3. the **deep-value path**: RSI(14) < `deep_value_max_rsi` and below the trend average, ATR% ≤
//!    `deep_value_max_atr_pct`; most oversold first, at most `deep_value_max_names`;
//! 4. the **fill-up rule**: if the paths leave the shortlist short, the best remaining liquid names
//!    by technical score fill it.
//!
//! The trend average is the 200-session average, or the 50-session one while fewer than 200 bars
//! exist (said in the reason).

use std::collections::{BTreeMap, BTreeSet};

use ae_shared::contracts::params::ResearchParams;
use ae_shared::fmt::pct_1dp;
use ae_shared::types::Ticker;

use crate::snapshot::{NameView, Snapshot};

/// How a name made the shortlist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Path {
    /// Momentum path.
    Momentum,
    /// Deep-value path.
    DeepValue,
    /// Fill-up rule.
    FillUp,
}

/// A shortlisted name.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Shortlisted {
    /// Symbol.
    pub ticker: Ticker,
    /// Path.
    pub path: Path,
    /// Technical score.
    pub tech: Option<f64>,
}

/// The filter's outcome.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct FilterResult {
    /// Shortlist, in path order then rank.
    pub shortlist: Vec<Shortlisted>,
    /// Every other name, with its reason.
    pub excluded: BTreeMap<Ticker, String>,
    /// Names that passed eligibility and liquidity.
    pub liquid: usize,
}

fn trend(n: &NameView) -> Option<(f64, &'static str)> {
    n.vs_ma200.map(|v| (v, "MA200")).or(n.vs_ma50.map(|v| (v, "MA50 (fewer than 200 bars)")))
}

/// Runs the filter over a snapshot with each name's technical score.
pub fn run(snap: &Snapshot, tech: &BTreeMap<Ticker, f64>, p: &ResearchParams) -> FilterResult {
    let mut out = FilterResult::default();
    let mut liquid: Vec<&NameView> = Vec::new();
    for n in snap.names.values() {
        let reason = if !n.defects.is_empty() {
            Some(format!("ineligible: {}", n.defects.join("; ")))
        } else if n.sector.is_none() {
            Some("no sector in the sector map".to_string())
        } else {
            match n.adv_usd_20 {
                None => Some(format!("liquidity unknown: {} bars < 20", n.bars)),
                Some(a) if a < p.min_avg_dollar_volume.get() => Some(format!(
                    "illiquid: ${:.1}M average dollar volume < ${:.1}M",
                    a / 1e6,
                    p.min_avg_dollar_volume.get() / 1e6
                )),
                _ if n.close < p.min_price.get() => Some(format!("price ${:.2} < ${:.2}", n.close, p.min_price.get())),
                _ => None,
            }
        };
        match reason {
            Some(r) => {
                out.excluded.insert(n.ticker.clone(), r);
            }
            None => liquid.push(n),
        }
    }
    out.liquid = liquid.len();

    let mut momentum: Vec<(&NameView, f64)> = Vec::new();
    let mut deep: Vec<(&NameView, f64)> = Vec::new();
    let mut why: BTreeMap<&Ticker, String> = BTreeMap::new();
    for n in &liquid {
        let t = tech.get(&n.ticker).copied();
        let tr = trend(n);
        // Momentum path.
        let m_reason = match (t, tr, n.atr_pct) {
            (None, _, _) => Some(format!("no technical score yet ({} bars)", n.bars)),
            (Some(s), _, _) if s < p.tech_score_min.get() => {
                Some(format!("technical score {s:.0} < {}", p.tech_score_min))
            }
            (_, Some((v, which)), _) if v <= p.momentum_ma200_floor => {
                Some(format!("downtrend: {} vs {which} (floor {})", pct_1dp(v), pct_1dp(p.momentum_ma200_floor)))
            }
            (_, _, Some(a)) if a > p.max_atr_pct.get() => {
                Some(format!("too volatile: ATR {} > {}", pct_1dp(a), pct_1dp(p.max_atr_pct.get())))
            }
            (_, _, None) => Some(format!("no ATR yet ({} bars)", n.bars)),
            (Some(s), _, _) => {
                momentum.push((n, s));
                None
            }
        };
        // Deep-value path.
        let oversold = n.rsi14.is_some_and(|r| r < p.deep_value_max_rsi);
        let below = tr.is_some_and(|(v, _)| v < 0.0);
        let calm = n.atr_pct.is_some_and(|a| a <= p.deep_value_max_atr_pct.get());
        if oversold && below && calm {
            deep.push((n, n.rsi14.expect("checked")));
        }
        if let Some(r) = m_reason {
            why.insert(&n.ticker, r);
        }
    }
    momentum.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.ticker.cmp(&b.0.ticker)));
    deep.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.ticker.cmp(&b.0.ticker)));
    deep.truncate(p.deep_value_max_names as usize);

    let size = p.shortlist_size as usize;
    let mut taken: BTreeSet<Ticker> = BTreeSet::new();
    let deep_slots = deep.len().min(size);
    for (n, _) in momentum.iter() {
        if out.shortlist.len() >= size - deep_slots {
            break;
        }
        taken.insert(n.ticker.clone());
        out.shortlist.push(Shortlisted {
            ticker: n.ticker.clone(),
            path: Path::Momentum,
            tech: tech.get(&n.ticker).copied(),
        });
    }
    for (n, _) in deep.iter() {
        if out.shortlist.len() >= size {
            break;
        }
        if taken.insert(n.ticker.clone()) {
            out.shortlist.push(Shortlisted {
                ticker: n.ticker.clone(),
                path: Path::DeepValue,
                tech: tech.get(&n.ticker).copied(),
            });
        }
    }
    // Fill-up: best remaining liquid names by technical score.
    if out.shortlist.len() < size {
        let mut rest: Vec<(&NameView, f64)> = liquid
            .iter()
            .filter(|n| !taken.contains(&n.ticker))
            .filter_map(|n| tech.get(&n.ticker).map(|s| (*n, *s)))
            .collect();
        rest.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.ticker.cmp(&b.0.ticker)));
        for (n, s) in rest {
            if out.shortlist.len() >= size {
                break;
            }
            taken.insert(n.ticker.clone());
            out.shortlist.push(Shortlisted { ticker: n.ticker.clone(), path: Path::FillUp, tech: Some(s) });
        }
    }
    let rank: BTreeMap<&Ticker, usize> = momentum.iter().enumerate().map(|(i, (n, _))| (&n.ticker, i + 1)).collect();
    for n in &liquid {
        if taken.contains(&n.ticker) {
            continue;
        }
        let reason = why.get(&n.ticker).cloned().unwrap_or_else(|| match rank.get(&n.ticker) {
            Some(r) => format!("momentum rank {r} is outside the shortlist of {size}"),
            None => "not selected".to_string(),
        });
        out.excluded.insert(n.ticker.clone(), reason);
    }
    out
}
