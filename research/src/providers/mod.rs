//! External data providers behind traits, with one HTTP layer for all of them.
//!
//! Every provider call goes through [`http::HttpClient`]: a per-provider rate limiter, the shared
//! retry policy (429, 5xx, timeouts and dropped connections are retried; refusals are not), and
//! error classification by HTTP status first (bodies are optional and often not JSON). Failures
//! are per ticker: one bad ticker is recorded in [`ProviderStats`] and the run goes on.

pub mod fmp;
pub mod form4;
pub mod fred;
pub mod http;
pub mod polygon;
pub mod sec;
pub mod sic;

use std::collections::BTreeMap;
use std::future::Future;

use ae_shared::retry::Transient;
use serde::Serialize;

/// A provider failure.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    /// The thing asked for does not exist (unknown ticker, no such series).
    #[error("{0}: not found")]
    NotFound(String),
    /// The provider refused (bad key, forbidden, plan limits). Not retried.
    #[error("{what}: refused with HTTP {status}: {detail}")]
    Refused {
        /// Request.
        what: String,
        /// HTTP status.
        status: u16,
        /// Body excerpt or message.
        detail: String,
    },
    /// Throttling, server errors, timeouts: retried by the policy.
    #[error("{what}: transient failure: {detail}")]
    Transient {
        /// Request.
        what: String,
        /// What happened.
        detail: String,
    },
    /// A body that does not have the expected shape.
    #[error("{what}: malformed response: {detail}")]
    Malformed {
        /// Request.
        what: String,
        /// Parse error.
        detail: String,
    },
    /// Missing configuration (e.g. no API key in the environment).
    #[error("{0}")]
    NotConfigured(String),
}

impl Transient for ProviderError {
    fn is_transient(&self) -> bool {
        matches!(self, ProviderError::Transient { .. })
    }
}

impl ProviderError {
    /// Short kind name for counting.
    pub fn kind(&self) -> &'static str {
        match self {
            ProviderError::NotFound(_) => "not_found",
            ProviderError::Refused { .. } => "refused",
            ProviderError::Transient { .. } => "transient",
            ProviderError::Malformed { .. } => "malformed",
            ProviderError::NotConfigured(_) => "not_configured",
        }
    }
}

/// Per-provider counters for the run summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProviderStats {
    /// Successful fetches.
    pub ok: usize,
    /// Failures by kind.
    pub errors: BTreeMap<String, usize>,
    /// Which ticker (or series) failed, and why.
    pub failures: Vec<(String, String)>,
}

impl ProviderStats {
    /// Records one outcome; returns the value on success.
    pub fn record<T>(&mut self, subject: &str, r: Result<T, ProviderError>) -> Option<T> {
        match r {
            Ok(v) => {
                self.ok += 1;
                Some(v)
            }
            Err(e) => {
                tracing::warn!(subject, error = %e, "provider call failed; continuing without it");
                *self.errors.entry(e.kind().to_string()).or_default() += 1;
                self.failures.push((subject.to_string(), e.to_string()));
                None
            }
        }
    }

    /// Total failures.
    pub fn error_count(&self) -> usize {
        self.errors.values().sum()
    }
}

/// Fundamentals and insider filings for one company.
pub trait FundamentalsProvider: Send + Sync {
    /// XBRL company facts.
    fn company_facts(&self, ticker: &str) -> impl Future<Output = Result<sec::CompanyFacts, ProviderError>> + Send;
    /// Insider transactions (Form 4) filed on or before `as_of`, most recent first.
    fn insider_transactions(
        &self,
        ticker: &str,
        as_of: chrono::NaiveDate,
    ) -> impl Future<Output = Result<Vec<form4::InsiderTransaction>, ProviderError>> + Send;
}

/// Macro time series.
pub trait MacroProvider: Send + Sync {
    /// Observations of `series` dated `from` through `as_of` (dates ascending; missing values
    /// skipped).
    fn observations(
        &self,
        series: &str,
        from: chrono::NaiveDate,
        as_of: chrono::NaiveDate,
    ) -> impl Future<Output = Result<Vec<(chrono::NaiveDate, f64)>, ProviderError>> + Send;
}

/// Daily bars.
pub trait BarsProvider: Send + Sync {
    /// Unadjusted daily bars of `ticker` from `from` to `to` inclusive.
    fn daily_bars(
        &self,
        ticker: &str,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> impl Future<Output = Result<Vec<ae_shared::store::bars::Bar>, ProviderError>> + Send;
}
