//! The replay bus: a private layer over what the backtester reads (prices, signals, predictions),
//! held in memory and reading through to the bus ([`Bus::overlay`]). Weeks without
//! signals on the bus are filled by running the research job itself on that layer, quant-only,
//! one week at a time. When every week has its signals, nothing would be written to the layer, so
//! the bus is read in place instead. Each run sees only the prices before its date, the signals
//! before it, and the tuned research parameters and scoring weights that were in force on that
//! date (from `config/history/`; defaults before the first write-back) — never future data, and
//! never weights tuned on outcomes after the week. The shared bus is never written by the replay;
//! it only ever receives `backtest/` and `config/`.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use ae_research::run::{RunOptions, run as research_run};
use ae_shared::TradingDay;
use ae_shared::bus::{Bus, PutMode, keys};
use ae_shared::clock::SimulatedClock;
use ae_shared::config::Config;
use ae_shared::contracts::signals::Signals;
use ae_shared::store::PriceStore;
use anyhow::Context as _;
use chrono::{Datelike, NaiveTime};
use sha2::{Digest as _, Sha256};

use crate::kept_days::Keep;
use crate::kept_signals;
use crate::prepare::Digest;

/// The replay bus and what was done to build it.
pub struct Replay {
    /// The replay bus: a private layer over the bus ([`Bus::overlay`]), or the bus itself.
    pub bus: Bus,
    /// Weeks whose signals research produced here (none were on the bus).
    pub backfilled: Vec<TradingDay>,
    /// The replayed research's scratch directory (its outbox and LLM cache; none when the bus is
    /// read in place).
    _dir: Option<tempfile::TempDir>,
}

const PREFIXES: [&str; 3] = ["prices/", keys::prefix::SIGNALS, keys::prefix::PREDICTIONS];

/// The research job's tuned parameter files.
const RESEARCH_CONFIG: [&str; 2] = ["scoring_weights", "research_params"];

/// `config/history/{date}/{name}.json` on the bus, by name, oldest first.
async fn config_history(bus: &Bus) -> anyhow::Result<Vec<(TradingDay, String, ae_shared::bus::Key)>> {
    let mut out = Vec::new();
    for o in bus.list("config/history/").await? {
        let rest = o.key.as_str().trim_start_matches("config/history/");
        let Some((date, file)) = rest.split_once('/') else { continue };
        let (Ok(d), Some(name)) = (TradingDay::parse(date), file.strip_suffix(".json")) else { continue };
        out.push((d, name.to_string(), o.key.clone()));
    }
    out.sort_by_key(|a| a.0);
    Ok(out)
}

/// The research configuration written back over time (`config/history/`), each file read once.
struct ConfigHistory {
    entries: Vec<(TradingDay, String, ae_shared::bus::Key)>,
    read: HashMap<ae_shared::bus::Key, Option<Vec<u8>>>,
}

impl ConfigHistory {
    async fn load(bus: &Bus) -> anyhow::Result<Self> {
        Ok(Self { entries: config_history(bus).await?, read: HashMap::new() })
    }

    /// The bytes of each research configuration file in force on `day`, in [`RESEARCH_CONFIG`]
    /// order (`None`: nothing written back by then, so research uses its defaults).
    async fn as_of(&mut self, bus: &Bus, day: TradingDay) -> anyhow::Result<Vec<Option<Vec<u8>>>> {
        let mut out = Vec::with_capacity(RESEARCH_CONFIG.len());
        for name in RESEARCH_CONFIG {
            let Some((_, _, key)) = self.entries.iter().rev().find(|(d, n, _)| *d <= day && n == name) else {
                out.push(None);
                continue;
            };
            if !self.read.contains_key(key) {
                let bytes = bus.get(key).await?.map(|o| o.bytes.to_vec());
                self.read.insert(key.clone(), bytes);
            }
            out.push(self.read[key].clone());
        }
        Ok(out)
    }
}

/// The digest of each research configuration file (`None`: the default).
fn config_digests(config: &[Option<Vec<u8>>]) -> Vec<Option<Digest>> {
    config.iter().map(|c| c.as_ref().map(|b| Sha256::digest(b).into())).collect()
}

/// Puts the research configuration `config` (from [`ConfigHistory::as_of`]) onto the replay bus,
/// or removes a file that had none, so research runs with what was in force that week.
async fn put_config(replay: &Bus, config: &[Option<Vec<u8>>]) -> anyhow::Result<()> {
    for (name, bytes) in RESEARCH_CONFIG.iter().zip(config) {
        let current = keys::config(name);
        match bytes {
            Some(b) => {
                replay.put(&current, b.clone(), PutMode::Overwrite).await?;
            }
            None => {
                if replay.head(&current).await?.is_some() {
                    replay.delete(&current).await?;
                }
            }
        }
    }
    Ok(())
}

/// The first simulated day of each calendar week.
pub fn week_starts(days: &[TradingDay]) -> Vec<TradingDay> {
    let mut out: Vec<TradingDay> = Vec::new();
    for d in days {
        let w = d.date().iso_week();
        if out.last().is_none_or(|l| l.date().iso_week() != w) {
            out.push(*d);
        }
    }
    out
}

/// Whether the calendar week of `w` has signals dated on or after `w`.
fn has_signals(signal_days: &BTreeSet<TradingDay>, w: TradingDay) -> bool {
    signal_days.range(w..).next().is_some_and(|d| d.date().iso_week() == w.date().iso_week())
}

/// Lays the replay over the inputs and fills signal gaps; reads `bus` in place when there is no gap.
pub async fn build(
    bus: &Bus,
    cfg: &Config,
    days: &[TradingDay],
    progress: &(dyn Fn(usize, usize) + Sync),
) -> anyhow::Result<Replay> {
    build_kept(bus, cfg, days, None, progress).await
}

/// [`build`], taking the research weeks kept by earlier runs from `keep` instead of running
/// research on them, and keeping the weeks it runs when `keep.write` ([`crate::kept_signals`];
/// `store` is the bus's price store). The replay's signals are the same to the byte; a kept week's
/// research brief and run archive, which the backtester never reads, are not written. A week on
/// which research published nothing is run again next time (nothing to keep).
pub async fn build_kept(
    bus: &Bus,
    cfg: &Config,
    days: &[TradingDay],
    keep: Option<(Keep<'_>, &PriceStore)>,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> anyhow::Result<Replay> {
    let weeks = week_starts(days);
    let signal_days: BTreeSet<TradingDay> = bus.dated_days::<Signals>(..).await?.into_iter().collect();
    if weeks.iter().all(|w| has_signals(&signal_days, *w)) {
        progress(weeks.len(), weeks.len());
        return Ok(Replay { bus: bus.clone(), backfilled: Vec::new(), _dir: None });
    }
    let dir = tempfile::tempdir().context("creating the replay directory")?;
    // A private layer over the bus: prices, signals and predictions are read from the bus below,
    // and what research writes here stays in this process's memory (nothing reads it after).
    let replay = Bus::overlay(bus, &PREFIXES);
    // Research, quant-only, with its brief going to a private outbox.
    let mut rcfg = cfg.clone();
    rcfg.mail.smtp.host = String::new();
    rcfg.mail.outbox_dir = dir.path().join("outbox").display().to_string();
    rcfg.llm.cache_path = dir.path().join("research.db").display().to_string();
    let mut history = ConfigHistory::load(bus).await?;
    let mut keyer = keep.and_then(|(_, store)| kept_signals::Keyer::new(store, cfg));
    if let (Some(k), Some(first)) = (keyer.as_mut(), weeks.first()) {
        for d in signal_days.range(..*first) {
            if let Some(o) = replay.get(&keys::signals(*d)).await? {
                k.before(&o.bytes);
            }
        }
    }
    let mut digests = Vec::new();
    let mut backfilled = Vec::new();
    for (k, w) in weeks.iter().enumerate() {
        progress(k, weeks.len());
        // The week's own signals on the bus, in date order.
        let (mut has, mut on_bus) = (false, Vec::new());
        let mut d = *w;
        while d.date().iso_week() == w.date().iso_week() {
            if signal_days.contains(&d) {
                has = true;
                if keyer.is_some()
                    && let Some(o) = replay.get(&keys::signals(d)).await?
                {
                    on_bus.push(o.bytes.to_vec());
                }
            }
            d = d.next();
        }
        if has {
            if let Some(keyer) = keyer.as_mut() {
                keyer.next(*w, &[], Some(&on_bus));
            }
            continue;
        }
        let config = history.as_of(bus, *w).await?;
        let digest = keyer.as_mut().map(|keyer| keyer.next(*w, &config_digests(&config), None));
        let kept = match (keep, digest) {
            (Some((keep, _)), Some(digest)) => kept_signals::load(keep.bus, &digest).await,
            _ => None,
        };
        match kept {
            Some(bytes) => {
                replay.put(&keys::signals(*w), bytes, PutMode::Overwrite).await?;
            }
            None => {
                put_config(&replay, &config).await?;
                let clock = Arc::new(SimulatedClock::at_et(*w, NaiveTime::from_hms_opt(5, 0, 0).expect("time")));
                let mut opts = RunOptions::new(*w);
                opts.llm_key = Some(String::new());
                research_run(&replay, &rcfg, clock, &opts)
                    .await
                    .with_context(|| format!("replaying research for {w} (no signals on the bus that week)"))?;
                if let (Some((keep, _)), Some(digest)) = (keep.filter(|(k, _)| k.write), digest)
                    && let Some(o) = replay.get(&keys::signals(*w)).await?
                {
                    kept_signals::save(keep.bus, &digest, o.bytes.to_vec()).await;
                }
            }
        }
        digests.extend(digest);
        backfilled.push(*w);
    }
    if let Some((keep, _)) = keep.filter(|(k, _)| k.write)
        && keyer.is_some()
    {
        kept_signals::prune(keep.bus, &digests).await;
    }
    progress(weeks.len(), weeks.len());
    Ok(Replay { bus: replay, backfilled, _dir: Some(dir) })
}
