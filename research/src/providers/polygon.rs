//! Polygon.io (now Massive): the market-data vendor of the nightly update — daily aggregates
//! (unadjusted; the whole market in one request, or one ticker's history), and the reference data
//! the store keeps: splits, cash dividends, ticker details (SIC code, listing and delisting) and
//! the earnings calendar (Benzinga's, through Polygon). The key travels in `Authorization: Bearer`;
//! `next_url` pages are followed only on the configured base URL.

use std::time::Duration;

use ae_shared::TradingDay;
use ae_shared::calendar::et_date;
use ae_shared::config::PolygonConfig;
use ae_shared::retry::RetryPolicy;
use ae_shared::secrets::{self, Secret};
use ae_shared::store::bars::Bar;
use ae_shared::store::corporate::{Dividend, VendorSplit};
use ae_shared::types::Ticker;
use chrono::{NaiveDate, TimeZone, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;

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

/// One page of a v3 reference list.
#[derive(Debug, Deserialize)]
struct Page<T> {
    #[serde(default = "Vec::new")]
    results: Vec<T>,
    #[serde(default)]
    next_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SplitItem {
    ticker: String,
    execution_date: String,
    split_from: f64,
    split_to: f64,
}

#[derive(Debug, Deserialize)]
struct DividendItem {
    ticker: String,
    ex_dividend_date: String,
    #[serde(default)]
    pay_date: Option<String>,
    cash_amount: f64,
    #[serde(default)]
    declaration_date: Option<String>,
    #[serde(default)]
    currency: Option<String>,
}

#[derive(Debug, Deserialize)]
struct DetailsEnvelope {
    results: DetailsItem,
}

#[derive(Debug, Deserialize)]
struct DetailsItem {
    name: String,
    #[serde(default)]
    active: Option<bool>,
    #[serde(default)]
    sic_code: Option<String>,
    #[serde(default)]
    sic_description: Option<String>,
    #[serde(default)]
    list_date: Option<String>,
    #[serde(default)]
    delisted_utc: Option<String>,
}

#[derive(Debug, Deserialize)]
struct EarningsItem {
    #[serde(default)]
    ticker: Option<String>,
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    date_status: Option<String>,
}

/// A ticker's reference details.
#[derive(Debug, Clone, PartialEq)]
pub struct TickerDetails {
    /// Company name.
    pub name: String,
    /// Still listed.
    pub active: bool,
    /// Standard Industrial Classification code.
    pub sic_code: Option<u32>,
    /// Its description.
    pub sic_description: Option<String>,
    /// First listed.
    pub list_date: Option<NaiveDate>,
    /// Delisted (New York date).
    pub delisted: Option<NaiveDate>,
}

/// An earnings date, announced or projected.
#[derive(Debug, Clone, PartialEq)]
pub struct EarningsDate {
    /// Symbol.
    pub ticker: Ticker,
    /// Date of the release.
    pub date: NaiveDate,
    /// Confirmed by the company (else projected).
    pub confirmed: bool,
}

fn ymd(s: &str, what: &str) -> Result<NaiveDate, ProviderError> {
    NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d")
        .map_err(|e| ProviderError::Malformed { what: what.to_string(), detail: format!("date {s:?}: {e}") })
}

/// Polygon writes share classes with a dot or a dash; the store uses a dot.
fn ticker_of(s: &str) -> Option<Ticker> {
    Ticker::new(&s.replace('-', ".")).ok()
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

impl PolygonClient {
    /// Every page of a list, following `next_url` on the configured base only.
    async fn pages<T: DeserializeOwned>(&self, first: String, what: &str) -> Result<Vec<T>, ProviderError> {
        let mut url = first;
        let mut out = Vec::new();
        loop {
            let page: Page<T> = self.http.get_json_bearer(&url, self.key.expose(), what).await?;
            out.extend(page.results);
            match page.next_url {
                Some(next) if !next.is_empty() => url = self.on_base(next, what)?,
                _ => break,
            }
            if out.len() > 1_000_000 {
                return Err(ProviderError::Malformed {
                    what: what.to_string(),
                    detail: "more than a million rows".into(),
                });
            }
        }
        Ok(out)
    }

    /// A `next_url` rebased on the configured base (the key is only ever sent there).
    fn on_base(&self, next: String, what: &str) -> Result<String, ProviderError> {
        if next.starts_with(&format!("{}/", self.base)) {
            return Ok(next);
        }
        // Polygon answers with its public host; keep only the path and query.
        let rest = next
            .strip_prefix("https://")
            .or_else(|| next.strip_prefix("http://"))
            .and_then(|r| r.find('/').map(|i| r[i..].to_string()))
            .filter(|p| p.starts_with("/v") || p.starts_with("/benzinga/"))
            .ok_or_else(|| ProviderError::Malformed {
                what: what.to_string(),
                detail: "next_url is not a Polygon URL (the key is only ever sent to Polygon)".into(),
            })?;
        Ok(format!("{}{rest}", self.base))
    }

    /// Splits executed between `from` and `to` (inclusive), every ticker.
    pub async fn splits(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<VendorSplit>, ProviderError> {
        let what = format!("polygon splits {from}..{to}");
        let url = format!(
            "{}/v3/reference/splits?execution_date.gte={from}&execution_date.lte={to}&limit=1000&order=asc",
            self.base
        );
        let mut out = Vec::new();
        for s in self.pages::<SplitItem>(url, &what).await? {
            let Some(ticker) = ticker_of(&s.ticker) else { continue };
            if !(s.split_from > 0.0 && s.split_to > 0.0) {
                continue;
            }
            out.push(VendorSplit { ticker, date: ymd(&s.execution_date, &what)?, ratio: s.split_to / s.split_from });
        }
        Ok(out)
    }

    /// Cash dividends going ex between `from` and `to` (inclusive), every ticker; amounts in
    /// another currency than USD are left out.
    pub async fn dividends(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<Dividend>, ProviderError> {
        let what = format!("polygon dividends {from}..{to}");
        let url = format!(
            "{}/v3/reference/dividends?ex_dividend_date.gte={from}&ex_dividend_date.lte={to}&limit=1000&order=asc",
            self.base
        );
        let mut out = Vec::new();
        for d in self.pages::<DividendItem>(url, &what).await? {
            let Some(ticker) = ticker_of(&d.ticker) else { continue };
            if d.currency.as_deref().is_some_and(|c| !c.eq_ignore_ascii_case("USD")) {
                continue;
            }
            let ex_date = ymd(&d.ex_dividend_date, &what)?;
            out.push(Dividend {
                ticker,
                ex_date,
                pay_date: d.pay_date.as_deref().map(|p| ymd(p, &what)).transpose()?.unwrap_or(ex_date),
                cash_amount: d.cash_amount,
                declared: d.declaration_date.as_deref().and_then(|p| ymd(p, &what).ok()),
            });
        }
        Ok(out)
    }

    /// A ticker's details as of `date`.
    pub async fn ticker_details(&self, ticker: &Ticker, date: NaiveDate) -> Result<TickerDetails, ProviderError> {
        let what = format!("polygon ticker details {ticker}");
        let url = format!("{}/v3/reference/tickers/{}?date={date}", self.base, ticker.as_str());
        let d: DetailsEnvelope = self.http.get_json_bearer(&url, self.key.expose(), &what).await?;
        let r = d.results;
        Ok(TickerDetails {
            name: r.name,
            active: r.active.unwrap_or(true),
            sic_code: r.sic_code.as_deref().and_then(|c| c.trim().parse().ok()),
            sic_description: r.sic_description,
            list_date: r.list_date.as_deref().and_then(|p| ymd(p, &what).ok()),
            delisted: r.delisted_utc.as_deref().and_then(|p| ymd(p, &what).ok()),
        })
    }

    /// Earnings dates between `from` and `to` (inclusive), announced or projected (Benzinga's
    /// calendar through Polygon).
    pub async fn earnings(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<EarningsDate>, ProviderError> {
        let what = format!("polygon earnings {from}..{to}");
        let url = format!("{}/benzinga/v1/earnings?date.gte={from}&date.lte={to}&limit=50000&sort=date.asc", self.base);
        let mut out = Vec::new();
        for e in self.pages::<EarningsItem>(url, &what).await? {
            let (Some(t), Some(d)) = (e.ticker.as_deref().and_then(ticker_of), e.date) else { continue };
            out.push(EarningsDate {
                ticker: t,
                date: ymd(&d, &what)?,
                confirmed: e.date_status.as_deref() == Some("confirmed"),
            });
        }
        Ok(out)
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
                Some(next) if !next.is_empty() => url = self.on_base(next, &what)?,
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
