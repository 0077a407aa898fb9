//! What a research run fetches from outside data providers: fundamentals from SEC EDGAR and
//! macro series from FRED, each failure isolated and counted.

use std::collections::BTreeMap;
use std::time::Duration;

use ae_shared::TradingDay;
use ae_shared::config::Config;
use ae_shared::retry::RetryPolicy;
use ae_shared::types::Ticker;

use crate::fundamentals::{self, Fundamentals};
use crate::providers::fred::FredClient;
use crate::providers::sec::SecClient;
use crate::providers::{FundamentalsProvider, MacroProvider, ProviderStats};
use crate::snapshot::Snapshot;

/// Point-in-time fundamentals (SEC EDGAR company facts, and Form 4 insider transactions when
/// configured) of `names`; each failure is counted in `stats` and skips only its name.
pub(super) async fn fundamentals(
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
pub(super) async fn macro_lines(
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
        if let Some(obs) =
            st.record(series, fred.observations(series, as_of.date() - chrono::Duration::days(400), as_of.date()).await)
        {
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
