//! Reading dated history: every document of one dated kind (signals, predictions, order books,
//! EOD reports) whose day falls in a range, in date order, each with the [`InputRef`] a consumer
//! records in its lineage. The day comes from the key ([`keys::date_of`]), so nothing but the
//! kind's own dated keys is read (`latest.json` and strays under the prefix are not).

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

impl Bus {
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
}
