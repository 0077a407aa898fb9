//! Readers for the raw data files shipped in `data/` (and any files of the same shape).
//!
//! | file | columns |
//! |---|---|
//! | `sp500_2009_2010_ohlcv.csv.gz` | date, ticker, open, high, low, close, volume (unadjusted) |
//! | `spx_index_1999_2018.csv.gz` | date, open, high, low, close, adj_close, volume |
//! | `sp500_sectors_2014.csv` | ticker, name, sector, industry (old 10-sector GICS) |
//! | `earnings_dates_2003_2025.csv.gz` | ticker, date |
//!
//! Malformed rows do not abort an import: each is reported with its file and line, and the row is
//! skipped; a file whose header is wrong, or where more than 1% of the rows are bad, is refused.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use chrono::NaiveDate;

use super::bars::{Bar, BarRows, DailyBars};
use super::{EarningsCalendar, SectorInfo, SectorMap};
use crate::calendar::TradingDay;
use crate::contracts::common::Sector;
use crate::types::Ticker;

/// A row that was skipped, with where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowIssue {
    /// `file:line`.
    pub at: String,
    /// What was wrong.
    pub detail: String,
}

/// A file that cannot be imported at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Read failure.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: String,
        /// OS error.
        #[source]
        source: std::io::Error,
    },
    /// Wrong header.
    #[error("{file}: header {found:?}, expected {expected:?}")]
    Header {
        /// File.
        file: String,
        /// Header found.
        found: String,
        /// Header expected.
        expected: String,
    },
    /// Too many bad rows to trust the file.
    #[error("{file}: {bad} of {total} rows are malformed (first: {first}); refusing the file")]
    TooManyBadRows {
        /// File.
        file: String,
        /// Bad rows.
        bad: usize,
        /// All rows.
        total: usize,
        /// The first problem.
        first: String,
    },
}

/// A user's table as the CSV text the row parsers read, so every row is checked and located the
/// same way: a `.parquet` file is rendered column by column (dates, timestamps, integers, floats
/// and strings all print; a `date` column keeps the day), any other file is read as text,
/// gunzipped when its name ends in `.gz`.
pub fn read_table_text(path: &Path) -> Result<String, ImportError> {
    if !path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet")) {
        return read_gz_text(path);
    }
    let io = |source| ImportError::Io { path: path.display().to_string(), source };
    let bad = |why: String| io(std::io::Error::new(std::io::ErrorKind::InvalidData, why));
    let bytes = std::fs::read(path).map_err(io)?;
    let batches = crate::parquet_io::decode(bytes.into()).map_err(bad)?;
    let Some(first) = batches.first() else { return Ok(String::new()) };
    let names: Vec<String> = first.schema().fields().iter().map(|f| f.name().clone()).collect();
    let mut out = names.join(",");
    out.push('\n');
    let options = arrow::util::display::FormatOptions::default().with_null("");
    for b in &batches {
        let cols = b
            .columns()
            .iter()
            .map(|c| arrow::util::display::ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(e.to_string()))?;
        for i in 0..b.num_rows() {
            let cells: Vec<String> = cols
                .iter()
                .zip(&names)
                .map(|(c, name)| {
                    let v = c.value(i).to_string();
                    // A timestamp column holds a session as its midnight: keep the day.
                    if name == "date" { v.split(['T', ' ']).next().unwrap_or_default().to_string() } else { v }
                })
                .map(|v| if v.contains([',', '"', '\n']) { format!("\"{}\"", v.replace('"', "\"\"")) } else { v })
                .collect();
            out.push_str(&cells.join(","));
            out.push('\n');
        }
    }
    Ok(out)
}

/// Reads a file, gunzipping when its name ends in `.gz`.
pub fn read_gz_text(path: &Path) -> Result<String, ImportError> {
    let io = |source| ImportError::Io { path: path.display().to_string(), source };
    let bytes = std::fs::read(path).map_err(io)?;
    if path.extension().is_some_and(|e| e == "gz") {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut s).map_err(io)?;
        Ok(s)
    } else {
        String::from_utf8(bytes).map_err(|e| io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
    }
}

struct Rows<'a> {
    file: &'a str,
    reader: csv::Reader<&'a [u8]>,
    issues: Vec<RowIssue>,
    total: usize,
}

impl<'a> Rows<'a> {
    fn open(file: &'a str, text: &'a str, expected: &[&str]) -> Result<Self, ImportError> {
        let mut reader = csv::ReaderBuilder::new().has_headers(true).trim(csv::Trim::All).from_reader(text.as_bytes());
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| ImportError::Header { file: file.into(), found: e.to_string(), expected: expected.join(",") })?
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        if header != expected {
            return Err(ImportError::Header {
                file: file.into(),
                found: header.join(","),
                expected: expected.join(","),
            });
        }
        Ok(Self { file, reader, issues: Vec::new(), total: 0 })
    }

    /// Calls `f` on each record; a record `f` rejects is recorded as an issue.
    fn each(&mut self, mut f: impl FnMut(&csv::StringRecord) -> Result<(), String>) {
        let mut rec = csv::StringRecord::new();
        loop {
            match self.reader.read_record(&mut rec) {
                Ok(false) => break,
                Ok(true) => {
                    self.total += 1;
                    let line = rec.position().map(|p| p.line()).unwrap_or(0);
                    if let Err(detail) = f(&rec) {
                        self.issues.push(RowIssue { at: format!("{}:{line}", self.file), detail });
                    }
                }
                Err(e) => {
                    self.total += 1;
                    let line = e.position().map(|p| p.line()).unwrap_or(0);
                    self.issues.push(RowIssue { at: format!("{}:{line}", self.file), detail: e.to_string() });
                }
            }
        }
    }

    fn finish(self) -> Result<Vec<RowIssue>, ImportError> {
        if self.total > 0 && self.issues.len() * 100 > self.total {
            return Err(ImportError::TooManyBadRows {
                file: self.file.into(),
                bad: self.issues.len(),
                total: self.total,
                first: format!("{}: {}", self.issues[0].at, self.issues[0].detail),
            });
        }
        Ok(self.issues)
    }
}

fn num(rec: &csv::StringRecord, i: usize, name: &str) -> Result<f64, String> {
    let s = rec.get(i).unwrap_or("");
    s.parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| format!("{name} {s:?} is not a number"))
}

fn date(rec: &csv::StringRecord, i: usize) -> Result<NaiveDate, String> {
    let s = rec.get(i).unwrap_or("");
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| format!("date {s:?} is not YYYY-MM-DD"))
}

fn ticker(rec: &csv::StringRecord, i: usize) -> Result<Ticker, String> {
    Ticker::new(rec.get(i).unwrap_or("")).map_err(|e| e.to_string())
}

fn trading_day(d: NaiveDate) -> Result<TradingDay, String> {
    TradingDay::new(d).map_err(|e| format!("bar on a day the exchange was closed: {e}"))
}

/// Reads daily bars (`date,ticker,open,high,low,close,volume`).
pub fn ohlcv_csv(file: &str, text: &str) -> Result<(BarRows, Vec<RowIssue>), ImportError> {
    let mut rows = Rows::open(file, text, &["date", "ticker", "open", "high", "low", "close", "volume"])?;
    let mut out = Vec::with_capacity(text.len() / 48);
    rows.each(|r| {
        let bar = Bar {
            date: trading_day(date(r, 0)?)?,
            open: num(r, 2, "open")?,
            high: num(r, 3, "high")?,
            low: num(r, 4, "low")?,
            close: num(r, 5, "close")?,
            volume: num(r, 6, "volume")?,
        };
        out.push((ticker(r, 1)?, bar));
        Ok(())
    });
    Ok((out, rows.finish()?))
}

/// Reads an index series (`date,open,high,low,close,adj_close,volume`) as symbol `symbol`.
/// Sessions before the calendar's first year are skipped (not reported).
pub fn index_csv(file: &str, text: &str, symbol: &Ticker) -> Result<(DailyBars, Vec<RowIssue>), ImportError> {
    let mut rows = Rows::open(file, text, &["date", "open", "high", "low", "close", "adj_close", "volume"])?;
    let mut out = Vec::new();
    rows.each(|r| {
        let d = date(r, 0)?;
        if d.format("%Y").to_string().parse::<i32>().unwrap_or(0) < crate::calendar::FIRST_YEAR {
            return Ok(());
        }
        let bar = Bar {
            date: trading_day(d)?,
            open: num(r, 1, "open")?,
            high: num(r, 2, "high")?,
            low: num(r, 3, "low")?,
            close: num(r, 4, "close")?,
            volume: num(r, 6, "volume")?,
        };
        out.push((symbol.clone(), bar));
        Ok(())
    });
    let issues = rows.finish()?;
    Ok((DailyBars::from_rows(out).0, issues))
}

/// Reads a sector map (`ticker,name,sector,industry`); the old name "Telecommunications Services"
/// becomes Communication Services.
pub fn sectors_csv(file: &str, text: &str) -> Result<(SectorMap, Vec<RowIssue>), ImportError> {
    let mut rows = Rows::open(file, text, &["ticker", "name", "sector", "industry"])?;
    let mut symbols = BTreeMap::new();
    rows.each(|r| {
        let t = ticker(r, 0)?;
        let sector: Sector = r.get(2).unwrap_or("").parse()?;
        symbols.insert(
            t,
            SectorInfo {
                name: r.get(1).unwrap_or("").to_string(),
                sector,
                industry: r.get(3).unwrap_or("").to_string(),
            },
        );
        Ok(())
    });
    let issues = rows.finish()?;
    Ok((
        SectorMap {
            schema_version: 1,
            source: file.to_string(),
            note: "GICS as of ~2014 (10-sector scheme): REITs are under Financials, Telecommunications Services is mapped to Communication Services".into(),
            symbols,
        },
        issues,
    ))
}

/// Reads earnings dates (`ticker,date`).
pub fn earnings_csv(file: &str, text: &str) -> Result<(EarningsCalendar, Vec<RowIssue>), ImportError> {
    let mut rows = Rows::open(file, text, &["ticker", "date"])?;
    let mut map: BTreeMap<Ticker, Vec<NaiveDate>> = BTreeMap::new();
    rows.each(|r| {
        map.entry(ticker(r, 0)?).or_default().push(date(r, 1)?);
        Ok(())
    });
    let issues = rows.finish()?;
    for v in map.values_mut() {
        v.sort();
        v.dedup();
    }
    Ok((EarningsCalendar { dates: map }, issues))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_rows_are_located_and_skipped() {
        let text = "date,ticker,open,high,low,close,volume\n\
                    2010-01-04,AAA,1,2,0.5,1.5,100\n\
                    2010-01-05,AAA,x,2,0.5,1.5,100\n\
                    2010-01-02,AAA,1,2,0.5,1.5,100\n";
        let err = ohlcv_csv("f.csv", text).unwrap_err();
        assert!(err.to_string().contains("2 of 3 rows are malformed"), "{err}");
        let mut many = String::from("date,ticker,open,high,low,close,volume\n");
        for _ in 0..200 {
            many.push_str("2010-01-04,AAA,1,2,0.5,1.5,100\n");
        }
        many.push_str("2010-01-05,AAA,x,2,0.5,1.5,100\n");
        let (rows, issues) = ohlcv_csv("f.csv", &many).unwrap();
        assert_eq!(rows.len(), 200);
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].at, "f.csv:202");
        assert!(issues[0].detail.contains("open \"x\""));
    }

    #[test]
    fn a_users_parquet_is_read_like_a_csv_with_every_bad_row_located() {
        use arrow::array::{ArrayRef, Date32Array, Float64Array, Int64Array, StringArray};
        use arrow::record_batch::RecordBatch;
        use std::sync::Arc;
        // Dates as Date32 (2010-01-04 and 05), volume as integers, the open missing in the last row.
        let n = 200;
        let opens: Vec<Option<f64>> = (0..n).map(|i| (i + 1 < n).then_some(1.0)).collect();
        let mut cols: Vec<(&str, ArrayRef)> = vec![
            ("date", Arc::new(Date32Array::from((0..n).map(|i| 14613 + (i % 2) as i32).collect::<Vec<_>>()))),
            ("ticker", Arc::new(StringArray::from(vec!["AAA"; n]))),
            ("open", Arc::new(Float64Array::from(opens))),
        ];
        for name in ["high", "low", "close"] {
            cols.push((name, Arc::new(Float64Array::from(vec![2.0; n]))));
        }
        cols.push(("volume", Arc::new(Int64Array::from(vec![100; n]))));
        let batch = RecordBatch::try_from_iter(cols).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bars.parquet");
        std::fs::write(&path, crate::parquet_io::encode(&[batch]).unwrap()).unwrap();
        let text = read_table_text(&path).unwrap();
        assert!(
            text.starts_with("date,ticker,open,high,low,close,volume\n2010-01-04,AAA,1.0,2.0,2.0,2.0,100\n"),
            "{text}"
        );
        let (rows, issues) = ohlcv_csv("bars.parquet", &text).unwrap();
        assert_eq!((rows.len(), issues.len()), (n - 1, 1));
        assert_eq!(issues[0].at, format!("bars.parquet:{}", n + 1));
    }

    #[test]
    fn wrong_header_is_refused() {
        assert!(matches!(ohlcv_csv("f.csv", "a,b\n1,2\n"), Err(ImportError::Header { .. })));
    }
}
