//! Command-line plumbing shared by the five binaries: the common flags, configuration and bus
//! opening with their precedence, and logging (human-readable on a terminal, JSON under Lambda or
//! with `--log-json`; registered secrets redacted from every line either way).

use std::path::PathBuf;

use anyhow::Context;

use crate::bus::Bus;
use crate::calendar::TradingDay;
use crate::config::Config;
use crate::secrets;

/// Flags every binary takes.
#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs {
    /// Bus URL: file:///dir, file://relative/dir or s3://bucket/prefix (MinIO: set AWS_ENDPOINT_URL).
    /// Default: $BUS_URL, else bus.url from the configuration (file://var/bus).
    #[arg(long, global = true, value_name = "URL")]
    pub bus: Option<String>,
    /// Configuration file (TOML; only the keys you change). Environment overrides:
    /// ALPHA_ENGINE__SECTION__KEY=value.
    #[arg(long, global = true, env = "ALPHA_ENGINE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log as JSON lines (the default under AWS Lambda).
    #[arg(long, global = true)]
    pub log_json: bool,
}

impl CommonArgs {
    /// Loads the configuration (defaults → file → environment → `--bus`), reporting every problem.
    pub fn load_config(&self) -> anyhow::Result<Config> {
        let mut cfg = Config::load(self.config.as_deref()).map_err(|e| anyhow::anyhow!("{e}"))?;
        if let Some(url) = &self.bus {
            cfg.bus.url = url.clone();
        }
        Ok(cfg)
    }

    /// Opens the bus named by the configuration.
    pub async fn open_bus(&self, cfg: &Config) -> anyhow::Result<Bus> {
        Bus::open(&cfg.bus.url).await.with_context(|| format!("opening the bus at {}", cfg.bus.url))
    }

    /// Starts logging (`RUST_LOG` filters; default `info`).
    pub fn init_logging(&self) {
        init_logging(self.log_json);
    }
}

/// Starts logging to stderr: JSON under Lambda (`AWS_LAMBDA_RUNTIME_API` set) or when asked.
/// Every line, in either format, goes through [`Redacted`]: no registered secret is ever logged.
pub fn init_logging(json: bool) {
    let filter = std::env::var("RUST_LOG").unwrap_or_default();
    let json = json || std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
    init_logging_to(json, &filter, std::io::stderr);
}

/// Starts logging to `writer` with the `RUST_LOG`-style `filter` (empty or invalid: `info`), the
/// way [`init_logging`] does to stderr: through [`Redacted`], text or JSON. Tests capture a job's
/// logs this way. The first call in a process wins.
pub fn init_logging_to<M>(json: bool, filter: &str, writer: M)
where
    M: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    use tracing_subscriber::EnvFilter;
    let filter = match filter.trim() {
        "" => EnvFilter::new("info"),
        f => EnvFilter::try_new(f).unwrap_or_else(|_| EnvFilter::new("info")),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(Redacted(writer));
    let _ = if json { builder.json().try_init() } else { builder.compact().try_init() };
}

/// Sets up logging into a file (plain text, no colours, redacted like every log writer), for a
/// command whose terminal shows only a progress bar and a summary (`alpha-engine demo`). The level
/// is `RUST_LOG`, else `info`.
pub fn init_logging_to_file(path: &std::path::Path) -> std::io::Result<()> {
    use tracing_subscriber::EnvFilter;
    let file = std::fs::File::create(path)?;
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(Redacted(std::sync::Mutex::new(file)))
        .compact()
        .try_init();
    Ok(())
}

/// A log writer whose every event passes through [`secrets::redact`] on its way to the inner
/// writer (`Redacted(std::io::stderr)`; tests wrap a buffer the same way).
#[derive(Debug, Clone, Copy)]
pub struct Redacted<M>(pub M);

impl<'a, M: tracing_subscriber::fmt::MakeWriter<'a>> tracing_subscriber::fmt::MakeWriter<'a> for Redacted<M> {
    type Writer = secrets::RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        secrets::RedactingWriter::new(self.0.make_writer())
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Self::Writer {
        secrets::RedactingWriter::new(self.0.make_writer_for(meta))
    }
}

/// The exit of a command-line run: success, or the error with its causes on stderr after
/// `prefix` (`"error: "`), every registered secret redacted.
pub fn finish(prefix: &str, result: anyhow::Result<()>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{prefix}{}", secrets::redact(&format!("{e:#}")));
            std::process::ExitCode::FAILURE
        }
    }
}

/// Parses `--date`: a `YYYY-MM-DD` NYSE trading day.
pub fn parse_day(s: &str) -> Result<TradingDay, String> {
    TradingDay::parse(s).map_err(|e| e.to_string())
}

/// For weekly jobs scheduled every weekday (so that a Monday holiday moves them to Tuesday): the
/// reason to skip `date` (default: today) when it is not the first trading day of its week.
pub fn weekly_skip(date: Option<TradingDay>, clock: &dyn crate::clock::Clock) -> Option<String> {
    let day = date.or_else(|| clock.trading_day());
    match day {
        None => Some("today is not an NYSE trading day: nothing to do".into()),
        Some(d) if !d.is_first_of_week() => {
            Some(format!("{d} is not the first trading day of its week: the weekly job runs on that day only"))
        }
        Some(_) => None,
    }
}

/// Peak resident set size of this process in MB, from /proc/self/status (Linux; `None`
/// elsewhere). Jobs and benches report it beside their timings.
pub fn peak_memory_mb() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SimulatedClock;

    #[test]
    fn a_weekly_job_runs_on_the_first_trading_day_of_the_week_only() {
        let clock = SimulatedClock::at_et(TradingDay::parse("2010-09-08").unwrap(), chrono::NaiveTime::MIN);
        for (day, runs) in [
            ("2010-08-30", true),  // a Monday
            ("2010-08-31", false), // Tuesday
            ("2010-09-07", true),  // Tuesday after Labor Day: the week's first session
            ("2010-09-08", false),
        ] {
            let d = TradingDay::parse(day).unwrap();
            assert_eq!(weekly_skip(Some(d), &clock).is_none(), runs, "{day}");
        }
        assert!(weekly_skip(None, &clock).is_some(), "today (2010-09-08) is a Wednesday");
    }
}
