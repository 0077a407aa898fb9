//! The HTTP layer every provider shares: rate limit, retry policy, status classification.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use ae_shared::retry::RetryPolicy;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;

use super::ProviderError;

/// A rate-limited, retrying HTTP client for one provider.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    limiter: Arc<DefaultDirectRateLimiter>,
    retry: RetryPolicy,
    name: &'static str,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient").field("name", &self.name).finish()
    }
}

/// Longest body excerpt in an error message, bytes.
const EXCERPT_BYTES: usize = 200;

/// Body excerpt for error messages (bodies are often HTML or XML, never assume JSON), on one line
/// and at most [`EXCERPT_BYTES`] long, cut at a character boundary (bodies are any language).
fn excerpt(body: &str) -> String {
    let one_line: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.len() > EXCERPT_BYTES {
        format!("{}...", &one_line[..one_line.floor_char_boundary(EXCERPT_BYTES)])
    } else {
        one_line
    }
}

impl HttpClient {
    /// A client named `name` (for messages) sending `user_agent`, at most `per_second` requests a second.
    pub fn new(
        name: &'static str,
        user_agent: &str,
        per_second: u32,
        timeout: Duration,
        retry: RetryPolicy,
    ) -> Result<Self, ProviderError> {
        let client = reqwest::Client::builder()
            .user_agent(user_agent)
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| ProviderError::NotConfigured(format!("{name}: HTTP client: {e}")))?;
        let quota = Quota::per_second(NonZeroU32::new(per_second.max(1)).expect("non-zero"));
        Ok(Self { client, limiter: Arc::new(RateLimiter::direct(quota)), retry, name })
    }

    /// The underlying client (for requests that need a custom body).
    pub fn inner(&self) -> &reqwest::Client {
        &self.client
    }

    /// GETs `url` and decodes JSON; `what` names the request in errors (never the API key).
    pub async fn get_json<T: DeserializeOwned>(&self, url: &str, what: &str) -> Result<T, ProviderError> {
        decode(&self.get_text(url, what).await?, what)
    }

    /// GETs `url` with `Authorization: Bearer {token}` (a key in a header, never in the URL) and
    /// decodes JSON.
    pub async fn get_json_bearer<T: DeserializeOwned>(
        &self,
        url: &str,
        token: &str,
        what: &str,
    ) -> Result<T, ProviderError> {
        decode(&self.send(what, || self.client.get(url).bearer_auth(token)).await?, what)
    }

    /// GETs `url` and returns the body text.
    pub async fn get_text(&self, url: &str, what: &str) -> Result<String, ProviderError> {
        self.send(what, || self.client.get(url)).await
    }

    /// Sends the request built by `build` through the limiter and the retry policy.
    pub async fn send(&self, what: &str, build: impl Fn() -> reqwest::RequestBuilder) -> Result<String, ProviderError> {
        self.retry
            .run(what, || async {
                self.limiter.until_ready().await;
                let resp = build().send().await.map_err(|e| classify_transport(what, e))?;
                let status = resp.status();
                let retry_after =
                    resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
                let body = resp.text().await.map_err(|e| ProviderError::Transient {
                    what: what.to_string(),
                    detail: format!("body: {}", ae_shared::secrets::describe_http_error(e)),
                })?;
                if status.is_success() {
                    return Ok(body);
                }
                let err = classify_status(what, status, &body);
                if let (ProviderError::Transient { .. }, Some(secs)) = (&err, retry_after) {
                    // Honour a short Retry-After; the policy's own backoff still applies afterwards.
                    tokio::time::sleep(Duration::from_secs(secs.min(30))).await;
                }
                Err(err)
            })
            .await
    }

    /// Provider name.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

fn decode<T: DeserializeOwned>(text: &str, what: &str) -> Result<T, ProviderError> {
    serde_json::from_str(text).map_err(|e| ProviderError::Malformed { what: what.to_string(), detail: e.to_string() })
}

fn classify_transport(what: &str, e: reqwest::Error) -> ProviderError {
    ProviderError::Transient {
        what: what.to_string(),
        detail: if e.is_timeout() { "timed out".into() } else { ae_shared::secrets::describe_http_error(e) },
    }
}

/// Maps an HTTP error status to a provider error (429, 5xx and 529 are transient). The body is
/// redacted before it is cut to an excerpt, so a vendor quoting a key back cannot leak part of it.
pub fn classify_status(what: &str, status: StatusCode, body: &str) -> ProviderError {
    let body = ae_shared::secrets::redact(body);
    let code = status.as_u16();
    match code {
        404 => ProviderError::NotFound(what.to_string()),
        408 | 425 | 429 | 500..=599 => {
            ProviderError::Transient { what: what.to_string(), detail: format!("HTTP {code}: {}", excerpt(&body)) }
        }
        _ => ProviderError::Refused { what: what.to_string(), status: code, detail: excerpt(&body) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excerpt_is_cut_at_a_character_boundary() {
        struct Case {
            what: &'static str,
            body: String,
            want: String,
        }
        let cases = [
            // TC1: ASCII over the limit is cut at exactly 200 bytes.
            Case { what: "ascii", body: "a".repeat(250), want: format!("{}...", "a".repeat(200)) },
            // TC2: a 3-byte character straddles byte 200 (199 ASCII bytes, then "€" at 199..202).
            Case {
                what: "euro straddling",
                body: format!("{}{}", "a".repeat(199), "€".repeat(20)),
                want: format!("{}...", "a".repeat(199)),
            },
            // TC3: 4-byte characters only (byte 200 is a boundary: 50 × 4).
            Case { what: "emoji", body: "🦀".repeat(80), want: format!("{}...", "🦀".repeat(50)) },
            // TC4: 2-byte characters after one ASCII byte: every odd offset is a boundary, byte 200 is not.
            Case { what: "cyrillic", body: format!("x{}", "д".repeat(150)), want: format!("x{}...", "д".repeat(99)) },
            // TC5: short bodies are kept whole, on one line.
            Case {
                what: "short",
                body: "  <html>\n  Service   Unavailable </html>".into(),
                want: "<html> Service Unavailable </html>".into(),
            },
        ];
        for c in cases {
            let got = excerpt(&c.body);
            assert_eq!(got, c.want, "{}", c.what);
            assert!(got.len() <= EXCERPT_BYTES + 3, "{}", c.what);
        }
    }

    #[tokio::test]
    async fn a_transport_error_never_quotes_the_url_and_its_key() {
        // Nothing listens there; the key is deliberately not registered: only the stripping works.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let http = HttpClient::new("fred", "alpha-engine", 50, Duration::from_secs(2), RetryPolicy::none()).unwrap();
        let url = format!("http://127.0.0.1:{port}/fred/series/observations?api_key=SENTINEL-UNREGISTERED-9d8e");
        let text = http.get_text(&url, "fred DGS10").await.unwrap_err().to_string();
        assert!(text.starts_with("fred DGS10: transient failure: error sending request: "), "{text}");
        assert!(!text.contains("SENTINEL-UNREGISTERED") && !text.contains("api_key"), "{text}");
    }

    #[test]
    fn a_multi_byte_error_body_is_classified_without_panicking() {
        let body = format!("{}{}", "x".repeat(199), "ü".repeat(300));
        let e = classify_status("fred DGS10", StatusCode::SERVICE_UNAVAILABLE, &body);
        assert!(matches!(&e, ProviderError::Transient { detail, .. } if detail.ends_with("x...")), "{e:?}");
    }
}
