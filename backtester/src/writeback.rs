//! Config write-back: `config/{name}.json` with the evidence that justified it. The dated history
//! copy is written first (`config/history/{date}/{name}.json`; only a `--force` re-run of the same
//! date replaces it), then the file in force is kept as `config/{name}_previous.json`, then the new
//! file replaces it. Nothing is written for a parameter set whose gates failed. Research replays
//! read the history to use the weights in force on each past date.

use ae_shared::TradingDay;
use ae_shared::bus::{Bus, PutMode, keys};
use ae_shared::contracts::params::{Evidence, Params, ParamsDoc};
use ae_shared::contracts::{InputRef, Job, Lineage, to_json_checked};
use anyhow::Context as _;

/// Writes `params` as `config/{P::NAME}.json`, declaring the `tuned` paths this run chose (only
/// those take precedence over the operator's configuration); returns the keys written.
pub async fn write<P: Params>(
    bus: &Bus,
    date: TradingDay,
    params: P,
    tuned: Vec<String>,
    evidence: Evidence,
    inputs: Vec<InputRef>,
) -> anyhow::Result<Vec<String>> {
    let lineage = Lineage::new(Job::Backtester, crate::VERSION, Some(date), inputs);
    let doc = ParamsDoc::new(lineage, date, Some(evidence), tuned, params);
    let bytes = to_json_checked(&doc).map_err(|p| anyhow::anyhow!("{} would be invalid: {p}", P::NAME))?;
    let history = keys::config_history(date, P::NAME);
    let current = keys::config(P::NAME);
    let previous = keys::config_previous(P::NAME);
    let mut written = Vec::new();
    bus.put(&history, bytes.clone(), PutMode::Overwrite).await.with_context(|| format!("writing {history}"))?;
    written.push(history.to_string());
    if let Some(old) = bus.get(&current).await? {
        bus.put(&previous, old.bytes, PutMode::Overwrite).await.with_context(|| format!("writing {previous}"))?;
        written.push(previous.to_string());
    }
    bus.put(&current, bytes, PutMode::Overwrite).await.with_context(|| format!("writing {current}"))?;
    written.push(current.to_string());
    Ok(written)
}
