//! Reading dated history: every document of one dated kind (signals, predictions, order books,
//! EOD reports) whose day falls in a range, in date order, each with the [`InputRef`] a consumer
//! records in its lineage. The day comes from the key ([`keys::date_of`]), so nothing but the
//! kind's own dated keys is read (`latest.json` and strays under the prefix are not). And the
//! document in force on a day ([`Bus::dated_in_force`]): the newest one dated on it or a few
//! sessions before, the fallback every consumer of a daily document uses.

use std::collections::BTreeSet;
use std::ops::RangeBounds;

use super::{Bus, BusError, Key, Loaded, keys};
use crate::calendar::TradingDay;
use crate::contracts::eod::EodReport;
use crate::contracts::order_book::OrderBook;
use crate::contracts::predictions::Predictions;
use crate::contracts::signals::Signals;
use crate::contracts::{self, Document, Problems};

/// A document kind written under one key per trading day.
pub trait DatedDocument: Document {
    /// The listing prefix that holds every dated key of the kind.
    const PREFIX: &'static str;
    /// The kind's key for `day`.
    fn key(day: TradingDay) -> Key;
}

impl DatedDocument for Signals {
    const PREFIX: &'static str = keys::prefix::SIGNALS;
    fn key(day: TradingDay) -> Key {
        keys::signals(day)
    }
}

impl DatedDocument for Predictions {
    const PREFIX: &'static str = keys::prefix::PREDICTIONS;
    fn key(day: TradingDay) -> Key {
        keys::predictions(day)
    }
}

impl DatedDocument for OrderBook {
    const PREFIX: &'static str = keys::prefix::ORDER_BOOKS;
    fn key(day: TradingDay) -> Key {
        keys::order_book(day)
    }
}

impl DatedDocument for EodReport {
    const PREFIX: &'static str = keys::prefix::EOD;
    fn key(day: TradingDay) -> Key {
        keys::eod(day)
    }
}

/// One day's document as read: the day, its key, and the document or why it could not be read
/// (one unreadable day does not hide the others; each caller decides to skip or to fail).
#[derive(Debug)]
pub struct Dated<T> {
    /// The day (from the key).
    pub day: TradingDay,
    /// The key read.
    pub key: Key,
    /// The document with its lineage reference, or the read or validation error.
    pub doc: Result<Loaded<T>, BusError>,
}

/// The daily document in force on a day: the newest stored under it or a few sessions before.
#[derive(Debug)]
pub struct InForce<T> {
    /// The day it is stored under (and dated).
    pub day: TradingDay,
    /// Trading days between that day and the day asked for.
    pub age_days: u32,
    /// The document with its lineage reference.
    pub doc: Loaded<T>,
}

/// Where [`Bus::dated_in_force`] looks for a kind's documents.
#[derive(Debug, Clone, Copy)]
pub enum Lookup<'a> {
    /// Reads each day's key in turn, newest first: one request per day looked at, the right way
    /// to find one day's document.
    Probe,
    /// Reads only the days a listing found ([`Bus::dated_days`]): a caller that needs the
    /// document in force on many days lists the kind once instead of asking for every day that
    /// has none.
    Listed(&'a BTreeSet<TradingDay>),
}

impl Lookup<'_> {
    /// Whether `day` may have a document.
    pub fn may_hold(&self, day: TradingDay) -> bool {
        match self {
            Lookup::Probe => true,
            Lookup::Listed(days) => days.contains(&day),
        }
    }
}

impl Bus {
    /// The newest `D` stored under `date` or one of the `max_age` trading days before it whose
    /// content bears the day it is stored under (`day_of` reads that date), read with `parse`.
    /// A document refused (invalid, or dated another day) is passed over with its reason in
    /// `notes`; older ones are not read. A bus failure is an error: "none" and "unreadable" are
    /// not the same answer. `lookup` says which days are read (the answer is the same either way
    /// while nothing is written to the kind).
    #[allow(clippy::too_many_arguments)]
    pub async fn dated_in_force<D: DatedDocument, T>(
        &self,
        lookup: Lookup<'_>,
        date: TradingDay,
        max_age: u32,
        parse: impl Fn(&[u8]) -> Result<T, Problems>,
        day_of: impl Fn(&T) -> TradingDay,
        notes: &mut Vec<String>,
    ) -> Result<Option<InForce<T>>, BusError> {
        for age_days in 0..=max_age {
            let Some(day) = date.offset(-i64::from(age_days)) else { break };
            if !lookup.may_hold(day) {
                continue;
            }
            let key = D::key(day);
            match self.get_with(&key, &parse).await {
                Ok(Some(doc)) if day_of(&doc.doc) == day => return Ok(Some(InForce { day, age_days, doc })),
                Ok(Some(doc)) => {
                    let why = format!("{key} refused: dated {} but stored under {day}", day_of(&doc.doc));
                    tracing::warn!("{why}");
                    notes.push(why);
                }
                Ok(None) => {}
                Err(BusError::Invalid { problems, .. }) => {
                    let why = format!("{key} refused as invalid ({} problem(s)): {problems}", problems.len());
                    tracing::warn!("{why}");
                    notes.push(why);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// The days in `range` that have a `D` document, ascending.
    pub async fn dated_days<D: DatedDocument>(
        &self,
        range: impl RangeBounds<TradingDay>,
    ) -> Result<Vec<TradingDay>, BusError> {
        let mut days: Vec<TradingDay> = self
            .list(D::PREFIX)
            .await?
            .into_iter()
            .filter_map(|m| keys::date_of(&m.key).filter(|d| D::key(*d) == m.key))
            .filter(|d| range.contains(d))
            .collect();
        days.sort_unstable();
        days.dedup();
        Ok(days)
    }

    /// Every `D` document whose day is in `range`, validated, in date order.
    pub async fn dated<D: DatedDocument>(
        &self,
        range: impl RangeBounds<TradingDay>,
    ) -> Result<Vec<Dated<D>>, BusError> {
        let days = self.dated_days::<D>(range).await?;
        Ok(self.dated_on::<D, D>(&days, contracts::parse::<D>).await)
    }

    /// The `n` latest `D` documents whose day is in `range`, validated, in date order (only those
    /// `n` are read).
    pub async fn dated_latest<D: DatedDocument>(
        &self,
        range: impl RangeBounds<TradingDay>,
        n: usize,
    ) -> Result<Vec<Dated<D>>, BusError> {
        let days = self.dated_days::<D>(range).await?;
        let latest = &days[days.len().saturating_sub(n)..];
        Ok(self.dated_on::<D, D>(latest, contracts::parse::<D>).await)
    }

    /// The `D` documents of `days` (typically from [`Bus::dated_days`]), in the order given, each
    /// read with `parse` (a lenient reader, or none but JSON). A document gone since the listing
    /// is left out.
    pub async fn dated_on<D: DatedDocument, T>(
        &self,
        days: &[TradingDay],
        parse: impl Fn(&[u8]) -> Result<T, Problems>,
    ) -> Vec<Dated<T>> {
        let mut out = Vec::with_capacity(days.len());
        for &day in days {
            let key = D::key(day);
            match self.get_with(&key, &parse).await {
                Ok(None) => {}
                Ok(Some(l)) => out.push(Dated { day, key, doc: Ok(l) }),
                Err(e) => out.push(Dated { day, key, doc: Err(e) }),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::PutMode;
    use crate::contracts::Problem;

    fn day(s: &str) -> TradingDay {
        TradingDay::parse(s).unwrap()
    }

    /// A reader that accepts any UTF-8 text and refuses the text `bad`.
    fn text(b: &[u8]) -> Result<String, Problems> {
        match std::str::from_utf8(b) {
            Ok("bad") | Err(_) => Err(Problems(vec![Problem::new("", "refused")])),
            Ok(s) => Ok(s.to_string()),
        }
    }

    #[tokio::test]
    async fn reads_only_the_kinds_dated_keys_in_range_in_date_order() {
        let dir = tempfile::tempdir().unwrap();
        let bus = Bus::file(dir.path());
        let (a, b, c) = (day("2010-03-15"), day("2010-03-16"), day("2010-03-17"));
        for (key, body) in [
            (keys::signals(c), "c"),
            (keys::signals(a), "a"),
            (keys::signals(b), "bad"),
            (keys::signals_latest(), "latest"),
            (Key::parse("signals/2010-03-18/other.json").unwrap(), "stray"),
            (keys::predictions(a), "a prediction"),
        ] {
            bus.put(&key, body.as_bytes().to_vec(), PutMode::Overwrite).await.unwrap();
        }
        assert_eq!(bus.dated_days::<Signals>(..).await.unwrap(), vec![a, b, c]);
        assert_eq!(bus.dated_days::<Signals>(a..c).await.unwrap(), vec![a, b]);
        assert_eq!(bus.dated_days::<Predictions>(..).await.unwrap(), vec![a]);

        let read = bus.dated_on::<Signals, _>(&[c, a, b], text).await;
        let days: Vec<TradingDay> = read.iter().map(|d| d.day).collect();
        assert_eq!(days, vec![c, a, b], "in the order given");
        assert_eq!(read[0].doc.as_ref().unwrap().doc, "c");
        assert_eq!(read[0].doc.as_ref().unwrap().input.key, "signals/2010-03-17/signals.json");
        assert!(matches!(read[2].doc, Err(BusError::Invalid { .. })), "one refused day is reported, not fatal");

        // A day whose object is gone since the listing is left out.
        let read = bus.dated_on::<Signals, _>(&[day("2010-03-19"), a], text).await;
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].day, a);
    }

    #[tokio::test]
    async fn the_document_in_force_is_the_newest_valid_one_that_bears_its_own_day() {
        let dir = tempfile::tempdir().unwrap();
        let bus = Bus::file(dir.path());
        // Each body is the date it claims; "bad" is refused by the reader.
        let put = |d: &str, body: &str| {
            let (bus, key, body) = (bus.clone(), keys::signals(day(d)), body.to_string());
            async move { bus.put(&key, body.into_bytes(), PutMode::Overwrite).await.unwrap() }
        };
        put("2010-03-10", "2010-03-10").await;
        put("2010-03-12", "2010-03-12").await;
        put("2010-03-15", "bad").await;
        put("2010-03-16", "2010-03-11").await; // misdated
        let claimed = |s: &String| day(s);
        let dated = |b: &[u8]| text(b).and_then(|s| TradingDay::parse(&s).map(|_| s).map_err(|_| Problems(vec![])));
        let listed: BTreeSet<TradingDay> = bus.dated_days::<Signals>(..).await.unwrap().into_iter().collect();
        for lookup in [Lookup::Probe, Lookup::Listed(&listed)] {
            let mut notes = Vec::new();
            let got = bus.dated_in_force::<Signals, _>(lookup, day("2010-03-17"), 5, dated, claimed, &mut notes);
            let got = got.await.unwrap().unwrap();
            assert_eq!((got.day, got.age_days, got.doc.doc.as_str()), (day("2010-03-12"), 3, "2010-03-12"));
            assert_eq!(got.doc.input.key, "signals/2010-03-12/signals.json");
            assert_eq!(notes.len(), 2, "{lookup:?}: {notes:?}");
            assert!(notes[0].contains("dated 2010-03-11 but stored under 2010-03-16"), "{notes:?}");
            assert!(notes[1].contains("2010-03-15") && notes[1].contains("invalid"), "{notes:?}");
            // Too old to be in force: not even read.
            let mut notes = Vec::new();
            let none = bus.dated_in_force::<Signals, _>(lookup, day("2010-03-19"), 2, dated, claimed, &mut notes);
            let none = none.await.unwrap();
            assert!(none.is_none() && notes.is_empty(), "{notes:?}");
        }
        // A listing reads only the days it found: a document written after it is not seen.
        put("2010-03-17", "2010-03-17").await;
        let mut notes = Vec::new();
        let got =
            bus.dated_in_force::<Signals, _>(Lookup::Listed(&listed), day("2010-03-17"), 5, dated, claimed, &mut notes);
        assert_eq!(got.await.unwrap().unwrap().day, day("2010-03-12"));
        let got = bus.dated_in_force::<Signals, _>(Lookup::Probe, day("2010-03-17"), 5, dated, claimed, &mut notes);
        assert_eq!(got.await.unwrap().unwrap().day, day("2010-03-17"));
    }
}
