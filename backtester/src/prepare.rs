//! Everything the simulator reads, computed once per backtest and shared by every parameter point:
//! for each simulated day, the signals and predictions in force (read exactly as the planner reads
//! them), the point-in-time market views of every name that could be a candidate or a holding (the
//! planner's own [`MarketData`] code), the aligned returns the correlation rule needs, and the
//! day's raw bars that orders fill against.
//!
//! Nothing here looks past the decision day: views and returns come from bars up to the session
//! before it, and today's bar is only used by the fill model, after the decision.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use ae_executor::inputs::{PredictionsInForce, SignalsInForce, predictions_in_force, signals_in_force};
use ae_executor::market::MarketData;
use ae_executor::planner::candidate_of;
use ae_executor::views::{TodayViews, views_of};
use ae_rules::view::{Candidate, MarketView};
use ae_shared::TradingDay;
use ae_shared::bus::{Bus, Lookup, keys};
use ae_shared::config::Config;
use ae_shared::contracts::common::{Regime, Sector, SignalAction};
use ae_shared::contracts::params::ExecutorParams;
use ae_shared::contracts::predictions::Predictions;
use ae_shared::contracts::signals::Signals;
use ae_shared::store::PriceStore;
use ae_shared::types::Ticker;
use futures::StreamExt as _;
use rayon::prelude::*;
use sha2::{Digest as _, Sha256};

use crate::kept_days::{self, Keep};
pub use crate::shared_returns::SharedReturns;
use crate::shared_returns::Sharer;

/// Days whose views are computed side by side before their returns are shared (bounds the copies
/// held at once).
const DAYS_PER_CHUNK: usize = 64;

/// Days whose predictions are read ahead of the day being read (the reads wait on the bus, not
/// on a core).
const PREDICTION_READS_AHEAD: usize = 16;

/// One day's raw bar (what orders fill against).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Bar {
    /// Open.
    pub open: f64,
    /// High.
    pub high: f64,
    /// Low.
    pub low: f64,
    /// Close.
    pub close: f64,
    /// Shares traded.
    pub volume: f64,
}

/// A map by ticker that every simulated day reads for every grid point: hashed with `FxHash`
/// (a tenth of a sweep went to SipHash on tickers); no order of it is ever read.
pub type ByTicker<V> = HashMap<Ticker, V, rustc_hash::FxBuildHasher>;

/// One simulated day's inputs (serialized without its returns, which
/// [`crate::kept_days`] keeps in their own form).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DayInput {
    /// The decision day.
    pub date: TradingDay,
    /// Regime of the signals in force (neutral without signals).
    pub regime: Regime,
    /// No valid signals within the allowed age.
    pub signals_stale: bool,
    /// The signals' date, when some are in force.
    pub signals_date: Option<TradingDay>,
    /// Research's action per name.
    pub research: BTreeMap<Ticker, SignalAction>,
    /// ENTER names with their views (correlation is filled per run, from the book).
    pub candidates: Vec<Candidate>,
    /// Views of every name of interest (candidates so far), as of the session before.
    pub views: ByTicker<MarketView>,
    /// Daily returns of every name of interest over the correlation window or the breakers' VaR
    /// window (the longer), aligned by session; each name's windows share one series across days
    /// ([`SharedReturns`]).
    #[serde(skip)]
    pub returns: ByTicker<SharedReturns>,
    /// Today's raw bars of every name of interest.
    pub bars: ByTicker<Bar>,
    /// Splits effective today (ratio new shares per old share).
    pub splits: BTreeMap<Ticker, f64>,
    /// Cash dividends going ex today (accrued on the shares held at the open, paid on their pay
    /// date, by the rule the ledger and the brokers use).
    pub dividends: Vec<ae_rules::dividends::DividendEvent>,
    /// Benchmark close today.
    pub benchmark: Option<f64>,
    /// The morning's views of every name research ranked (the ensemble's panel), when signals
    /// are in force.
    pub panel: Option<TodayViews>,
    /// The returns over the ensemble's horizon that closed at the session before this day, of the
    /// names of the panel made that horizon ago (what grades it).
    pub forward: BTreeMap<Ticker, f64>,
}

/// The prepared backtest.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Simulated days in order.
    pub days: Vec<DayInput>,
    /// Benchmark close the session before the first day.
    pub benchmark_start: Option<f64>,
    /// Bars of the whole universe over the simulated days (the work a bar-by-bar engine would see).
    pub universe_bars: u64,
    /// Sector of every ticker.
    pub sectors: HashMap<Ticker, Sector>,
    /// Days with signals in force, with predictions in force.
    pub coverage: Coverage,
    /// What was passed over while reading.
    pub notes: Vec<String>,
    /// A digest chain over the days: `digests[k]` covers everything the simulator reads from days
    /// `0..=k`, so two preparations that agree at `k` simulate those days identically.
    pub digests: Vec<Digest>,
}

/// A SHA-256 digest.
pub type Digest = [u8; 32];

/// Feeds serialized bytes straight into a hasher.
struct HashWrite<'a>(&'a mut Sha256);

impl std::io::Write for HashWrite<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl DayInput {
    /// What this day adds to the digest chain ([`digests`]), given the day before it: every field
    /// the simulator reads, maps in key order, prices to the bit. The fields are hashed as their
    /// CBOR serialization (floats exactly, every field a type gains included). A name's returns
    /// that are the day before's window moved on by a session add only their new return (the
    /// chain already holds the rest); any other window adds all its values.
    pub fn content_digest(&self, before: Option<&DayInput>) -> Digest {
        let mut h = Sha256::new();
        let mut views: Vec<_> = self.views.iter().collect();
        views.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let fields = (
            self.date,
            self.regime,
            self.signals_stale,
            self.signals_date,
            &self.research,
            &self.candidates,
            views,
            &self.splits,
            &self.dividends,
            self.benchmark.map(f64::to_bits),
        );
        // Serializing plain data to a hasher cannot fail.
        ciborium::into_writer(&fields, HashWrite(&mut h)).expect("hashing serializable day inputs");
        let mut returns: Vec<_> = self.returns.iter().collect();
        returns.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for (t, r) in returns {
            h.update((t.as_str().len() as u64).to_le_bytes());
            h.update(t.as_str().as_bytes());
            let values = r.as_slice();
            match before.and_then(|b| b.returns.get(t)) {
                Some(y) if r.continues(y) => {
                    h.update([1]);
                    h.update(values.last().map_or(0, |x| x.to_bits()).to_le_bytes());
                }
                _ => {
                    h.update([0]);
                    h.update((values.len() as u64).to_le_bytes());
                    for x in values {
                        h.update(x.to_bits().to_le_bytes());
                    }
                }
            }
        }
        let mut bars: Vec<_> = self.bars.iter().collect();
        bars.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for (t, b) in bars {
            h.update((t.as_str().len() as u64).to_le_bytes());
            h.update(t.as_str().as_bytes());
            for x in [b.open, b.high, b.low, b.close, b.volume] {
                h.update(x.to_bits().to_le_bytes());
            }
        }
        h.finalize().into()
    }
}

/// The digest chain of `days` ([`Prepared::digests`]), started from the sectors (a new
/// position takes its sector from them): each link hashes the link before and the day's
/// [`DayInput::content_digest`], which the days compute side by side.
pub fn digests(sectors: &HashMap<Ticker, Sector>, days: &[DayInput]) -> Vec<Digest> {
    chain(sectors, &content_digests(days, &[]))
}

/// Each day's [`DayInput::content_digest`]: `known[k]` where there is one (kept with the day),
/// otherwise computed, the days side by side.
fn content_digests(days: &[DayInput], known: &[Option<Digest>]) -> Vec<Digest> {
    (0..days.len())
        .into_par_iter()
        .map(|k| match known.get(k).copied().flatten() {
            Some(d) => d,
            None => days[k].content_digest(k.checked_sub(1).map(|j| &days[j])),
        })
        .collect()
}

/// The chain of [`digests`] over the days' content digests.
fn chain(sectors: &HashMap<Ticker, Sector>, contents: &[Digest]) -> Vec<Digest> {
    let mut sorted: Vec<_> = sectors.iter().collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut prev: Digest = Sha256::digest(format!("{sorted:?}").as_bytes()).into();
    contents
        .iter()
        .map(|c| {
            let mut h = Sha256::new();
            h.update(prev);
            h.update(c);
            prev = h.finalize().into();
            prev
        })
        .collect()
}

/// How much of the period had inputs.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Coverage {
    /// Simulated days.
    pub days: usize,
    /// Days with signals in force.
    pub with_signals: usize,
    /// Days with predictions in force.
    pub with_predictions: usize,
}

fn bar_on(store: &PriceStore, t: &Ticker, date: TradingDay) -> Option<Bar> {
    let s = store.raw.get(t.as_str())?;
    let i = s.dates.binary_search(&date).ok()?;
    Some(Bar { open: s.open[i], high: s.high[i], low: s.low[i], close: s.close[i], volume: s.volume[i] })
}

/// The simulated days: from `warmup` sessions after the store's first day to the session before
/// `run_date` (or the store's last day, whichever is earlier).
pub fn period(store: &PriceStore, run_date: TradingDay, warmup: u32) -> Vec<TradingDay> {
    let first = store.manifest.first_day.offset(warmup as i64);
    let last = store.manifest.last_day.min(run_date.prev());
    let mut out = Vec::new();
    let Some(mut d) = first else { return out };
    while d <= last {
        out.push(d);
        d = d.next();
    }
    out
}

/// A day computed here, with its own returns windows (before they are shared).
type Computed = (DayInput, HashMap<Ticker, Vec<f64>>);

/// What a day reads from the bus, in date order (the names of interest accumulate).
struct Read {
    date: TradingDay,
    signals: Option<SignalsInForce>,
    preds: PredictionsInForce,
    /// How many of the names of interest (in the order research first wanted to enter them)
    /// this day knows.
    interest: usize,
}

/// Reads and computes every day's inputs. `params` fixes the view windows (ATR period, ADV and
/// support windows, correlation window): the sweep never varies those. The bus is read day by day
/// in order; the market views, which depend only on the price store, are computed for the days
/// side by side.
pub async fn prepare(
    bus: &Bus,
    store: &PriceStore,
    cfg: &Config,
    params: &ExecutorParams,
    days: &[TradingDay],
    progress: &(dyn Fn(usize, usize) + Sync),
) -> anyhow::Result<Prepared> {
    prepare_kept(bus, store, cfg, params, days, None, progress).await
}

/// [`prepare`], reading the days kept by earlier runs from `keep` instead of computing them, and
/// keeping the days it computes when `keep.write` ([`crate::kept_days`]). The result is the same
/// to the bit.
pub async fn prepare_kept(
    bus: &Bus,
    store: &PriceStore,
    cfg: &Config,
    params: &ExecutorParams,
    days: &[TradingDay],
    keep: Option<Keep<'_>>,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> anyhow::Result<Prepared> {
    let mut laps = crate::laps::Laps::start("prepare");
    let mut notes = Vec::new();
    // Every name research ever wanted to enter, in the order it first did (the set only grows, so
    // a day's names are a prefix).
    let mut interest: Vec<Ticker> = Vec::new();
    let mut seen: HashSet<Ticker> = HashSet::new();
    let mut coverage = Coverage { days: days.len(), ..Default::default() };
    let mut reads = Vec::with_capacity(days.len());
    // Whether the day before read its signals without a note (nothing refused or repaired).
    let mut clean_before = false;
    // Each kind is listed once: a day reads only the documents that exist (most days of a long
    // history have no predictions, and most have no signals of their own).
    let signal_days: BTreeSet<TradingDay> = bus.dated_days::<Signals>(..).await?.into_iter().collect();
    let prediction_days: BTreeSet<TradingDay> = bus.dated_days::<Predictions>(..).await?.into_iter().collect();
    let (signal_days, prediction_days) = (Lookup::Listed(&signal_days), Lookup::Listed(&prediction_days));
    // Each day's predictions are read ahead, a few days at a time, in date order.
    let mut predictions = futures::stream::iter(days.iter().copied())
        .map(|date| async move {
            let mut notes = Vec::new();
            predictions_in_force(bus, prediction_days, date, &mut notes).await.map(|p| (p, notes))
        })
        .buffered(PREDICTION_READS_AHEAD);
    for (k, &date) in days.iter().enumerate() {
        let before = reads.last().filter(|r: &&Read| clean_before && r.date == date.prev());
        let mut day_notes = Vec::new();
        let max_age = params.risk.max_signal_age_days;
        let before = before.and_then(|r| r.signals.as_ref());
        let signals = signals_after(bus, signal_days, date, max_age, before, &mut day_notes).await?;
        clean_before = day_notes.is_empty();
        let (preds, pred_notes) = predictions.next().await.expect("one read per day")?;
        day_notes.extend(pred_notes);
        if signals.is_some() {
            coverage.with_signals += 1;
        }
        if preds.source.is_some() {
            coverage.with_predictions += 1;
        }
        if let Some(s) = &signals {
            for e in s.doc.universe.iter().filter(|e| e.signal == SignalAction::Enter) {
                if seen.insert(e.ticker.clone()) {
                    interest.push(e.ticker.clone());
                }
            }
        }
        if k == 0 || day_notes.iter().any(|n| n.contains("refused")) {
            notes.extend(day_notes.into_iter().filter(|n| n.contains("refused")).map(|n| format!("{date}: {n}")));
        }
        reads.push(Read { date, signals, preds, interest: interest.len() });
    }
    laps.lap("reads");
    // The days kept by earlier runs, under the digests of what each read.
    let keyer = keep.and_then(|_| kept_days::Keyer::new(store, cfg, params));
    let digests_read: Vec<Digest> = keyer.as_ref().map_or_else(Vec::new, |k| {
        let reads: Vec<kept_days::DayReads<'_>> = reads
            .iter()
            .map(|r| kept_days::DayReads {
                date: r.date,
                signals: r.signals.as_ref().map(|s| (s.input.sha256.as_str(), s.age_days)),
                predictions: r.preds.input.as_ref().map(|i| i.sha256.as_str()),
                interest: &interest[..r.interest],
            })
            .collect();
        k.keys(store, &reads)
    });
    laps.lap("keys");
    let mut kept: Vec<Option<kept_days::Kept>> = match keep {
        Some(k) if !digests_read.is_empty() => kept_days::load(k.bus, &digests_read).await,
        _ => Vec::new(),
    };
    kept.resize_with(days.len(), || None);
    laps.lap("kept days");
    // The days computed here, to keep once their content digests are known: their index, their
    // digest and their bytes without it.
    let mut fresh: Vec<(usize, Digest, Vec<u8>)> = Vec::new();
    // The content digests kept with the days read back.
    let mut contents: Vec<Option<Digest>> = vec![None; days.len()];
    // The day whose views a day's returns grade: the ensemble's horizon before it.
    let graded_read = |r: &Read| {
        let d = r.date.offset(-i64::from(params.ensemble.horizon_days))?;
        reads.binary_search_by_key(&d, |x| x.date).ok().map(|i| &reads[i])
    };
    // The days' views side by side, a chunk at a time; each chunk's returns are then folded into
    // shared series in date order, so no more than a chunk of days holds its own copies.
    let done = AtomicUsize::new(0);
    let mut out: Vec<DayInput> = Vec::with_capacity(days.len());
    let mut sharer = Sharer::default();
    for (c, chunk) in reads.chunks(DAYS_PER_CHUNK).enumerate() {
        let first = c * DAYS_PER_CHUNK;
        let kept_chunk = &mut kept[first..first + chunk.len()];
        let computed: Vec<Option<Computed>> = chunk
            .par_iter()
            .zip(kept_chunk.par_iter())
            .map(|(r, k)| {
                let d = k.is_none().then(|| day_input(store, cfg, params, r, graded_read(r), &interest[..r.interest]));
                progress(done.fetch_add(1, Ordering::Relaxed) + 1, days.len());
                d
            })
            .collect();
        for (i, (computed, k)) in computed.into_iter().zip(kept_chunk.iter_mut()).enumerate() {
            // A kept day whose windows do not follow from the day before is computed here, and
            // kept again.
            let from_kept = k
                .take()
                .filter(|(d, _, _)| d.date == chunk[i].date)
                .and_then(|(d, windows, content)| sharer.expand(windows).map(|w| (d, w, content)));
            let (d, returns) = match from_kept {
                Some((d, w, content)) => {
                    contents[first + i] = Some(content);
                    (d, w)
                }
                None => {
                    let r = &chunk[i];
                    let day = computed
                        .unwrap_or_else(|| day_input(store, cfg, params, r, graded_read(r), &interest[..r.interest]));
                    if keep.is_some_and(|k| k.write) && !digests_read.is_empty() {
                        let bytes = kept_days::unsealed(&day.0, &sharer.compact(&day.1));
                        fresh.push((first + i, digests_read[first + i], bytes));
                    }
                    day
                }
            };
            sharer.push(returns);
            out.push(d);
        }
    }
    laps.lap("days");
    for (d, returns) in out.iter_mut().zip(sharer.finish()) {
        d.returns = returns;
    }
    progress(days.len(), days.len());
    let universe_bars = match (days.first(), days.last()) {
        (Some(a), Some(b)) => {
            store.raw.iter().map(|s| s.dates.iter().filter(|d| *d >= a && *d <= b).count() as u64).sum()
        }
        _ => 0,
    };
    let sectors = store
        .raw
        .iter()
        .filter_map(|s| store.sectors.sector(s.ticker.as_str()).map(|sec| (s.ticker.clone(), sec)))
        .collect();
    let benchmark_start = days.first().and_then(|d| bench_close(store, d.prev()));
    crate::ensemble::attach(&mut out, params);
    laps.lap("attach");
    let contents = content_digests(&out, &contents);
    let digests = chain(&sectors, &contents);
    laps.lap("digests");
    if let Some(k) = keep.filter(|k| k.write && !digests_read.is_empty()) {
        let fresh = fresh.into_iter().map(|(i, key, bytes)| (key, kept_days::seal(bytes, &contents[i]))).collect();
        kept_days::save(k.bus, fresh).await;
        kept_days::prune(k.bus, &digests_read).await;
    }
    laps.lap("keep");
    laps.log();
    Ok(Prepared { days: out, benchmark_start, universe_bars, sectors, coverage, notes, digests })
}

/// The signals in force on `date`, `before` being those in force the session before, read
/// without a note: the same document a day older when none is stored under `date` and it is still
/// within `max_age`, which is what [`signals_in_force`] would find by walking back the same way;
/// otherwise what it reads (`lookup` as there). A weekly document is parsed once, not once per
/// day.
pub async fn signals_after(
    bus: &Bus,
    lookup: Lookup<'_>,
    date: TradingDay,
    max_age: u32,
    before: Option<&SignalsInForce>,
    notes: &mut Vec<String>,
) -> anyhow::Result<Option<SignalsInForce>> {
    if let Some(b) = before.filter(|b| b.age_days < max_age && b.repairs.is_empty()) {
        let stored = match lookup {
            Lookup::Probe => bus.head(&keys::signals(date)).await?.is_some(),
            Lookup::Listed(_) => lookup.may_hold(date),
        };
        if !stored {
            return Ok(Some(SignalsInForce { age_days: b.age_days + 1, ..b.clone() }));
        }
    }
    signals_in_force(bus, lookup, date, max_age, notes).await
}

/// One day's inputs from what it read: the point-in-time views, returns and bars of the names of
/// interest, the candidates, and the day's corporate actions and benchmark close.
/// The returns come apart from the day, for [`Sharer`].
fn day_input(
    store: &PriceStore,
    cfg: &Config,
    params: &ExecutorParams,
    r: &Read,
    graded: Option<&Read>,
    interest: &[Ticker],
) -> Computed {
    let date = r.date;
    // The correlation rule's window, or the breakers' VaR window when longer.
    let lookback = params.risk.correlation_days.max(params.breakers.var_days) as usize;
    let mut market = MarketData::for_decision(store, date, &cfg.data);
    let mut research = BTreeMap::new();
    let mut regime = Regime::Neutral;
    if let Some(s) = &r.signals {
        regime = s.doc.market_regime;
        research.extend(s.doc.universe.iter().map(|e| (e.ticker.clone(), e.signal)));
    }
    let sessions = market.last_sessions(lookback + 1);
    let mut views = ByTicker::default();
    let mut returns = HashMap::new();
    let mut bars = ByTicker::default();
    for t in interest {
        if let Some(v) = market.view(t, date, params) {
            views.insert(t.clone(), v);
        }
        returns.insert(t.clone(), market.aligned_returns(t, &sessions));
        if let Some(b) = bar_on(store, t, date) {
            bars.insert(t.clone(), b);
        }
    }
    // The names of interest already have their views; the rest of research's names get what the
    // price agents read.
    let panel = r.signals.as_ref().map(|s| {
        views_of(
            s,
            &r.preds,
            |t| views.get(t).map(MarketView::price_agents).or_else(|| market.price_agents(t, params)),
            date,
        )
    });
    let mut forward = BTreeMap::new();
    if let Some((g, s)) = graded.and_then(|g| Some((g, g.signals.as_ref()?))) {
        let (from, h) = (g.date.prev(), params.ensemble.horizon_days);
        forward.extend(
            s.doc.universe.iter().filter_map(|e| Some((e.ticker.clone(), market.forward_return(&e.ticker, from, h)?))),
        );
    }
    let mut candidates = Vec::new();
    if let Some(s) = &r.signals {
        for e in s.doc.universe.iter().filter(|e| e.signal == SignalAction::Enter) {
            let Some(view) = views.get(&e.ticker) else { continue };
            let prediction = r.preds.by_ticker.get(&e.ticker).copied();
            candidates.push(candidate_of(e, s.age_days, prediction, view.clone()));
        }
    }
    let day = DayInput {
        date,
        regime,
        signals_stale: r.signals.is_none(),
        signals_date: r.signals.as_ref().map(|s| s.doc.date),
        research,
        candidates,
        views,
        returns: ByTicker::default(),
        bars,
        splits: ae_executor::session::split_ratios(store, date),
        dividends: ae_executor::session::dividend_events(store, date),
        benchmark: bench_close(store, date),
        panel,
        forward,
    };
    (day, returns)
}

/// The benchmark's close on `date`.
pub fn bench_close(store: &PriceStore, date: TradingDay) -> Option<f64> {
    let b = store.benchmark_series();
    b.dates.binary_search(&date).ok().map(|i| b.close[i])
}
