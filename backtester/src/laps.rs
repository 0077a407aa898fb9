//! Where a run's time goes: named laps of one piece of work, logged at debug level when it ends
//! (`RUST_LOG=ae_backtester=debug`), so a slow week can be taken apart without a profiler.

use std::time::Instant;

/// Laps of one piece of work.
pub struct Laps {
    what: &'static str,
    last: Instant,
    laps: Vec<(&'static str, f64)>,
}

impl Laps {
    /// Starts timing `what`.
    pub fn start(what: &'static str) -> Self {
        Self { what, last: Instant::now(), laps: Vec::new() }
    }

    /// Ends the lap `name` now and starts the next.
    pub fn lap(&mut self, name: &'static str) {
        let now = Instant::now();
        self.laps.push((name, (now - self.last).as_secs_f64()));
        self.last = now;
    }

    /// Logs the laps (seconds each, in order).
    pub fn log(&self) {
        let laps: Vec<String> = self.laps.iter().map(|(n, s)| format!("{n} {s:.3}")).collect();
        tracing::debug!(what = self.what, "laps: {}", laps.join(", "));
    }
}
