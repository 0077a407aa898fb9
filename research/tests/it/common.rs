use std::path::Path;
use std::sync::Arc;

use ae_shared::TradingDay;
use ae_shared::bus::Bus;
use ae_shared::clock::{Clock, SimulatedClock};
use ae_shared::config::Config;
use chrono::NaiveTime;

/// A fresh file bus with the embedded data, in its own temporary directory.
pub fn bus() -> (tempfile::TempDir, Bus) {
    ae_testkit::embedded::bus(Path::new(env!("CARGO_TARGET_TMPDIR")))
}

/// The clock at 05:00 New York on `day` (when research runs).
pub fn clock_at(day: &str) -> SimulatedClock {
    SimulatedClock::at_et(TradingDay::parse(day).unwrap(), NaiveTime::from_hms_opt(5, 0, 0).unwrap())
}

/// Same, shared.
pub fn clock(day: &str) -> Arc<dyn Clock> {
    Arc::new(clock_at(day))
}

/// Defaults with mail and the answer cache inside `dir`.
pub fn config(dir: &Path) -> Config {
    let mut c = Config::defaults();
    c.mail.outbox_dir = dir.join("outbox").display().to_string();
    c.llm.cache_path = dir.join("research.db").display().to_string();
    c
}

/// A trading day.
pub fn day(s: &str) -> TradingDay {
    TradingDay::parse(s).unwrap()
}
