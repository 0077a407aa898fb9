//! SEC EDGAR: the ticker → CIK map, XBRL company facts and the submissions list (for Form 4).
//!
//! SEC asks for a descriptive User-Agent with a contact and at most 10 requests a second; we send
//! the configured agent and stay at `requests_per_second` (8 by default). The live ticker map only
//! knows current tickers, so a short table of historical ones (names in the 2009–2010 data whose
//! filer changed) is consulted first.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ae_shared::config::SecConfig;
use ae_shared::retry::RetryPolicy;
use chrono::NaiveDate;
use serde::Deserialize;
use tokio::sync::OnceCell;

use super::form4::{self, InsiderTransaction};
use super::http::HttpClient;
use super::{FundamentalsProvider, ProviderError};

/// Tickers whose filer the live map no longer resolves to the historical registrant.
const HISTORICAL_CIKS: &[(&str, u64)] = &[("XOM", 34088), ("ESRX", 885721)];

/// One XBRL observation.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Fact {
    /// Period start (duration facts only).
    #[serde(default)]
    pub start: Option<NaiveDate>,
    /// Period end (or the instant).
    pub end: NaiveDate,
    /// Value.
    pub val: f64,
    /// Form that reported it (10-K, 10-Q, 10-K/A ...).
    #[serde(default)]
    pub form: String,
    /// Filing date — what makes the value known.
    pub filed: NaiveDate,
    /// Fiscal period of the filing (FY, Q1 ...), not of the value.
    #[serde(default)]
    pub fp: Option<String>,
}

/// One concept: observations by unit.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Concept {
    /// Unit → observations.
    #[serde(default)]
    pub units: BTreeMap<String, Vec<Fact>>,
}

/// A company's XBRL facts by taxonomy and concept.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CompanyFacts {
    /// Registrant name.
    #[serde(default, rename = "entityName")]
    pub entity_name: String,
    /// taxonomy (us-gaap, dei) → concept → facts.
    #[serde(default)]
    pub facts: BTreeMap<String, BTreeMap<String, Concept>>,
}

impl CompanyFacts {
    /// The observations of the first of `concepts` (tried in order) that has any in `unit`.
    pub fn series(&self, taxonomy: &str, concepts: &[&str], unit: &str) -> Option<&[Fact]> {
        let tax = self.facts.get(taxonomy)?;
        concepts.iter().find_map(|c| tax.get(*c)?.units.get(unit).filter(|v| !v.is_empty()).map(|v| v.as_slice()))
    }
}

#[derive(Debug, Deserialize)]
struct TickerEntry {
    cik_str: u64,
    ticker: String,
}

/// The submissions list (recent filings, as parallel arrays).
#[derive(Debug, Clone, Deserialize)]
pub struct Submissions {
    /// Filings.
    pub filings: Filings,
}

/// `filings` of a submissions document.
#[derive(Debug, Clone, Deserialize)]
pub struct Filings {
    /// The most recent filings.
    pub recent: Recent,
}

/// Parallel arrays of recent filings.
#[derive(Debug, Clone, Deserialize)]
pub struct Recent {
    /// Accession numbers (with dashes).
    #[serde(rename = "accessionNumber")]
    pub accession_number: Vec<String>,
    /// Filing dates.
    #[serde(rename = "filingDate")]
    pub filing_date: Vec<NaiveDate>,
    /// Form types.
    pub form: Vec<String>,
    /// Primary documents.
    #[serde(rename = "primaryDocument")]
    pub primary_document: Vec<String>,
}

/// The EDGAR client.
#[derive(Debug, Clone)]
pub struct SecClient {
    http: HttpClient,
    cfg: SecConfig,
    ciks: Arc<OnceCell<BTreeMap<String, u64>>>,
}

impl SecClient {
    /// A client from configuration.
    pub fn new(cfg: &SecConfig, timeout: Duration, retry: RetryPolicy) -> Result<Self, ProviderError> {
        if !cfg.user_agent.contains('@') {
            return Err(ProviderError::NotConfigured(
                "providers.sec.user_agent must name the operator with a contact e-mail (SEC fair-access rule)".into(),
            ));
        }
        Ok(Self {
            http: HttpClient::new("sec", &cfg.user_agent, cfg.requests_per_second, timeout, retry)?,
            cfg: cfg.clone(),
            ciks: Arc::new(OnceCell::new()),
        })
    }

    /// CIK of `ticker`.
    pub async fn cik(&self, ticker: &str) -> Result<u64, ProviderError> {
        if let Some((_, cik)) = HISTORICAL_CIKS.iter().find(|(t, _)| *t == ticker) {
            return Ok(*cik);
        }
        let map = self
            .ciks
            .get_or_try_init(|| async {
                let raw: BTreeMap<String, TickerEntry> =
                    self.http.get_json(&self.cfg.tickers_url, "sec company_tickers.json").await?;
                Ok::<_, ProviderError>(raw.into_values().map(|e| (e.ticker.to_ascii_uppercase(), e.cik_str)).collect())
            })
            .await?;
        // EDGAR writes share classes with a dash (BRK-B); the price data with a dot (BRK.B).
        map.get(ticker)
            .or_else(|| map.get(&ticker.replace('.', "-")))
            .copied()
            .ok_or_else(|| ProviderError::NotFound(format!("sec cik of {ticker}")))
    }

    /// Company facts of `ticker`.
    pub async fn facts(&self, ticker: &str) -> Result<CompanyFacts, ProviderError> {
        let cik = self.cik(ticker).await?;
        let url = format!("{}/api/xbrl/companyfacts/CIK{cik:010}.json", self.cfg.base_url.trim_end_matches('/'));
        self.http.get_json(&url, &format!("sec companyfacts {ticker}")).await
    }

    /// Recent filings of `ticker`.
    pub async fn submissions(&self, ticker: &str) -> Result<(u64, Submissions), ProviderError> {
        let cik = self.cik(ticker).await?;
        let url = format!("{}/submissions/CIK{cik:010}.json", self.cfg.base_url.trim_end_matches('/'));
        Ok((cik, self.http.get_json(&url, &format!("sec submissions {ticker}")).await?))
    }
}

impl FundamentalsProvider for SecClient {
    async fn company_facts(&self, ticker: &str) -> Result<CompanyFacts, ProviderError> {
        self.facts(ticker).await
    }

    async fn insider_transactions(
        &self,
        ticker: &str,
        as_of: NaiveDate,
    ) -> Result<Vec<InsiderTransaction>, ProviderError> {
        let (cik, subs) = self.submissions(ticker).await?;
        let r = &subs.filings.recent;
        let n = r.form.len().min(r.filing_date.len()).min(r.accession_number.len()).min(r.primary_document.len());
        let mut out = Vec::new();
        let mut read = 0;
        for i in 0..n {
            if r.form[i] != "4" || r.filing_date[i] > as_of || (as_of - r.filing_date[i]).num_days() > 90 {
                continue;
            }
            if read >= self.cfg.form4_max_per_ticker {
                break;
            }
            read += 1;
            // The listed document is the XSL-rendered view ("xslF345X03/x.xml"); the raw XML is the file itself.
            let doc = r.primary_document[i].rsplit('/').next().unwrap_or(&r.primary_document[i]);
            let url = format!(
                "{}/Archives/edgar/data/{cik}/{}/{doc}",
                self.cfg.archives_url.trim_end_matches('/'),
                r.accession_number[i].replace('-', "")
            );
            let xml = self.http.get_text(&url, &format!("sec form 4 {ticker} {}", r.accession_number[i])).await?;
            let parsed = form4::parse(&xml).map_err(|detail| ProviderError::Malformed {
                what: format!("form 4 {}", r.accession_number[i]),
                detail,
            })?;
            out.extend(
                parsed
                    .into_iter()
                    .map(|mut t| {
                        t.filing_date = r.filing_date[i];
                        t.filed_or_traded = t.date.max(t.filing_date);
                        t
                    })
                    .filter(|t| t.filed_or_traded <= as_of),
            );
        }
        Ok(out)
    }
}
