//! A trading desk over the embedded data: file bus, paper broker and ledger in a temp directory,
//! research (quant-only), planner, paper session and EOD driven with a simulated clock.

use std::path::Path;
use std::sync::Arc;

use ae_executor::eod::{self, EodOptions, EodSummary};
use ae_executor::ledger::Ledger;
use ae_executor::paper::{PaperBroker, PaperSettings};
use ae_executor::planner::{self, PlanEnv, PlanOptions, PlanReport};
use ae_executor::session::{self, SessionReport};
use ae_research::run::{RunOptions, run};
use ae_rules::plan::Plan;
use ae_shared::TradingDay;
use ae_shared::bus::Bus;
use ae_shared::calendar::et_instant;
use ae_shared::clock::SimulatedClock;
use ae_shared::config::Config;
use ae_shared::contracts::eod::EodReport;
use ae_shared::contracts::order_book::OrderBook;
use ae_shared::store::PriceStore;
use chrono::NaiveTime;

/// A simulated market written to a file bus in a temp directory (the directory lives as long as
/// the first value), its price store, and the market.
pub async fn sim_store(
    c: &ae_shared::sim::SimConfig,
) -> (tempfile::TempDir, ae_shared::store::PriceStore, ae_shared::sim::SimMarket) {
    let m = ae_shared::sim::generate(c);
    let dir = tempfile::tempdir().unwrap();
    let bus = Bus::file(dir.path().join("bus"));
    let last = *m.sessions.last().unwrap();
    let clock = ae_shared::clock::SimulatedClock::at_et(last, chrono::NaiveTime::from_hms_opt(18, 0, 0).unwrap());
    m.write_to(&bus, &ae_shared::config::Config::defaults().data, &clock).await.unwrap();
    let store = ae_shared::store::PriceStore::load(&bus).await.unwrap();
    (dir, store, m)
}

pub fn day(s: &str) -> TradingDay {
    TradingDay::parse(s).unwrap()
}

fn at(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

pub struct Desk {
    pub dir: tempfile::TempDir,
    pub bus: Bus,
    pub cfg: Config,
    pub clock: Arc<SimulatedClock>,
    pub broker: PaperBroker,
    pub ledger: Ledger,
    pub store: PriceStore,
}

impl Desk {
    pub async fn new() -> Self {
        let (dir, bus) = ae_testkit::embedded::bus(Path::new(env!("CARGO_TARGET_TMPDIR")));
        let mut cfg = Config::defaults();
        cfg.trading.ledger_path = dir.path().join("trades.db").display().to_string();
        cfg.mail.outbox_dir = dir.path().join("outbox").display().to_string();
        cfg.llm.cache_path = dir.path().join("research.db").display().to_string();
        cfg.llm.api_key_env = "AE_TEST_NO_SUCH_KEY".into();
        let clock = Arc::new(SimulatedClock::at_et(day("2009-08-24"), at(5, 0)));
        let broker = PaperBroker::open(
            Path::new(&cfg.trading.ledger_path),
            PaperSettings::from_config(&cfg.trading),
            clock.clone(),
        )
        .unwrap();
        let ledger = Ledger::open(Path::new(&cfg.trading.ledger_path)).unwrap();
        let store = PriceStore::load(&bus).await.unwrap();
        Self { dir, bus, cfg, clock, broker, ledger, store }
    }

    pub fn set_time(&self, d: TradingDay, h: u32, m: u32) {
        self.clock.set(et_instant(d.date(), at(h, m)));
    }

    pub async fn research(&self, d: TradingDay) {
        self.set_time(d, 5, 0);
        run(&self.bus, &self.cfg, self.clock.clone(), &RunOptions::new(d)).await.unwrap();
    }

    pub async fn plan(&mut self, d: TradingDay) -> (OrderBook, Plan, PlanReport) {
        self.set_time(d, 9, 20);
        let env = PlanEnv {
            bus: &self.bus,
            cfg: &self.cfg,
            clock: self.clock.as_ref(),
            broker: &self.broker,
            store: &self.store,
        };
        planner::plan(&env, &mut self.ledger, &PlanOptions { date: d, dry_run: false, force: false }).await.unwrap()
    }

    pub async fn session(&mut self, d: TradingDay) -> anyhow::Result<SessionReport> {
        session::run(&self.bus, &self.cfg, &self.clock, &self.broker, &mut self.ledger, &self.store, d).await
    }

    pub async fn eod(&mut self, d: TradingDay) -> (EodReport, EodSummary) {
        self.set_time(d, 16, 5);
        eod::run(
            &self.bus,
            &self.cfg,
            self.clock.as_ref(),
            &self.broker,
            &self.ledger,
            &self.store,
            &EodOptions { date: d, dry_run: false, force: false },
        )
        .await
        .unwrap()
    }

    /// Research on Mondays (and on `first`), then plan, session, EOD.
    pub async fn trade_day(&mut self, d: TradingDay, first: bool) -> (OrderBook, SessionReport, EodReport, EodSummary) {
        if first || d.is_first_of_week() {
            self.research(d).await;
        }
        let (book, _, _) = self.plan(d).await;
        let s = self.session(d).await.unwrap();
        let (r, summary) = self.eod(d).await;
        (book, s, r, summary)
    }
}
