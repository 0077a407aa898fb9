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
