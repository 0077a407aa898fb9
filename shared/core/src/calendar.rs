//! The NYSE calendar: which days trade, when sessions open and close, and [`TradingDay`] arithmetic.
//!
//! Holidays and early closes come from the rule-based `usec` crate (New Year, MLK, Presidents, Good
//! Friday, Memorial, Juneteenth from 2022, Independence, Labor, Thanksgiving, Christmas, with the
//! half-day rules around them). On top of those rules sit the *unscheduled* closures the rules cannot
//! know (national days of mourning, 9/11, Hurricane Sandy), listed in [`SPECIAL_CLOSURES`]. The result
//! is checked against twenty years of real S&P 500 index sessions in the tests.
//!
//! The calendar covers [`FIRST_YEAR`]..=[`LAST_YEAR`]; a date outside it is refused rather than guessed.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::America::New_York;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use usec::calendar::{Holiday, UsExchangeCalendar};

use crate::types::TypeError;

/// First year the calendar covers.
pub const FIRST_YEAR: i32 = 1995;
/// Last year the calendar covers.
pub const LAST_YEAR: i32 = 2050;

/// Full-day closures that no holiday rule predicts.
pub const SPECIAL_CLOSURES: &[(i32, u32, u32, &str)] = &[
    (2001, 9, 11, "September 11 attacks"),
    (2001, 9, 12, "September 11 attacks"),
    (2001, 9, 13, "September 11 attacks"),
    (2001, 9, 14, "September 11 attacks"),
    (2004, 6, 11, "national day of mourning, President Reagan"),
    (2007, 1, 2, "national day of mourning, President Ford"),
    (2012, 10, 29, "Hurricane Sandy"),
    (2012, 10, 30, "Hurricane Sandy"),
    (2018, 12, 5, "national day of mourning, President G.H.W. Bush"),
    (2025, 1, 9, "national day of mourning, President Carter"),
];

/// Regular session open, New York time.
pub const OPEN_ET: NaiveTime = NaiveTime::from_hms_opt(9, 30, 0).unwrap();
/// Regular session close, New York time.
pub const CLOSE_ET: NaiveTime = NaiveTime::from_hms_opt(16, 0, 0).unwrap();
/// Early-close session end, New York time.
pub const EARLY_CLOSE_ET: NaiveTime = NaiveTime::from_hms_opt(13, 0, 0).unwrap();

struct Nyse {
    /// Every trading day in range, ascending.
    days: Vec<NaiveDate>,
    /// Early-close days, ascending.
    early: Vec<NaiveDate>,
    /// Day number (from the common era) of the first calendar day covered.
    first_ordinal: i32,
    /// For each calendar day from the first covered one: how many trading days fall on or before
    /// it. A trading day's index into `days` is one less, found without a search (the rules and
    /// the backtester move by sessions millions of times a run).
    through: Vec<u32>,
}

/// The day number of `d` counted from the common era (consecutive days differ by one).
fn ordinal(d: NaiveDate) -> i32 {
    d.num_days_from_ce()
}

fn nyse() -> &'static Nyse {
    static CAL: OnceLock<Nyse> = OnceLock::new();
    CAL.get_or_init(|| {
        let mut rules = UsExchangeCalendar::with_default_range(false);
        // usec's Good Friday rule starts in 2000; the exchange closed on Good Friday before that too.
        rules.add_holiday_rule(Holiday::EasterOffset { offset: -2, first: Some(FIRST_YEAR), last: Some(1999) });
        for &(y, m, d, _) in SPECIAL_CLOSURES {
            rules.add_holiday_rule(Holiday::SingularDay(NaiveDate::from_ymd_opt(y, m, d).unwrap()));
        }
        rules.populate_cal(Some(FIRST_YEAR), Some(LAST_YEAR));
        let cal = rules.get_cal();
        let mut days = Vec::with_capacity(((LAST_YEAR - FIRST_YEAR + 1) * 253) as usize);
        let mut early = Vec::new();
        let mut through = Vec::with_capacity(((LAST_YEAR - FIRST_YEAR + 1) * 366) as usize);
        let first = NaiveDate::from_ymd_opt(FIRST_YEAR, 1, 1).unwrap();
        let end = NaiveDate::from_ymd_opt(LAST_YEAR, 12, 31).unwrap();
        let mut d = first;
        while d <= end {
            if cal.is_business_day(d) {
                days.push(d);
                if cal.is_half_holiday(d) {
                    early.push(d);
                }
            }
            through.push(days.len() as u32);
            d = d.succ_opt().unwrap();
        }
        Nyse { days, early, first_ordinal: ordinal(first), through }
    })
}

fn in_range(date: NaiveDate) -> bool {
    (FIRST_YEAR..=LAST_YEAR).contains(&date.year())
}

/// Whether the NYSE trades on `date`. Dates outside the covered years are reported as not trading.
pub fn is_trading_day(date: NaiveDate) -> bool {
    in_range(date) && nyse().days.binary_search(&date).is_ok()
}

/// Whether `date` is a trading day that closes early (13:00 New York time).
pub fn is_early_close(date: NaiveDate) -> bool {
    nyse().early.binary_search(&date).is_ok()
}

/// Every trading day in `from..=to`.
pub fn trading_days_between(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = TradingDay> {
    let days = &nyse().days;
    let lo = days.partition_point(|d| *d < from);
    let hi = days.partition_point(|d| *d <= to);
    days[lo..hi.max(lo)].iter().map(|d| TradingDay(*d))
}

/// A date on which the NYSE trades. Constructed only through the calendar, so holding one proves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TradingDay(NaiveDate);

impl TradingDay {
    /// Checked constructor: refuses weekends, holidays, and dates outside the covered years.
    pub fn new(date: NaiveDate) -> Result<Self, TypeError> {
        if !in_range(date) {
            return Err(TypeError::NotATradingDay(date, " (outside the calendar's 1995-2050 range)"));
        }
        if !is_trading_day(date) {
            let why = match date.weekday() {
                Weekday::Sat | Weekday::Sun => " (weekend)",
                _ => " (exchange holiday)",
            };
            return Err(TypeError::NotATradingDay(date, why));
        }
        Ok(Self(date))
    }

    /// Parses `YYYY-MM-DD` and checks it is a trading day.
    pub fn parse(s: &str) -> Result<Self, TypeError> {
        let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| TypeError::BadDate(s.to_string()))?;
        Self::new(date)
    }

    /// The last trading day on or before `date` (None before the calendar starts).
    pub fn on_or_before(date: NaiveDate) -> Option<Self> {
        let days = &nyse().days;
        let i = days.partition_point(|d| *d <= date);
        (i > 0).then(|| Self(days[i - 1]))
    }

    /// The first trading day on or after `date` (None after the calendar ends).
    pub fn on_or_after(date: NaiveDate) -> Option<Self> {
        let days = &nyse().days;
        let i = days.partition_point(|d| *d < date);
        days.get(i).map(|d| Self(*d))
    }

    /// The calendar date.
    pub fn date(self) -> NaiveDate {
        self.0
    }

    fn index(self) -> usize {
        let cal = nyse();
        // A TradingDay is always a covered trading day, so the count through it is at least one.
        cal.through[(ordinal(self.0) - cal.first_ordinal) as usize] as usize - 1
    }

    /// Moves `n` trading days (negative: back). None when that leaves the calendar.
    pub fn offset(self, n: i64) -> Option<Self> {
        let i = self.index() as i64 + n;
        if i < 0 {
            return None;
        }
        nyse().days.get(i as usize).map(|d| Self(*d))
    }

    /// The next trading day.
    pub fn next(self) -> Self {
        self.offset(1).expect("calendar ends in 2050")
    }

    /// The previous trading day.
    pub fn prev(self) -> Self {
        self.offset(-1).expect("calendar starts in 1995")
    }

    /// `n` trading days back (`n_back(0)` is `self`).
    pub fn n_back(self, n: u32) -> Option<Self> {
        self.offset(-(n as i64))
    }

    /// Trading days from `self` to `other` (positive when `other` is later).
    pub fn days_until(self, other: TradingDay) -> i64 {
        other.index() as i64 - self.index() as i64
    }

    /// Whether the session closes early (13:00 New York time).
    pub fn is_early_close(self) -> bool {
        is_early_close(self.0)
    }

    /// Whether this is the first trading day of its ISO week (the weekly jobs' day).
    pub fn is_first_of_week(self) -> bool {
        self.prev().0.iso_week() != self.0.iso_week()
    }

    /// Session open as an instant.
    pub fn open(self) -> DateTime<Utc> {
        et_instant(self.0, OPEN_ET)
    }

    /// Session close as an instant (13:00 ET on early-close days).
    pub fn close(self) -> DateTime<Utc> {
        et_instant(self.0, if self.is_early_close() { EARLY_CLOSE_ET } else { CLOSE_ET })
    }

    /// A New York wall-clock time on this day, as an instant.
    pub fn at_et(self, time: NaiveTime) -> DateTime<Utc> {
        et_instant(self.0, time)
    }
}

/// The New York calendar date of an instant.
pub fn et_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&New_York).date_naive()
}

/// A New York wall-clock time on `date`, as an instant (the later instant on an ambiguous fall-back hour).
pub fn et_instant(date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    New_York
        .from_local_datetime(&date.and_time(time))
        .latest()
        .unwrap_or_else(|| New_York.from_utc_datetime(&date.and_time(time)))
        .with_timezone(&Utc)
}

impl fmt::Display for TradingDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl FromStr for TradingDay {
    type Err = TypeError;
    fn from_str(s: &str) -> Result<Self, TypeError> {
        Self::parse(s)
    }
}

impl Serialize for TradingDay {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TradingDay {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for TradingDay {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TradingDay".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "format": "date",
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
            "description": "an NYSE trading day, YYYY-MM-DD"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// Every session of the real S&P 500 index series 1999..2018 is a trading day, and every
    /// weekday the index did not trade is a closure in our calendar.
    #[test]
    fn matches_twenty_years_of_real_index_sessions() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/spx_index_1999_2018.csv.gz");
        let mut raw = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap()), &mut raw)
            .unwrap();
        let real: std::collections::BTreeSet<NaiveDate> =
            raw.lines().skip(1).map(|l| d(l.split(',').next().unwrap())).collect();
        assert_eq!(real.len(), 5031);
        let ours: std::collections::BTreeSet<NaiveDate> =
            trading_days_between(d("1999-01-01"), d("2018-12-31")).map(|t| t.date()).collect();
        let missing: Vec<_> = real.difference(&ours).collect();
        let extra: Vec<_> = ours.difference(&real).collect();
        assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?} extra {extra:?}");
    }

    #[test]
    fn early_closes_and_holidays_around_the_embedded_year() {
        assert!(is_early_close(d("2009-11-27")));
        assert!(is_early_close(d("2009-12-24")));
        assert!(!is_early_close(d("2009-12-23")));
        assert!(!is_trading_day(d("2009-12-25")));
        assert!(!is_trading_day(d("2010-04-02")), "Good Friday");
        assert!(!is_trading_day(d("2010-07-05")), "Independence Day observed");
        assert!(is_trading_day(d("2021-12-31")), "New Year on Saturday is not observed on Friday");
        assert!(!is_trading_day(d("2022-06-20")), "Juneteenth observed");
        assert!(!is_trading_day(d("2025-01-09")), "day of mourning");
        let t = TradingDay::parse("2009-11-27").unwrap();
        assert_eq!(t.close().to_rfc3339(), "2009-11-27T18:00:00+00:00");
        assert_eq!(t.open().to_rfc3339(), "2009-11-27T14:30:00+00:00");
        let summer = TradingDay::parse("2010-06-01").unwrap();
        assert_eq!(summer.close().to_rfc3339(), "2010-06-01T20:00:00+00:00");
    }

    #[test]
    fn arithmetic() {
        let fri = TradingDay::parse("2009-12-24").unwrap();
        assert_eq!(fri.next().to_string(), "2009-12-28");
        assert_eq!(fri.next().prev(), fri);
        assert_eq!(fri.offset(5).unwrap().to_string(), "2010-01-04");
        assert_eq!(fri.days_until(fri.offset(5).unwrap()), 5);
        assert_eq!(fri.n_back(0), Some(fri));
        assert_eq!(TradingDay::parse("2010-01-04").unwrap().n_back(1).unwrap().to_string(), "2009-12-31");
        assert!(TradingDay::parse("2010-01-04").unwrap().is_first_of_week());
        assert!(TradingDay::parse("2010-04-05").unwrap().is_first_of_week());
        assert!(!TradingDay::parse("2010-04-06").unwrap().is_first_of_week());
        assert_eq!(TradingDay::on_or_before(d("2010-01-03")).unwrap().to_string(), "2009-12-31");
        assert_eq!(TradingDay::on_or_after(d("2010-01-02")).unwrap().to_string(), "2010-01-04");
    }

    #[test]
    fn every_session_finds_its_place_without_a_search() {
        let days = &nyse().days;
        for (i, day) in days.iter().enumerate() {
            assert_eq!(TradingDay(*day).index(), i, "{day}");
        }
        let (first, last) = (TradingDay(days[0]), TradingDay(*days.last().unwrap()));
        assert_eq!(first.offset(-1), None);
        assert_eq!(last.offset(1), None);
        assert_eq!(first.days_until(last), days.len() as i64 - 1);
    }

    #[test]
    fn refusals_say_why() {
        assert_eq!(
            TradingDay::parse("2009-12-26").unwrap_err().to_string(),
            "2009-12-26 is not an NYSE trading day (weekend)"
        );
        assert_eq!(
            TradingDay::parse("2009-12-25").unwrap_err().to_string(),
            "2009-12-25 is not an NYSE trading day (exchange holiday)"
        );
        assert!(TradingDay::parse("2060-01-05").unwrap_err().to_string().contains("outside"));
        assert!(TradingDay::parse("12/25/2009").is_err());
        assert!(serde_json::from_str::<TradingDay>("\"2009-12-25\"").is_err());
    }
}
