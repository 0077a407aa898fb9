//! The production schedule in New York time, in one place: the local scheduler runs the jobs at
//! these times and the dashboard's status strip judges them against the same times. (The
//! systemd timers and the EventBridge schedules declare them for production; tests check those.)

use chrono::NaiveTime;

fn at(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("a time of day")
}

/// Saturdays: the backtester, for the coming week's first trading day.
pub fn backtester() -> NaiveTime {
    at(4, 0)
}
/// The first trading day of the week: research.
pub fn research() -> NaiveTime {
    at(5, 0)
}
/// The first trading day of the week: predictor training.
pub fn training() -> NaiveTime {
    at(6, 0)
}
/// Every trading day: predictor inference.
pub fn inference() -> NaiveTime {
    at(9, 15)
}
/// Every trading day: the executor's plan.
pub fn plan() -> NaiveTime {
    at(9, 20)
}
/// Every trading day: the nightly data update.
pub fn data_update() -> NaiveTime {
    at(16, 20)
}
/// Every trading day: the executor's end of day.
pub fn eod() -> NaiveTime {
    at(16, 40)
}
