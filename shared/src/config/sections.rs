//! The operator's sections of the configuration: the bus, market data and its governance, the
//! nightly update, LLM agents, data providers, trading, IB, Telegram and alerts (the tunable
//! parameter sets are `ae_core::contracts::params`; the backtester's own are in `backtest`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::types::Fraction;

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
    /// Sessions of history a decision reads: the executor's market views, governance and the
    /// risk panel see only the last this many sessions, so a day costs the same in year ten as in
    /// year one. At least `min_rows_active` and every executor look-back.
    #[schemars(range(min = 20, max = 10000))]
    pub history_sessions: u32,
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

/// FRED: macro series the nightly update keeps on the bus (`prices/macro/{series}.json`) for the
/// predictor's macro features (it reads DGS10, BAMLH0A0HYM2 and VIXCLS), and the macro
/// economist's last year when `enabled`. The nightly update uses FRED whenever the key is set.
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
