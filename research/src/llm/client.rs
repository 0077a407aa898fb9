//! The Anthropic Messages API over reqwest, through the shared provider HTTP layer (rate limit,
//! retries on 429 / 529 / 5xx with backoff, Retry-After honoured).

use std::time::Duration;

use ae_shared::retry::RetryPolicy;
use ae_shared::secrets::Secret;
use serde::{Deserialize, Serialize};

use crate::providers::ProviderError;
use crate::providers::http::HttpClient;

/// Token usage reported by the API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize)]
pub struct Usage {
    /// Input tokens billed at the input price.
    #[serde(default)]
    pub input_tokens: u64,
    /// Output tokens.
    #[serde(default)]
    pub output_tokens: u64,
    /// Tokens written to the prompt cache (billed at 1.25× input).
    #[serde(default)]
    pub cache_creation_input_tokens: Option<u64>,
    /// Tokens read from the prompt cache (billed at 0.1× input).
    #[serde(default)]
    pub cache_read_input_tokens: Option<u64>,
}

impl Usage {
    /// Cost in dollars at the given per-million-token prices.
    pub fn cost(&self, input_per_mtok: f64, output_per_mtok: f64) -> f64 {
        let write = self.cache_creation_input_tokens.unwrap_or(0) as f64 * 1.25;
        let read = self.cache_read_input_tokens.unwrap_or(0) as f64 * 0.1;
        ((self.input_tokens as f64 + write + read) * input_per_mtok + self.output_tokens as f64 * output_per_mtok) / 1e6
    }
}

/// One conversation turn.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Turn {
    /// "user" or "assistant".
    pub role: &'static str,
    /// Text.
    pub content: String,
}

#[derive(Debug, Serialize)]
struct Request<'a> {
    model: &'a str,
    max_tokens: u32,
    system: &'a str,
    messages: &'a [Turn],
    temperature: f64,
}

#[derive(Debug, Deserialize)]
struct Block {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: String,
}

#[derive(Debug, Deserialize)]
struct Response {
    content: Vec<Block>,
    #[serde(default)]
    usage: Usage,
}

/// The client.
#[derive(Debug, Clone)]
pub struct Anthropic {
    http: HttpClient,
    url: String,
    key: Secret,
}

impl Anthropic {
    /// A client for `base_url` with `key` (registered as a secret; sent in the `x-api-key` header).
    pub fn new(base_url: &str, key: &str, timeout: Duration, retry: RetryPolicy) -> Result<Self, ProviderError> {
        Ok(Self {
            http: HttpClient::new("anthropic", "alpha-engine-research", 5, timeout, retry)?,
            url: format!("{}/v1/messages", base_url.trim_end_matches('/')),
            key: Secret::new(key),
        })
    }

    /// Sends one request; returns the text of the answer and the usage.
    pub async fn complete(
        &self,
        model: &str,
        system: &str,
        turns: &[Turn],
        max_tokens: u32,
        what: &str,
    ) -> Result<(String, Usage), ProviderError> {
        let body = serde_json::to_vec(&Request { model, max_tokens, system, messages: turns, temperature: 0.0 })
            .map_err(|e| ProviderError::Malformed { what: what.to_string(), detail: e.to_string() })?;
        let text = self
            .http
            .send(what, || {
                self.http
                    .inner()
                    .post(&self.url)
                    .header("x-api-key", self.key.expose())
                    .header("anthropic-version", "2023-06-01")
                    .header("content-type", "application/json")
                    .body(body.clone())
            })
            .await?;
        let r: Response = serde_json::from_str(&text)
            .map_err(|e| ProviderError::Malformed { what: what.to_string(), detail: e.to_string() })?;
        let answer: String =
            r.content.iter().filter(|b| b.kind == "text").map(|b| b.text.as_str()).collect::<Vec<_>>().join("");
        Ok((answer, r.usage))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_counts_cache_tokens_at_their_rates() {
        let u = Usage {
            input_tokens: 1_000_000,
            output_tokens: 100_000,
            cache_creation_input_tokens: Some(0),
            cache_read_input_tokens: Some(1_000_000),
        };
        assert!((u.cost(3.0, 15.0) - (3.0 + 1.5 + 0.3)).abs() < 1e-9);
    }
}
