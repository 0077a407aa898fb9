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

/// Read-merge-write of a JSON object: `merge` changes the value (from `None` when absent) and
/// says how many items it added or changed; nothing is written when that is 0.
async fn merge_json<T, F>(bus: &Bus, key: &Key, mut merge: F) -> Result<usize, StoreError>
where
    T: Serialize + DeserializeOwned,
    F: FnMut(Option<T>) -> (T, usize),
{
    for _ in 0..ATTEMPTS {
        let current = bus.get(key).await?;
        let (value, mode) = match &current {
            Some(obj) => (
                Some(
                    serde_json::from_slice::<T>(&obj.bytes)
                        .map_err(|e| BusError::Decode { key: key.to_string(), detail: e.to_string() })?,
                ),
                obj.etag.clone().map(PutMode::IfMatch).unwrap_or(PutMode::Overwrite),
            ),
            None => (None, PutMode::IfAbsent),
        };
        let (next, changed) = merge(value);
        if changed == 0 {
            return Ok(0);
        }
        let bytes = serde_json::to_vec_pretty(&next).expect("a store document serializes");
        match bus.put(key, bytes, mode).await {
            Ok(_) => return Ok(changed),
            Err(BusError::PreconditionFailed { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(BusError::PreconditionFailed { key: key.to_string() }.into())
}

/// Adds (or corrects) the benchmark ETF's bars of `symbol`; returns how many changed.
pub async fn merge_benchmark_etf(bus: &Bus, symbol: &Ticker, bars: &[Bar]) -> Result<usize, StoreError> {
    let key = keys::benchmark_etf();
    for _ in 0..ATTEMPTS {
        let current = bus.get(&key).await?;
        let (existing, mode) = match &current {
            Some(obj) => {
                let batches = crate::parquet_io::decode(obj.bytes.clone())
                    .map_err(|e| BusError::Decode { key: key.to_string(), detail: e })?;
                let bars = DailyBars::from_record_batches(&batches)
                    .map_err(|source| StoreError::Bars { key: key.to_string(), source })?;
                (bars, obj.etag.clone().map(PutMode::IfMatch).unwrap_or(PutMode::Overwrite))
            }
            None => (DailyBars::default(), PutMode::IfAbsent),
        };
        let mut by_date: BTreeMap<_, Bar> = existing
            .get(symbol.as_str())
            .map(|s| (0..s.dates.len()).map(|i| (s.dates[i], s.bar(i))).collect())
            .unwrap_or_default();
        let mut changed = 0;
        for b in bars {
            if by_date.get(&b.date) != Some(b) {
                by_date.insert(b.date, *b);
                changed += 1;
            }
        }
        if changed == 0 {
            return Ok(0);
        }
        let (merged, _) = DailyBars::from_rows(by_date.into_values().map(|b| (symbol.clone(), b)).collect());
        let bytes = crate::parquet_io::encode(&[merged.to_record_batch()])
            .map_err(|detail| BusError::Decode { key: key.to_string(), detail })?;
        match bus.put(&key, bytes, mode).await {
            Ok(_) => return Ok(changed),
            Err(BusError::PreconditionFailed { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(BusError::PreconditionFailed { key: key.to_string() }.into())
}

/// Adds earnings dates to the calendar; returns how many were new.
pub async fn merge_earnings(bus: &Bus, dates: &[(Ticker, NaiveDate)]) -> Result<usize, StoreError> {
    let key = keys::earnings();
    for _ in 0..ATTEMPTS {
        let current = bus.get(&key).await?;
        let (mut cal, mode) = match &current {
            Some(obj) => {
                let batches = crate::parquet_io::decode(obj.bytes.clone())
                    .map_err(|e| BusError::Decode { key: key.to_string(), detail: e })?;
                let cal = EarningsCalendar::from_batches(&batches)
                    .map_err(|detail| BusError::Decode { key: key.to_string(), detail })?;
                (cal, obj.etag.clone().map(PutMode::IfMatch).unwrap_or(PutMode::Overwrite))
            }
            None => (EarningsCalendar::default(), PutMode::IfAbsent),
        };
        let mut added = 0;
        for (t, d) in dates {
            let v = cal.dates.entry(t.clone()).or_default();
            if let Err(i) = v.binary_search(d) {
                v.insert(i, *d);
                added += 1;
            }
        }
        if added == 0 {
            return Ok(0);
        }
        let bytes = crate::parquet_io::encode(&[cal.to_batch()])
            .map_err(|detail| BusError::Decode { key: key.to_string(), detail })?;
        match bus.put(&key, bytes, mode).await {
            Ok(_) => return Ok(added),
            Err(BusError::PreconditionFailed { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(BusError::PreconditionFailed { key: key.to_string() }.into())
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
