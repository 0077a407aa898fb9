//! Daily OHLCV bars for many symbols in one columnar block.
//!
//! Rows are sorted by (ticker, date) with strictly increasing dates per ticker; `offsets[i]..offsets[i+1]`
//! is ticker `i`'s range, so one symbol's history is a set of contiguous slices — what indicators want.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Date32Array, Float64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use chrono::NaiveDate;

use crate::calendar::TradingDay;
use crate::types::Ticker;

/// Rows of (symbol, bar) in any order.
pub type BarRows = Vec<(Ticker, Bar)>;

/// One day's bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    /// Session.
    pub date: TradingDay,
    /// Open.
    pub open: f64,
    /// High.
    pub high: f64,
    /// Low.
    pub low: f64,
    /// Close.
    pub close: f64,
    /// Volume in shares.
    pub volume: f64,
}

/// Many symbols' bars, columnar.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DailyBars {
    /// Symbols, ascending.
    pub tickers: Vec<Ticker>,
    /// Row ranges: ticker `i` owns `offsets[i]..offsets[i + 1]`.
    pub offsets: Vec<usize>,
    /// Session of each row.
    pub dates: Vec<TradingDay>,
    /// Opens.
    pub open: Vec<f64>,
    /// Highs.
    pub high: Vec<f64>,
    /// Lows.
    pub low: Vec<f64>,
    /// Closes.
    pub close: Vec<f64>,
    /// Volumes (shares).
    pub volume: Vec<f64>,
}

/// One symbol's bars as slices into a [`DailyBars`].
#[derive(Debug, Clone, Copy)]
pub struct BarSeries<'a> {
    /// Symbol.
    pub ticker: &'a Ticker,
    /// Sessions, ascending.
    pub dates: &'a [TradingDay],
    /// Opens.
    pub open: &'a [f64],
    /// Highs.
    pub high: &'a [f64],
    /// Lows.
    pub low: &'a [f64],
    /// Closes.
    pub close: &'a [f64],
    /// Volumes.
    pub volume: &'a [f64],
}

impl BarSeries<'_> {
    /// Number of bars.
    pub fn len(&self) -> usize {
        self.dates.len()
    }

    /// True when there are no bars.
    pub fn is_empty(&self) -> bool {
        self.dates.is_empty()
    }

    /// Index of the last bar on or before `day`.
    pub fn index_on_or_before(&self, day: TradingDay) -> Option<usize> {
        let n = self.dates.partition_point(|d| *d <= day);
        n.checked_sub(1)
    }

    /// The bar at `i`.
    pub fn bar(&self, i: usize) -> Bar {
        Bar {
            date: self.dates[i],
            open: self.open[i],
            high: self.high[i],
            low: self.low[i],
            close: self.close[i],
            volume: self.volume[i],
        }
    }
}

/// Rows that cannot form a [`DailyBars`].
#[derive(Debug, thiserror::Error)]
pub enum BarsError {
    /// Arrow/Parquet column layout.
    #[error("bars table: {0}")]
    Layout(String),
    /// A row out of order or duplicated.
    #[error("{ticker} {date}: {detail}")]
    Order {
        /// Symbol.
        ticker: String,
        /// Session.
        date: String,
        /// What is wrong.
        detail: String,
    },
}

impl DailyBars {
    /// Builds from rows in any order; rows with a duplicate (ticker, date) keep the first seen.
    /// Returns the block and the dropped duplicates.
    pub fn from_rows(mut rows: Vec<(Ticker, Bar)>) -> (Self, Vec<(Ticker, Bar)>) {
        rows.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.date.cmp(&b.1.date)));
        let mut out = DailyBars::default();
        let mut dropped = Vec::new();
        let mut last: Option<(Ticker, TradingDay)> = None;
        for (t, b) in rows {
            if let Some((lt, ld)) = &last
                && *lt == t
                && *ld == b.date
            {
                dropped.push((t, b));
                continue;
            }
            if last.as_ref().is_none_or(|(lt, _)| *lt != t) {
                out.tickers.push(t.clone());
                out.offsets.push(out.dates.len());
            }
            last = Some((t, b.date));
            out.push_bar(&b);
        }
        out.offsets.push(out.dates.len());
        if out.tickers.is_empty() {
            out.offsets = vec![0];
        }
        (out, dropped)
    }

    fn push_bar(&mut self, b: &Bar) {
        self.dates.push(b.date);
        self.open.push(b.open);
        self.high.push(b.high);
        self.low.push(b.low);
        self.close.push(b.close);
        self.volume.push(b.volume);
    }

    /// Number of symbols.
    pub fn n_tickers(&self) -> usize {
        self.tickers.len()
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.dates.len()
    }

    /// Index of `ticker`.
    pub fn find(&self, ticker: &str) -> Option<usize> {
        self.tickers.binary_search_by(|t| t.as_str().cmp(ticker)).ok()
    }

    /// Symbol `i`'s bars.
    pub fn series(&self, i: usize) -> BarSeries<'_> {
        let r = self.offsets[i]..self.offsets[i + 1];
        BarSeries {
            ticker: &self.tickers[i],
            dates: &self.dates[r.clone()],
            open: &self.open[r.clone()],
            high: &self.high[r.clone()],
            low: &self.low[r.clone()],
            close: &self.close[r.clone()],
            volume: &self.volume[r],
        }
    }

    /// Bars of `ticker`.
    pub fn get(&self, ticker: &str) -> Option<BarSeries<'_>> {
        self.find(ticker).map(|i| self.series(i))
    }

    /// Iterates over every symbol's series.
    pub fn iter(&self) -> impl Iterator<Item = BarSeries<'_>> {
        (0..self.n_tickers()).map(|i| self.series(i))
    }

    /// First and last session present.
    pub fn date_range(&self) -> Option<(TradingDay, TradingDay)> {
        let first = self.dates.iter().min()?;
        let last = self.dates.iter().max()?;
        Some((*first, *last))
    }

    /// Every session any symbol has a bar on, ascending, once each. The rows' days are marked on
    /// the calendar between the first and the last, then read in order: no sort of every row.
    pub fn sessions(&self) -> Vec<TradingDay> {
        let Some((first, last)) = self.date_range() else { return Vec::new() };
        let day = |d: &TradingDay| chrono::Datelike::num_days_from_ce(&d.date());
        let base = day(&first);
        let mut seen: Vec<Option<TradingDay>> = vec![None; (day(&last) - base + 1) as usize];
        for d in &self.dates {
            seen[(day(d) - base) as usize] = Some(*d);
        }
        seen.into_iter().flatten().collect()
    }

    /// Only rows with `first <= date <= last` (symbols with none are dropped).
    pub fn between(&self, first: TradingDay, last: TradingDay) -> DailyBars {
        // Already in (ticker, date) order: copy each symbol's slice, no sort, no row copies. The
        // slices are found first so every column is allocated once, at its final size.
        let spans: Vec<(BarSeries<'_>, usize, usize)> = self
            .iter()
            .map(|s| (s, s.dates.partition_point(|d| *d < first), s.dates.partition_point(|d| *d <= last)))
            .filter(|(_, lo, hi)| lo < hi)
            .collect();
        let rows: usize = spans.iter().map(|(_, lo, hi)| hi - lo).sum();
        let mut out = DailyBars {
            tickers: Vec::with_capacity(spans.len()),
            offsets: Vec::with_capacity(spans.len() + 1),
            dates: Vec::with_capacity(rows),
            open: Vec::with_capacity(rows),
            high: Vec::with_capacity(rows),
            low: Vec::with_capacity(rows),
            close: Vec::with_capacity(rows),
            volume: Vec::with_capacity(rows),
        };
        for (s, lo, hi) in spans {
            out.tickers.push(s.ticker.clone());
            out.offsets.push(out.dates.len());
            out.dates.extend_from_slice(&s.dates[lo..hi]);
            out.open.extend_from_slice(&s.open[lo..hi]);
            out.high.extend_from_slice(&s.high[lo..hi]);
            out.low.extend_from_slice(&s.low[lo..hi]);
            out.close.extend_from_slice(&s.close[lo..hi]);
            out.volume.extend_from_slice(&s.volume[lo..hi]);
        }
        out.offsets.push(out.dates.len());
        out
    }

    /// Concatenates blocks (e.g. date-range chunks); duplicate (ticker, date) rows keep the first block's.
    pub fn concat(blocks: &[DailyBars]) -> DailyBars {
        let mut rows = Vec::with_capacity(blocks.iter().map(|b| b.n_rows()).sum());
        for b in blocks {
            for s in b.iter() {
                for i in 0..s.len() {
                    rows.push((s.ticker.clone(), s.bar(i)));
                }
            }
        }
        DailyBars::from_rows(rows).0
    }

    /// Arrow schema of the table form.
    pub fn schema() -> Arc<Schema> {
        Arc::new(Schema::new(vec![
            Field::new("ticker", DataType::Utf8, false),
            Field::new("date", DataType::Date32, false),
            Field::new("open", DataType::Float64, false),
            Field::new("high", DataType::Float64, false),
            Field::new("low", DataType::Float64, false),
            Field::new("close", DataType::Float64, false),
            Field::new("volume", DataType::Float64, false),
        ]))
    }

    /// As one record batch.
    pub fn to_record_batch(&self) -> RecordBatch {
        let mut tick = Vec::with_capacity(self.n_rows());
        for (i, t) in self.tickers.iter().enumerate() {
            for _ in self.offsets[i]..self.offsets[i + 1] {
                tick.push(t.as_str());
            }
        }
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let days: Vec<i32> = self.dates.iter().map(|d| (d.date() - epoch).num_days() as i32).collect();
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(tick)),
            Arc::new(Date32Array::from(days)),
            Arc::new(Float64Array::from(self.open.clone())),
            Arc::new(Float64Array::from(self.high.clone())),
            Arc::new(Float64Array::from(self.low.clone())),
            Arc::new(Float64Array::from(self.close.clone())),
            Arc::new(Float64Array::from(self.volume.clone())),
        ];
        RecordBatch::try_new(Self::schema(), cols).expect("columns match the schema")
    }

    /// From record batches in the table form; rows must be sorted by (ticker, date), unique.
    pub fn from_record_batches(batches: &[RecordBatch]) -> Result<DailyBars, BarsError> {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let mut out = DailyBars::default();
        let n: usize = batches.iter().map(|b| b.num_rows()).sum();
        for v in [&mut out.open, &mut out.high, &mut out.low, &mut out.close, &mut out.volume] {
            v.reserve(n);
        }
        out.dates.reserve(n);
        let mut cur: Option<String> = None;
        let mut last_date: Option<TradingDay> = None;
        for b in batches {
            let col =
                |name: &str| b.column_by_name(name).ok_or_else(|| BarsError::Layout(format!("missing column {name}")));
            let f64col = |name: &str| -> Result<Float64Array, BarsError> {
                col(name)?
                    .as_any()
                    .downcast_ref::<Float64Array>()
                    .cloned()
                    .ok_or_else(|| BarsError::Layout(format!("column {name} is not float64")))
            };
            let tick = col("ticker")?
                .as_any()
                .downcast_ref::<StringArray>()
                .cloned()
                .ok_or_else(|| BarsError::Layout("column ticker is not utf8".into()))?;
            let date = col("date")?
                .as_any()
                .downcast_ref::<Date32Array>()
                .cloned()
                .ok_or_else(|| BarsError::Layout("column date is not date32".into()))?;
            let (o, h, l, c, v) =
                (f64col("open")?, f64col("high")?, f64col("low")?, f64col("close")?, f64col("volume")?);
            if tick.null_count() + date.null_count() > 0 {
                return Err(BarsError::Layout("null ticker or date".into()));
            }
            for i in 0..b.num_rows() {
                let t = tick.value(i);
                let d =
                    epoch.checked_add_signed(chrono::Duration::days(i64::from(date.value(i)))).ok_or_else(|| {
                        BarsError::Layout(format!("{t}: date {} days from 1970-01-01 is out of range", date.value(i)))
                    })?;
                let day = TradingDay::new(d).map_err(|e| BarsError::Order {
                    ticker: t.into(),
                    date: d.to_string(),
                    detail: e.to_string(),
                })?;
                if cur.as_deref() != Some(t) {
                    if cur.as_deref().is_some_and(|c| c >= t) {
                        return Err(BarsError::Order {
                            ticker: t.into(),
                            date: d.to_string(),
                            detail: "tickers out of order".into(),
                        });
                    }
                    let ticker = Ticker::new(t).map_err(|e| BarsError::Order {
                        ticker: t.into(),
                        date: d.to_string(),
                        detail: e.to_string(),
                    })?;
                    out.tickers.push(ticker);
                    out.offsets.push(out.dates.len());
                    cur = Some(t.to_string());
                    last_date = None;
                }
                if last_date.is_some_and(|ld| ld >= day) {
                    return Err(BarsError::Order {
                        ticker: t.into(),
                        date: d.to_string(),
                        detail: "dates out of order or duplicated".into(),
                    });
                }
                last_date = Some(day);
                out.dates.push(day);
                out.open.push(o.value(i));
                out.high.push(h.value(i));
                out.low.push(l.value(i));
                out.close.push(c.value(i));
                out.volume.push(v.value(i));
            }
        }
        out.offsets.push(out.dates.len());
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(d: &str, c: f64) -> Bar {
        Bar { date: TradingDay::parse(d).unwrap(), open: c, high: c + 1.0, low: c - 1.0, close: c, volume: 100.0 }
    }

    #[test]
    fn a_date_beyond_the_calendar_range_is_an_error_not_a_panic() {
        let b = DailyBars::from_rows(vec![(Ticker::new("A").unwrap(), bar("2010-01-04", 1.0))]).0;
        let batch = b.to_record_batch();
        let mut cols = batch.columns().to_vec();
        cols[1] = Arc::new(Date32Array::from(vec![i32::MAX]));
        let batch = RecordBatch::try_new(DailyBars::schema(), cols).unwrap();
        let err = DailyBars::from_record_batches(&[batch]).unwrap_err();
        assert!(err.to_string().contains("out of range"), "{err}");
    }

    #[test]
    fn rows_sort_group_and_drop_duplicates() {
        let t = |s: &str| Ticker::new(s).unwrap();
        let (b, dropped) = DailyBars::from_rows(vec![
            (t("B"), bar("2010-01-05", 2.0)),
            (t("A"), bar("2010-01-05", 1.5)),
            (t("A"), bar("2010-01-04", 1.0)),
            (t("A"), bar("2010-01-05", 9.0)),
        ]);
        assert_eq!(b.tickers, vec![t("A"), t("B")]);
        assert_eq!(b.offsets, vec![0, 2, 3]);
        assert_eq!(b.get("A").unwrap().close, &[1.0, 1.5]);
        assert_eq!(dropped.len(), 1);
        let back = DailyBars::from_record_batches(&[b.to_record_batch()]).unwrap();
        assert_eq!(back, b);
        let s = b.get("A").unwrap();
        assert_eq!(s.index_on_or_before(TradingDay::parse("2010-01-06").unwrap()), Some(1));
        assert_eq!(s.index_on_or_before(TradingDay::parse("2009-12-31").unwrap()), None);
    }

    #[test]
    fn a_date_window_keeps_each_symbols_bars_inside_it_and_drops_symbols_without_any() {
        let t = |s: &str| Ticker::new(s).unwrap();
        let (b, _) = DailyBars::from_rows(vec![
            (t("A"), bar("2010-01-04", 1.0)),
            (t("A"), bar("2010-01-05", 2.0)),
            (t("A"), bar("2010-01-06", 3.0)),
            (t("B"), bar("2010-01-04", 4.0)),
            (t("C"), bar("2010-01-06", 5.0)),
            (t("C"), bar("2010-01-07", 6.0)),
        ]);
        let d = |s: &str| TradingDay::parse(s).unwrap();
        let cases = [
            ("2010-01-05", "2010-01-06", vec![("A", vec![2.0, 3.0]), ("C", vec![5.0])]),
            ("2010-01-04", "2010-01-04", vec![("A", vec![1.0]), ("B", vec![4.0])]),
            ("2010-01-08", "2010-01-11", vec![]),
        ];
        for (first, last, want) in cases {
            let w = b.between(d(first), d(last));
            let got: Vec<(&str, Vec<f64>)> = w.iter().map(|s| (s.ticker.as_str(), s.close.to_vec())).collect();
            assert_eq!(got, want, "{first}..{last}");
            // The same block as building it from the rows inside the window.
            let rows = b
                .iter()
                .flat_map(|s| (0..s.len()).map(move |i| (s.ticker.clone(), s.bar(i))))
                .filter(|(_, r)| r.date >= d(first) && r.date <= d(last))
                .collect();
            assert_eq!(w, DailyBars::from_rows(rows).0, "{first}..{last}");
        }
    }

    proptest::proptest! {
        #[test]
        fn the_sessions_are_every_rows_day_sorted_once(rows in proptest::collection::vec((0usize..4, 0i64..400), 0..120)) {
            let start = TradingDay::parse("2008-01-02").unwrap();
            let tickers = ["A", "B", "C", "D"];
            let rows: Vec<(Ticker, Bar)> = rows
                .into_iter()
                .map(|(t, k)| (Ticker::new(tickers[t]).unwrap(), Bar { date: start.offset(k).unwrap(), ..bar("2008-01-02", 1.0) }))
                .collect();
            let b = DailyBars::from_rows(rows).0;
            let mut want = b.dates.clone();
            want.sort_unstable();
            want.dedup();
            proptest::prop_assert_eq!(b.sessions(), want);
        }
    }
}
