//! Typed configuration: documented defaults, file and environment overrides, and validation that
//! reports every problem at once.
//!
//! Layers, later wins: the embedded `config/default.toml` (every default number of the design,
//! with its meaning) → an optional TOML file with only the keys to change → environment variables
//! `ALPHA_ENGINE__SECTION__KEY=value` (value parsed as TOML, else taken as a string; `BUS_URL` is an
//! alias of `bus.url`). The merged tree is checked against the JSON Schema of [`Config`] (unknown
//! keys, types, hard bounds — all at once, each located and, for overrides, attributed to the file
//! or variable that set it), then converted to the typed value, then cross-field rules run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::contracts::params::{
    ExecutorParams, Params, PredictorParams, ResearchParams, ScoringWeights, numeric_problem,
};
use crate::contracts::{Checker, Problem, Problems, schema_problems};
use crate::mail::MailConfig;
use crate::types::Fraction;

/// The embedded defaults.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// Environment variable prefix for overrides.
pub const ENV_PREFIX: &str = "ALPHA_ENGINE__";

/// Where the bus is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BusConfig {
    /// `file:///dir`, `file://relative/dir` or `s3://bucket/prefix`.
    #[schemars(regex(pattern = r"^(file|s3)://.+"))]
    pub url: String,
}

/// Weights and thresholds of the per-symbol data-quality score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QualityConfig {
    /// Weight of the missing-session share.
    pub missing_weight: Fraction,
    /// Weight of the duplicate-row share.
    pub duplicate_weight: Fraction,
    /// Weight of the any-non-positive-price flag.
    pub nonpositive_weight: Fraction,
    /// Weight of the unexplained-spike flag.
    pub spike_weight: Fraction,
    /// Weight of the OHLC-inconsistency share (× 10, capped at 1).
    pub ohlc_weight: Fraction,
    /// Weight of the stopped-trading flag.
    pub stale_weight: Fraction,
    /// Close-to-close move that counts as a spike when no split explains it.
    #[schemars(range(min = 0.05, max = 5.0))]
    pub spike_threshold: f64,
    /// A spike degrades a symbol for this many sessions; older spikes are kept as notes.
    #[schemars(range(min = 1, max = 2520))]
    pub spike_lookback_days: u32,
    /// Minimum score to be ACTIVE.
    pub min_score: Fraction,
    /// Below this score: QUARANTINED.
    pub quarantine_score: Fraction,
    /// Sessions without a bar, before the store's last day, after which a symbol stopped trading.
    #[schemars(range(min = 1, max = 252))]
    pub stale_after_days: u32,
}

/// Governance thresholds (ACTIVE / DEGRADED / QUARANTINED).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GovernanceConfig {
    /// Bars needed to be ACTIVE.
    #[schemars(range(min = 1, max = 5000))]
    pub min_rows_active: u32,
    /// Fewer bars: QUARANTINED.
    #[schemars(range(min = 1, max = 5000))]
    pub min_rows_degraded: u32,
    /// More OHLC-inconsistent rows than this: not ACTIVE.
    #[schemars(range(min = 0, max = 1000))]
    pub max_ohlc_bad_rows_active: u32,
}

/// Split detection on unadjusted prices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitConfig {
    /// Relative distance to a split ratio that still counts as that ratio.
    #[schemars(range(min = 0.001, max = 0.2))]
    pub ratio_tolerance: f64,
    /// A split is only inferred when the benchmark moved less than this that day.
    #[schemars(range(min = 0.0, max = 0.5))]
    pub max_market_move: f64,
}

/// Market data settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// `data update` compacts a calendar year once it holds more than this many single-session
    /// chunks (one per update), folding them and the year's other chunks into one.
    #[schemars(range(min = 0, max = 260))]
    pub compact_after: u32,
    /// Quality score.
    pub quality: QualityConfig,
    /// Governance.
    pub governance: GovernanceConfig,
    /// Splits.
    pub splits: SplitConfig,
    /// The nightly update.
    pub update: UpdateConfig,
}

/// The nightly update (`alpha-engine data update`): what it fetches, how far, and how fresh each
/// datum must stay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateConfig {
    /// The benchmark ETF (its bars and dividends; the index stays the historical proxy).
    pub benchmark_etf: String,
    /// Sessions of history fetched for a name that enters the universe.
    #[schemars(range(min = 1, max = 2600))]
    pub new_name_history_sessions: u32,
    /// Dividends are fetched for ex-dates from this many days back ...
    #[schemars(range(min = 0, max = 365))]
    pub dividends_back_days: u32,
    /// ... to this many days ahead (announced ones).
    #[schemars(range(min = 0, max = 365))]
    pub dividends_ahead_days: u32,
    /// Earnings dates are fetched up to this many days ahead.
    #[schemars(range(min = 1, max = 400))]
    pub earnings_ahead_days: u32,
    /// Bars, the benchmark and the universe go stale after this many sessions.
    #[schemars(range(min = 0, max = 20))]
    pub daily_bound_sessions: u32,
    /// Dividends, splits and earnings go stale after this many sessions.
    #[schemars(range(min = 0, max = 60))]
    pub reference_bound_sessions: u32,
    /// Sectors and macro series go stale after this many sessions.
    #[schemars(range(min = 0, max = 260))]
    pub slow_bound_sessions: u32,
    /// Names fetched per request when the grouped-daily request fails and the update falls back
    /// to one request per name.
    #[schemars(range(min = 1, max = 64))]
    pub fallback_concurrency: u32,
}

/// One model's price, US dollars per million tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    /// Input tokens.
    #[schemars(range(min = 0.0, max = 1000.0))]
    pub input_per_mtok: f64,
    /// Output tokens.
    #[schemars(range(min = 0.0, max = 1000.0))]
    pub output_per_mtok: f64,
}

/// LLM agents (Anthropic Messages API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LlmConfig {
    /// Environment variable holding the API key; unset means a quant-only run.
    pub api_key_env: String,
    /// API base URL.
    #[schemars(regex(pattern = r"^https?://"))]
    pub base_url: String,
    /// Model for the macro economist, CIO and consolidator.
    pub strategic_model: String,
    /// Model for per-ticker sector analysts.
    pub ticker_model: String,
    /// Prices by model id.
    pub prices: BTreeMap<String, ModelPrice>,
    /// Hard ceiling on spend per run, US dollars; the run stops calling agents before crossing it.
    #[schemars(range(min = 0.0, max = 1000.0))]
    pub cost_ceiling_usd: f64,
    /// Most names the sector analysts cover per run (best quant scores first).
    #[schemars(range(min = 0, max = 500))]
    pub max_names: u32,
    /// Cached answers older than this are not reused.
    #[schemars(range(min = 0, max = 365))]
    pub cache_ttl_days: u32,
    /// Local path of the answer cache (research.db); synced with the bus as research/research.db.
    pub cache_path: String,
    /// max_tokens for strategic calls.
    #[schemars(range(min = 64, max = 64000))]
    pub max_tokens_strategic: u32,
    /// max_tokens for per-ticker calls.
    #[schemars(range(min = 64, max = 64000))]
    pub max_tokens_ticker: u32,
    /// Seconds per request.
    #[schemars(range(min = 1, max = 600))]
    pub timeout_secs: u32,
}

/// SEC EDGAR (fundamentals from XBRL company facts, Form 4 insider filings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecConfig {
    /// Use EDGAR.
    pub enabled: bool,
    /// data.sec.gov base URL.
    #[schemars(regex(pattern = r"^https?://"))]
    pub base_url: String,
    /// URL of the ticker → CIK map.
    #[schemars(regex(pattern = r"^https?://"))]
    pub tickers_url: String,
    /// www.sec.gov base URL (filing documents).
    #[schemars(regex(pattern = r"^https?://"))]
    pub archives_url: String,
    /// SEC requires a descriptive User-Agent with a contact ("Company admin@example.com").
    pub user_agent: String,
    /// Request rate limit (SEC allows 10/s; we stay below).
    #[schemars(range(min = 1, max = 10))]
    pub requests_per_second: u32,
    /// Most Form 4 filings read per ticker (most recent first).
    #[schemars(range(min = 0, max = 100))]
    pub form4_max_per_ticker: u32,
}

/// FRED (macro series for the macro economist).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FredConfig {
    /// Use FRED.
    pub enabled: bool,
    /// API base URL.
    #[schemars(regex(pattern = r"^https?://"))]
    pub base_url: String,
    /// Environment variable holding the API key.
    pub api_key_env: String,
    /// Series ids.
    pub series: Vec<String>,
}

/// Polygon.io daily bars.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolygonConfig {
    /// Use Polygon.
    pub enabled: bool,
    /// API base URL.
    #[schemars(regex(pattern = r"^https?://"))]
    pub base_url: String,
    /// Environment variable holding the API key.
    pub api_key_env: String,
    /// Request rate limit.
    #[schemars(range(min = 1, max = 100))]
    pub requests_per_second: u32,
}

/// Financial Modeling Prep: index membership changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FmpConfig {
    /// Use FMP for universe membership.
    pub enabled: bool,
    /// API base URL.
    #[schemars(regex(pattern = r"^https?://"))]
    pub base_url: String,
    /// Environment variable holding the API key.
    pub api_key_env: String,
    /// Path of the S&P 500 change history.
    pub sp500_path: String,
    /// Path of an S&P 400 change history in the same shape (empty: the S&P 400 is not tracked).
    pub sp400_path: String,
    /// Request rate limit.
    #[schemars(range(min = 1, max = 100))]
    pub requests_per_second: u32,
}

/// External data providers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvidersConfig {
    /// SEC EDGAR.
    pub sec: SecConfig,
    /// FRED.
    pub fred: FredConfig,
    /// Polygon.
    pub polygon: PolygonConfig,
    /// FMP (index membership).
    pub fmp: FmpConfig,
    /// Seconds per request.
    #[schemars(range(min = 1, max = 300))]
    pub timeout_secs: u32,
}

/// Which broker the executor talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BrokerKind {
    /// The local paper broker (fills from the price store; state in the trade ledger).
    Paper,
    /// Interactive Brokers through IB Gateway / TWS.
    Ib,
}

/// How the executor trades (not tuned by the backtester).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TradingConfig {
    /// The broker.
    pub broker: BrokerKind,
    /// The trade ledger (SQLite).
    pub ledger_path: String,
    /// Starting cash of a new paper account.
    #[schemars(range(min = 1000.0, max = 1e10))]
    pub paper_starting_cash_usd: f64,
    /// Paper account id (paper accounts start with "D").
    #[schemars(regex(pattern = r"^D[A-Z0-9]+$"))]
    pub paper_account_id: String,
    /// Adverse slippage of paper fills, basis points.
    #[schemars(range(min = 0.0, max = 500.0))]
    pub paper_slippage_bps: f64,
    /// Commission per share.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub commission_per_share_usd: f64,
    /// Minimum commission per order.
    #[schemars(range(min = 0.0, max = 100.0))]
    pub commission_min_usd: f64,
    /// Largest single order, dollars (pre-trade check).
    #[schemars(range(min = 100.0, max = 1e9))]
    pub max_order_usd: f64,
    /// Name of the benchmark series in reports.
    pub benchmark_name: String,
    /// Interactive Brokers (the daemon).
    pub ib: IbConfig,
    /// Telegram notices of intraday trades (fire and forget).
    pub telegram: TelegramConfig,
}

/// How the simulator fills an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FillAt {
    /// The daemon's own engine over each bar's session path (open, extremes, close): urgent exits
    /// at the open, entry triggers and intraday exits as the daemon would see them.
    Intraday,
    /// Every planned order at the day's open.
    Open,
    /// Every planned order at the day's close.
    Close,
}

/// One swept parameter: its path in `executor_params` and the values tried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SweepAxis {
    /// Dotted parameter path (`exits.atr_multiple`): a bounded numeric executor parameter.
    pub path: String,
    /// Values tried, inside the parameter's bounds (whole numbers for a count of days).
    pub values: Vec<f64>,
}

/// The executor sweep's grid: the product of its axes, the first varying slowest. Points the
/// executor's own cross-field rules refuse are skipped and counted. The swept paths are the ones
/// a promoted result tunes (see `ae_shared::in_force`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct SweepGrid(pub Vec<SweepAxis>);

impl SweepGrid {
    /// A grid from `(path, values)` pairs, in order.
    pub fn of(axes: &[(&str, &[f64])]) -> Self {
        Self(axes.iter().map(|(p, v)| SweepAxis { path: p.to_string(), values: v.to_vec() }).collect())
    }

    /// Number of points (before invalid ones are skipped).
    pub fn len(&self) -> usize {
        self.0.iter().map(|a| a.values.len()).product()
    }

    /// Whether the grid is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The swept paths, in order.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|a| a.path.as_str())
    }

    /// Every problem with the grid around `base`: unknown or non-numeric paths, values out of
    /// bounds or not whole, repeated paths, empty axes.
    pub fn check(&self, base: &ExecutorParams, c: &mut Checker, prefix: &str) {
        let mut seen = std::collections::BTreeSet::new();
        for (i, axis) in self.0.iter().enumerate() {
            let at = format!("{prefix}[{i}]");
            if !seen.insert(axis.path.as_str()) {
                c.push(format!("{at}.path"), format!("{:?} is swept twice", axis.path));
            }
            if axis.values.is_empty() {
                c.push(format!("{at}.values"), "no values (the grid would be empty)");
            }
            let mut reported = false;
            for (j, v) in axis.values.iter().enumerate() {
                if let Some(p) = numeric_problem(base, &axis.path, *v) {
                    let not_a_path = p.contains("is not a numeric parameter");
                    if not_a_path && reported {
                        continue;
                    }
                    reported |= not_a_path;
                    let at = if not_a_path { format!("{at}.path") } else { format!("{at}.values[{j}]") };
                    c.push(at, p);
                }
            }
        }
    }
}

/// The gates a change must clear before anything is written back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PromotionGates {
    /// Closed trades the best point needs in the training period.
    #[schemars(range(min = 0, max = 100000))]
    pub min_trades: u32,
    /// Objective gain over the parameters in force, training period.
    #[schemars(range(min = 0.0, max = 10.0))]
    pub min_improvement: f64,
    /// Holdout gain must keep at least this share of the training gain.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub min_holdout_retention: f64,
    /// Largest probability of backtest overfitting (CSCV) accepted.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub max_pbo: f64,
    /// Smallest deflated Sharpe ratio (probability) accepted.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub min_deflated_sharpe: f64,
}

/// Scoring-weight tuning guardrails.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightTuning {
    /// Largest change of one weight per run.
    #[schemars(range(min = 0.0, max = 0.5))]
    pub max_step: f64,
    /// Scored (name, week) samples needed in the training weeks.
    #[schemars(range(min = 0, max = 10000000))]
    pub min_samples: u32,
    /// One-sided t statistic the holdout IC gain must reach.
    #[schemars(range(min = 0.0, max = 10.0))]
    pub min_holdout_t: f64,
    /// Forward horizon of the IC, trading days.
    #[schemars(range(min = 1, max = 60))]
    pub horizon_days: u32,
}

/// The backtester.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BacktestConfig {
    /// Fill model.
    pub fill: FillAt,
    /// Adverse slippage per fill, basis points.
    #[schemars(range(min = 0.0, max = 500.0))]
    pub slippage_bps: f64,
    /// Commission on notional, basis points (on top of `trading.commission_*`).
    #[schemars(range(min = 0.0, max = 500.0))]
    pub commission_bps: f64,
    /// An order fills at most this share of the day's volume (the rest is cancelled).
    #[schemars(range(min = 0.001, max = 1.0))]
    pub participation: f64,
    /// Sessions of history before the first simulated day.
    #[schemars(range(min = 1, max = 260))]
    pub warmup_days: u32,
    /// Share of simulated days (the most recent) held out of every choice.
    #[schemars(range(min = 0.1, max = 0.6))]
    pub holdout_fraction: f64,
    /// Signal grading horizons, trading days.
    pub grade_horizons: Vec<u32>,
    /// Smallest bucket whose hit rate is reported.
    #[schemars(range(min = 1, max = 100000))]
    pub min_bucket: u32,
    /// False discovery rate of the Benjamini-Hochberg procedure across buckets.
    #[schemars(range(min = 0.001, max = 0.5))]
    pub fdr_q: f64,
    /// Executor sweep.
    pub sweep: SweepGrid,
    /// Promotion gates of the executor sweep.
    pub gates: PromotionGates,
    /// Scoring-weight tuning.
    pub weights: WeightTuning,
    /// Veto calibration: vetoed samples needed in the holdout.
    #[schemars(range(min = 1, max = 100000))]
    pub veto_min_samples: u32,
    /// Worker threads of the sweep (0: one per core).
    #[schemars(range(min = 0, max = 256))]
    pub threads: u32,
}

/// How the daemon reaches IB Gateway / TWS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IbConfig {
    /// Gateway host.
    pub host: String,
    /// Gateway port (4002: IB Gateway paper; 7497: TWS paper).
    #[schemars(range(min = 1, max = 65535))]
    pub port: u16,
    /// API client id of the daemon (the planner never connects).
    #[schemars(range(min = 0, max = 999))]
    pub client_id: i32,
    /// Trade a live (non-"D") account. Also needs interactive confirmation at start.
    pub live: bool,
    /// Market data type: 1 live, 3 delayed (free).
    #[schemars(range(min = 1, max = 4))]
    pub market_data_type: i32,
    /// Messages per second the daemon sends at most (IB allows 50).
    #[schemars(range(min = 1, max = 50))]
    pub max_messages_per_sec: u32,
    /// Reconnect attempts before the daemon gives up (backoff with jitter between them).
    #[schemars(range(min = 1, max = 1000))]
    pub reconnect_attempts: u32,
    /// Seconds between the daemon's steps (0 follows the broker's clock as fast as it moves,
    /// for a replaying gateway).
    #[schemars(range(min = 0, max = 600))]
    pub poll_secs: u32,
}

/// Telegram notices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    /// Send notices.
    pub enabled: bool,
    /// Bot API base URL.
    #[schemars(regex(pattern = r"^https?://"))]
    pub base_url: String,
    /// Environment variable holding the bot token.
    pub bot_token_env: String,
    /// Environment variable holding the chat id.
    pub chat_id_env: String,
    /// Seconds a notice may take before it is dropped.
    #[schemars(range(min = 1, max = 60))]
    pub timeout_secs: u32,
}

/// Operator alerts (see `ae_shared::alerts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// Send alerts by email (the `[mail]` relay or outbox) as well as Telegram (`[trading.telegram]`).
    pub email: bool,
    /// An alert with the same key is sent once within this many minutes.
    #[schemars(range(min = 1, max = 10080))]
    pub dedup_window_minutes: u32,
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Bus.
    pub bus: BusConfig,
    /// Market data.
    pub data: DataConfig,
    /// Scoring weights (tunable).
    pub scoring: ScoringWeights,
    /// Research parameters (tunable).
    pub research: ResearchParams,
    /// Predictor parameters (tunable).
    pub predictor: PredictorParams,
    /// Executor parameters (tunable).
    pub executor: ExecutorParams,
    /// Operator email.
    pub mail: MailConfig,
    /// Operator alerts.
    pub alerts: AlertsConfig,
    /// LLM agents.
    pub llm: LlmConfig,
    /// Data providers.
    pub providers: ProvidersConfig,
    /// Trading (broker, ledger, paper account, pre-trade limits).
    pub trading: TradingConfig,
    /// The backtester (fill model, sweep grid, promotion gates).
    pub backtest: BacktestConfig,
}

/// Which layer set each overridden value: dotted path → the file or environment variable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origins(pub BTreeMap<String, String>);

impl Origins {
    /// The layer that set the value at `path` (a value inside a replaced table or list counts):
    /// the file, the environment variable, or `defaults`.
    pub fn of(&self, path: &str) -> &str {
        self.0
            .iter()
            .filter(|(k, _)| path == k.as_str() || path.starts_with(&format!("{k}.")))
            .max_by_key(|(k, _)| k.len())
            .map_or("defaults", |(_, v)| v.as_str())
    }
}

/// A configuration that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// File.
        path: PathBuf,
        /// OS error.
        #[source]
        source: std::io::Error,
    },
    /// TOML syntax.
    #[error("{origin}: not valid TOML: {detail}")]
    Syntax {
        /// File or "defaults".
        origin: String,
        /// Parser message.
        detail: String,
    },
    /// Validation problems, all of them.
    #[error("invalid configuration ({} problem(s)):\n{problems}", problems.len())]
    Invalid {
        /// Every problem found.
        problems: Problems,
    },
}

impl Config {
    /// Defaults only (no file, no environment).
    pub fn defaults() -> Self {
        Self::load_from(None, std::iter::empty()).expect("the embedded defaults are valid (tested)")
    }

    /// Defaults, then `file`, then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(file, std::env::vars())
    }

    /// Defaults, then `file`, then the given environment (for tests and tools).
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        Self::load_traced(file, env).map(|(cfg, _)| cfg)
    }

    /// [`Config::load_from`], with the layer that set each overridden value: dotted path → the
    /// file or environment variable (paths absent from the map are the embedded defaults').
    pub fn load_traced(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(Self, Origins), ConfigError> {
        match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
                Self::layered(Some((&text, &path.display().to_string())), env)
            }
            None => Self::layered(None, env),
        }
    }

    /// Defaults, then the TOML `text` (called `origin` in messages), then the given environment:
    /// [`Config::load_from`] once it has read its file.
    pub fn load_str(
        text: &str,
        origin: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        Self::layered(Some((text, origin)), env).map(|(cfg, _)| cfg)
    }

    fn layered(
        file: Option<(&str, &str)>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(Self, Origins), ConfigError> {
        let mut tree: toml::Table = DEFAULT_TOML.parse().map_err(|e: toml::de::Error| ConfigError::Syntax {
            origin: "embedded defaults".into(),
            detail: e.to_string(),
        })?;
        let mut origins: BTreeMap<String, String> = BTreeMap::new();
        if let Some((text, origin)) = file {
            let over: toml::Table = text
                .parse()
                .map_err(|e: toml::de::Error| ConfigError::Syntax { origin: origin.into(), detail: e.to_string() })?;
            merge(&mut tree, over, "", origin, &mut origins);
        }
        for (name, raw) in env {
            let path: Vec<String> = if name == "BUS_URL" {
                vec!["bus".into(), "url".into()]
            } else if let Some(rest) = name.strip_prefix(ENV_PREFIX) {
                rest.split("__").map(|s| s.to_ascii_lowercase()).collect()
            } else {
                continue;
            };
            if path.iter().any(String::is_empty) {
                continue;
            }
            let value = parse_scalar(&raw);
            set_path(&mut tree, &path, value);
            origins.insert(path.join("."), name);
        }
        let json = serde_json::to_value(&tree).expect("TOML converts to JSON");
        Self::from_value(json, &origins).map(|cfg| (cfg, Origins(origins)))
    }

    fn from_value(json: Value, origins: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let attribute = |mut p: Problem| {
            if let Some(src) =
                origins.iter().find(|(k, _)| p.path == **k || p.path.starts_with(&format!("{k}."))).map(|(_, v)| v)
            {
                p.message.push_str(&format!(" (set by {src})"));
            }
            p
        };
        let problems: Vec<Problem> = schema_problems::<Config>(&json).into_iter().map(attribute).collect();
        if !problems.is_empty() {
            return Err(ConfigError::Invalid { problems: Problems(problems) });
        }
        let cfg: Config = serde_path_to_error::deserialize(&json).map_err(|e| ConfigError::Invalid {
            problems: Problems(vec![attribute(Problem::new(e.path().to_string(), e.inner().to_string()))]),
        })?;
        let mut c = Checker::default();
        cfg.check(&mut c);
        let problems: Vec<Problem> = c.finish().into_iter().map(attribute).collect();
        if problems.is_empty() { Ok(cfg) } else { Err(ConfigError::Invalid { problems: Problems(problems) }) }
    }

    /// Cross-field rules of every section.
    pub fn check(&self, c: &mut Checker) {
        self.backtest.sweep.check(&self.executor, c, "backtest.sweep");
        self.scoring.check(c, "scoring.");
        self.research.check(c, "research.");
        self.predictor.check(c, "predictor.");
        self.executor.check(c, "executor.");
        let g = &self.data.governance;
        if g.min_rows_degraded > g.min_rows_active {
            c.push(
                "data.governance.min_rows_degraded",
                format!("{} is above min_rows_active {}", g.min_rows_degraded, g.min_rows_active),
            );
        }
        for m in [&self.llm.strategic_model, &self.llm.ticker_model] {
            if !self.llm.prices.contains_key(m) {
                c.push(
                    "llm.prices",
                    format!("no price for model {m:?}; add [llm.prices.\"{m}\"] so the cost ceiling can be enforced"),
                );
            }
        }
        if self.providers.sec.enabled && !self.providers.sec.user_agent.contains('@') {
            c.push(
                "providers.sec.user_agent",
                "SEC requires a User-Agent with a contact e-mail, e.g. \"Acme Research ops@acme.com\"",
            );
        }
        let q = &self.data.quality;
        if q.quarantine_score > q.min_score {
            c.push(
                "data.quality.quarantine_score",
                format!("{} is above min_score {}", q.quarantine_score, q.min_score),
            );
        }
    }
}

fn parse_scalar(raw: &str) -> toml::Value {
    match format!("v = {raw}").parse::<toml::Table>() {
        Ok(mut t) => t.remove("v").unwrap_or_else(|| toml::Value::String(raw.to_string())),
        Err(_) => toml::Value::String(raw.to_string()),
    }
}

fn set_path(tree: &mut toml::Table, path: &[String], value: toml::Value) {
    let (last, parents) = path.split_last().expect("non-empty path");
    let mut node = tree;
    for p in parents {
        let entry = node.entry(p.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        node = entry.as_table_mut().expect("just made a table");
    }
    node.insert(last.clone(), value);
}

fn merge(
    base: &mut toml::Table,
    over: toml::Table,
    prefix: &str,
    origin: &str,
    origins: &mut BTreeMap<String, String>,
) {
    for (k, v) in over {
        let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o, &path, origin, origins),
            (_, v) => {
                base.insert(k, v);
                origins.insert(path, origin.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn defaults_are_valid_and_carry_the_design_numbers() {
        let c = Config::defaults();
        assert_eq!(c.executor.exits.atr_period, 14);
        assert_eq!(c.executor.exits.atr_multiple, 2.5);
        assert_eq!(c.executor.exits.time_decay_reduce_days, 7);
        assert_eq!(c.executor.exits.time_decay_exit_days, 14);
        assert_eq!(c.executor.exits.momentum_exit_return.get(), -0.15);
        assert_eq!(c.executor.exits.momentum_exit_rsi, 30.0);
        assert_eq!(c.executor.risk.max_position_pct.get(), 0.05);
        assert_eq!(c.executor.risk.bear_max_position_pct.get(), 0.025);
        assert_eq!(c.executor.risk.max_sector_pct.get(), 0.25);
        assert_eq!(c.executor.risk.max_equity_pct.get(), 0.90);
        assert_eq!(c.executor.risk.max_sector_correlation, 0.80);
        let tiers: Vec<_> =
            c.executor.risk.drawdown_tiers.iter().map(|t| (t.at_pct.get(), t.multiplier.get())).collect();
        assert_eq!(tiers, vec![(0.02, 0.5), (0.04, 0.25)]);
        assert_eq!(c.executor.risk.drawdown_breaker_pct.get(), 0.06);
        assert_eq!(c.executor.sizing.adv_cap_pct.get(), 0.10);
        assert_eq!(c.executor.sizing.min_position_usd.get(), 500.0);
        assert_eq!(c.executor.intraday.pullback_pct.get(), 0.02);
        assert_eq!(c.executor.intraday.vwap_discount_pct.get(), 0.005);
        assert_eq!(c.executor.intraday.support_pct.get(), 0.01);
        assert_eq!(c.executor.intraday.profit_take_pct.get(), 0.08);
        assert_eq!(c.executor.intraday.collapse_pct.get(), 0.05);
        assert_eq!(c.executor.intraday.tighten_after_days, 3);
        assert_eq!(c.predictor.horizon_days, 5);
        assert_eq!(c.research.population_size, 25);
        assert_eq!(c.research.shortlist_size, 60);
    }

    #[test]
    fn env_overrides_apply_and_are_typed() {
        let c = Config::load_from(
            None,
            env(&[
                ("ALPHA_ENGINE__EXECUTOR__RISK__MAX_POSITION_PCT", "0.04"),
                ("BUS_URL", "s3://b-1/x"),
                ("UNRELATED", "1"),
            ]),
        )
        .unwrap();
        assert_eq!(c.executor.risk.max_position_pct.get(), 0.04);
        assert_eq!(c.bus.url, "s3://b-1/x");
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_source() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("over.toml");
        std::fs::write(&f, "[executor.risk]\nmax_position_pct = 0.5\nmin_score = 140.0\n[research]\nsell_threshold = 80.0\ntypo_key = 1\n").unwrap();
        let err = Config::load_from(Some(&f), env(&[("ALPHA_ENGINE__EXECUTOR__EXITS__ATR_PERIOD", "-3")])).unwrap_err();
        let ConfigError::Invalid { problems } = err else { panic!("{err}") };
        let text = problems.to_string();
        assert!(text.contains("executor.risk.max_position_pct: 0.5 is above 0.25"), "{text}");
        assert!(text.contains("executor.risk.min_score: 140 is above 100"), "{text}");
        assert!(
            text.contains(
                "executor.exits.atr_period: -3 is below 2 (set by ALPHA_ENGINE__EXECUTOR__EXITS__ATR_PERIOD)"
            ),
            "{text}"
        );
        assert!(text.contains("research: unknown field(s): typo_key"), "{text}");
        assert!(problems.len() >= 4, "{text}");
    }

    #[test]
    fn cross_field_rules_run_when_types_are_fine() {
        let err = Config::load_from(None, env(&[("ALPHA_ENGINE__RESEARCH__SELL_THRESHOLD", "75.0")])).unwrap_err();
        assert!(err.to_string().contains("research.sell_threshold: 75 must be below buy_threshold 70"), "{err}");
    }
}
