//! FRED series observations (10-year yield, high-yield spread, VIX): the nightly update keeps them on
//! the bus for the predictor's macro features, and the macro economist reads the last year.

use std::time::Duration;

use ae_shared::config::FredConfig;
use ae_shared::retry::RetryPolicy;
use ae_shared::secrets::{self, Secret};
use chrono::NaiveDate;
use serde::Deserialize;

use super::http::HttpClient;
use super::{MacroProvider, ProviderError};

#[derive(Debug, Deserialize)]
struct Observations {
    observations: Vec<Observation>,
}

#[derive(Debug, Deserialize)]
struct Observation {
    date: NaiveDate,
    value: String,
}

/// The FRED client.
#[derive(Debug, Clone)]
pub struct FredClient {
    http: HttpClient,
    base: String,
    key: Secret,
}

impl FredClient {
    /// A client from configuration; the key comes from the environment variable it names (and is
    /// registered as a secret).
    pub fn new(cfg: &FredConfig, timeout: Duration, retry: RetryPolicy) -> Result<Self, ProviderError> {
        let key = secrets::from_env(&cfg.api_key_env).ok_or_else(|| {
            ProviderError::NotConfigured(format!("FRED is enabled but ${} is not set", cfg.api_key_env))
        })?;
        Self::with_key(cfg, &key, timeout, retry)
    }

    /// A client with an explicit key (registered as a secret). FRED takes its key only in the query
    /// string, so the shared HTTP layer never puts a URL in an error.
    pub fn with_key(cfg: &FredConfig, key: &str, timeout: Duration, retry: RetryPolicy) -> Result<Self, ProviderError> {
        Ok(Self {
            http: HttpClient::new("fred", "alpha-engine", 5, timeout, retry)?,
            base: cfg.base_url.trim_end_matches('/').to_string(),
            key: Secret::new(key),
        })
    }
}

impl MacroProvider for FredClient {
    async fn observations(
        &self,
        series: &str,
        from: NaiveDate,
        as_of: NaiveDate,
    ) -> Result<Vec<(NaiveDate, f64)>, ProviderError> {
        let start = from.min(as_of);
        let url = format!(
            "{}/fred/series/observations?series_id={series}&api_key={}&file_type=json&observation_start={start}&observation_end={as_of}",
            self.base,
            self.key.expose()
        );
        let what = format!("fred {series}");
        let text = self.http.get_text(&url, &what).await.map_err(|e| match e {
            // FRED answers an unknown series with 400 and a JSON error message.
            ProviderError::Refused { status: 400, detail, .. } if detail.contains("does not exist") => {
                ProviderError::NotFound(what.clone())
            }
            other => other,
        })?;
        let obs: Observations = serde_json::from_str(&text)
            .map_err(|e| ProviderError::Malformed { what: what.clone(), detail: e.to_string() })?;
        // "." marks a missing value; anything after as_of is ignored (no look-ahead).
        Ok(obs
            .observations
            .into_iter()
            .filter(|o| start <= o.date && o.date <= as_of)
            .filter_map(|o| o.value.parse::<f64>().ok().map(|v| (o.date, v)))
            .collect())
    }
}
