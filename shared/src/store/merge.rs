//! Merging the nightly update's reference data into the store: the benchmark ETF's bars, earnings
//! dates, the sectors of new names and the vendor's split announcements. Each is a small object
//! rewritten whole by a read-merge-write with a conditional put (retried when another writer won
//! the race), keyed so that a re-run merges nothing new: the update can be killed and re-run at
//! any point.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::bars::{Bar, DailyBars};
use super::corporate::VendorSplit;
use super::{EarningsCalendar, SectorInfo, SectorMap, StoreError};
use crate::bus::{Bus, BusError, Key, PutMode, keys};
use crate::types::Ticker;

const ATTEMPTS: usize = 16;

/// Read-merge-write of one object with a conditional put (retried when another writer won the
/// race): `decode` reads the current bytes, `merge` changes the value (from `None` when absent)
/// and says how many items it added or changed, `encode` writes it; nothing is written when
/// nothing changed.
async fn merge_object<T, F>(
    bus: &Bus,
    key: &Key,
    decode: impl Fn(&bytes::Bytes) -> Result<T, StoreError>,
    encode: impl Fn(&T) -> Result<bytes::Bytes, StoreError>,
    mut merge: F,
) -> Result<usize, StoreError>
where
    F: FnMut(Option<T>) -> (T, usize),
{
    for _ in 0..ATTEMPTS {
        let current = bus.get(key).await?;
        let (value, mode) = match &current {
            Some(obj) => {
                (Some(decode(&obj.bytes)?), obj.etag.clone().map(PutMode::IfMatch).unwrap_or(PutMode::Overwrite))
            }
            None => (None, PutMode::IfAbsent),
        };
        let (next, changed) = merge(value);
        if changed == 0 {
            return Ok(0);
        }
        match bus.put(key, encode(&next)?, mode).await {
            Ok(_) => return Ok(changed),
            Err(BusError::PreconditionFailed { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(BusError::PreconditionFailed { key: key.to_string() }.into())
}

/// [`merge_object`] for a JSON document.
async fn merge_json<T, F>(bus: &Bus, key: &Key, merge: F) -> Result<usize, StoreError>
where
    T: Serialize + DeserializeOwned,
    F: FnMut(Option<T>) -> (T, usize),
{
    let decode = |b: &bytes::Bytes| {
        serde_json::from_slice::<T>(b)
            .map_err(|e| StoreError::from(BusError::Decode { key: key.to_string(), detail: e.to_string() }))
    };
    let encode = |v: &T| Ok(serde_json::to_vec_pretty(v).expect("a store document serializes").into());
    merge_object(bus, key, decode, encode, merge).await
}

/// The batches of a Parquet object.
fn parquet_batches(key: &Key, b: &bytes::Bytes) -> Result<Vec<arrow::record_batch::RecordBatch>, StoreError> {
    crate::parquet_io::decode(b.clone()).map_err(|detail| BusError::Decode { key: key.to_string(), detail }.into())
}

/// One Parquet object's bytes.
fn parquet_bytes(key: &Key, batch: arrow::record_batch::RecordBatch) -> Result<bytes::Bytes, StoreError> {
    crate::parquet_io::encode(&[batch]).map_err(|detail| BusError::Decode { key: key.to_string(), detail }.into())
}

/// Adds (or corrects) the benchmark ETF's bars of `symbol`; returns how many changed.
pub async fn merge_benchmark_etf(bus: &Bus, symbol: &Ticker, bars: &[Bar]) -> Result<usize, StoreError> {
    let key = keys::benchmark_etf();
    let decode = |b: &bytes::Bytes| {
        DailyBars::from_record_batches(&parquet_batches(&key, b)?)
            .map_err(|source| StoreError::Bars { key: key.to_string(), source })
    };
    let encode = |v: &DailyBars| parquet_bytes(&key, v.to_record_batch());
    merge_object(bus, &key, decode, encode, |existing| {
        let mut by_date: BTreeMap<_, Bar> = existing
            .as_ref()
            .and_then(|e| e.get(symbol.as_str()))
            .map(|s| (0..s.dates.len()).map(|i| (s.dates[i], s.bar(i))).collect())
            .unwrap_or_default();
        let mut changed = 0;
        for b in bars {
            if by_date.get(&b.date) != Some(b) {
                by_date.insert(b.date, *b);
                changed += 1;
            }
        }
        let (merged, _) = DailyBars::from_rows(by_date.into_values().map(|b| (symbol.clone(), b)).collect());
        (merged, changed)
    })
    .await
}

/// Adds earnings dates to the calendar; returns how many were new.
pub async fn merge_earnings(bus: &Bus, dates: &[(Ticker, NaiveDate)]) -> Result<usize, StoreError> {
    let key = keys::earnings();
    let decode = |b: &bytes::Bytes| {
        EarningsCalendar::from_batches(&parquet_batches(&key, b)?)
            .map_err(|detail| BusError::Decode { key: key.to_string(), detail }.into())
    };
    let encode = |v: &EarningsCalendar| parquet_bytes(&key, v.to_batch());
    merge_object(bus, &key, decode, encode, |current| {
        let mut cal = current.unwrap_or_default();
        let mut added = 0;
        for (t, d) in dates {
            let v = cal.dates.entry(t.clone()).or_default();
            if let Err(i) = v.binary_search(d) {
                v.insert(i, *d);
                added += 1;
            }
        }
        (cal, added)
    })
    .await
}

/// Adds the sectors of names the map does not hold (a name it holds keeps its sector: an
/// operator's correction is never overwritten); returns how many were added.
pub async fn merge_sectors(bus: &Bus, new: &[(Ticker, SectorInfo)]) -> Result<usize, StoreError> {
    merge_json::<SectorMap, _>(bus, &keys::sectors(), |current| {
        let mut map = current.unwrap_or(SectorMap {
            schema_version: 1,
            source: "nightly update".into(),
            note: String::new(),
            symbols: BTreeMap::new(),
        });
        let mut added = 0;
        for (t, info) in new {
            if !map.symbols.contains_key(t) {
                map.symbols.insert(t.clone(), info.clone());
                added += 1;
            }
        }
        (map, added)
    })
    .await
}

/// Keeps the vendor's split announcements (by symbol and date); returns how many were new.
pub async fn merge_vendor_splits(bus: &Bus, new: &[VendorSplit]) -> Result<usize, StoreError> {
    merge_json::<Vec<VendorSplit>, _>(bus, &keys::vendor_splits(), |current| {
        let mut all = current.unwrap_or_default();
        let mut added = 0;
        for s in new {
            if !all.iter().any(|x| x.ticker == s.ticker && x.date == s.date) {
                all.push(s.clone());
                added += 1;
            }
        }
        all.sort_by(|a, b| a.date.cmp(&b.date).then(a.ticker.cmp(&b.ticker)));
        (all, added)
    })
    .await
}

/// Adds a macro series' new observations to its document (`keys::macro_series`, dates ascending) and
/// returns how many were new. A date already held keeps its value: the series stays what was
/// known on each day (a later revision does not rewrite the past), so features read from it are
/// point in time.
pub async fn merge_macro_series(bus: &Bus, key: &Key, new: &[(NaiveDate, f64)]) -> Result<usize, StoreError> {
    merge_json::<Vec<(NaiveDate, f64)>, _>(bus, key, |current| {
        let mut all = current.unwrap_or_default();
        let mut added = 0;
        for (d, v) in new.iter().filter(|(_, v)| v.is_finite()) {
            if let Err(i) = all.binary_search_by(|(x, _)| x.cmp(d)) {
                all.insert(i, (*d, *v));
                added += 1;
            }
        }
        (all, added)
    })
    .await
}

/// Writes a JSON document the update owns whole (freshness, macro series) when it changed.
pub async fn put_if_changed<T: Serialize + DeserializeOwned + PartialEq>(
    bus: &Bus,
    key: &Key,
    value: &T,
) -> Result<bool, StoreError> {
    let changed = merge_json::<T, _>(bus, key, |current| {
        let same = current.as_ref() == Some(value);
        (
            serde_json::from_value(serde_json::to_value(value).expect("serializes")).expect("round-trips"),
            usize::from(!same),
        )
    })
    .await?;
    Ok(changed > 0)
}
