//! A longer history for the benchmark: the dated documents of a bus replicated back in time, so a
//! one-year bus (the demo's) becomes `years` years ending on its last day. Every date inside a
//! copied document and its key moves by the same number of sessions, so the copies read as real
//! documents (ids, lineage keys and stops stay consistent). Undated objects are copied once.

use std::collections::HashMap;

use ae_shared::TradingDay;
use ae_shared::bus::{Bus, BusError, Key, PutMode, keys};

/// The prefixes replicated (what the pages read).
const PREFIXES: [&str; 15] = [
    "executor/",
    "risk/",
    "signals/",
    "predictor/",
    "backtest/",
    "config/",
    "alerts/",
    "research/archive/",
    "prices/manifest.json",
    "prices/sectors.json",
    "prices/bars/",
    "prices/benchmark.parquet",
    "prices/earnings.parquet",
    "prices/splits.json",
    "prices/quality.json",
];

/// Rewrites every `YYYY-MM-DD` in `text` found in `map`.
pub fn shift_dates(text: &str, map: &HashMap<String, String>) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let is_date = |s: &[u8]| {
        s.len() == 10
            && s[4] == b'-'
            && s[7] == b'-'
            && s.iter().enumerate().all(|(k, c)| k == 4 || k == 7 || c.is_ascii_digit())
    };
    while i < b.len() {
        if i + 10 <= b.len() && is_date(&b[i..i + 10]) && (i == 0 || !b[i - 1].is_ascii_digit()) {
            let d = &text[i..i + 10];
            out.push_str(map.get(d).map(String::as_str).unwrap_or(d));
            i += 10;
        } else {
            // Copy one whole character (the text is UTF-8).
            let ch = text[i..].chars().next().unwrap_or('\0');
            out.push(ch);
            i += ch.len_utf8().max(1);
        }
    }
    out
}

/// Copies `src` into `dst` as `years` years of history ending on the last EOD of `src`; returns
/// the number of objects written.
pub async fn replicate(src: &Bus, dst: &Bus, years: usize) -> Result<usize, BusError> {
    let mut listing = Vec::new();
    for p in PREFIXES {
        listing.extend(src.list(p).await?);
    }
    let eod_days: Vec<TradingDay> = listing
        .iter()
        .filter(|m| m.key.as_str().starts_with(keys::prefix::EOD))
        .filter_map(|m| keys::date_of(&m.key))
        .collect();
    let (Some(first), Some(last)) = (eod_days.iter().min().copied(), eod_days.iter().max().copied()) else {
        return Ok(0);
    };
    // Every session from a year before the first EOD (the data the jobs looked back on) to the
    // last one moves, so documents that mention earlier days stay consistent.
    let lead = first.offset(-260).unwrap_or(first);
    let days: Vec<TradingDay> = ae_shared::calendar::trading_days_between(lead.date(), last.date()).collect();
    let span = first.days_until(last) + 1;
    let mut written = 0;
    for m in &listing {
        let Some(obj) = src.get(&m.key).await? else { continue };
        let dated = keys::date_of(&m.key).is_some_and(|d| d >= first);
        let copies = if dated { years.max(1) } else { 1 };
        for k in 0..copies {
            let back = span * (copies - 1 - k) as i64;
            let (key, bytes) = if back == 0 {
                (m.key.clone(), obj.bytes.to_vec())
            } else {
                let map: HashMap<String, String> =
                    days.iter().filter_map(|d| Some((d.to_string(), d.offset(-back)?.to_string()))).collect();
                let key =
                    Key::parse(&shift_dates(m.key.as_str(), &map)).map_err(|e| BusError::Config(e.to_string()))?;
                let bytes = match std::str::from_utf8(&obj.bytes) {
                    Ok(t) => shift_dates(t, &map).into_bytes(),
                    Err(_) => obj.bytes.to_vec(),
                };
                (key, bytes)
            };
            dst.put(&key, bytes, PutMode::Overwrite).await?;
            written += 1;
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_move_wherever_they_appear_and_nothing_else_does() {
        let map: HashMap<String, String> = [("2010-03-01", "2006-03-02"), ("2010-03-02", "2006-03-03")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let cases = [
            ("executor/eod/2010-03-01.json", "executor/eod/2006-03-02.json"),
            (
                r#"{"id":"2010-03-02:DRI:REDUCE","at":"2010-03-01T14:30:00Z"}"#,
                r#"{"id":"2006-03-03:DRI:REDUCE","at":"2006-03-02T14:30:00Z"}"#,
            ),
            (
                "2010-03-05 stays, 12010-03-01 is not a date, é 2010-03-01",
                "2010-03-05 stays, 12010-03-01 is not a date, é 2006-03-02",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(shift_dates(text, &map), want);
        }
    }
}
