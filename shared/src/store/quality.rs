//! Data quality per symbol and the governance status that decides whether a symbol may be used.
//!
//! For each symbol, over its bars up to `as_of` (so a backtest can ask "as of day t" without
//! look-ahead), we count missing sessions between its first and last bar (against the sessions
//! the store holds; sessions the whole store lacks are reported once, as calendar gaps),
//! duplicate rows, non-positive prices, OHLC-inconsistent rows (low above open/close or high below
//! them), unexplained spikes (close-to-close moves beyond the threshold on split-adjusted prices),
//! and whether it stopped trading. The score is
//!
//! `1 − (w_missing·missing_share + w_dup·dup_share + w_nonpos·[any ≤ 0] + w_spike·[any spike]
//!      + w_ohlc·min(1, 10·ohlc_bad_share) + w_stale·[stopped])`, clamped to 0..1,
//!
//! and governance is QUARANTINED (too little history, score below the quarantine floor,
//! non-positive prices, stopped trading), DEGRADED (short history, score below the minimum, too many
//! OHLC defects, an unexplained spike within `spike_lookback_days`), or ACTIVE. Only ACTIVE symbols reach features and orders.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::bars::{BarSeries, DailyBars};
use super::splits::Split;
use crate::calendar::TradingDay;
use crate::config::{GovernanceConfig, QualityConfig};
use crate::types::Ticker;

/// Governance status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// Usable.
    Active,
    /// Kept and reported, but not traded or predicted.
    Degraded,
    /// Unusable.
    Quarantined,
}

/// An OHLC-inconsistent row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OhlcIssue {
    /// Session.
    pub date: TradingDay,
    /// The prices.
    pub detail: String,
}

/// An unexplained large move.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spike {
    /// Session.
    pub date: TradingDay,
    /// Close-to-close change (split-adjusted).
    pub change: f64,
}

/// One symbol's assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolQuality {
    /// Symbol.
    pub ticker: Ticker,
    /// Bars up to `as_of`.
    pub rows: u32,
    /// First bar.
    pub first: TradingDay,
    /// Last bar.
    pub last: TradingDay,
    /// Sessions between first and last bar.
    pub expected_sessions: u32,
    /// Sessions without a bar between first and last.
    pub missing_sessions: u32,
    /// Duplicate rows dropped at import.
    pub duplicate_rows: u32,
    /// Rows with a price ≤ 0.
    pub nonpositive_rows: u32,
    /// OHLC-inconsistent rows.
    pub ohlc_issues: Vec<OhlcIssue>,
    /// Unexplained spikes.
    pub spikes: Vec<Spike>,
    /// Splits found (and adjusted for).
    pub splits: Vec<String>,
    /// Stopped trading: its last bar is well before `as_of`.
    pub stopped_trading: bool,
    /// Score 0..1.
    pub score: f64,
    /// Governance status.
    pub status: Status,
    /// Reason codes with their numbers.
    pub reasons: Vec<String>,
}

/// The quality report for a whole store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityReport {
    /// Report format version.
    pub schema_version: u32,
    /// Assessed with bars up to this day.
    pub as_of: TradingDay,
    /// NYSE sessions between the store's first bar and `as_of` for which no symbol has a bar.
    pub calendar_gaps: Vec<TradingDay>,
    /// Per symbol, by ticker.
    pub symbols: Vec<SymbolQuality>,
}

/// Reason codes that are about history length, not data defects.
pub const HISTORY_CODES: [&str; 2] = ["INSUFFICIENT_HISTORY", "SHORT_HISTORY"];
/// Reason codes that are notes, not governance findings.
pub const NOTE_CODES: [&str; 4] = ["MISSING_SESSIONS", "DUPLICATES", "OHLC_MINOR", "SPIKE_HISTORIC"];

impl SymbolQuality {
    /// The code of each reason (`STOPPED_TRADING`, ...).
    pub fn codes(&self) -> impl Iterator<Item = &str> {
        self.reasons.iter().map(|r| r.split(':').next().unwrap_or(r.as_str()))
    }

    /// Reasons that make the data unusable whatever the history length: defects, staleness,
    /// spikes. A consumer that handles short histories itself (research computes each factor
    /// only where its window exists) excludes a symbol only for these.
    pub fn defects(&self) -> Vec<&str> {
        let quarantined_or_degraded = self.status != Status::Active;
        self.reasons
            .iter()
            .filter(|r| {
                let code = r.split(':').next().unwrap_or(r);
                quarantined_or_degraded && !HISTORY_CODES.contains(&code) && !NOTE_CODES.contains(&code)
            })
            .map(String::as_str)
            .collect()
    }
}

impl QualityReport {
    /// Symbols with `status`.
    pub fn with_status(&self, status: Status) -> impl Iterator<Item = &SymbolQuality> {
        self.symbols.iter().filter(move |s| s.status == status)
    }

    /// The assessment of `ticker`.
    pub fn get(&self, ticker: &str) -> Option<&SymbolQuality> {
        self.symbols.binary_search_by(|s| s.ticker.as_str().cmp(ticker)).ok().map(|i| &self.symbols[i])
    }

    /// Status of `ticker` (unknown symbols are quarantined).
    pub fn status(&self, ticker: &str) -> Status {
        self.get(ticker).map(|s| s.status).unwrap_or(Status::Quarantined)
    }

    /// Counts per status.
    pub fn counts(&self) -> BTreeMap<Status, usize> {
        let mut m = BTreeMap::new();
        for s in &self.symbols {
            *m.entry(s.status).or_insert(0) += 1;
        }
        m
    }

    /// Total OHLC-inconsistent rows.
    pub fn ohlc_bad_rows(&self) -> usize {
        self.symbols.iter().map(|s| s.ohlc_issues.len()).sum()
    }
}

/// Assesses every symbol of `raw` (unadjusted bars) as of `as_of`.
/// `adjusted` are the same bars split-adjusted (for spike detection), `duplicates` the rows
/// dropped at import, `splits` what was detected.
pub fn assess(
    raw: &DailyBars,
    adjusted: &DailyBars,
    duplicates: &BTreeMap<Ticker, u32>,
    splits: &[Split],
    as_of: TradingDay,
    q: &QualityConfig,
    g: &GovernanceConfig,
) -> QualityReport {
    let sessions = sessions_up_to(&raw.dates, as_of);
    let calendar_gaps = match sessions.first() {
        Some(first) => crate::calendar::trading_days_between(first.date(), as_of.date())
            .filter(|d| sessions.binary_search(d).is_err())
            .collect(),
        None => Vec::new(),
    };
    let mut symbols = Vec::with_capacity(raw.n_tickers());
    for (i, s) in raw.iter().enumerate() {
        let n = s.dates.partition_point(|d| *d <= as_of);
        if n == 0 {
            continue;
        }
        let adj = adjusted.series(i);
        debug_assert_eq!(adj.ticker, s.ticker);
        let sym_splits: Vec<String> = splits
            .iter()
            .filter(|x| x.ticker == *s.ticker && x.date <= as_of)
            .map(|x| format!("{} {}", x.date, x.label))
            .collect();
        let held = Held {
            sessions: &sessions,
            duplicate_rows: duplicates.get(s.ticker).copied().unwrap_or(0),
            splits: sym_splits,
        };
        symbols.push(assess_one(&s, &adj, n, held, as_of, q, g));
    }
    QualityReport { schema_version: 1, as_of, calendar_gaps, symbols }
}

/// The distinct sessions among `dates` up to `as_of`, ascending: marked on a day-by-day span
/// instead of sorted, since a window holds hundreds of sessions and up to millions of bars.
fn sessions_up_to(dates: &[TradingDay], as_of: TradingDay) -> Vec<TradingDay> {
    let ordinal = |d: &TradingDay| i64::from(chrono::Datelike::num_days_from_ce(&d.date()));
    let held = dates.iter().filter(|d| **d <= as_of);
    let Some(first) = held.clone().min() else { return Vec::new() };
    let last = held.clone().max().unwrap_or(first);
    let base = ordinal(first);
    let mut seen: Vec<Option<TradingDay>> = vec![None; (ordinal(last) - base + 1) as usize];
    for d in held {
        seen[(ordinal(d) - base) as usize] = Some(*d);
    }
    seen.into_iter().flatten().collect()
}

/// What the store knows beyond one symbol's bars.
struct Held<'a> {
    /// Sessions present in the store up to `as_of`, ascending.
    sessions: &'a [TradingDay],
    duplicate_rows: u32,
    splits: Vec<String>,
}

fn sessions_in(sessions: &[TradingDay], after: TradingDay, up_to: TradingDay) -> usize {
    sessions.partition_point(|d| *d <= up_to) - sessions.partition_point(|d| *d <= after)
}

fn assess_one(
    s: &BarSeries<'_>,
    adj: &BarSeries<'_>,
    n: usize,
    held: Held<'_>,
    as_of: TradingDay,
    q: &QualityConfig,
    g: &GovernanceConfig,
) -> SymbolQuality {
    let Held { sessions, duplicate_rows, splits } = held;
    let first = s.dates[0];
    let last = s.dates[n - 1];
    let expected = sessions_in(sessions, first.prev(), last) as u32;
    let missing = expected.saturating_sub(n as u32);
    let mut nonpositive = 0u32;
    let mut ohlc_issues = Vec::new();
    for r in 0..n {
        let (o, h, l, c) = (s.open[r], s.high[r], s.low[r], s.close[r]);
        if o <= 0.0
            || h <= 0.0
            || l <= 0.0
            || c <= 0.0
            || !(o.is_finite() && h.is_finite() && l.is_finite() && c.is_finite())
        {
            nonpositive += 1;
            continue;
        }
        if l > o.min(c) || h < o.max(c) || l > h {
            ohlc_issues.push(OhlcIssue { date: s.dates[r], detail: format!("open {o} high {h} low {l} close {c}") });
        }
    }
    let mut spikes = Vec::new();
    for r in 1..n {
        let (p, c) = (adj.close[r - 1], adj.close[r]);
        if p > 0.0 && c > 0.0 {
            let change = c / p - 1.0;
            if change.abs() > q.spike_threshold {
                spikes.push(Spike { date: adj.dates[r], change });
            }
        }
    }
    let sessions_since_last = sessions_in(sessions, last, as_of);
    let stopped = sessions_since_last > q.stale_after_days as usize;

    let missing_share = missing as f64 / expected.max(1) as f64;
    let dup_share = duplicate_rows as f64 / (n as f64 + duplicate_rows as f64);
    let ohlc_share = ohlc_issues.len() as f64 / n as f64;
    let penalty = q.missing_weight.get() * missing_share
        + q.duplicate_weight.get() * dup_share
        + q.nonpositive_weight.get() * f64::from(nonpositive > 0)
        + q.spike_weight.get() * f64::from(!spikes.is_empty())
        + q.ohlc_weight.get() * (10.0 * ohlc_share).min(1.0)
        + q.stale_weight.get() * f64::from(stopped);
    let score = (1.0 - penalty).clamp(0.0, 1.0);

    let mut quarantine = Vec::new();
    let mut degrade = Vec::new();
    let mut notes = Vec::new();
    if (n as u32) < g.min_rows_degraded {
        quarantine.push(format!("INSUFFICIENT_HISTORY: {n} bars < {}", g.min_rows_degraded));
    } else if (n as u32) < g.min_rows_active {
        degrade.push(format!("SHORT_HISTORY: {n} bars < {}", g.min_rows_active));
    }
    if nonpositive > 0 {
        quarantine.push(format!("NONPOSITIVE_PRICE: {nonpositive} row(s)"));
    }
    if stopped {
        quarantine.push(format!("STOPPED_TRADING: last bar {last}, {sessions_since_last} sessions before {as_of}"));
    }
    if score < q.quarantine_score.get() {
        quarantine.push(format!("DQ_BELOW_FLOOR: score {score:.3} < {}", q.quarantine_score));
    } else if score < q.min_score.get() {
        degrade.push(format!("DQ_BELOW_MIN: score {score:.3} < {}", q.min_score));
    }
    if ohlc_issues.len() as u32 > g.max_ohlc_bad_rows_active {
        let dates: Vec<String> = ohlc_issues.iter().map(|o| o.date.to_string()).collect();
        degrade.push(format!("OHLC_INCONSISTENT: {} row(s) ({})", ohlc_issues.len(), dates.join(", ")));
    }
    for sp in &spikes {
        let age = sessions_in(sessions, sp.date, as_of);
        if age < q.spike_lookback_days as usize {
            degrade.push(format!("EXTREME_SPIKE: {} {:+.1}% with no split to explain it", sp.date, sp.change * 100.0));
        } else {
            notes.push(format!("SPIKE_HISTORIC: {} {:+.1}%, {age} sessions ago", sp.date, sp.change * 100.0));
        }
    }
    if missing > 0 {
        notes.push(format!("MISSING_SESSIONS: {missing} of {expected}"));
    }
    if duplicate_rows > 0 {
        notes.push(format!("DUPLICATES: {duplicate_rows} row(s) dropped"));
    }
    if !ohlc_issues.is_empty() && ohlc_issues.len() as u32 <= g.max_ohlc_bad_rows_active {
        notes.push(format!("OHLC_MINOR: {} inconsistent row(s), within tolerance", ohlc_issues.len()));
    }
    let status = if !quarantine.is_empty() {
        Status::Quarantined
    } else if !degrade.is_empty() {
        Status::Degraded
    } else {
        Status::Active
    };
    let mut reasons = quarantine;
    reasons.extend(degrade);
    reasons.extend(notes);
    SymbolQuality {
        ticker: s.ticker.clone(),
        rows: n as u32,
        first,
        last,
        expected_sessions: expected,
        missing_sessions: missing,
        duplicate_rows,
        nonpositive_rows: nonpositive,
        ohlc_issues,
        spikes,
        splits,
        stopped_trading: stopped,
        score,
        status,
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn distinct_sessions_equal_the_sorted_and_deduplicated_dates(
            offsets in proptest::collection::vec(0i64..600, 0..400), cut in 0i64..600
        ) {
            let start = TradingDay::parse("2009-01-02").unwrap();
            let dates: Vec<TradingDay> = offsets.iter().map(|k| start.offset(*k).unwrap()).collect();
            let as_of = start.offset(cut).unwrap();
            let mut want: Vec<TradingDay> = dates.iter().copied().filter(|d| *d <= as_of).collect();
            want.sort_unstable();
            want.dedup();
            proptest::prop_assert_eq!(sessions_up_to(&dates, as_of), want);
        }
    }
}
