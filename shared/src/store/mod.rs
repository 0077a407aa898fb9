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
//! [`PriceStore::adjusted_as_of`] gives the point-in-time view a backtest needs, and
//! [`risk_panel`] aligns bars, benchmark and sectors into the factor risk model's input.
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
pub mod decoded;
pub mod freshness;
pub mod import;
pub mod lineage;
pub mod merge;
pub mod quality;
pub mod risk_panel;
pub mod sessions;
pub mod splits;
pub mod universe;
mod write;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Date32Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use write::{
    AppendReport, ImportFiles, ImportReport, PreparedImport, append_day, append_day_with_history, compact,
    import_files, prepare_from_data, prepare_import, prepare_import_through, write_import,
};

use bars::{BarsError, DailyBars};
use import::ImportError;
use quality::QualityReport;
use splits::Split;

use crate::bus::{Bus, BusError, Key, keys};
use crate::calendar::TradingDay;
use crate::contracts::InputRef;
use crate::contracts::common::Sector;
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
    pub(super) fn read(key: &Key, bytes: &[u8]) -> Result<Self, StoreError> {
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
pub(super) fn committed_splits(mut splits: Vec<Split>, last_day: TradingDay) -> Vec<Split> {
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
        let set: decoded::ChunkSet =
            manifest.chunks.iter().filter(|c| wanted(c)).map(|c| (c.key.clone(), c.sha256.clone())).collect();
        let kept = decoded::kept(&set);
        for c in manifest.chunks.iter().filter(|c| kept.is_none() && wanted(c)) {
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
        let raw = match kept {
            Some(bars) => DailyBars::clone(&bars),
            None => {
                let mut chunks = Vec::with_capacity(tasks.len());
                for t in tasks {
                    chunks.push(t.await.map_err(|e| StoreError::Missing(format!("chunk task failed: {e}")))??);
                }
                let raw = if chunks.len() == 1 { chunks.pop().expect("one chunk") } else { DailyBars::concat(&chunks) };
                decoded::keep(set, Arc::new(raw.clone()));
                raw
            }
        };
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
        let mut splits = Sha256::new();
        for sp in self.splits.iter().filter(|s| s.date <= as_of) {
            splits.update(format!("{} {} {}\n", sp.ticker, sp.date, sp.ratio).as_bytes());
        }
        let mut out = vec![
            InputRef {
                key: format!("prices/bars (sessions to {as_of})"),
                sha256: lineage::kept_digest(&self.raw, as_of),
                etag: None,
            },
            InputRef {
                key: format!("prices/benchmark.parquet (sessions to {as_of})"),
                sha256: lineage::digest(&self.benchmark, as_of),
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
