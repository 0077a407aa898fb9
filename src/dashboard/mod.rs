//! `alpha-engine dashboard`: the operator's read-only web view of the whole system.
//!
//! It reads only the bus — never the broker, never a write — so it works the same on a demo bus, on
//! MinIO and on the production bucket. Pages are rendered on the server from an in-memory snapshot
//! of the bus (refreshed incrementally), with compile-time templates (maud) and inline SVG charts:
//! no script, no CDN. Loopback by default; any other address requires a credential.

mod history;
mod layout;
mod pages;
mod server;
mod snapshot;
mod status;
mod svg;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ae_shared::TradingDay;
use ae_shared::cli::CommonArgs;
use ae_shared::clock::{Clock, SimulatedClock, SystemClock};
use ae_shared::secrets::Secret;
use anyhow::Context as _;
use chrono::NaiveTime;

pub use server::Settings;

/// `alpha-engine dashboard` flags.
#[derive(Debug, clap::Args)]
pub struct DashboardArgs {
    /// Address to listen on. Loopback by default; any other address needs the credential in
    /// --token-env. Port 0 picks a free port (the URL is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The environment variable holding the credential (a bearer token, or the password of basic
    /// auth with any user name). Required for a non-loopback --listen; on the trading host
    /// `fetch-secrets dashboard` fills it from Secrets Manager.
    #[arg(long, default_value = "ALPHA_ENGINE_DASHBOARD_TOKEN", value_name = "VAR")]
    pub token_env: String,
    /// The dashboard's clock: a day (the view after that day's close), `latest` (after the last EOD
    /// on the bus, for a replayed bus such as the demo's), or the system clock when absent.
    #[arg(long, value_name = "DAY|latest")]
    pub as_of: Option<String>,
    /// Shortest time between two reads of the bus, in seconds.
    #[arg(long, default_value_t = 5)]
    pub refresh_secs: u64,
    /// While the market is open, pages reload themselves this often, in seconds.
    #[arg(long, default_value_t = 60)]
    pub reload_secs: u32,
    /// Instead of serving: request every page this many times over loopback and print the
    /// latency of each (p50, p95, max), then exit.
    #[arg(long, value_name = "N")]
    pub bench: Option<usize>,
    /// With --bench: first replicate the bus's documents back in time into a temporary bus of this
    /// many years ending on its last day (a one-year demo bus becomes ten years), and bench that.
    #[arg(long, value_name = "YEARS", requires = "bench")]
    pub bench_years: Option<usize>,
}

fn clock_for(as_of: Option<&str>, last_eod: Option<TradingDay>) -> anyhow::Result<Arc<dyn Clock>> {
    let after_close = NaiveTime::from_hms_opt(17, 0, 0).expect("a time");
    Ok(match as_of {
        None => Arc::new(SystemClock),
        Some("latest") => {
            let d = last_eod.context("--as-of latest: the bus has no EOD report yet; pass a day instead")?;
            Arc::new(SimulatedClock::at_et(d, after_close))
        }
        Some(s) => {
            let d = TradingDay::parse(s).map_err(|e| anyhow::anyhow!("--as-of {s}: {e}"))?;
            Arc::new(SimulatedClock::at_et(d, after_close))
        }
    })
}

/// Runs the dashboard (or its benchmark) until interrupted.
pub async fn run(args: DashboardArgs, common: &CommonArgs) -> anyhow::Result<ExitCode> {
    let cfg = common.load_config()?;
    let mut bus = common.open_bus(&cfg).await?;
    let mut _history_dir = None;
    if let Some(years) = args.bench_years {
        let dir = tempfile::tempdir()?;
        let long = ae_shared::bus::Bus::file(dir.path());
        let t = Instant::now();
        let n = history::replicate(&bus, &long, years).await.context("replicating the bus's history")?;
        eprintln!(
            "dashboard: {years} years of history: {n} objects in {} ({:.1} s)",
            dir.path().display(),
            t.elapsed().as_secs_f64()
        );
        bus = long;
        _history_dir = Some(dir);
    }
    let token = ae_shared::secrets::from_env(&args.token_env).map(Secret::new);
    if !args.listen.ip().is_loopback() && token.is_none() && args.bench.is_none() {
        anyhow::bail!(
            "--listen {} is not a loopback address: set a credential in ${} (a long random string, e.g. from \
             Secrets Manager) or listen on 127.0.0.1 and reach it through an SSM port forward",
            args.listen,
            args.token_env
        );
    }
    let t0 = Instant::now();
    let bus_url = bus.url().to_string();
    let mut loader = snapshot::Loader::new(bus);
    let first = Arc::new(loader.refresh().await.context("reading the bus")?);
    let clock = clock_for(args.as_of.as_deref(), first.eods.keys().next_back().copied())?;
    let documents = first.eods.len() + first.books.len() + first.risk.len() + first.signals.len();
    let problems = first.problems.len();
    let settings =
        Settings { refresh: Duration::from_secs(args.refresh_secs), reload_s: args.reload_secs.max(10), token };
    let state = server::AppState::new(loader, first.clone(), clock, settings);
    let app = server::router(state);
    let listen = if args.bench.is_some() { SocketAddr::from(([127, 0, 0, 1], 0)) } else { args.listen };
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
    let addr = listener.local_addr()?;
    eprintln!(
        "dashboard: read {documents} dated documents ({problems} unreadable) from {} in {:.2} s",
        bus_url,
        t0.elapsed().as_secs_f64()
    );
    if let Some(n) = args.bench {
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let code = bench(addr, n.max(1), &first).await;
        server.abort();
        return code;
    }
    println!("dashboard: http://{addr}/ (read-only; Ctrl-C to stop)");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving")?;
    Ok(ExitCode::SUCCESS)
}

/// Requests every page `n` times over loopback (after one warm-up) and prints the latencies.
async fn bench(addr: SocketAddr, n: usize, snap: &snapshot::Snapshot) -> anyhow::Result<ExitCode> {
    let client = reqwest::Client::builder().build()?;
    let mut paths: Vec<String> = layout::PAGES.iter().map(|(p, _)| (*p).to_string()).collect();
    if let Some(e) = snap.last_eod() {
        paths.push(layout::lineage_href(&e.key));
        paths.push(layout::doc_href(&e.key));
    }
    if let Some(p) = snap.last_eod().and_then(|e| e.doc.positions.first()) {
        paths.push(format!("/research?ticker={}", p.ticker.as_str()));
    }
    println!("{:<48} {:>9} {:>9} {:>9} {:>9} {:>8}", "page", "first ms", "p50 ms", "p95 ms", "max ms", "KB");
    let mut worst: f64 = 0.0;
    for path in &paths {
        let url = format!("http://{addr}{path}");
        let mut ms = Vec::with_capacity(n);
        let mut size = 0;
        let mut first = 0.0;
        for i in 0..=n {
            let t = Instant::now();
            let r = client.get(&url).send().await?;
            anyhow::ensure!(r.status().is_success(), "{path}: HTTP {}", r.status());
            size = r.bytes().await?.len();
            let took = t.elapsed().as_secs_f64() * 1e3;
            if i > 0 {
                ms.push(took);
            } else {
                first = took;
            }
        }
        ms.sort_by(f64::total_cmp);
        let q = |p: f64| ms[((ms.len() as f64 - 1.0) * p).round() as usize];
        worst = worst.max(q(0.95));
        println!(
            "{path:<48} {first:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>8.1}",
            q(0.5),
            q(0.95),
            ms[ms.len() - 1],
            size as f64 / 1024.0
        );
    }
    println!(
        "worst p95: {worst:.2} ms over {} pages × {n} requests (the bus re-listed at most every --refresh-secs; `first` is each page's first request)",
        paths.len()
    );
    Ok(ExitCode::SUCCESS)
}
