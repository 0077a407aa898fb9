//! Polygon.io daily aggregates (unadjusted), the daily-bars vendor for refreshing the price store.

use std::time::Duration;

use ae_shared::TradingDay;
use ae_shared::calendar::et_date;
use ae_shared::config::PolygonConfig;
use ae_shared::retry::RetryPolicy;
use ae_shared::secrets::{self, Secret};
use ae_shared::store::bars::Bar;
use chrono::{NaiveDate, TimeZone, Utc};
use serde::Deserialize;

use super::http::HttpClient;
use super::{BarsProvider, ProviderError};

/// Polygon stamps a daily bar at 00:00 New York time; the New York date of the stamp is the session.
fn new_york_date(ms: i64) -> Option<NaiveDate> {
    Utc.timestamp_millis_opt(ms).single().map(et_date)
}

#[derive(Debug, Deserialize)]
struct Aggs {
    #[serde(default)]
    results: Vec<Agg>,
    #[serde(default)]
    next_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Grouped {
    #[serde(default)]
    results: Vec<GroupedAgg>,
}

#[derive(Debug, Deserialize)]
struct GroupedAgg {
    #[serde(rename = "T")]
    ticker: String,
    o: f64,
    h: f64,
    l: f64,
    c: f64,
    v: f64,
}

#[derive(Debug, Deserialize)]
struct Agg {
    o: f64,
    h: f64,
    l: f64,
    c: f64,
    v: f64,
    t: i64,
}

/// The Polygon client.
#[derive(Debug, Clone)]
pub struct PolygonClient {
    http: HttpClient,
    base: String,
    key: Secret,
}

impl PolygonClient {
    /// A client from configuration; the key comes from the environment variable it names (and is
    /// registered as a secret).
    pub fn new(cfg: &PolygonConfig, timeout: Duration, retry: RetryPolicy) -> Result<Self, ProviderError> {
        let key = secrets::from_env(&cfg.api_key_env).ok_or_else(|| {
            ProviderError::NotConfigured(format!("Polygon is enabled but ${} is not set", cfg.api_key_env))
        })?;
        Self::with_key(cfg, &key, timeout, retry)
    }

    /// A client with an explicit key (registered as a secret). The key travels in the
    /// `Authorization: Bearer` header, never in a URL.
    pub fn with_key(
        cfg: &PolygonConfig,
        key: &str,
        timeout: Duration,
        retry: RetryPolicy,
    ) -> Result<Self, ProviderError> {
        Ok(Self {
            http: HttpClient::new("polygon", "alpha-engine", cfg.requests_per_second, timeout, retry)?,
            base: cfg.base_url.trim_end_matches('/').to_string(),
            key: Secret::new(key),
        })
    }
}

impl PolygonClient {
    /// Every US stock's unadjusted bar for one session, in one request (grouped daily). Symbols
    /// Polygon writes differently (lower case, unusual characters) are skipped and listed.
    pub async fn grouped_daily(
        &self,
        day: TradingDay,
    ) -> Result<(Vec<(ae_shared::Ticker, Bar)>, Vec<String>), ProviderError> {
        let what = format!("polygon grouped daily {day}");
        let url = format!("{}/v2/aggs/grouped/locale/us/market/stocks/{day}?adjusted=false", self.base);
        let g: Grouped = self.http.get_json_bearer(&url, self.key.expose(), &what).await?;
        let mut rows = Vec::with_capacity(g.results.len());
        let mut skipped = Vec::new();
        for a in g.results {
            // EDGAR and Polygon write share classes with a dot or a dash; the store uses a dot.
            match ae_shared::Ticker::new(&a.ticker.replace('-', ".")) {
                Ok(t) => rows.push((t, Bar { date: day, open: a.o, high: a.h, low: a.l, close: a.c, volume: a.v })),
                Err(_) => skipped.push(a.ticker),
            }
        }
        if rows.is_empty() {
            return Err(ProviderError::NotFound(format!("{what}: no bars (a holiday, or not yet published)")));
        }
        Ok((rows, skipped))
    }
}

impl BarsProvider for PolygonClient {
    async fn daily_bars(&self, ticker: &str, from: NaiveDate, to: NaiveDate) -> Result<Vec<Bar>, ProviderError> {
        let what = format!("polygon bars {ticker}");
        let mut url = format!(
            "{}/v2/aggs/ticker/{ticker}/range/1/day/{from}/{to}?adjusted=false&sort=asc&limit=50000",
            self.base
        );
        let mut out = Vec::new();
        loop {
            let page: Aggs = self.http.get_json_bearer(&url, self.key.expose(), &what).await?;
            for a in page.results {
                let date = new_york_date(a.t).ok_or_else(|| ProviderError::Malformed {
                    what: what.clone(),
                    detail: format!("timestamp {}", a.t),
                })?;
                let day = TradingDay::new(date)
                    .map_err(|e| ProviderError::Malformed { what: what.clone(), detail: e.to_string() })?;
                out.push(Bar { date: day, open: a.o, high: a.h, low: a.l, close: a.c, volume: a.v });
            }
            match page.next_url {
                // next_url carries the cursor; the key goes in the header again, and only to Polygon.
                Some(next) if !next.is_empty() => {
                    if !next.starts_with(&format!("{}/", self.base)) {
                        return Err(ProviderError::Malformed {
                            what,
                            detail: format!("next_url is not on {} (the key is only ever sent there)", self.base),
                        });
                    }
                    url = next;
                }
                _ => break,
            }
        }
        if out.is_empty() {
            // Polygon answers an unknown ticker with 200 and no results.
            return Err(ProviderError::NotFound(what));
        }
        Ok(out)
    }
}
