//! `alpha-engine data import|update|status|quality`

use std::path::PathBuf;
use std::process::ExitCode;

use ae_research::nightly::{self, NightlyReport, Vendors};
use ae_shared::bus::keys;
use ae_shared::cli::CommonArgs;
use ae_shared::clock::SystemClock;
use ae_shared::store::quality::{QualityReport, Status, SymbolQuality};
use ae_shared::store::{self, ImportFiles, embedded_data_dir};
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum DataCmd {
    /// Load daily bars, the benchmark index, sectors and earnings dates into the bus's price store,
    /// detect splits, score data quality and report governance (ACTIVE / DEGRADED / QUARANTINED).
    Import {
        /// Folder holding sp500_2009_2010_ohlcv.csv.gz, spx_index_1999_2018.csv.gz,
        /// sp500_sectors_2014.csv and earnings_dates_2003_2025.csv.gz (default: the embedded data/).
        #[arg(long, value_name = "DIR")]
        from: Option<PathBuf>,
        /// Replace chunks that exist with different content (the old ones are archived first).
        #[arg(long)]
        force: bool,
        /// Parse, check and report, but write nothing to the bus.
        #[arg(long)]
        dry_run: bool,
        /// Import only the sessions up to and including this day (YYYY-MM-DD), e.g. to bring the
        /// store forward from there with `data update` as a live one is.
        #[arg(long, alias = "until", value_parser = ae_shared::cli::parse_day)]
        through: Option<ae_shared::TradingDay>,
        /// Your own daily bars instead of the folder's: a CSV (optionally .csv.gz) with the header
        /// `date,ticker,open,high,low,close,volume`, or a .parquet file with those columns (any
        /// date, timestamp or number types); unadjusted prices, one row per symbol and session.
        /// Bad rows are located and skipped (a file with more than 1% bad rows is refused); the
        /// quality layer grades every symbol.
        #[arg(long, value_name = "FILE")]
        bars: Option<PathBuf>,
        /// Your own sector map (CSV `ticker,name,sector,industry`, GICS sector names).
        #[arg(long, value_name = "FILE")]
        sectors: Option<PathBuf>,
        /// Your own earnings dates (CSV `ticker,date`).
        #[arg(long, value_name = "FILE")]
        earnings: Option<PathBuf>,
    },
    /// Append one session's bars from the daily-bars vendor (Polygon grouped daily; key in
    /// $POLYGON_API_KEY) for every symbol already in the store, with the splits found on the day,
    /// then refresh the quality report. Safe to re-run after an interruption: a session already
    /// appended with the same bars is not appended again, and what the interrupted run left
    /// undone is finished.
    Update {
        /// The session to append (YYYY-MM-DD; default: the last trading day before today in New York).
        #[arg(long, value_parser = ae_shared::cli::parse_day)]
        date: Option<ae_shared::TradingDay>,
    },
    /// Show how fresh every datum the nightly update maintains is (bars, benchmark, splits,
    /// dividends, earnings, sectors, universe, macro), its source and any failure. Exits 1 when
    /// a datum is older than its bound, so a scheduler can gate the day's jobs on it.
    Status {
        /// The day to judge freshness on (YYYY-MM-DD; default: today in New York).
        #[arg(long, value_parser = ae_shared::cli::parse_day)]
        date: Option<ae_shared::TradingDay>,
    },
    /// Show the data-quality report stored on the bus.
    Quality {
        /// Only symbols with this status (active, degraded, quarantined).
        #[arg(long, value_parser = ["active", "degraded", "quarantined"])]
        status: Option<String>,
        /// Only these symbols (with every detail).
        tickers: Vec<String>,
    },
}

pub async fn run(cmd: DataCmd, common: &CommonArgs) -> anyhow::Result<ExitCode> {
    let cfg = common.load_config()?;
    match cmd {
        DataCmd::Import { from, force, dry_run, through, bars, sectors, earnings } => {
            let dir = from.unwrap_or_else(embedded_data_dir);
            let mut files = ImportFiles::embedded(&dir);
            for (path, slot) in
                [(bars, &mut files.ohlcv), (sectors, &mut files.sectors), (earnings, &mut files.earnings)]
            {
                if let Some(p) = path {
                    anyhow::ensure!(p.is_file(), "{} is not a file", p.display());
                    *slot = p;
                }
            }
            let prepared = store::prepare_import_through(&files, &cfg.data, through).await?;
            if dry_run {
                print_import(&prepared.report, &format!("{} (dry run: nothing written)", cfg.bus.url), &dir);
                return Ok(ExitCode::SUCCESS);
            }
            let bus = common.open_bus(&cfg).await?;
            let r = store::write_import(&bus, prepared, &SystemClock, force).await?;
            print_import(&r, &bus.url().to_string(), &dir);
            Ok(ExitCode::SUCCESS)
        }
        DataCmd::Update { date } => {
            use ae_shared::clock::Clock;
            let bus = common.open_bus(&cfg).await?;
            let day = match date {
                Some(d) => d,
                None => {
                    SystemClock.trading_day().ok_or_else(|| anyhow::anyhow!("today is outside the NYSE calendar"))?
                }
            };
            let mut notes = Vec::new();
            let vendors = Vendors::from_config(&cfg, ae_shared::retry::RetryPolicy::default(), &mut notes);
            for n in &notes {
                eprintln!("data update: {n}");
            }
            let report = nightly::run(&bus, &cfg, &vendors, day, &SystemClock).await?;
            print_update(&report, &bus.url().to_string());
            let alerter = ae_shared::alerts::Alerter::from_config(&bus, &cfg);
            for s in report.failures() {
                alerter
                    .deliver(ae_shared::alerts::Alert {
                        key: format!("data-update:{}:{day}", s.name),
                        severity: if s.name == "bars" { ae_shared::alerts::Severity::Critical } else { ae_shared::alerts::Severity::Warning },
                        title: format!("nightly update: {} not refreshed for {day}", s.name),
                        detail: s.detail.clone(),
                        action: format!("check the vendor and its key, then re-run `alpha-engine data update --date {day}` (it is safe to re-run)"),
                        source: "alpha-engine data update".into(),
                        date: Some(day),
                        at: SystemClock.now(),
                    })
                    .await;
            }
            let bars_ok = report.steps.iter().any(|s| s.name == "bars" && s.ok);
            Ok(if bars_ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        DataCmd::Status { date } => {
            use ae_shared::clock::Clock;
            let bus = common.open_bus(&cfg).await?;
            let today = match date {
                Some(d) => d,
                None => {
                    SystemClock.trading_day().ok_or_else(|| anyhow::anyhow!("today is outside the NYSE calendar"))?
                }
            };
            let f = ae_shared::store::freshness::load_freshness(&bus).await?;
            if f.data.is_empty() {
                println!("no nightly update has run on {} yet (the store holds what `data import` brought)", bus.url());
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "data freshness on {today} (last update for {}):",
                f.as_of.map(|d| d.to_string()).unwrap_or_else(|| "-".into())
            );
            println!("  {:<14} {:<11} {:>4} {:>6}  {:<24} problem", "datum", "last", "age", "bound", "source");
            let mut stale = 0;
            for (name, d) in &f.data {
                let age = d.age_sessions(today).map(|a| a.to_string()).unwrap_or_else(|| "-".into());
                let flag = if d.is_stale(today) {
                    stale += 1;
                    "STALE "
                } else {
                    ""
                };
                println!(
                    "  {:<14} {:<11} {:>4} {:>6}  {:<24} {flag}{}{}",
                    name,
                    d.last.map(|l| l.to_string()).unwrap_or_else(|| "never".into()),
                    age,
                    d.bound_sessions,
                    d.source,
                    d.problem.clone().unwrap_or_default(),
                    if d.failed_items.is_empty() {
                        String::new()
                    } else {
                        format!(" ({} item(s) failed)", d.failed_items.len())
                    }
                );
            }
            Ok(if stale == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        DataCmd::Quality { status, tickers } => {
            let bus = common.open_bus(&cfg).await?;
            let Some((q, _)) = bus.get_json::<QualityReport>(&keys::quality()).await? else {
                anyhow::bail!("no quality report on {}: run `alpha-engine data import` first", bus.url());
            };
            let want = status.map(|s| match s.as_str() {
                "active" => Status::Active,
                "degraded" => Status::Degraded,
                _ => Status::Quarantined,
            });
            println!("data quality as of {} ({} symbols)", q.as_of, q.symbols.len());
            for s in q.symbols.iter().filter(|s| want.is_none_or(|w| s.status == w)) {
                if !tickers.is_empty() && !tickers.iter().any(|t| t == s.ticker.as_str()) {
                    continue;
                }
                if tickers.is_empty() {
                    println!(
                        "  {:<7} {:<11} {:.3}  {}",
                        s.ticker,
                        format!("{:?}", s.status).to_uppercase(),
                        s.score,
                        s.reasons.join("; ")
                    );
                } else {
                    print_symbol(s);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_symbol(s: &SymbolQuality) {
    println!("{} — {:?}, score {:.3}", s.ticker, s.status, s.score);
    println!(
        "  bars {} ({}..{}), missing {} of {} sessions, duplicates {}",
        s.rows, s.first, s.last, s.missing_sessions, s.expected_sessions, s.duplicate_rows
    );
    for r in &s.reasons {
        println!("  - {r}");
    }
    for o in &s.ohlc_issues {
        println!("  OHLC {}: {}", o.date, o.detail);
    }
    for sp in &s.spikes {
        println!("  spike {}: {:+.1}%", sp.date, sp.change * 100.0);
    }
    for sp in &s.splits {
        println!("  split {sp}");
    }
}

fn print_import(r: &store::ImportReport, url: &str, dir: &std::path::Path) {
    println!(
        "imported {} bars for {} symbols, {}..{}, from {} into {}",
        r.rows,
        r.symbols,
        r.range.0,
        r.range.1,
        dir.display(),
        url
    );
    let gaps = &r.quality.calendar_gaps;
    if !gaps.is_empty() {
        let list: Vec<String> = gaps.iter().map(|d| d.to_string()).collect();
        println!("  calendar gaps: {} NYSE session(s) absent from the data: {}", gaps.len(), list.join(", "));
    }
    if !r.issues.is_empty() {
        println!("  skipped rows: {}", r.issues.len());
        for i in r.issues.iter().take(10) {
            println!("    {}: {}", i.at, i.detail);
        }
    }
    if r.duplicates > 0 {
        println!("  duplicate rows dropped: {}", r.duplicates);
    }
    let splits: Vec<String> = r.splits.iter().map(|s| format!("{} {} {}", s.ticker, s.date, s.label)).collect();
    println!("  splits detected and adjusted: {}", if splits.is_empty() { "none".into() } else { splits.join(", ") });
    let ohlc_syms = r.quality.symbols.iter().filter(|s| !s.ohlc_issues.is_empty()).count();
    println!("  OHLC-inconsistent rows: {} in {} symbols", r.quality.ohlc_bad_rows(), ohlc_syms);
    let c = r.quality.counts();
    let n = |s| c.get(&s).copied().unwrap_or(0);
    println!(
        "  governance: {} ACTIVE, {} DEGRADED, {} QUARANTINED",
        n(Status::Active),
        n(Status::Degraded),
        n(Status::Quarantined)
    );
    for status in [Status::Quarantined, Status::Degraded] {
        let names: Vec<&SymbolQuality> = r.quality.with_status(status).collect();
        if names.is_empty() {
            continue;
        }
        println!("  {} ({}):", format!("{status:?}").to_uppercase(), names.len());
        for s in names {
            println!("    {:<7} {}", s.ticker, s.reasons.first().map(String::as_str).unwrap_or(""));
        }
    }
    if !r.without_sector.is_empty() {
        let list: Vec<&str> = r.without_sector.iter().map(|t| t.as_str()).collect();
        println!("  no sector in the sector map: {} symbols ({})", list.len(), list.join(" "));
    }
    let changed = r.published.iter().filter(|(_, p)| *p != ae_shared::bus::Published::Unchanged).count();
    println!(
        "  {} objects written ({} unchanged); parse + assess {:.2}s, write {:.2}s",
        changed,
        r.published.len() - changed,
        r.compute_secs,
        r.write_secs
    );
}

fn print_update(r: &NightlyReport, bus: &str) {
    println!(
        "nightly update for {} on {bus}: {} bars, {:.1} s{}{}",
        r.date.map(|d| d.to_string()).unwrap_or_default(),
        r.bars,
        r.secs,
        if r.entered.is_empty() { String::new() } else { format!("; entered the universe: {}", r.entered.join(" ")) },
        if r.left.is_empty() { String::new() } else { format!("; left it: {}", r.left.join(" ")) }
    );
    for s in &r.steps {
        println!(
            "  {:<12} {:<6} {:>6.2}s  {}{}",
            s.name,
            if s.ok { "ok" } else { "FAILED" },
            s.secs,
            s.detail,
            if s.failed_items.is_empty() {
                String::new()
            } else {
                format!(
                    " ({} item(s) failed: {})",
                    s.failed_items.len(),
                    s.failed_items.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
                )
            }
        );
    }
}
