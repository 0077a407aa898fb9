//! `alpha-engine demo`: the local scheduler over the embedded year (or a simulated market,
//! [`simulated`]) on a fresh `file://` bus, with the paper broker, no keys and no network, then a
//! summary of what the system did and where everything is.

pub mod simulated;

use std::path::PathBuf;
use std::process::ExitCode;

use ae_shared::TradingDay;
use ae_shared::bus::{Bus, keys};
use ae_shared::cli::CommonArgs;
use ae_shared::clock::SimulatedClock;
use ae_shared::contracts::predictor_metrics::PredictorMetrics;
use ae_shared::fmt::pct;
use ae_shared::metrics::{self, Summary};
use ae_shared::store::{self, ImportFiles, embedded_data_dir};
use anyhow::Context as _;
use chrono::NaiveTime;

use crate::local;

/// `alpha-engine demo` flags.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Directory the demo owns (emptied first; it must be new, empty or an earlier demo's): the bus,
    /// the trade ledger, the email outbox.
    #[arg(long, default_value = "var/demo")]
    pub dir: PathBuf,
    /// First trading day (default: the first Monday of the embedded data; on a simulated market,
    /// the first Monday of its last year).
    #[arg(long, value_parser = ae_shared::cli::parse_day)]
    pub from: Option<TradingDay>,
    /// Last trading day (default: the market's last day).
    #[arg(long, value_parser = ae_shared::cli::parse_day)]
    pub to: Option<TradingDay>,
    /// The market: the embedded real year (the honest default, where the predictor's edge is
    /// small), or a simulated one with a planted signal, where the learning loop must visibly
    /// learn (its days start on 2000-01-03; the demo trades the last year).
    #[arg(long, value_enum, default_value = "embedded")]
    pub market: Market,
    /// Simulated market: years of sessions, 252 each (the years before the last are history;
    /// default 5).
    #[arg(long, value_name = "N")]
    pub years: Option<usize>,
    /// Simulated market: names, spread over the 11 sectors (default 300).
    #[arg(long, value_name = "N")]
    pub names: Option<usize>,
    /// Simulated market: the planted short-term reversal signal's strength φ from 0 to 2 (0.4 is
    /// clearly learnable; the default), or `none` for the null market, where nothing should be
    /// learned.
    #[arg(long, value_name = "STRENGTH|none", value_parser = simulated::parse_signal)]
    pub signal: Option<f64>,
    /// Simulated market: seed (the whole market is a function of the flags; default 1).
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
}

/// Which market the demo trades.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Market {
    /// The embedded real year (2009-08 .. 2010-08).
    Embedded,
    /// A simulated market (`--years`, `--names`, `--signal`, `--seed`).
    Simulated,
}

impl DemoArgs {
    /// The simulated market's flags, checked: `None` for the embedded market, which takes none of
    /// them.
    fn sim_market(&self) -> anyhow::Result<Option<simulated::SimMarketArgs>> {
        let given: Vec<&str> = [
            ("--years", self.years.is_some()),
            ("--names", self.names.is_some()),
            ("--signal", self.signal.is_some()),
            ("--seed", self.seed.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, set)| set.then_some(flag))
        .collect();
        match self.market {
            Market::Embedded => {
                anyhow::ensure!(
                    given.is_empty(),
                    "{} only {} to --market simulated (the embedded market is the real year)",
                    given.join(", "),
                    if given.len() == 1 { "applies" } else { "apply" }
                );
                Ok(None)
            }
            Market::Simulated => simulated::SimMarketArgs {
                names: self.names.unwrap_or(300),
                years: self.years.unwrap_or(5),
                signal: self.signal.unwrap_or(0.4),
                seed: self.seed.unwrap_or(1),
            }
            .checked()
            .map(Some),
        }
    }
}

/// Runs the demo.
pub async fn run(args: DemoArgs, common: &CommonArgs) -> anyhow::Result<ExitCode> {
    let sim_args = args.sim_market()?;
    let dir = &args.dir;
    let marker = dir.join(".alpha-engine-demo");
    if dir.exists() {
        let empty = std::fs::read_dir(dir)?.next().is_none();
        anyhow::ensure!(
            empty || marker.exists(),
            "{} exists and was not made by the demo: pass --dir with a new or empty directory (the demo empties it)",
            dir.display()
        );
        std::fs::remove_dir_all(dir).with_context(|| format!("emptying {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(&marker, "made by `alpha-engine demo`, which empties this directory on every run\n")?;
    let abs = std::fs::canonicalize(dir)?;
    let log = abs.join("demo.log");
    ae_shared::cli::init_logging_to_file(&log).with_context(|| format!("creating {}", log.display()))?;
    let mut cfg = common.load_config()?;
    cfg.bus.url = format!("file://{}", abs.join("bus").display());
    cfg.trading.ledger_path = abs.join("trades.db").display().to_string();
    cfg.llm.cache_path = abs.join("research.db").display().to_string();
    if cfg.mail.smtp.host.trim().is_empty() {
        cfg.mail.outbox_dir = abs.join("outbox").display().to_string();
    }
    // No keys: the demo never calls an LLM or a data provider (emails go to the outbox unless an
    // SMTP host is configured). An empty key variable means no LLM is configured.
    cfg.llm.api_key_env = String::new();
    cfg.providers.sec.enabled = false;
    cfg.providers.fred.enabled = false;
    cfg.providers.polygon.enabled = false;
    cfg.trading.telegram.enabled = false;
    let bus = Bus::open(&cfg.bus.url).await?;

    let at_four = NaiveTime::from_hms_opt(4, 0, 0).expect("time");
    let (market, first, last, first_traded) = match sim_args {
        None => {
            let data = embedded_data_dir();
            let prepared = store::prepare_import(&ImportFiles::embedded(&data), &cfg.data).await?;
            let (first, last) = prepared.report.range;
            store::write_import(&bus, prepared, &SimulatedClock::at_et(first, at_four), false).await?;
            (None, first, last, None)
        }
        Some(a) => {
            let m = a.generate();
            let (first, last) = (m.sessions[0], *m.sessions.last().expect("sessions"));
            m.write_to(&bus, &cfg.data, &SimulatedClock::at_et(first, at_four)).await?;
            let first_traded = simulated::first_traded_day(&m);
            (Some(m), first, last, first_traded)
        }
    };
    let from = args.from.or(first_traded).unwrap_or_else(|| {
        let mut d = first.next();
        while !d.is_first_of_week() {
            d = d.next();
        }
        d
    });
    let to = args.to.unwrap_or(last);
    let market_name = match &market {
        None => "the embedded year".to_string(),
        Some(m) => simulated::describe(&m.config),
    };
    eprintln!(
        "alpha-engine demo: {from} .. {to} of {market_name} on {} (paper broker; research without an LLM key, quant only; no network); logs in {}",
        cfg.bus.url,
        log.display()
    );
    let profile = format!(
        "the production schedule: training and the backtester's {}-point sweep every week",
        cfg.backtest.sweep.len()
    );

    let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let rep = local::run(&bus, &cfg, from, to, local::Venue::Paper, progress, None).await?;
    let eods = local::eod_reports(&bus, &rep.days).await?;
    let r: Vec<f64> = eods.iter().map(|e| e.daily_return.get()).collect();
    let b: Vec<f64> = eods.iter().map(|e| e.benchmark.daily_return.get()).collect();
    let s = Summary::of(&r, &b);
    let fills: usize = eods.iter().map(|e| e.fills.len()).sum();
    println!();
    println!("alpha-engine demo: {} trading days, {from} .. {to}, in {:.1} s ({profile})", rep.days.len(), rep.total_s);
    // One alpha everywhere (the EOD report's and the email's): portfolio return − benchmark return
    // over the same period. The regression figure is shown as what it is.
    let (bench_name, alpha) = eods
        .last()
        .map(|e| (e.benchmark.name.clone(), e.cumulative.alpha))
        .unwrap_or((cfg.trading.benchmark_name.clone(), s.total_return - s.benchmark_total_return));
    println!(
        "  return {} ({} a year) vs {} {}: alpha {} (portfolio − benchmark, same period)",
        pct(s.total_return),
        pct(s.annual_return),
        bench_name,
        pct(s.benchmark_total_return),
        pct(alpha),
    );
    println!(
        "  Jensen's alpha {} a year at beta {:.2} (regression on the benchmark's daily returns)",
        pct(s.alpha),
        s.beta
    );
    println!("  Sharpe {:.2}, max drawdown {}, n = {} sessions; {fills} fills", s.sharpe, pct(s.max_drawdown), s.n);
    let ics = &rep.fold_rank_ic;
    if ics.len() >= 2 {
        let m = ics.iter().sum::<f64>() / ics.len() as f64;
        let half = 1.96 * metrics::std_sample(ics) / (ics.len() as f64).sqrt();
        println!(
            "  predictor: champion promoted {} time(s); out-of-sample rank IC {m:.3} (95% CI {:.3}..{:.3}, {} walk-forward folds)",
            rep.promoted.len(),
            m - half,
            m + half,
            ics.len()
        );
    } else {
        println!(
            "  predictor: no model passed the promotion gate (no champion, so no predictions: the executor ran without them)"
        );
    }
    if let Some(m) = bus.get_doc::<PredictorMetrics>(&keys::predictor_metrics_latest()).await?
        && !m.doc.feature_importance.is_empty()
    {
        let lead: Vec<String> =
            m.doc.feature_importance.iter().take(3).map(|f| format!("{} {:.0}%", f.feature, 100.0 * f.share)).collect();
        println!("  the champion's leading features (share of split gain): {}", lead.join(", "));
    }
    println!(
        "  backtester: {} run(s), {} with a write-back; the last one decided:",
        rep.backtests.len(),
        rep.backtests.iter().filter(|b| !b.1.is_empty()).count()
    );
    for (name, written, why) in &rep.last_backtest {
        println!("    {name:<17} {}", if *written { "written back".to_string() } else { format!("not written {why}") });
    }
    if let Some(m) = &market {
        let rec = simulated::recovered(&bus, &cfg, m, &rep.days).await?;
        for line in simulated::summary(&m.config, &rec, &rep) {
            println!("  {line}");
        }
    }
    for f in rep.failures.iter().take(5) {
        println!("  job failure {} {}: {}", f.date, f.job, f.error);
    }
    println!(
        "  time by job: {} (a day's inference runs beside the day before's executor jobs, so these add up to more than the total)",
        rep.seconds.iter().map(|(k, v)| format!("{k} {v:.1}s")).collect::<Vec<_>>().join(", ")
    );
    println!("  files: bus {} (signals/, predictor/, executor/, backtest/, config/)", abs.join("bus").display());
    println!("         trade ledger {}", cfg.trading.ledger_path);
    println!("         logs {}", log.display());
    println!(
        "         emails {}",
        if cfg.mail.smtp.host.trim().is_empty() {
            cfg.mail.outbox_dir.clone()
        } else {
            format!("sent via {}", cfg.mail.smtp.host)
        }
    );
    if let Some(last_bt) = rep.backtests.last() {
        println!(
            "         last backtest report {}",
            abs.join("bus").join(format!("backtest/{}/report.md", last_bt.0)).display()
        );
    }
    println!("  dashboard: {}", dashboard_command(&cfg.bus.url));
    println!("             then open http://127.0.0.1:8080/ (read-only; Ctrl-C stops it)");
    Ok(if rep.failures.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(3) })
}

/// The command that opens the dashboard on the demo's bus, as of the demo's last close.
pub fn dashboard_command(bus_url: &str) -> String {
    format!("bash .ci/alpha-engine dashboard --bus {bus_url} --as-of latest")
}
