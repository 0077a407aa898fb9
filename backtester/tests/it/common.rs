use std::sync::Arc;

use ae_shared::TradingDay;
use ae_shared::bus::Bus;
use ae_shared::clock::SimulatedClock;
use ae_shared::config::{Config, SweepGrid};
use ae_shared::sim::SimMarket;
use chrono::NaiveTime;

pub fn day(s: &str) -> TradingDay {
    TradingDay::parse(s).unwrap()
}

pub fn clock(d: TradingDay, h: u32, m: u32) -> Arc<SimulatedClock> {
    Arc::new(SimulatedClock::at_et(d, NaiveTime::from_hms_opt(h, m, 0).unwrap()))
}

/// Test configuration: private files under `dir`, no LLM, a small sweep grid (the 1,728-point
/// grid is measured by the benchmark, in release).
pub fn config(dir: &std::path::Path) -> Config {
    let mut cfg = Config::defaults();
    cfg.trading.ledger_path = dir.join("trades.db").display().to_string();
    cfg.mail.outbox_dir = dir.join("outbox").display().to_string();
    cfg.llm.cache_path = dir.join("research.db").display().to_string();
    cfg.llm.api_key_env = "AE_TEST_NO_SUCH_KEY".into();
    cfg.backtest.sweep = SweepGrid::small();
    cfg.backtest.threads = 2;
    cfg
}

/// `m` written to a fresh file bus in its own temporary directory (as of 18:00 on its last
/// session), with the test configuration and 60 warm-up sessions.
pub async fn simulated_bus(m: &SimMarket) -> (tempfile::TempDir, Bus, Config) {
    let dir = tempfile::tempdir().unwrap();
    let bus = Bus::file(dir.path().join("bus"));
    let last = *m.sessions.last().unwrap();
    m.write_to(&bus, &Config::defaults().data, clock(last, 18, 0).as_ref()).await.unwrap();
    let mut cfg = config(dir.path());
    cfg.backtest.warmup_days = 60;
    (dir, bus, cfg)
}
