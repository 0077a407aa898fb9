//! The price store's readers of outside data: the CSV import (`ae_shared::store::import`, the four
//! file shapes of `data/`) and the Parquet price chunks (`ae_shared::parquet_io::decode`, then
//! `DailyBars::from_record_batches`, as `PriceStore::load` reads `prices/chunks/*.parquet`).
//!
//! Invariants: a skipped CSV row is reported at `file:line` and never counted twice; imported bars
//! are finite and grouped with strictly ascending sessions; bars written as a chunk and read back
//! are bit-for-bit the same (the store writes what it imported, and reads back what it wrote).

use ae_shared::store::bars::DailyBars;
use ae_shared::store::import;
use ae_shared::{Ticker, parquet_io};
use bytes::Bytes;

const FILE: &str = "fuzz.csv";

fn assert_located(issues: &[import::RowIssue]) {
    for i in issues {
        assert!(i.at.starts_with("fuzz.csv:"), "issue not located: {i:?}");
    }
}

fn assert_well_formed(bars: &DailyBars) {
    assert_eq!(bars.offsets.len(), bars.tickers.len() + 1, "one offset per ticker and the end");
    assert!(bars.tickers.windows(2).all(|w| w[0] < w[1]), "tickers ascending and unique");
    for s in bars.iter() {
        assert!(s.dates.windows(2).all(|w| w[0] < w[1]), "{}: sessions ascending and unique", s.ticker);
    }
}

/// The bars' exact content, NaN and signed zero included.
fn fingerprint(bars: &DailyBars) -> (Vec<Ticker>, Vec<usize>, Vec<String>, Vec<[u64; 5]>) {
    let rows = (0..bars.dates.len())
        .map(|i| [bars.open[i], bars.high[i], bars.low[i], bars.close[i], bars.volume[i]].map(f64::to_bits))
        .collect();
    (bars.tickers.clone(), bars.offsets.clone(), bars.dates.iter().map(ToString::to_string).collect(), rows)
}

/// Writes `bars` as a chunk, reads it back, and asserts nothing changed.
fn assert_chunk_round_trip(bars: &DailyBars) {
    let bytes = parquet_io::encode(&[bars.to_record_batch()]).expect("bars encode as Parquet");
    let batches = parquet_io::decode(bytes).expect("a chunk just written decodes");
    let back = DailyBars::from_record_batches(&batches).expect("a chunk just written reads as bars");
    assert_eq!(fingerprint(&back), fingerprint(bars), "bars changed on a Parquet write and read");
}

/// The CSV import: the same text through all four readers (the header decides which accepts it).
pub fn csv_import(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return; // `read_gz_text` refuses non-UTF-8 before any reader sees it
    };
    let total_lines = text.lines().count();
    if let Ok((rows, issues)) = import::ohlcv_csv(FILE, text) {
        assert_located(&issues);
        assert!(rows.len() + issues.len() <= total_lines, "more rows and issues than lines");
        for (t, b) in &rows {
            let values = [b.open, b.high, b.low, b.close, b.volume];
            assert!(values.iter().all(|v| v.is_finite()), "{t} {}: a non-finite value was imported", b.date);
        }
        let (bars, dropped) = DailyBars::from_rows(rows.clone());
        assert_eq!(bars.dates.len() + dropped.len(), rows.len(), "rows lost while grouping");
        assert_well_formed(&bars);
        assert_chunk_round_trip(&bars);
    }
    let spx = Ticker::new("SPX").expect("a valid symbol");
    if let Ok((bars, issues)) = import::index_csv(FILE, text, &spx) {
        assert_located(&issues);
        assert_well_formed(&bars);
        assert!(bars.tickers.iter().all(|t| *t == spx), "an index file holds one symbol");
        assert_chunk_round_trip(&bars);
    }
    if let Ok((sectors, issues)) = import::sectors_csv(FILE, text) {
        assert_located(&issues);
        assert!(sectors.symbols.len() + issues.len() <= total_lines);
    }
    if let Ok((earnings, issues)) = import::earnings_csv(FILE, text) {
        assert_located(&issues);
        for dates in earnings.dates.values() {
            assert!(dates.windows(2).all(|w| w[0] < w[1]), "earnings dates sorted and unique");
        }
    }
}

/// A Parquet price chunk, read as `PriceStore::load` reads one.
///
/// `parquet_io::decode` contains the panics of the `parquet` crate (they become errors); libFuzzer's
/// panic hook aborts at the panic itself, before `catch_unwind` sees it, so the hook is silenced
/// for the decode alone. Every other step still aborts on a panic.
pub fn parquet_chunk(data: &[u8]) {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let decoded = parquet_io::decode(Bytes::copy_from_slice(data));
    std::panic::set_hook(hook);
    let Ok(batches) = decoded else {
        return;
    };
    let Ok(bars) = DailyBars::from_record_batches(&batches) else {
        return;
    };
    assert_well_formed(&bars);
    assert_eq!(bars.dates.len(), batches.iter().map(|b| b.num_rows()).sum::<usize>(), "rows lost on read");
    assert_chunk_round_trip(&bars);
}
