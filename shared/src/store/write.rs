//! The store's writers: an import (prepared from files or data, then written chunk by chunk and
//! committed by the manifest), the daily append with its crash-safe commit sequence, and the
//! compaction of a year's chunks. What the manifest commits is read back by [`super::PriceStore`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::NaiveDate;
use serde::Serialize;

use super::bars::{self, Bar, DailyBars};
use super::import::{self, ImportError, RowIssue};
use super::quality::{self, QualityReport};
use super::splits::{self, Split};
use super::{
    BENCHMARK_SYMBOL, ChunkRef, EarningsCalendar, MANIFEST_SCHEMA_VERSION, Manifest, PriceStore, SectorMap, SplitsDoc,
    StoreError, committed_splits,
};
use crate::bus::{Bus, BusError, Key, Published, PutMode, keys};
use crate::calendar::TradingDay;
use crate::clock::Clock;
use crate::config::DataConfig;
use crate::contracts::InputRef;
use crate::crashpoint::{self, points};
use crate::types::Ticker;

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
