//! The tradable universe (`prices/universe.json`): the S&P 500 and S&P 400 members, with every
//! addition and removal and its effective date. The import starts it from the symbols trading on
//! its last session; each nightly update applies the index provider's changes effective by then.
//! A name that enters gets its bars (history included) from the next update on; a held name that
//! leaves is an urgent exit for the planner.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::bus::{Bus, BusError, PutMode, keys};
use crate::types::Ticker;

/// Which index a member belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Index {
    /// The S&P 500.
    Sp500,
    /// The S&P MidCap 400.
    Sp400,
    /// Imported with the user's data, before any index feed (every symbol trading then).
    Imported,
}

/// A member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// Its index.
    pub index: Index,
    /// Member since (the effective date of its addition, or the import's first session).
    pub since: NaiveDate,
}

/// One change of an index, as the provider reports it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IndexChange {
    /// Effective date.
    pub date: NaiveDate,
    /// The index.
    pub index: Index,
    /// The symbol added, if any.
    pub added: Option<Ticker>,
    /// The symbol removed, if any.
    pub removed: Option<Ticker>,
    /// Why (the provider's words).
    pub reason: String,
}

/// The universe document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Universe {
    /// Format version.
    pub schema_version: u32,
    /// Changes are applied up to this date.
    pub as_of: NaiveDate,
    /// Members now.
    pub members: BTreeMap<Ticker, Member>,
    /// Every change applied, oldest first.
    pub history: Vec<IndexChange>,
}

/// What applying changes did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    /// Names that entered.
    pub added: Vec<Ticker>,
    /// Names that left.
    pub removed: Vec<Ticker>,
}

impl Universe {
    /// A universe of `tickers`, members since `since` (the import's view, before any index feed).
    pub fn imported(tickers: impl IntoIterator<Item = Ticker>, since: NaiveDate, as_of: NaiveDate) -> Self {
        Self {
            schema_version: 1,
            as_of,
            members: tickers.into_iter().map(|t| (t, Member { index: Index::Imported, since })).collect(),
            history: Vec::new(),
        }
    }

    /// Applies the changes effective after `as_of` and up to `until` (each once: a change already
    /// in the history is skipped), in date order; moves `as_of` to `until`.
    pub fn apply(&mut self, changes: &[IndexChange], until: NaiveDate) -> Applied {
        let mut out = Applied::default();
        let mut todo: Vec<&IndexChange> =
            changes.iter().filter(|c| c.date <= until && !self.history.contains(c)).collect();
        todo.sort();
        for c in todo {
            if let Some(t) = &c.removed
                && self.members.get(t).is_some_and(|m| m.index == c.index || m.index == Index::Imported)
            {
                self.members.remove(t);
                out.removed.push(t.clone());
            }
            if let Some(t) = &c.added
                && !self.members.contains_key(t)
            {
                self.members.insert(t.clone(), Member { index: c.index, since: c.date });
                out.added.push(t.clone());
            }
            self.history.push(c.clone());
        }
        self.as_of = self.as_of.max(until);
        out
    }

    /// Whether `t` is a member.
    pub fn contains(&self, t: &Ticker) -> bool {
        self.members.contains_key(t)
    }

    /// Members, as a set.
    pub fn tickers(&self) -> BTreeSet<Ticker> {
        self.members.keys().cloned().collect()
    }

    /// Names that left on or before `date` and are not members now, with when and why.
    pub fn removals_through(&self, date: NaiveDate) -> Vec<&IndexChange> {
        self.history
            .iter()
            .filter(|c| c.date <= date && c.removed.as_ref().is_some_and(|t| !self.contains(t)))
            .collect()
    }
}

/// The universe on the bus, if there is one.
pub async fn load_universe(bus: &Bus) -> Result<Option<Universe>, BusError> {
    Ok(bus.get_json::<Universe>(&keys::universe()).await?.map(|(u, _)| u))
}

/// Writes the universe (conditionally on the version `etag` read, or absent).
pub async fn put_universe(bus: &Bus, u: &Universe, etag: Option<String>) -> Result<(), BusError> {
    let bytes = serde_json::to_vec_pretty(u).expect("the universe serializes");
    let mode = etag.map(PutMode::IfMatch).unwrap_or(PutMode::IfAbsent);
    bus.put(&keys::universe(), bytes, mode).await.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn t(s: &str) -> Ticker {
        Ticker::new(s).unwrap()
    }

    #[test]
    fn changes_apply_once_in_date_order_up_to_the_day() {
        let mut u = Universe::imported([t("AAA"), t("BBB")], d("2010-01-04"), d("2010-06-01"));
        let changes = vec![
            IndexChange {
                date: d("2010-06-10"),
                index: Index::Sp500,
                added: Some(t("CCC")),
                removed: Some(t("BBB")),
                reason: "swap".into(),
            },
            IndexChange {
                date: d("2010-06-20"),
                index: Index::Sp500,
                added: Some(t("DDD")),
                removed: None,
                reason: "later".into(),
            },
        ];
        let a = u.apply(&changes, d("2010-06-15"));
        assert_eq!((a.added, a.removed), (vec![t("CCC")], vec![t("BBB")]));
        assert!(!u.contains(&t("DDD")), "a change after the day waits");
        assert_eq!(u.apply(&changes, d("2010-06-15")), Applied::default(), "applied once");
        assert_eq!(u.removals_through(d("2010-06-15")).len(), 1);
        u.apply(&changes, d("2010-06-30"));
        assert!(u.contains(&t("DDD")) && u.as_of == d("2010-06-30"));
    }
}
