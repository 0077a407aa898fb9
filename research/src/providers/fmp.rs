//! Index membership from Financial Modeling Prep: the history of S&P 500 changes
//! (`/stable/historical-sp500-constituent`: each row an addition, a removal, or a swap, with its
//! effective `date`). FMP has no S&P 400 endpoint; `providers.fmp.sp400_path` points at any feed in
//! the same shape (a plan's ETF-holdings export, an operator's own file server), and the S&P 400
//! is simply not tracked when it is empty. The key travels as FMP's `apikey` query parameter (its
//! only documented form); it is registered as a secret and never reaches an error message.

use std::time::Duration;

use ae_shared::config::FmpConfig;
use ae_shared::retry::RetryPolicy;
use ae_shared::secrets::{self, Secret};
use ae_shared::store::universe::{Index, IndexChange};
use ae_shared::types::Ticker;
use chrono::NaiveDate;
use serde::Deserialize;

use super::ProviderError;
use super::http::HttpClient;

#[derive(Debug, Deserialize)]
struct ChangeRow {
    date: String,
    #[serde(default)]
    symbol: Option<String>,
    #[serde(default, rename = "addedSecurity")]
    added_security: Option<String>,
    #[serde(default, rename = "removedTicker")]
    removed_ticker: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

/// The FMP client.
#[derive(Debug, Clone)]
pub struct FmpClient {
    http: HttpClient,
    base: String,
    key: Secret,
    feeds: Vec<(Index, String)>,
}

fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl FmpClient {
    /// From configuration; the key from the environment variable it names.
    pub fn new(cfg: &FmpConfig, timeout: Duration, retry: RetryPolicy) -> Result<Self, ProviderError> {
        let key = secrets::from_env(&cfg.api_key_env).ok_or_else(|| {
            ProviderError::NotConfigured(format!("FMP is enabled but ${} is not set", cfg.api_key_env))
        })?;
        let mut feeds = vec![(Index::Sp500, cfg.sp500_path.clone())];
        if !cfg.sp400_path.trim().is_empty() {
            feeds.push((Index::Sp400, cfg.sp400_path.clone()));
        }
        Ok(Self {
            http: HttpClient::new("fmp", "alpha-engine", cfg.requests_per_second, timeout, retry)?,
            base: cfg.base_url.trim_end_matches('/').to_string(),
            key: Secret::new(key),
            feeds,
        })
    }

    /// Every index change effective on or after `since`, from every configured feed.
    pub async fn changes(&self, since: NaiveDate) -> Result<Vec<IndexChange>, ProviderError> {
        let mut out = Vec::new();
        for (index, path) in &self.feeds {
            let what = format!("fmp {path}");
            let sep = if path.contains('?') { '&' } else { '?' };
            let url = format!("{}{path}{sep}apikey={}", self.base, self.key.expose());
            let rows: Vec<ChangeRow> = self.http.get_json(&url, &what).await?;
            for r in rows {
                let Ok(date) = NaiveDate::parse_from_str(r.date.trim(), "%Y-%m-%d") else {
                    return Err(ProviderError::Malformed { what, detail: format!("date {:?}", r.date) });
                };
                if date < since {
                    continue;
                }
                let symbol = nonempty(&r.symbol).and_then(|s| Ticker::new(&s.replace('-', ".")).ok());
                let removed_ticker = nonempty(&r.removed_ticker).and_then(|s| Ticker::new(&s.replace('-', ".")).ok());
                // A swap names both; an addition has no removed ticker; a removal has no added
                // security, and its `symbol` is the removed ticker.
                let (added, removed) = match (nonempty(&r.added_security), removed_ticker) {
                    (Some(_), removed) => (symbol, removed),
                    (None, Some(removed)) => (None, Some(removed)),
                    (None, None) => (None, symbol),
                };
                if added.is_none() && removed.is_none() {
                    continue;
                }
                out.push(IndexChange { date, index: *index, added, removed, reason: r.reason.unwrap_or_default() });
            }
        }
        out.sort();
        Ok(out)
    }
}
