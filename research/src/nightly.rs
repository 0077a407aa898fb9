//! The nightly update (`alpha-engine data update --date D`, on the trading host after the close):
//! every datum the next day's jobs read, brought in the order they depend on each other, each
//! behind its provider with a fallback, each isolated (one failing step, or one failing name,
//! never stops the others), each with its freshness.
//!
//! 1. **Universe** (FMP): index changes effective by D — a name that enters needs bars tonight,
//!    a held name that leaves becomes tomorrow's urgent exit.
//! 2. **Bars** (Polygon grouped daily; one request per name as the fallback) for every member, and
//!    for names that left within the last month (a holding must still be priced to be sold);
//!    entering names get their history. Appended through the store's crash-safe commit.
//! 3. **Benchmark**: the ETF's bar (SPY) from the same response, or its own request.
//! 4. **Splits** the vendor announced, checked against the ones the prices show.
//! 5. **Dividends** going ex from a little before D to well after (announced ones).
//! 6. **Earnings** dates ahead.
//! 7. **Sectors** of names the store has never seen (from the SIC code).
//! 8. **Macro** series (FRED), where a key is configured.
//! 9. **Freshness** of each datum, written last.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ae_shared::TradingDay;
use ae_shared::bus::{Bus, keys};
use ae_shared::clock::Clock;
use ae_shared::config::Config;
use ae_shared::retry::RetryPolicy;
use ae_shared::store::bars::Bar;
use ae_shared::store::freshness::{Datum, Freshness, load_freshness};
use ae_shared::store::universe::{Universe, put_universe};
use ae_shared::store::{self, PriceStore, SectorInfo, corporate, merge};
use ae_shared::types::Ticker;
use chrono::{Days, NaiveDate};
use futures::StreamExt;
use serde::Serialize;

use crate::providers::fmp::FmpClient;
use crate::providers::fred::FredClient;
use crate::providers::polygon::PolygonClient;
use crate::providers::{BarsProvider, MacroProvider, ProviderError};

/// The vendors the update talks to (each optional: a step without its vendor is skipped and its
/// datum goes stale, which the freshness table shows).
#[derive(Debug, Clone, Default)]
pub struct Vendors {
    /// Bars, the benchmark, splits, dividends, ticker details, earnings.
    pub polygon: Option<PolygonClient>,
    /// Universe membership.
    pub fmp: Option<FmpClient>,
    /// Macro series.
    pub fred: Option<FredClient>,
}

impl Vendors {
    /// From configuration: every vendor that is enabled or whose key is in the environment (the
    /// nightly update is the data path, so a key is enough); a vendor enabled without its key is
    /// reported in `notes` and left out.
    pub fn from_config(cfg: &Config, retry: RetryPolicy, notes: &mut Vec<String>) -> Self {
        fn keep<T>(what: &str, r: Option<Result<T, ProviderError>>, notes: &mut Vec<String>) -> Option<T> {
            match r? {
                Ok(c) => Some(c),
                Err(e) => {
                    notes.push(format!("{what}: {e}"));
                    None
                }
            }
        }
        fn has_key(env: &str) -> bool {
            std::env::var(env).is_ok_and(|v| !v.trim().is_empty())
        }
        let timeout = Duration::from_secs(cfg.providers.timeout_secs.into());
        let p = &cfg.providers;
        Self {
            polygon: keep(
                "polygon",
                (p.polygon.enabled || has_key(&p.polygon.api_key_env))
                    .then(|| PolygonClient::new(&p.polygon, timeout, retry)),
                notes,
            ),
            fmp: keep(
                "fmp",
                (p.fmp.enabled || has_key(&p.fmp.api_key_env)).then(|| FmpClient::new(&p.fmp, timeout, retry)),
                notes,
            ),
            fred: keep(
                "fred",
                (p.fred.enabled || has_key(&p.fred.api_key_env)).then(|| FredClient::new(&p.fred, timeout, retry)),
                notes,
            ),
        }
    }
}

/// One step of the update.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Step {
    /// The datum.
    pub name: String,
    /// It went through (items may still have failed).
    pub ok: bool,
    /// What it did.
    pub detail: String,
    /// Items that failed on their own.
    pub failed_items: Vec<String>,
    /// Seconds.
    pub secs: f64,
}

/// What the update did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NightlyReport {
    /// The session.
    pub date: Option<TradingDay>,
    /// Each step, in order.
    pub steps: Vec<Step>,
    /// Names that entered the universe.
    pub entered: Vec<String>,
    /// Names that left it.
    pub left: Vec<String>,
    /// Bars appended.
    pub bars: usize,
    /// Seconds in all.
    pub secs: f64,
}

impl NightlyReport {
    /// Steps that failed.
    pub fn failures(&self) -> Vec<&Step> {
        self.steps.iter().filter(|s| !s.ok).collect()
    }
}

/// Records one step's outcome into the report and the freshness table.
struct Ledger<'a> {
    report: &'a mut NightlyReport,
    fresh: &'a mut Freshness,
    clock: &'a dyn Clock,
}

impl Ledger<'_> {
    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        name: &str,
        started: std::time::Instant,
        result: Result<(String, Option<NaiveDate>), String>,
        failed_items: Vec<String>,
        source: &str,
        bound: u32,
    ) {
        let secs = started.elapsed().as_secs_f64();
        let prev = self.fresh.data.get(name).cloned();
        let (ok, detail, last, problem) = match result {
            Ok((d, last)) => (true, d, last.or(prev.as_ref().and_then(|p| p.last)), None),
            Err(e) => (false, e.clone(), prev.as_ref().and_then(|p| p.last), Some(e)),
        };
        if !ok {
            tracing::error!(step = name, "{detail}");
        } else {
            tracing::info!(step = name, secs, "{detail}");
        }
        self.fresh.data.insert(
            name.to_string(),
            Datum {
                last,
                source: source.to_string(),
                checked_at: self.clock.now(),
                bound_sessions: bound,
                problem,
                failed_items: failed_items.clone(),
            },
        );
        self.report.steps.push(Step { name: name.to_string(), ok, detail, failed_items, secs });
    }
}

fn back(d: NaiveDate, days: u32) -> NaiveDate {
    d.checked_sub_days(Days::new(days.into())).unwrap_or(d)
}

fn ahead(d: NaiveDate, days: u32) -> NaiveDate {
    d.checked_add_days(Days::new(days.into())).unwrap_or(d)
}

/// Runs the nightly update for session `date`.
pub async fn run(
    bus: &Bus,
    cfg: &Config,
    vendors: &Vendors,
    date: TradingDay,
    clock: &dyn Clock,
) -> anyhow::Result<NightlyReport> {
    let t0 = std::time::Instant::now();
    let u = &cfg.data.update;
    let mut report = NightlyReport { date: Some(date), ..Default::default() };
    let mut fresh = load_freshness(bus).await?;
    fresh.schema_version = 1;
    let store = PriceStore::load(bus).await?;
    let day = date.date();
    let etf = Ticker::new(&u.benchmark_etf)?;
    let mut l = Ledger { report: &mut report, fresh: &mut fresh, clock };

    // 1. Universe.
    let started = std::time::Instant::now();
    let (mut universe, etag) = match bus.get(&keys::universe()).await? {
        Some(obj) => (serde_json::from_slice::<Universe>(&obj.bytes)?, obj.etag),
        None => {
            // Names with a bar in the store's last month: one missing session (a halt, a gap in
            // the data) must not drop a name for good.
            let since = store.manifest.last_day.offset(-21).unwrap_or(store.manifest.first_day);
            let active =
                store.raw.iter().filter(|s| s.dates.last().is_some_and(|d| *d >= since)).map(|s| s.ticker.clone());
            (Universe::imported(active, store.manifest.first_day.date(), store.manifest.last_day.date()), None)
        }
    };
    let mut entered = Vec::new();
    match &vendors.fmp {
        Some(fmp) => match fmp.changes(back(universe.as_of, 31)).await {
            Ok(changes) => {
                let applied = universe.apply(&changes, day);
                let what = format!("{} member(s); +{:?} -{:?}", universe.members.len(), applied.added, applied.removed);
                match put_universe(bus, &universe, etag).await {
                    Ok(()) => {
                        entered = applied.added.clone();
                        l.report.entered = applied.added.iter().map(|t| t.to_string()).collect();
                        l.report.left = applied.removed.iter().map(|t| t.to_string()).collect();
                        l.record("universe", started, Ok((what, Some(day))), vec![], "fmp", u.daily_bound_sessions);
                    }
                    Err(e) => l.record(
                        "universe",
                        started,
                        Err(format!("writing the universe: {e}")),
                        vec![],
                        "fmp",
                        u.daily_bound_sessions,
                    ),
                }
            }
            Err(e) => l.record("universe", started, Err(e.to_string()), vec![], "fmp", u.daily_bound_sessions),
        },
        None => {
            if etag.is_none() {
                let _ = put_universe(bus, &universe, None).await;
            }
            l.record(
                "universe",
                started,
                Err("no index provider configured (providers.fmp)".into()),
                vec![],
                "none",
                u.daily_bound_sessions,
            );
        }
    }
    let recently_left: BTreeSet<Ticker> = universe
        .history
        .iter()
        .filter(|c| c.date >= back(day, 31))
        .filter_map(|c| c.removed.clone())
        .filter(|t| !universe.contains(t))
        .collect();
    let want: BTreeSet<Ticker> = universe.tickers().into_iter().chain(recently_left).collect();

    // 2 and 3. Bars, the benchmark ETF's among them.
    let started = std::time::Instant::now();
    match &vendors.polygon {
        Some(p) => {
            let (rows, source, failed) = bars_for(p, date, &want, &etf, u.fallback_concurrency as usize).await;
            let (etf_rows, rows): (Vec<_>, Vec<_>) = rows.into_iter().partition(|(t, _)| *t == etf);
            let from = date.offset(-(u.new_name_history_sessions as i64)).map(|d| d.date()).unwrap_or(day);
            // History of names the store has never held.
            let mut history = Vec::new();
            let mut hist_failed = Vec::new();
            let new_names: Vec<&Ticker> = want
                .iter()
                .filter(|t| store.raw.find(t.as_str()).is_none() && rows.iter().any(|(r, _)| r == *t))
                .collect();
            for t in new_names {
                match p.daily_bars(t.as_str(), from, back(day, 1)).await {
                    Ok(bars) => history.extend(bars.into_iter().filter(|b| b.date < date).map(|b| (t.clone(), b))),
                    Err(ProviderError::NotFound(_)) => {}
                    Err(e) => hist_failed.push(format!("{t} history: {e}")),
                }
            }
            let n = rows.len();
            let history_names = history.iter().map(|(t, _)| t).collect::<BTreeSet<_>>().len();
            let mut all_failed = failed;
            all_failed.extend(hist_failed);
            let result = if rows.is_empty() {
                Err(format!("no bars for {date} from the vendor ({source})"))
            } else {
                match store::append_day_with_history(
                    bus,
                    date,
                    rows,
                    history,
                    &cfg.data,
                    cfg.data.compact_after as usize,
                )
                .await
                {
                    Ok(r) => {
                        l.report.bars = r.rows;
                        let splits: String = r
                            .new_splits
                            .iter()
                            .map(|s| format!("; split detected: {} {} {}", s.ticker, s.date, s.label))
                            .collect();
                        Ok((
                            format!(
                                "{} bars for {date} ({source}){}{}{}{}",
                                r.rows,
                                if r.already_appended {
                                    ", already appended: reports and compaction brought up to date"
                                } else {
                                    ""
                                },
                                if history_names > 0 {
                                    format!("; history of {history_names} new name(s)")
                                } else {
                                    String::new()
                                },
                                splits,
                                if r.compacted > 0 {
                                    format!("; compacted {} chunks", r.compacted)
                                } else {
                                    String::new()
                                },
                            ),
                            Some(day),
                        ))
                    }
                    Err(e) => Err(format!("appending {n} bars: {e}")),
                }
            };
            l.record("bars", started, result, all_failed, "polygon", u.daily_bound_sessions);
            let started = std::time::Instant::now();
            // The first update also brings the ETF's history, so the first day already has a
            // previous close to measure against.
            let has_series = store.benchmark_etf.as_ref().is_some_and(|b| b.get(etf.as_str()).is_some());
            let etf_bars: Vec<Bar> = match (etf_rows.into_iter().next(), has_series) {
                (Some((_, b)), true) => vec![b],
                (today, _) => {
                    let from = if has_series { day } else { from };
                    let mut bars = p.daily_bars(etf.as_str(), from, day).await.unwrap_or_default();
                    if let Some((_, b)) = today {
                        bars.retain(|x| x.date != b.date);
                        bars.push(b);
                    }
                    bars
                }
            };
            let result = if etf_bars.is_empty() {
                Err(format!("no {etf} bar for {date}"))
            } else {
                match merge::merge_benchmark_etf(bus, &etf, &etf_bars).await {
                    Ok(n) => Ok((format!("{etf}: {n} bar(s) added"), Some(day))),
                    Err(e) => Err(e.to_string()),
                }
            };
            l.record("benchmark", started, result, vec![], "polygon", u.daily_bound_sessions);
        }
        None => {
            l.record(
                "bars",
                started,
                Err("no bars vendor configured (providers.polygon)".into()),
                vec![],
                "none",
                u.daily_bound_sessions,
            );
            l.record(
                "benchmark",
                started,
                Err("no bars vendor configured".into()),
                vec![],
                "none",
                u.daily_bound_sessions,
            );
        }
    }

    // 4-7. Reference data.
    if let Some(p) = &vendors.polygon {
        let started = std::time::Instant::now();
        // Announced splits ahead too: the daemon moves positions at the open of a split's day.
        let result = match p.splits(back(day, 10), ahead(day, 30)).await {
            Ok(v) => match merge::merge_vendor_splits(bus, &v).await {
                Ok(n) => {
                    let now = PriceStore::load(bus).await.map(|s| s.splits).unwrap_or_default();
                    let diffs = corporate::split_disagreements(&v, &now, back(day, 10), day);
                    for d in &diffs {
                        tracing::warn!("split check: {d}");
                    }
                    Ok((
                        format!(
                            "{} announced, {n} new; {} disagreement(s) with the prices{}",
                            v.len(),
                            diffs.len(),
                            diffs.iter().map(|d| format!("; {d}")).collect::<String>()
                        ),
                        Some(day),
                    ))
                }
                Err(e) => Err(e.to_string()),
            },
            Err(e) => Err(e.to_string()),
        };
        l.record("splits", started, result, vec![], "polygon", u.reference_bound_sessions);

        let started = std::time::Instant::now();
        let result = match p.dividends(back(day, u.dividends_back_days), ahead(day, u.dividends_ahead_days)).await {
            Ok(v) => match corporate::merge_dividends(bus, v.clone(), date).await {
                Ok(n) => Ok((format!("{} known in the window, {n} new or corrected", v.len()), Some(day))),
                Err(e) => Err(e.to_string()),
            },
            Err(e) => Err(e.to_string()),
        };
        l.record("dividends", started, result, vec![], "polygon", u.reference_bound_sessions);

        let started = std::time::Instant::now();
        let result = match p.earnings(back(day, 7), ahead(day, u.earnings_ahead_days)).await {
            Ok(v) => {
                let dates: Vec<(Ticker, NaiveDate)> =
                    v.iter().filter(|e| want.contains(&e.ticker)).map(|e| (e.ticker.clone(), e.date)).collect();
                match merge::merge_earnings(bus, &dates).await {
                    Ok(n) => Ok((format!("{} dates for the universe, {n} new", dates.len()), Some(day))),
                    Err(e) => Err(e.to_string()),
                }
            }
            Err(e) => Err(e.to_string()),
        };
        l.record("earnings", started, result, vec![], "polygon (Benzinga)", u.reference_bound_sessions);

        let started = std::time::Instant::now();
        let missing: Vec<&Ticker> =
            want.iter().filter(|t| !store.sectors.symbols.contains_key(*t) && **t != etf).collect();
        let mut found = Vec::new();
        let mut failed = Vec::new();
        for t in missing.iter().filter(|t| entered.contains(t) || store.raw.find(t.as_str()).is_none()) {
            match p.ticker_details(t, day).await {
                Ok(d) => match d.sic_code.and_then(crate::providers::sic::sector_of_sic) {
                    Some(sector) => found.push((
                        (*t).clone(),
                        SectorInfo {
                            name: d.name,
                            sector,
                            industry: format!(
                                "SIC {} {}",
                                d.sic_code.unwrap_or_default(),
                                d.sic_description.unwrap_or_default()
                            )
                            .trim()
                            .to_string(),
                        },
                    )),
                    None => failed.push(format!("{t}: SIC {:?} maps to no sector", d.sic_code)),
                },
                Err(e) => failed.push(format!("{t}: {e}")),
            }
        }
        let result = match merge::merge_sectors(bus, &found).await {
            Ok(n) => Ok((format!("{n} new name(s) placed from their SIC code"), Some(day))),
            Err(e) => Err(e.to_string()),
        };
        l.record("sectors", started, result, failed, "polygon ticker details", u.slow_bound_sessions);
    } else {
        for name in ["splits", "dividends", "earnings", "sectors"] {
            l.record(
                name,
                std::time::Instant::now(),
                Err("no reference-data vendor configured (providers.polygon)".into()),
                vec![],
                "none",
                u.reference_bound_sessions,
            );
        }
    }

    // 8. Macro: each series is kept whole on the bus (the predictor's macro features read years of
    // it), so the first update fetches from a year before the store's first session and later
    // ones from two weeks before the last observation held.
    if let Some(f) = &vendors.fred {
        for series in &cfg.providers.fred.series {
            let started = std::time::Instant::now();
            let name = format!("macro:{series}");
            let result: Result<(String, Option<NaiveDate>), String> = async {
                let key = keys::macro_series(series).map_err(|e| e.to_string())?;
                let held = bus.get_json::<Vec<(NaiveDate, f64)>>(&key).await.ok().flatten();
                let from = match held.as_ref().and_then(|(obs, _)| obs.last()) {
                    Some((last, _)) => back(*last, 14),
                    None => back(store.manifest.first_day.date(), 400),
                };
                let obs = f.observations(series, from, day).await.map_err(|e| e.to_string())?;
                let added = merge::merge_macro_series(bus, &key, &obs).await.map_err(|e| e.to_string())?;
                let last = obs.last().map(|(d, _)| *d).or(held.and_then(|(o, _)| o.last().map(|x| x.0)));
                Ok((format!("{added} new observation(s) from {from}, last {last:?}"), last))
            }
            .await;
            l.record(&name, started, result, vec![], "fred", u.slow_bound_sessions);
        }
    }

    // 9. Freshness, last.
    fresh.as_of = Some(date);
    merge::put_if_changed(bus, &keys::freshness(), &fresh).await?;
    report.secs = t0.elapsed().as_secs_f64();
    Ok(report)
}

/// The session's bars for `want` (and the ETF): the grouped-daily request, or, when it fails, one
/// request per name (`concurrency` at a time). Returns the rows, where they came from, and the
/// names that failed on their own.
async fn bars_for(
    p: &PolygonClient,
    date: TradingDay,
    want: &BTreeSet<Ticker>,
    etf: &Ticker,
    concurrency: usize,
) -> (Vec<(Ticker, Bar)>, String, Vec<String>) {
    match p.grouped_daily(date).await {
        Ok((rows, skipped)) => {
            let rows: Vec<_> = rows.into_iter().filter(|(t, _)| want.contains(t) || t == etf).collect();
            let source = if skipped.is_empty() {
                "grouped daily".to_string()
            } else {
                format!("grouped daily; {} unreadable symbol(s) skipped", skipped.len())
            };
            (rows, source, Vec::new())
        }
        Err(e) => {
            tracing::warn!(error = %e, "grouped daily failed: one request per name");
            let names: Vec<Ticker> = std::iter::once(etf.clone()).chain(want.iter().cloned()).collect();
            // A probe first: when the vendor is down for every request, not only the grouped one,
            // one batch says so and the rest are not sent (no hammering a dead vendor with
            // hundreds of retried requests).
            let (probe, rest) = names.split_at(names.len().min(concurrency.max(1)));
            let fetch = |names: Vec<Ticker>| {
                futures::stream::iter(names)
                    .map(|t| async move {
                        let r = p.daily_bars(t.as_str(), date.date(), date.date()).await;
                        (t, r)
                    })
                    .buffer_unordered(concurrency.max(1))
                    .collect::<BTreeMap<Ticker, Result<Vec<Bar>, ProviderError>>>()
            };
            let mut results = fetch(probe.to_vec()).await;
            let vendor_down = !results.is_empty()
                && results.values().all(|r| matches!(r, Err(e) if !matches!(e, ProviderError::NotFound(_))));
            if vendor_down {
                let first = results.values().find_map(|r| r.as_ref().err()).map(|e| e.to_string()).unwrap_or_default();
                let failed = vec![format!(
                    "the vendor failed all {} probe requests ({first}); {} names not requested",
                    results.len(),
                    rest.len()
                )];
                return (Vec::new(), format!("one request per name (grouped daily failed: {e})"), failed);
            }
            results.extend(fetch(rest.to_vec()).await);
            let mut rows = Vec::new();
            let mut failed = Vec::new();
            for (t, r) in results {
                match r {
                    Ok(bars) => rows.extend(bars.into_iter().filter(|b| b.date == date).map(|b| (t.clone(), b))),
                    Err(ProviderError::NotFound(_)) => {}
                    Err(e) => failed.push(format!("{t}: {e}")),
                }
            }
            (rows, format!("one request per name (grouped daily failed: {e})"), failed)
        }
    }
}
