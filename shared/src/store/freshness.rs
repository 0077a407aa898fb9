//! How fresh each datum is (`prices/freshness.json`, written by every nightly update): its last
//! date, its source, the last problem, and its bound in sessions. A stale datum blocks the jobs
//! that need it, with an alert that names it (`alpha-engine data status` shows the table).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::bus::{Bus, BusError, keys};
use crate::calendar::TradingDay;

/// One datum's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Datum {
    /// The newest date it covers (a session for bars, the latest announcement for dividends, ...).
    pub last: Option<NaiveDate>,
    /// Where it came from last (a provider, the fallback, the import).
    pub source: String,
    /// When the update last looked.
    pub checked_at: DateTime<Utc>,
    /// Stale once more than this many sessions old.
    pub bound_sessions: u32,
    /// What went wrong the last time, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Items that failed on their own (tickers, series) while the rest went through.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_items: Vec<String>,
}

impl Datum {
    /// Sessions between its last date and `today` (`None`: never fetched).
    pub fn age_sessions(&self, today: TradingDay) -> Option<i64> {
        let last = self.last?;
        let last = TradingDay::on_or_before(last)?;
        Some(last.days_until(today).max(0))
    }

    /// Older than its bound on `today` (never fetched counts as stale).
    pub fn is_stale(&self, today: TradingDay) -> bool {
        self.age_sessions(today).is_none_or(|a| a > self.bound_sessions as i64)
    }
}

/// The freshness document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Freshness {
    /// Format version.
    pub schema_version: u32,
    /// The session of the last update.
    pub as_of: Option<TradingDay>,
    /// By datum name (`bars`, `benchmark`, `dividends`, `splits`, `earnings`, `sectors`,
    /// `universe`, `macro:{series}`).
    pub data: BTreeMap<String, Datum>,
}

/// A datum too old for a job that needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stale {
    /// The datum.
    pub name: String,
    /// Its last date.
    pub last: Option<NaiveDate>,
    /// Its age in sessions.
    pub age: Option<i64>,
    /// Its bound.
    pub bound: u32,
}

impl std::fmt::Display for Stale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.last, self.age) {
            (Some(l), Some(a)) => {
                write!(f, "{} is stale: last {l}, {a} session(s) old, bound {}", self.name, self.bound)
            }
            _ => write!(f, "{} was never fetched", self.name),
        }
    }
}

impl Freshness {
    /// The data among `needs` that are stale on `today` (a datum the store does not track is not
    /// stale: the embedded import tracks none).
    pub fn stale(&self, needs: &[&str], today: TradingDay) -> Vec<Stale> {
        needs
            .iter()
            .filter_map(|n| {
                let d = self.data.get(*n)?;
                d.is_stale(today).then(|| Stale {
                    name: n.to_string(),
                    last: d.last,
                    age: d.age_sessions(today),
                    bound: d.bound_sessions,
                })
            })
            .collect()
    }
}

/// The data among `needs` that are stale on `today`. Empty when no nightly update has ever run:
/// a store brought by `data import` alone (a replay) has no freshness to judge.
pub async fn stale_for(bus: &Bus, needs: &[&str], today: TradingDay) -> Result<Vec<Stale>, BusError> {
    Ok(load_freshness(bus).await?.stale(needs, today))
}

/// What a job that refuses to run on stale data says: each datum, and what to do.
pub fn refusal(job: &str, stale: &[Stale]) -> String {
    let list: Vec<String> = stale.iter().map(ToString::to_string).collect();
    format!(
        "{job} needs fresh data: {}; run `alpha-engine data update` (see `alpha-engine data status`)",
        list.join("; ")
    )
}

/// The freshness on the bus (empty when no update ran yet).
pub async fn load_freshness(bus: &Bus) -> Result<Freshness, BusError> {
    Ok(bus.get_json::<Freshness>(&keys::freshness()).await?.map(|(f, _)| f).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_datum_is_stale_past_its_bound_in_sessions() {
        let day = |s| TradingDay::parse(s).unwrap();
        let datum = |last: Option<&str>, bound| Datum {
            last: last.map(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()),
            source: "t".into(),
            checked_at: DateTime::<Utc>::default(),
            bound_sessions: bound,
            problem: None,
            failed_items: vec![],
        };
        let f = Freshness {
            schema_version: 1,
            as_of: None,
            data: [
                ("bars".to_string(), datum(Some("2010-06-11"), 1)),
                ("earnings".to_string(), datum(Some("2010-06-04"), 10)),
                ("macro:DGS10".to_string(), datum(None, 5)),
            ]
            .into(),
        };
        // Monday: Friday's bars are one session old.
        assert!(f.stale(&["bars", "earnings"], day("2010-06-14")).is_empty());
        let s = f.stale(&["bars", "earnings", "macro:DGS10", "untracked"], day("2010-06-16"));
        assert_eq!(s.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(), ["bars", "macro:DGS10"]);
        assert!(s[0].to_string().contains("3 session(s) old"), "{}", s[0]);
    }
}
