//! The one seam for time. Logic asks a [`Clock`]; only [`SystemClock`] reads the operating system.
//!
//! Jobs take `&dyn Clock` (or an `Arc<dyn Clock>`): production passes [`SystemClock`], the local
//! scheduler, the backtester and tests pass a [`SimulatedClock`] they move by hand, so every run is
//! reproducible. Wall-clock helpers return New York time, the exchange's zone.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::America::New_York;
use chrono_tz::Tz;

use crate::calendar::TradingDay;

/// A source of the current instant.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;

    /// The current instant in New York.
    fn now_et(&self) -> DateTime<Tz> {
        self.now().with_timezone(&New_York)
    }

    /// Today's date in New York.
    fn today_et(&self) -> NaiveDate {
        self.now_et().date_naive()
    }

    /// The last trading day on or before today (New York).
    fn trading_day(&self) -> Option<TradingDay> {
        TradingDay::on_or_before(self.today_et())
    }
}

/// The operating system's clock. The only place in the workspace that reads it.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to. Clones share the same time.
#[derive(Debug, Clone)]
pub struct SimulatedClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl SimulatedClock {
    /// Starts at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self { now: Arc::new(Mutex::new(start)) }
    }

    /// Starts at a New York wall-clock time on `day`.
    pub fn at_et(day: TradingDay, time: NaiveTime) -> Self {
        Self::new(day.at_et(time))
    }

    /// Jumps to `t`. Refuses to go backwards.
    pub fn set(&self, t: DateTime<Utc>) {
        let mut now = self.now.lock().expect("clock lock");
        assert!(t >= *now, "a simulated clock never runs backwards ({t} < {now})");
        *now = t;
    }

    /// Moves forward by `d`.
    pub fn advance(&self, d: chrono::Duration) {
        let mut now = self.now.lock().expect("clock lock");
        *now += d;
    }
}

impl Clock for SimulatedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().expect("clock lock")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_clock_moves_only_when_told_and_reports_new_york_time() {
        let day = TradingDay::parse("2010-03-15").unwrap();
        let clock = SimulatedClock::at_et(day, NaiveTime::from_hms_opt(9, 20, 0).unwrap());
        let shared = clock.clone();
        assert_eq!(clock.now_et().format("%H:%M").to_string(), "09:20");
        assert_eq!(clock.now(), clock.now());
        shared.advance(chrono::Duration::minutes(10));
        assert_eq!(clock.now_et().format("%H:%M").to_string(), "09:30");
        assert_eq!(clock.trading_day(), Some(day));
        // 2010-03-14 was the spring-forward Sunday: New York is UTC-4 on the 15th.
        assert_eq!(clock.now().format("%H:%M").to_string(), "13:30");
    }

    #[test]
    #[should_panic(expected = "never runs backwards")]
    fn refuses_to_run_backwards() {
        let clock = SimulatedClock::new(DateTime::from_timestamp(1_260_000_000, 0).unwrap());
        clock.set(clock.now() - chrono::Duration::seconds(1));
    }
}
