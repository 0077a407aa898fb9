//! The market data store on the bus: daily bars, the benchmark, sectors, earnings dates, detected
//! splits and the data-quality report.
//!
//! Layout (keys from [`crate::bus::keys`]):
//!
//! - `prices/bars/{first}_{last}.parquet` — immutable chunks of raw (unadjusted) bars, sorted by
//!   (ticker, date); an import writes one chunk per calendar year, a daily append one single-day
//!   chunk, and [`compact`] folds a year's chunks back into one.
//! - `prices/manifest.json` — the list of chunks with their hashes *and the detected splits*;
//!   written *after* the chunks, so readers never see a chunk that is not complete. Appends update
//!   it with a conditional write.
//! - `prices/benchmark.parquet` (the S&P 500 index as symbol `SPX`), `prices/sectors.json`,
//!   `prices/earnings.parquet`.
//! - `prices/quality.json` and `prices/splits.json` — reports derived from the committed store,
//!   written after the manifest and never moved back to an earlier day.
//! - From the nightly update ([`corporate`], [`universe`], [`freshness`], [`benchmark`]):
//!   `prices/benchmark_etf.parquet` (SPY), `prices/dividends.json`, `prices/universe.json`,
//!   `prices/vendor_splits.json`, `prices/macro/{series}.json` and `prices/freshness.json` — each
//!   merged idempotently, so a re-run converges.
//!
//! Loading reads the manifest, then every chunk concurrently, and applies the split adjustments;
//! [`PriceStore::adjusted_as_of`] gives the point-in-time view a backtest needs.
//!
//! # Crash consistency
//!
//! The manifest is the single commit point of every write sequence: bars and splits change
//! together or not at all, because both are in it (a schema-1 store kept its splits in
//! `splits.json`, written *before* the manifest, and an append killed between the two left a
//! split the bars did not have yet: every reader halved the stock's whole history, and the re-run
//! detected the split again and recorded it twice, halving it once more). What a writer puts on
//! the bus before the manifest is a new, immutable chunk that nothing references until the
//! manifest does, so a reader never sees it; what it puts after is derived from the committed
//! store and recomputed by a re-run. Re-running [`append_day`] after a crash at any point therefore
//! converges to the store an uninterrupted run leaves: before the commit it redoes the append,
//! after it it finds the day committed and finishes the steps that follow. The steps are marked
//! with [`crashpoint`](crate::crashpoint) names, and the end-to-end tests kill the writer at each.
//! Unreferenced objects (a chunk of a killed append, chunks compaction folded) may be left behind;
//! nothing reads them.

pub mod bars;
pub mod benchmark;
pub mod corporate;
pub mod freshness;
pub mod import;
pub mod merge;
pub mod quality;
pub mod splits;
pub mod universe;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{Array, ArrayRef, Date32Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use bars::{Bar, BarsError, DailyBars};
use import::{ImportError, RowIssue};
use quality::QualityReport;
use splits::Split;

use crate::bus::{Bus, BusError, Key, Published, PutMode, keys};
use crate::calendar::TradingDay;
use crate::clock::Clock;
use crate::config::DataConfig;
use crate::contracts::InputRef;
use crate::contracts::common::Sector;
use crate::crashpoint::{self, points};
use crate::types::Ticker;

/// Symbol under which the benchmark's bars are stored.
pub const BENCHMARK_SYMBOL: &str = "SPX";
/// The benchmark's name in reports.
pub const BENCHMARK_NAME: &str = "S&P 500 index";

/// The project's `data/` folder (the embedded dataset).
pub fn embedded_data_dir() -> PathBuf {
    std::env::var_os("AE_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../data"))
}

/// A symbol's company and sector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SectorInfo {
    /// Company name.
    pub name: String,
    /// GICS sector.
    pub sector: Sector,
    /// Industry.
    pub industry: String,
}

/// Sectors by symbol (`prices/sectors.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SectorMap {
    /// Format version.
    pub schema_version: u32,
    /// Where it came from.
    pub source: String,
    /// Caveats.
    pub note: String,
    /// By symbol.
    pub symbols: BTreeMap<Ticker, SectorInfo>,
}

impl SectorMap {
    /// Sector of `ticker`.
    pub fn sector(&self, ticker: &str) -> Option<Sector> {
        self.symbols.get(ticker).map(|i| i.sector)
    }
}

/// Earnings dates by symbol.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EarningsCalendar {
    /// Ascending dates per symbol (calendar dates; an 8-K can be filed on any day).
    pub dates: BTreeMap<Ticker, Vec<NaiveDate>>,
}

impl EarningsCalendar {
    /// First earnings date on or after `from`.
    pub fn next_on_or_after(&self, ticker: &str, from: NaiveDate) -> Option<NaiveDate> {
        let v = self.dates.get(ticker)?;
        v.get(v.partition_point(|d| *d < from)).copied()
    }

    /// Last earnings date strictly before `before`.
    pub fn last_before(&self, ticker: &str, before: NaiveDate) -> Option<NaiveDate> {
        let v = self.dates.get(ticker)?;
        v.partition_point(|d| *d < before).checked_sub(1).map(|i| v[i])
    }

    pub(crate) fn to_batch(&self) -> RecordBatch {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let mut t = Vec::new();
        let mut d = Vec::new();
        for (k, v) in &self.dates {
            for x in v {
                t.push(k.as_str());
                d.push((*x - epoch).num_days() as i32);
            }
        }
        let schema = Arc::new(Schema::new(vec![
            Field::new("ticker", DataType::Utf8, false),
            Field::new("date", DataType::Date32, false),
        ]));
        let cols: Vec<ArrayRef> = vec![Arc::new(StringArray::from(t)), Arc::new(Date32Array::from(d))];
        RecordBatch::try_new(schema, cols).expect("columns match")
    }

    pub(crate) fn from_batches(batches: &[RecordBatch]) -> Result<Self, String> {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let mut dates: BTreeMap<Ticker, Vec<NaiveDate>> = BTreeMap::new();
        for b in batches {
            if b.num_columns() < 2 {
                return Err(format!("earnings chunk has {} column(s), not (ticker, date)", b.num_columns()));
            }
            let t = b.column(0).as_any().downcast_ref::<StringArray>().ok_or("ticker column")?;
            let d = b.column(1).as_any().downcast_ref::<Date32Array>().ok_or("date column")?;
            for i in 0..b.num_rows() {
                let tk = Ticker::new(t.value(i)).map_err(|e| e.to_string())?;
                let date = epoch
                    .checked_add_signed(chrono::Duration::days(d.value(i) as i64))
                    .ok_or_else(|| format!("earnings date {} days from 1970 is beyond the calendar", d.value(i)))?;
                dates.entry(tk).or_default().push(date);
            }
        }
        Ok(Self { dates })
    }
}

/// One chunk of bars.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkRef {
    /// Its key.
    pub key: String,
    /// First session in it.
    pub first: TradingDay,
    /// Last session in it.
    pub last: TradingDay,
    /// Rows.
    pub rows: u64,
    /// SHA-256 of the object.
    pub sha256: String,
}

/// The manifest's format version: 2 carries the splits.
pub const MANIFEST_SCHEMA_VERSION: u32 = 2;

/// The store's table of contents (`prices/manifest.json`) and its commit point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version ([`MANIFEST_SCHEMA_VERSION`]; 1 had no `splits`).
    pub schema_version: u32,
    /// First session.
    pub first_day: TradingDay,
    /// Last session.
    pub last_day: TradingDay,
    /// Symbols with at least one bar.
    pub symbols: u32,
    /// Chunks, by first session.
    pub chunks: Vec<ChunkRef>,
    /// Where the data came from.
    pub source: String,
    /// Splits detected in the chunks, committed with them (schema 2). `None` in a schema-1 store,
    /// whose splits are read from `prices/splits.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub splits: Option<Vec<Split>>,
}

impl Manifest {
    fn read(key: &Key, bytes: &[u8]) -> Result<Self, StoreError> {
        serde_json::from_slice(bytes)
            .map_err(|e| StoreError::Bus(BusError::Decode { key: key.to_string(), detail: e.to_string() }))
    }
}

/// Detected splits (`prices/splits.json`): a report of the splits the manifest committed, for
/// people and outside tools; the store itself reads them from the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitsDoc {
    /// Format version.
    pub schema_version: u32,
    /// The store's last session when this report was written (absent in schema-1 stores).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<TradingDay>,
    /// Splits, by ticker then date.
    pub splits: Vec<Split>,
}

/// The splits a manifest that reaches `last_day` commits: none after it (a schema-1 store may
/// hold one from an interrupted append), each (ticker, date) once (a schema-1 store may have
/// recorded one twice), by ticker then date.
fn committed_splits(mut splits: Vec<Split>, last_day: TradingDay) -> Vec<Split> {
    splits.retain(|s| s.date <= last_day);
    splits.sort_by(|a, b| (&a.ticker, a.date).cmp(&(&b.ticker, b.date)));
    splits.dedup_by(|a, b| a.ticker == b.ticker && a.date == b.date);
    splits
}

/// Store failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The bus failed.
    #[error(transparent)]
    Bus(#[from] BusError),
    /// A source file could not be imported.
    #[error(transparent)]
    Import(#[from] ImportError),
    /// A chunk is malformed.
    #[error("{key}: {source}")]
    Bars {
        /// Chunk.
        key: String,
        /// What is wrong.
        #[source]
        source: BarsError,
    },
    /// There is no store on this bus.
    #[error("no price store on {0}: run `alpha-engine data import --bus {0}` first")]
    Missing(String),
    /// A chunk's content does not match the manifest.
    #[error("{key}: content hash {found} does not match the manifest ({expected}); the store is inconsistent")]
    HashMismatch {
        /// Chunk.
        key: String,
        /// From the manifest.
        expected: String,
        /// Read.
        found: String,
    },
    /// An append that cannot be applied.
    #[error("append {day}: {detail}")]
    Append {
        /// Session.
        day: TradingDay,
        /// Why.
        detail: String,
    },
}

/// Everything the jobs need from market data, loaded.
#[derive(Debug, Clone)]
pub struct PriceStore {
    /// Raw bars as stored.
    pub raw: DailyBars,
    /// Bars adjusted for every known split.
    pub adjusted: DailyBars,
    /// Detected splits.
    pub splits: Vec<Split>,
    /// The benchmark's bars (symbol [`BENCHMARK_SYMBOL`]): the index, the historical proxy.
    pub benchmark: DailyBars,
    /// The benchmark ETF's bars (SPY), once the nightly update brings them.
    pub benchmark_etf: Option<DailyBars>,
    /// Cash dividends known (empty when the store has none).
    pub dividends: corporate::DividendsDoc,
    /// The universe (S&P 500 + 400 members), when the store tracks one.
    pub universe: Option<universe::Universe>,
    /// Splits the vendor announced (known before their day, unlike the ones the prices show).
    pub vendor_splits: Vec<corporate::VendorSplit>,
    /// Sectors.
    pub sectors: SectorMap,
    /// Earnings dates.
    pub earnings: EarningsCalendar,
    /// Data quality and governance as of the last import or append.
    pub quality: QualityReport,
    /// Table of contents.
    pub manifest: Manifest,
    /// What was read (for lineage).
    pub inputs: Vec<InputRef>,
}

impl PriceStore {
    /// Loads the store from the bus.
    pub async fn load(bus: &Bus) -> Result<Self, StoreError> {
        Self::load_range(bus, None).await
    }

    /// Loads only the chunks overlapping `range` (first, last) — what daily inference needs — or
    /// every chunk when `None`. Bars outside the range may come along with a chunk.
    pub async fn load_range(bus: &Bus, range: Option<(TradingDay, TradingDay)>) -> Result<Self, StoreError> {
        let key = keys::prices_manifest();
        let obj = bus.get(&key).await?.ok_or_else(|| StoreError::Missing(bus.url().to_string()))?;
        let manifest = Manifest::read(&key, &obj.bytes)?;
        let mref = InputRef { key: key.to_string(), sha256: obj.sha256(), etag: obj.etag };
        Self::load_committed(bus, manifest, mref, range).await
    }

    /// Loads what `manifest` (already read, with its reference `mref`) commits.
    async fn load_committed(
        bus: &Bus,
        manifest: Manifest,
        mref: InputRef,
        range: Option<(TradingDay, TradingDay)>,
    ) -> Result<Self, StoreError> {
        let mut inputs = vec![mref];
        let mut tasks = Vec::new();
        let wanted = |c: &ChunkRef| range.is_none_or(|(first, last)| c.last >= first && c.first <= last);
        for c in manifest.chunks.iter().filter(|c| wanted(c)) {
            let bus = bus.clone();
            let c = c.clone();
            tasks.push(tokio::spawn(async move {
                let key = Key::parse(&c.key).map_err(|e| StoreError::Missing(e.to_string()))?;
                let obj = bus.get_required(&key).await?;
                let found = obj.sha256();
                if found != c.sha256 {
                    return Err(StoreError::HashMismatch { key: c.key.clone(), expected: c.sha256.clone(), found });
                }
                let batches = crate::parquet_io::decode(obj.bytes)
                    .map_err(|e| BusError::Decode { key: c.key.clone(), detail: e })?;
                let bars = DailyBars::from_record_batches(&batches)
                    .map_err(|source| StoreError::Bars { key: c.key.clone(), source })?;
                Ok::<_, StoreError>(bars)
            }));
        }
        let legacy_splits = manifest.splits.is_none();
        let side = async {
            let bench = bus.get_parquet(&keys::benchmark()).await?;
            let sectors: Option<(SectorMap, InputRef)> = bus.get_json(&keys::sectors()).await?;
            let earnings = bus.get_parquet(&keys::earnings()).await?;
            let splits: Option<(SplitsDoc, InputRef)> =
                if legacy_splits { bus.get_json(&keys::splits()).await? } else { None };
            let quality: Option<(QualityReport, InputRef)> = bus.get_json(&keys::quality()).await?;
            let etf = bus.get_parquet(&keys::benchmark_etf()).await?;
            let dividends: Option<(corporate::DividendsDoc, InputRef)> = bus.get_json(&keys::dividends()).await?;
            let universe: Option<(universe::Universe, InputRef)> = bus.get_json(&keys::universe()).await?;
            let vendor_splits: Option<(Vec<corporate::VendorSplit>, InputRef)> =
                bus.get_json(&keys::vendor_splits()).await?;
            Ok::<_, StoreError>((bench, sectors, earnings, splits, quality, etf, dividends, universe, vendor_splits))
        };
        let (bench, sectors, earnings, splits, quality, etf, dividends, universe, vendor_splits) = side.await?;
        let benchmark_etf = match etf {
            Some((batches, r)) => {
                let bars = DailyBars::from_record_batches(&batches)
                    .map_err(|source| StoreError::Bars { key: r.key.clone(), source })?;
                inputs.push(r);
                Some(bars)
            }
            None => None,
        };
        let dividends = dividends
            .map(|(d, r)| {
                inputs.push(r);
                d
            })
            .unwrap_or_default();
        let universe = universe.map(|(u, r)| {
            inputs.push(r);
            u
        });
        let vendor_splits = vendor_splits
            .map(|(v, r)| {
                inputs.push(r);
                v
            })
            .unwrap_or_default();
        let mut chunks = Vec::with_capacity(tasks.len());
        for t in tasks {
            chunks.push(t.await.map_err(|e| StoreError::Missing(format!("chunk task failed: {e}")))??);
        }
        let raw = if chunks.len() == 1 { chunks.pop().expect("one chunk") } else { DailyBars::concat(&chunks) };
        let missing = |what: &str| StoreError::Missing(format!("{} ({what} is absent)", bus.url()));
        let (bench_batches, bref) = bench.ok_or_else(|| missing("prices/benchmark.parquet"))?;
        let benchmark = DailyBars::from_record_batches(&bench_batches)
            .map_err(|source| StoreError::Bars { key: bref.key.clone(), source })?;
        let (sectors, sref) = sectors.ok_or_else(|| missing("prices/sectors.json"))?;
        let (earn_batches, eref) = earnings.ok_or_else(|| missing("prices/earnings.parquet"))?;
        let earnings = EarningsCalendar::from_batches(&earn_batches)
            .map_err(|detail| BusError::Decode { key: eref.key.clone(), detail })?;
        let (quality, qref) = quality.ok_or_else(|| missing("prices/quality.json"))?;
        inputs.extend([bref, sref, eref]);
        let splits = match (manifest.splits.clone(), splits) {
            (Some(committed), _) => committed,
            (None, Some((doc, spref))) => {
                inputs.push(spref);
                doc.splits
            }
            (None, None) => return Err(missing("prices/splits.json")),
        };
        inputs.push(qref);
        let splits = committed_splits(splits, manifest.last_day);
        if quality.as_of != manifest.last_day {
            tracing::warn!(
                "prices/quality.json is as of {}, the store reaches {}: an update was interrupted; \
                 re-run `alpha-engine data update --date {}` to refresh it",
                quality.as_of,
                manifest.last_day,
                manifest.last_day
            );
        }
        let adjusted = splits::adjust(&raw, &splits, None);
        Ok(Self {
            raw,
            adjusted,
            splits,
            benchmark,
            benchmark_etf,
            dividends,
            universe,
            vendor_splits,
            sectors,
            earnings,
            quality,
            manifest,
            inputs,
        })
    }

    /// Bars up to `as_of`, adjusted only for splits known by then (what a trader saw at `as_of`).
    pub fn adjusted_as_of(&self, as_of: TradingDay) -> DailyBars {
        let first = self.manifest.first_day.min(as_of);
        splits::adjust(&self.raw.between(first, as_of), &self.splits, Some(as_of))
    }

    /// The benchmark's bars.
    pub fn benchmark_series(&self) -> bars::BarSeries<'_> {
        self.benchmark.series(0)
    }

    /// Lineage of what a consumer uses as of `as_of`: content digests of the bars, the benchmark
    /// and the splits up to `as_of` (data after it cannot change them), plus the sector map and the
    /// earnings calendar as read.
    pub fn inputs_as_of(&self, as_of: TradingDay) -> Vec<InputRef> {
        use sha2::{Digest, Sha256};
        let digest = |b: &DailyBars| {
            let mut h = Sha256::new();
            for s in b.iter() {
                let n = s.dates.partition_point(|d| *d <= as_of);
                for i in 0..n {
                    h.update(s.ticker.as_str().as_bytes());
                    h.update([0]);
                    // The day as its number, not its text: formatting every date of every bar
                    // for each job's lineage was 5% of the demo's time.
                    h.update(chrono::Datelike::num_days_from_ce(&s.dates[i].date()).to_le_bytes());
                    for v in [s.open[i], s.high[i], s.low[i], s.close[i], s.volume[i]] {
                        h.update(v.to_le_bytes());
                    }
                }
            }
            hex::encode(h.finalize())
        };
        let mut splits = Sha256::new();
        for sp in self.splits.iter().filter(|s| s.date <= as_of) {
            splits.update(format!("{} {} {}\n", sp.ticker, sp.date, sp.ratio).as_bytes());
        }
        let mut out = vec![
            InputRef { key: format!("prices/bars (sessions to {as_of})"), sha256: digest(&self.raw), etag: None },
            InputRef {
                key: format!("prices/benchmark.parquet (sessions to {as_of})"),
                sha256: digest(&self.benchmark),
                etag: None,
            },
            InputRef {
                key: format!("prices/splits.json (splits to {as_of})"),
                sha256: hex::encode(splits.finalize()),
                etag: None,
            },
        ];
        out.extend(
            self.inputs
                .iter()
                .filter(|i| i.key == keys::sectors().as_str() || i.key == keys::earnings().as_str())
                .cloned(),
        );
        out
    }
}

/// Where an import reads from.
#[derive(Debug, Clone)]
pub struct ImportFiles {
    /// Daily bars.
    pub ohlcv: PathBuf,
    /// Benchmark index.
    pub benchmark: PathBuf,
    /// Sector map.
    pub sectors: PathBuf,
    /// Earnings dates.
    pub earnings: PathBuf,
}

impl ImportFiles {
    /// The embedded dataset's files in `dir`.
    pub fn embedded(dir: &Path) -> Self {
        Self {
            ohlcv: dir.join("sp500_2009_2010_ohlcv.csv.gz"),
            benchmark: dir.join("spx_index_1999_2018.csv.gz"),
            sectors: dir.join("sp500_sectors_2014.csv"),
            earnings: dir.join("earnings_dates_2003_2025.csv.gz"),
        }
    }
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct ImportReport {
    /// Bars imported.
    pub rows: usize,
    /// Symbols.
    pub symbols: usize,
    /// First and last session.
    pub range: (TradingDay, TradingDay),
    /// Skipped rows, located.
    pub issues: Vec<RowIssue>,
    /// Duplicate rows dropped.
    pub duplicates: usize,
    /// Splits detected.
    pub splits: Vec<Split>,
    /// Quality and governance.
    pub quality: QualityReport,
    /// Symbols with bars but no sector.
    pub without_sector: Vec<Ticker>,
    /// Each object written and what happened.
    pub published: Vec<(Key, Published)>,
    /// Seconds spent parsing and assessing.
    pub compute_secs: f64,
    /// Seconds spent writing to the bus.
    pub write_secs: f64,
}

fn file_name(p: &Path) -> String {
    p.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_else(|| p.display().to_string())
}

/// Parsed, checked and assessed source files, ready to write.
#[derive(Debug, Clone)]
pub struct PreparedImport {
    raw: DailyBars,
    benchmark: DailyBars,
    sectors: SectorMap,
    earnings: EarningsCalendar,
    source: String,
    /// The report of what would be (or was) imported.
    pub report: ImportReport,
}

/// Reads, checks and assesses the four source files; writes nothing.
pub async fn prepare_import(files: &ImportFiles, cfg: &DataConfig) -> Result<PreparedImport, StoreError> {
    prepare_import_through(files, cfg, None).await
}

/// [`prepare_import`] keeping only the bars of sessions up to `through` (all when `None`), so the
/// store can then be brought forward by daily appends as a live one is.
pub async fn prepare_import_through(
    files: &ImportFiles,
    cfg: &DataConfig,
    through: Option<TradingDay>,
) -> Result<PreparedImport, StoreError> {
    let t0 = Instant::now();
    let f = files.clone();
    let parsed = tokio::task::spawn_blocking(move || -> Result<_, ImportError> {
        let ohlcv_text = import::read_table_text(&f.ohlcv)?;
        let (rows, mut issues) = import::ohlcv_csv(&file_name(&f.ohlcv), &ohlcv_text)?;
        let bench_sym = Ticker::new(BENCHMARK_SYMBOL).expect("valid symbol");
        let (benchmark, i2) =
            import::index_csv(&file_name(&f.benchmark), &import::read_gz_text(&f.benchmark)?, &bench_sym)?;
        let (sectors, i3) = import::sectors_csv(&file_name(&f.sectors), &import::read_table_text(&f.sectors)?)?;
        let (earnings, i4) = import::earnings_csv(&file_name(&f.earnings), &import::read_table_text(&f.earnings)?)?;
        issues.extend(i2.into_iter().chain(i3).chain(i4));
        Ok((rows, benchmark, sectors, earnings, issues))
    })
    .await
    .map_err(|e| StoreError::Missing(format!("import task failed: {e}")))??;
    let (mut rows, benchmark, sectors, earnings, issues) = parsed;
    if let Some(last) = through {
        rows.retain(|(_, b)| b.date <= last);
    }
    let mut p = prepare_from_rows(rows, benchmark, sectors, earnings, &file_name(&files.ohlcv), cfg)?;
    p.report.issues = issues;
    p.report.compute_secs = t0.elapsed().as_secs_f64();
    Ok(p)
}

/// Prepares bars already in memory (e.g. a simulated market) for [`write_import`].
pub fn prepare_from_data(
    bars: &DailyBars,
    benchmark: DailyBars,
    sectors: SectorMap,
    earnings: EarningsCalendar,
    source: &str,
    cfg: &DataConfig,
) -> Result<PreparedImport, StoreError> {
    let mut rows = Vec::with_capacity(bars.n_rows());
    for s in bars.iter() {
        for i in 0..s.len() {
            rows.push((s.ticker.clone(), s.bar(i)));
        }
    }
    prepare_from_rows(rows, benchmark, sectors, earnings, source, cfg)
}

fn prepare_from_rows(
    rows: bars::BarRows,
    benchmark: DailyBars,
    sectors: SectorMap,
    earnings: EarningsCalendar,
    source: &str,
    cfg: &DataConfig,
) -> Result<PreparedImport, StoreError> {
    let t0 = Instant::now();
    let n_rows_in = rows.len();
    let (raw, dropped) = DailyBars::from_rows(rows);
    let mut dup_counts: BTreeMap<Ticker, u32> = BTreeMap::new();
    for (t, _) in &dropped {
        *dup_counts.entry(t.clone()).or_default() += 1;
    }
    let (first, last) = raw.date_range().ok_or_else(|| StoreError::Missing("the bars file holds no rows".into()))?;
    let splits = splits::detect(&raw, benchmark.get(BENCHMARK_SYMBOL), &cfg.splits);
    let adjusted = splits::adjust(&raw, &splits, None);
    let quality = quality::assess(&raw, &adjusted, &dup_counts, &splits, last, &cfg.quality, &cfg.governance);
    let without_sector: Vec<Ticker> =
        raw.tickers.iter().filter(|t| !sectors.symbols.contains_key(*t)).cloned().collect();
    let report = ImportReport {
        rows: n_rows_in - dropped.len(),
        symbols: raw.n_tickers(),
        range: (first, last),
        issues: Vec::new(),
        duplicates: dropped.len(),
        splits,
        quality,
        without_sector,
        published: Vec::new(),
        compute_secs: t0.elapsed().as_secs_f64(),
        write_secs: 0.0,
    };
    Ok(PreparedImport { raw, benchmark, sectors, earnings, source: source.to_string(), report })
}

/// Writes a prepared import: chunks (one per calendar year, immutable), then reference data, then
/// the manifest (with the splits) — the commit — then the quality and splits reports derived from
/// it. An import replaces the store: a re-run after a crash at any point rewrites the same objects.
pub async fn write_import(
    bus: &Bus,
    p: PreparedImport,
    clock: &dyn Clock,
    force: bool,
) -> Result<ImportReport, StoreError> {
    let t1 = Instant::now();
    let PreparedImport { raw, benchmark, sectors, earnings, source, mut report } = p;
    let (first, last) = report.range;
    let mut published = Vec::new();
    let mut chunk_refs = Vec::new();
    let mut year_start = first;
    loop {
        let year = year_start.date().format("%Y").to_string();
        let year_end =
            TradingDay::on_or_before(NaiveDate::parse_from_str(&format!("{year}-12-31"), "%Y-%m-%d").expect("date"))
                .expect("in range");
        let chunk_last = year_end.min(last);
        let block = raw.between(year_start, chunk_last);
        if block.n_rows() > 0 {
            let (cf, cl) = block.date_range().expect("non-empty");
            let key = keys::price_chunk(cf, cl);
            let bytes = crate::parquet_io::encode(&[block.to_record_batch()])
                .map_err(|detail| BusError::Decode { key: key.to_string(), detail })?;
            let sha = crate::bus::sha256_hex(&bytes);
            let outcome = bus.put_dated(&key, bytes, force, clock, |_| Ok(false)).await?;
            published.push((key.clone(), outcome));
            chunk_refs.push(ChunkRef {
                key: key.to_string(),
                first: cf,
                last: cl,
                rows: block.n_rows() as u64,
                sha256: sha,
            });
        }
        if chunk_last >= last {
            break;
        }
        year_start = chunk_last.next();
    }
    bus.put_parquet(&keys::benchmark(), &[benchmark.to_record_batch()], PutMode::Overwrite).await?;
    published.push((keys::benchmark(), Published::Written));
    bus.put_json(&keys::sectors(), &sectors, PutMode::Overwrite).await?;
    published.push((keys::sectors(), Published::Written));
    bus.put_parquet(&keys::earnings(), &[earnings.to_batch()], PutMode::Overwrite).await?;
    published.push((keys::earnings(), Published::Written));
    // The manifest after the chunks: readers only ever see complete chunks, and the splits with them.
    let splits = committed_splits(report.splits.clone(), last);
    let manifest = Manifest {
        schema_version: MANIFEST_SCHEMA_VERSION,
        first_day: first,
        last_day: last,
        symbols: raw.n_tickers() as u32,
        chunks: chunk_refs,
        source,
        splits: Some(splits.clone()),
    };
    bus.put_json(&keys::prices_manifest(), &manifest, PutMode::Overwrite).await?;
    published.push((keys::prices_manifest(), Published::Written));
    // Reports of the committed store.
    bus.put_json(&keys::quality(), &report.quality, PutMode::Overwrite).await?;
    published.push((keys::quality(), Published::Written));
    let splits_doc = SplitsDoc { schema_version: 2, as_of: Some(last), splits };
    bus.put_json(&keys::splits(), &splits_doc, PutMode::Overwrite).await?;
    published.push((keys::splits(), Published::Written));
    report.published = published;
    report.write_secs = t1.elapsed().as_secs_f64();
    Ok(report)
}

/// Imports the four source files into the bus's price store ([`prepare_import`] then [`write_import`]).
pub async fn import_files(
    bus: &Bus,
    files: &ImportFiles,
    cfg: &DataConfig,
    clock: &dyn Clock,
    force: bool,
) -> Result<ImportReport, StoreError> {
    let prepared = prepare_import(files, cfg).await?;
    write_import(bus, prepared, clock, force).await
}

/// What an append did.
#[derive(Debug, Clone)]
pub struct AppendReport {
    /// The chunk written.
    pub chunk: Key,
    /// Rows appended.
    pub rows: usize,
    /// New splits found on the day.
    pub new_splits: Vec<Split>,
    /// Chunks folded by compaction, if it ran.
    pub compacted: usize,
    /// The day was already committed with these very bars (a re-run): nothing was appended, and
    /// the steps after the commit (reports, compaction) were finished.
    pub already_appended: bool,
}

/// Appends one session's bars as a new chunk and commits it, with the splits found on the day,
/// in the manifest (conditionally, so two writers cannot both append); then refreshes the quality
/// and splits reports; then compacts a year holding more than `compact_after` daily chunks.
///
/// Re-running it for the day the store already ends on, with the same bars, appends nothing and
/// finishes the steps after the commit, so a re-run after a crash at any point leaves the store an
/// uninterrupted run leaves (see the [module documentation](self)).
pub async fn append_day(
    bus: &Bus,
    day: TradingDay,
    rows: Vec<(Ticker, Bar)>,
    cfg: &DataConfig,
    compact_after: usize,
) -> Result<AppendReport, StoreError> {
    append_day_with_history(bus, day, rows, Vec::new(), cfg, compact_after).await
}

/// [`append_day`], plus the history of names the store has never held (a name that entered the
/// universe): their bars before `day` go into their own immutable chunk, committed in the same
/// manifest write as the day's chunk. History for a name the store already holds is refused.
pub async fn append_day_with_history(
    bus: &Bus,
    day: TradingDay,
    rows: Vec<(Ticker, Bar)>,
    history: Vec<(Ticker, Bar)>,
    cfg: &DataConfig,
    compact_after: usize,
) -> Result<AppendReport, StoreError> {
    let mkey = keys::prices_manifest();
    let manifest_obj = bus.get(&mkey).await?.ok_or_else(|| StoreError::Missing(bus.url().to_string()))?;
    let manifest = Manifest::read(&mkey, &manifest_obj.bytes)?;
    let mref = InputRef { key: mkey.to_string(), sha256: manifest_obj.sha256(), etag: manifest_obj.etag.clone() };
    if day < manifest.last_day {
        return Err(StoreError::Append { day, detail: format!("the store already reaches {}", manifest.last_day) });
    }
    if let Some((t, b)) = rows.iter().find(|(_, b)| b.date != day) {
        return Err(StoreError::Append { day, detail: format!("{t} has a bar dated {}", b.date) });
    }
    let (block, dropped) = DailyBars::from_rows(rows);
    let mut dup_counts = BTreeMap::new();
    for (t, _) in &dropped {
        *dup_counts.entry(t.clone()).or_insert(0u32) += 1;
    }
    let key = keys::price_chunk(day, day);
    if day == manifest.last_day {
        // A re-run: the commit happened (perhaps by a run killed right after it).
        let store = PriceStore::load_committed(bus, manifest, mref, None).await?;
        if store.raw.between(day, day) != block {
            return Err(StoreError::Append {
                day,
                detail: format!(
                    "the store already reaches {day} with other bars for it; a committed session is never replaced"
                ),
            });
        }
        let compacted =
            after_commit(bus, &store.manifest, &store.raw, &store.splits, &dup_counts, cfg, compact_after).await?;
        let new_splits = store.splits.iter().filter(|s| s.date == day).cloned().collect();
        return Ok(AppendReport { chunk: key, rows: block.n_rows(), new_splits, compacted, already_appended: true });
    }
    if block.n_rows() == 0 {
        return Err(StoreError::Append { day, detail: "no bars".into() });
    }
    let bytes = crate::parquet_io::encode(&[block.to_record_batch()])
        .map_err(|detail| BusError::Decode { key: key.to_string(), detail })?;
    let sha = crate::bus::sha256_hex(&bytes);
    put_immutable(bus, &key, bytes, "no manifest references it: an earlier update of this day was interrupted with other bars from the vendor; delete it and re-run").await?;
    crashpoint::hit(points::APPEND_AFTER_CHUNK);

    let store = PriceStore::load_committed(bus, manifest.clone(), mref, None).await?;
    // New names' history: their own chunk, before the commit like the day's.
    let mut history_chunk = None;
    if !history.is_empty() {
        if let Some((t, _)) = history.iter().find(|(t, _)| store.raw.find(t.as_str()).is_some()) {
            return Err(StoreError::Append { day, detail: format!("history for {t}, which the store already holds") });
        }
        if let Some((t, b)) = history.iter().find(|(_, b)| b.date >= day) {
            return Err(StoreError::Append {
                day,
                detail: format!("history of {t} dated {} (not before the day)", b.date),
            });
        }
        let (hist, _) = DailyBars::from_rows(history);
        let (first, last) = hist.date_range().expect("non-empty history");
        let hkey = keys::price_history_chunk(day, first, last);
        let hbytes = crate::parquet_io::encode(&[hist.to_record_batch()])
            .map_err(|detail| BusError::Decode { key: hkey.to_string(), detail })?;
        let hsha = crate::bus::sha256_hex(&hbytes);
        put_immutable(
            bus,
            &hkey,
            hbytes,
            "no manifest references it: an earlier update of this day was interrupted; delete it and re-run",
        )
        .await?;
        history_chunk =
            Some((ChunkRef { key: hkey.to_string(), first, last, rows: hist.n_rows() as u64, sha256: hsha }, hist));
    }
    let mut blocks = vec![store.raw, block.clone()];
    if let Some((_, hist)) = &history_chunk {
        blocks.push(hist.clone());
    }
    let raw = DailyBars::concat(&blocks);
    // Each symbol's day against its own previous bar, however far back (ESRX has no bar on
    // 2010-06-07 and splits on 2010-06-08), as the import detects them.
    let new_splits: Vec<Split> = splits::detect(&raw, store.benchmark.get(BENCHMARK_SYMBOL), &cfg.splits)
        .into_iter()
        .filter(|s| s.date == day)
        .collect();
    let mut all_splits = store.splits;
    all_splits.extend(new_splits.iter().cloned());
    let all_splits = committed_splits(all_splits, day);

    let mut next = manifest.clone();
    next.schema_version = MANIFEST_SCHEMA_VERSION;
    next.chunks.push(ChunkRef {
        key: key.to_string(),
        first: day,
        last: day,
        rows: block.n_rows() as u64,
        sha256: sha,
    });
    if let Some((c, _)) = history_chunk {
        next.chunks.push(c);
    }
    next.last_day = day;
    next.symbols = raw.n_tickers() as u32;
    next.splits = Some(all_splits.clone());
    let etag = manifest_obj.etag.unwrap_or_default();
    bus.put_json(&mkey, &next, PutMode::IfMatch(etag)).await?;
    crashpoint::hit(points::APPEND_AFTER_MANIFEST);

    let compacted = after_commit(bus, &next, &raw, &all_splits, &dup_counts, cfg, compact_after).await?;
    Ok(AppendReport { chunk: key, rows: block.n_rows(), new_splits, compacted, already_appended: false })
}

/// The steps after an append's commit, each derived from the committed store and safe to redo:
/// the quality report, the splits report (neither moved back to an earlier day), compaction.
async fn after_commit(
    bus: &Bus,
    manifest: &Manifest,
    raw: &DailyBars,
    splits: &[Split],
    dup_counts: &BTreeMap<Ticker, u32>,
    cfg: &DataConfig,
    compact_after: usize,
) -> Result<usize, StoreError> {
    let day = manifest.last_day;
    let adjusted = splits::adjust(raw, splits, None);
    let quality = quality::assess(raw, &adjusted, dup_counts, splits, day, &cfg.quality, &cfg.governance);
    put_report(bus, &keys::quality(), &quality, day, "as_of").await?;
    crashpoint::hit(points::APPEND_AFTER_QUALITY);
    let doc = SplitsDoc { schema_version: 2, as_of: Some(day), splits: splits.to_vec() };
    put_report(bus, &keys::splits(), &doc, day, "as_of").await?;
    crashpoint::hit(points::APPEND_AFTER_SPLITS);

    let year = day.date().format("%Y").to_string();
    let singles =
        manifest.chunks.iter().filter(|c| c.first == c.last && c.first.date().format("%Y").to_string() == year).count();
    if singles > compact_after { compact(bus, &year).await } else { Ok(0) }
}

/// Writes a report about day `day` unless the one on the bus is about a later day (its `field`).
async fn put_report<T: Serialize>(
    bus: &Bus,
    key: &Key,
    value: &T,
    day: TradingDay,
    field: &'static str,
) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| BusError::Decode { key: key.to_string(), detail: e.to_string() })?;
    let day_of = |b: &[u8]| {
        let v: serde_json::Value = serde_json::from_slice(b).ok()?;
        TradingDay::parse(v.get(field)?.as_str()?).ok()
    };
    if let crate::bus::PointerMove::KeptLater { current } =
        bus.put_pointer(key, bytes.into(), Some(day), day_of).await?
    {
        tracing::info!(%key, %current, this = %day, "a report about a later day is already there; left as is");
    }
    Ok(())
}

/// Writes an object that must never change once written: if the key is taken, the same bytes are
/// fine (a re-run) and other bytes are refused (`why` tells the operator what it means).
async fn put_immutable(bus: &Bus, key: &Key, bytes: bytes::Bytes, why: &str) -> Result<(), StoreError> {
    match bus.put(key, bytes.clone(), PutMode::IfAbsent).await {
        Ok(_) => Ok(()),
        Err(BusError::PreconditionFailed { .. }) => {
            let existing = bus.get_required(key).await?;
            if existing.bytes == bytes {
                Ok(())
            } else {
                Err(StoreError::Bus(BusError::DatedExists { key: key.to_string(), detail: why.to_string() }))
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Folds every chunk of calendar year `year` into one; returns how many chunks were folded.
///
/// The merged chunk is written first (under a new key, nothing references it yet), then the
/// manifest is switched to it with a conditional write (the commit), then the folded chunks are
/// deleted; a crash leaves at worst unreferenced chunks, and a re-run finds nothing to fold.
pub async fn compact(bus: &Bus, year: &str) -> Result<usize, StoreError> {
    let mkey = keys::prices_manifest();
    let obj = bus.get(&mkey).await?.ok_or_else(|| StoreError::Missing(bus.url().to_string()))?;
    let manifest = Manifest::read(&mkey, &obj.bytes)?;
    let (in_year, rest): (Vec<ChunkRef>, Vec<ChunkRef>) =
        manifest.chunks.iter().cloned().partition(|c| c.first.date().format("%Y").to_string() == year);
    if in_year.len() < 2 {
        return Ok(0);
    }
    let mut blocks = Vec::new();
    for c in &in_year {
        let key = Key::parse(&c.key).map_err(|e| StoreError::Missing(e.to_string()))?;
        let obj = bus.get_required(&key).await?;
        let found = obj.sha256();
        if found != c.sha256 {
            return Err(StoreError::HashMismatch { key: c.key.clone(), expected: c.sha256.clone(), found });
        }
        let batches =
            crate::parquet_io::decode(obj.bytes).map_err(|e| BusError::Decode { key: c.key.clone(), detail: e })?;
        blocks.push(
            DailyBars::from_record_batches(&batches)
                .map_err(|source| StoreError::Bars { key: c.key.clone(), source })?,
        );
    }
    let merged = DailyBars::concat(&blocks);
    let (first, last) = merged.date_range().expect("non-empty");
    let key = keys::price_chunk(first, last);
    let bytes = crate::parquet_io::encode(&[merged.to_record_batch()])
        .map_err(|detail| BusError::Decode { key: key.to_string(), detail })?;
    let sha = crate::bus::sha256_hex(&bytes);
    put_immutable(bus, &key, bytes, "a compaction would replace it with other bars").await?;
    crashpoint::hit(points::COMPACT_AFTER_CHUNK);
    let mut chunks = rest;
    chunks.push(ChunkRef { key: key.to_string(), first, last, rows: merged.n_rows() as u64, sha256: sha });
    chunks.sort_by_key(|c| c.first);
    let next = Manifest { chunks, ..manifest };
    bus.put_json(&mkey, &next, PutMode::IfMatch(obj.etag.unwrap_or_default())).await?;
    crashpoint::hit(points::COMPACT_AFTER_MANIFEST);
    for c in in_year.iter().filter(|c| c.key != key.as_str()) {
        bus.delete(&Key::parse(&c.key).map_err(|e| StoreError::Missing(e.to_string()))?).await?;
        crashpoint::hit(points::COMPACT_AFTER_DELETE);
    }
    Ok(in_year.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_earnings_chunk_without_its_columns_or_with_a_date_beyond_the_calendar_is_an_error() {
        let empty = RecordBatch::new_empty(Arc::new(Schema::empty()));
        assert!(EarningsCalendar::from_batches(&[empty]).unwrap_err().contains("column"));
        let schema = Arc::new(Schema::new(vec![
            Field::new("ticker", DataType::Utf8, false),
            Field::new("date", DataType::Date32, false),
        ]));
        let cols: Vec<ArrayRef> =
            vec![Arc::new(StringArray::from(vec!["AAPL"])), Arc::new(Date32Array::from(vec![i32::MAX]))];
        let far = RecordBatch::try_new(schema, cols).unwrap();
        assert!(EarningsCalendar::from_batches(&[far]).unwrap_err().contains("beyond the calendar"));
    }
}
