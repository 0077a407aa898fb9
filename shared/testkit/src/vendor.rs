//! A local stand-in for the market-data vendors the nightly update talks to: a real HTTP server on
//! loopback answering in Polygon's, FMP's and FRED's own payload shapes, generated from the
//! embedded files (unadjusted daily bars, earnings dates, sectors, and macro series derived from
//! the embedded index), plus the corporate actions, index changes and outages a test scripts.
//!
//! It serves only what a vendor would know: a bar is never served before its session, and every
//! bar it served is recorded with the day it was asked for, so a test can check that no job read
//! a datum dated after its clock.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use ae_shared::store::embedded_data_dir;
use ae_shared::store::import::read_gz_text;
use chrono::{Datelike, NaiveDate, NaiveTime, TimeZone};
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// One unadjusted daily bar as the vendor holds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawBar {
    /// Open, high, low, close.
    pub ohlc: [f64; 4],
    /// Shares.
    pub volume: f64,
}

/// A split the vendor announces (`split_from` old shares become `split_to`).
#[derive(Debug, Clone)]
pub struct VendorSplitRow {
    /// Ticker.
    pub ticker: String,
    /// Execution (ex) date.
    pub date: NaiveDate,
    /// Old shares.
    pub from: f64,
    /// New shares.
    pub to: f64,
}

/// A cash dividend the vendor announces.
#[derive(Debug, Clone)]
pub struct VendorDividendRow {
    /// Ticker.
    pub ticker: String,
    /// Declared on.
    pub declared: NaiveDate,
    /// Ex-dividend date.
    pub ex: NaiveDate,
    /// Pay date.
    pub pay: NaiveDate,
    /// USD per share.
    pub amount: f64,
}

/// An S&P 500 change in FMP's shape.
#[derive(Debug, Clone)]
pub struct VendorChange {
    /// Effective date.
    pub date: NaiveDate,
    /// Added symbol, if any.
    pub added: Option<String>,
    /// Removed symbol, if any.
    pub removed: Option<String>,
    /// Why.
    pub reason: String,
}

/// What the vendors know, and how they fail.
#[derive(Debug, Default)]
pub struct VendorWorld {
    /// Unadjusted bars by session, then ticker.
    pub bars: BTreeMap<NaiveDate, BTreeMap<String, RawBar>>,
    /// Earnings dates by ticker.
    pub earnings: BTreeMap<String, Vec<NaiveDate>>,
    /// Name and SIC code by ticker (ticker details).
    pub details: BTreeMap<String, (String, u32)>,
    /// Splits.
    pub splits: Vec<VendorSplitRow>,
    /// Dividends.
    pub dividends: Vec<VendorDividendRow>,
    /// Index changes.
    pub changes: Vec<VendorChange>,
    /// Sessions whose grouped-daily request answers 503 every time (the update must fall back to
    /// one request per name).
    pub grouped_outages: BTreeSet<NaiveDate>,
    /// The next this many requests of any kind answer 503 (the retry policy absorbs them).
    pub transient_failures: u32,
    /// The ETF the vendor serves as a benchmark, with its bars (SPY).
    pub etf: Option<(String, BTreeMap<NaiveDate, RawBar>)>,
    /// FRED series by id: the value of each weekday (`None`: FRED's "." for a day without one).
    pub macro_series: BTreeMap<String, BTreeMap<NaiveDate, Option<f64>>>,
}

/// The keys each vendor checks.
#[derive(Debug, Clone)]
pub struct VendorKeys {
    /// Polygon: `Authorization: Bearer {key}`.
    pub polygon: String,
    /// FMP: `apikey={key}`.
    pub fmp: String,
    /// FRED: `api_key={key}`.
    pub fred: String,
}

impl VendorKeys {
    /// Keys named after a test: `{prefix}-polygon-key`, `{prefix}-fmp-key`, `{prefix}-fred-key`.
    pub fn named(prefix: &str) -> Self {
        Self {
            polygon: format!("{prefix}-polygon-key"),
            fmp: format!("{prefix}-fmp-key"),
            fred: format!("{prefix}-fred-key"),
        }
    }
}

/// SIC codes of a few GICS sectors, for ticker details of names that enter the index.
const SIC_OF_SECTOR: &[(&str, u32)] = &[
    ("Information Technology", 7372),
    ("Health Care", 2834),
    ("Financials", 6022),
    ("Consumer Discretionary", 5651),
    ("Consumer Staples", 2080),
    ("Energy", 1311),
    ("Industrials", 3720),
    ("Materials", 2800),
    ("Utilities", 4911),
    ("Telecommunication Services", 4813),
    ("Real Estate", 6798),
];

impl VendorWorld {
    /// The embedded year as the vendor holds it: every unadjusted bar, every earnings date, a
    /// name and SIC code for every name of the sector map, and an ETF series (SPY) priced at a
    /// tenth of the embedded S&P 500 index (the index's own close, so the benchmark's returns are
    /// the index's).
    pub fn embedded() -> Self {
        let dir = embedded_data_dir();
        let mut w = VendorWorld::default();
        let text = read_gz_text(&dir.join("sp500_2009_2010_ohlcv.csv.gz")).expect("embedded bars");
        for line in text.lines().skip(1) {
            let c: Vec<&str> = line.split(',').collect();
            if c.len() < 7 {
                continue;
            }
            let (Ok(d), Ok(o), Ok(h), Ok(l), Ok(cl), Ok(v)) = (
                NaiveDate::parse_from_str(c[0], "%Y-%m-%d"),
                c[2].parse::<f64>(),
                c[3].parse::<f64>(),
                c[4].parse::<f64>(),
                c[5].parse::<f64>(),
                c[6].parse::<f64>(),
            ) else {
                continue;
            };
            w.bars.entry(d).or_default().insert(c[1].to_string(), RawBar { ohlc: [o, h, l, cl], volume: v });
        }
        let text = read_gz_text(&dir.join("earnings_dates_2003_2025.csv.gz")).expect("embedded earnings");
        for line in text.lines().skip(1) {
            if let Some((t, d)) = line.split_once(',')
                && let Ok(d) = NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
            {
                w.earnings.entry(t.to_string()).or_default().push(d);
            }
        }
        let sectors = std::fs::read_to_string(dir.join("sp500_sectors_2014.csv")).expect("embedded sectors");
        for line in sectors.lines().skip(1) {
            let c: Vec<&str> = line.split(',').collect();
            if c.len() >= 3
                && let Some((_, sic)) = SIC_OF_SECTOR.iter().find(|(s, _)| *s == c[2])
            {
                w.details.insert(c[0].to_string(), (c[1].to_string(), *sic));
            }
        }
        let text = read_gz_text(&dir.join("spx_index_1999_2018.csv.gz")).expect("embedded index");
        let mut etf = BTreeMap::new();
        for line in text.lines().skip(1) {
            let c: Vec<&str> = line.split(',').collect();
            let Some(d) = c.first().and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()) else { continue };
            if !w.bars.contains_key(&d) {
                continue;
            }
            let nums: Vec<f64> = c[1..].iter().filter_map(|x| x.parse().ok()).collect();
            if nums.len() >= 4 {
                let ohlc = [nums[0] / 10.0, nums[1] / 10.0, nums[2] / 10.0, nums[3] / 10.0];
                etf.insert(d, RawBar { ohlc, volume: nums.get(5).copied().unwrap_or(1e8).max(1.0) });
            }
        }
        w.macro_series = macro_from_index(&text);
        w.etf = Some(("SPY".to_string(), etf));
        w
    }
}

/// Three FRED series over every weekday the embedded index covers, derived from it so that they
/// move with the market as the real ones do: the VIX as 1.15 x the index's annualised 20-session
/// realized volatility, the high-yield spread as 2.5 + 0.18 x that VIX, and the 10-year yield as
/// 3.3 + 2 ln(index / 1000). A weekday without an index close is FRED's "." (no value).
fn macro_from_index(index_csv: &str) -> BTreeMap<String, BTreeMap<NaiveDate, Option<f64>>> {
    let closes: BTreeMap<NaiveDate, f64> = index_csv
        .lines()
        .skip(1)
        .filter_map(|line| {
            let c: Vec<&str> = line.split(',').collect();
            let d = NaiveDate::parse_from_str(c.first()?, "%Y-%m-%d").ok()?;
            Some((d, c.get(4)?.parse::<f64>().ok()?))
        })
        .collect();
    let round = |x: f64| (x * 100.0).round() / 100.0;
    let (mut vix, mut spread, mut rate) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    let sessions: Vec<(NaiveDate, f64)> = closes.iter().map(|(d, c)| (*d, *c)).collect();
    let (Some(first), Some(last)) = (sessions.first(), sessions.last()) else { return BTreeMap::new() };
    let mut k = 0;
    for d in first.0.iter_days().take_while(|d| *d <= last.0) {
        if d.weekday().number_from_monday() > 5 {
            continue;
        }
        if sessions[k].0 < d {
            k += 1;
        }
        let today = (sessions[k].0 == d).then_some(k).filter(|k| *k >= 20);
        let value = today.map(|k| {
            let r: Vec<f64> = (k - 19..=k).map(|i| (sessions[i].1 / sessions[i - 1].1).ln()).collect();
            let m = r.iter().sum::<f64>() / 20.0;
            let sd = (r.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 19.0).sqrt();
            let v = 1.15 * sd * 252f64.sqrt() * 100.0;
            (v, 2.5 + 0.18 * v, 3.3 + 2.0 * (sessions[k].1 / 1000.0).ln())
        });
        vix.insert(d, value.map(|x| round(x.0)));
        spread.insert(d, value.map(|x| round(x.1)));
        rate.insert(d, value.map(|x| round(x.2)));
    }
    [("VIXCLS", vix), ("BAMLH0A0HYM2", spread), ("DGS10", rate)].into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// What the stand-in served, for checks.
#[derive(Debug, Default, Clone)]
pub struct Served {
    /// (request path, latest data date in the answer), for every request (failures included).
    pub answers: Vec<(String, Option<NaiveDate>)>,
    /// Requests answered 503.
    pub failures: u32,
}

/// The running stand-in.
pub struct VendorStandIn {
    server: MockServer,
    served: Arc<Mutex<Served>>,
    world: Arc<Mutex<VendorWorld>>,
}

impl VendorStandIn {
    /// Starts the server for `world`. Every Polygon request must carry `Authorization: Bearer
    /// {keys.polygon}`; every FMP request `apikey={keys.fmp}`; every FRED request
    /// `api_key={keys.fred}`.
    pub async fn start(world: VendorWorld, keys: &VendorKeys) -> Self {
        let server = MockServer::start().await;
        let served = Arc::new(Mutex::new(Served::default()));
        let world = Arc::new(Mutex::new(world));
        let responder = Responder { world: world.clone(), served: served.clone(), keys: keys.clone() };
        Mock::given(wiremock::matchers::any()).respond_with(responder).mount(&server).await;
        Self { server, served, world }
    }

    /// What the vendors know, to announce more while a test runs.
    pub fn world(&self) -> std::sync::MutexGuard<'_, VendorWorld> {
        self.world.lock().expect("world")
    }

    /// `http://127.0.0.1:port`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// What was served so far.
    pub fn served(&self) -> Served {
        self.served.lock().expect("served").clone()
    }
}

struct Responder {
    world: Arc<Mutex<VendorWorld>>,
    served: Arc<Mutex<Served>>,
    keys: VendorKeys,
}

fn ms(d: NaiveDate) -> i64 {
    let t = d.and_time(NaiveTime::from_hms_opt(16, 0, 0).expect("time"));
    chrono_tz::America::New_York.from_local_datetime(&t).single().map(|x| x.timestamp_millis()).unwrap_or_default()
}

fn agg(t: Option<&str>, d: NaiveDate, b: &RawBar) -> Value {
    let mut v = json!({"o": b.ohlc[0], "h": b.ohlc[1], "l": b.ohlc[2], "c": b.ohlc[3], "v": b.volume, "vw": b.ohlc[3], "t": ms(d), "n": 1000});
    if let Some(t) = t {
        v["T"] = json!(t);
    }
    v
}

fn day_param(q: &BTreeMap<String, String>, k: &str) -> Option<NaiveDate> {
    q.get(k).and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}

impl Responder {
    fn answer(&self, req: &Request) -> (ResponseTemplate, Option<NaiveDate>) {
        let mut w = self.world.lock().expect("world");
        if w.transient_failures > 0 {
            w.transient_failures -= 1;
            self.served.lock().expect("served").failures += 1;
            return (ResponseTemplate::new(503).set_body_string("Service Unavailable"), None);
        }
        let path = req.url.path().to_string();
        let q: BTreeMap<String, String> =
            req.url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        if path.starts_with("/stable/") {
            if q.get("apikey") != Some(&self.keys.fmp) {
                return (ResponseTemplate::new(401).set_body_json(json!({"Error Message": "Invalid API KEY."})), None);
            }
            let rows: Vec<Value> = w
                .changes
                .iter()
                .map(|c| {
                    json!({
                        "dateAdded": c.date.format("%B %-d, %Y").to_string(),
                        "addedSecurity": c.added.as_ref().map(|_| "Added Co.").unwrap_or(""),
                        "removedTicker": c.removed.clone().unwrap_or_default(),
                        "removedSecurity": c.removed.as_ref().map(|_| "Removed Co.").unwrap_or(""),
                        "date": c.date.to_string(),
                        "symbol": c.added.clone().or(c.removed.clone()).unwrap_or_default(),
                        "reason": c.reason,
                    })
                })
                .collect();
            return (ResponseTemplate::new(200).set_body_json(rows), w.changes.iter().map(|c| c.date).max());
        }
        if path == "/fred/series/observations" {
            return fred_observations(&w, &q, &self.keys.fred);
        }
        let auth = req.headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
        if auth != format!("Bearer {}", self.keys.polygon) {
            return (
                ResponseTemplate::new(401)
                    .set_body_json(json!({"status": "ERROR", "request_id": "x", "error": "Unknown API Key"})),
                None,
            );
        }
        let seg: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match seg.as_slice() {
            ["v2", "aggs", "grouped", "locale", "us", "market", "stocks", day] => {
                let Ok(d) = NaiveDate::parse_from_str(day, "%Y-%m-%d") else {
                    return (ResponseTemplate::new(400), None);
                };
                if w.grouped_outages.contains(&d) {
                    self.served.lock().expect("served").failures += 1;
                    return (ResponseTemplate::new(503).set_body_string("upstream timeout"), None);
                }
                let mut results: Vec<Value> =
                    w.bars.get(&d).map(|m| m.iter().map(|(t, b)| agg(Some(t), d, b)).collect()).unwrap_or_default();
                if let Some((sym, s)) = &w.etf
                    && let Some(b) = s.get(&d)
                {
                    results.push(agg(Some(sym), d, b));
                }
                let n = results.len();
                let body = json!({"status": "OK", "queryCount": n, "resultsCount": n, "adjusted": false, "results": results, "request_id": "g"});
                (ResponseTemplate::new(200).set_body_json(body), (n > 0).then_some(d))
            }
            ["v2", "aggs", "ticker", t, "range", "1", "day", from, to] => {
                let (Ok(from), Ok(to)) =
                    (NaiveDate::parse_from_str(from, "%Y-%m-%d"), NaiveDate::parse_from_str(to, "%Y-%m-%d"))
                else {
                    return (ResponseTemplate::new(400), None);
                };
                let series: Vec<(NaiveDate, RawBar)> = match &w.etf {
                    Some((sym, s)) if sym == t => s.range(from..=to).map(|(d, b)| (*d, *b)).collect(),
                    _ => w.bars.range(from..=to).filter_map(|(d, m)| m.get(*t).map(|b| (*d, *b))).collect(),
                };
                let last = series.last().map(|(d, _)| *d);
                let results: Vec<Value> = series.iter().map(|(d, b)| agg(None, *d, b)).collect();
                let n = results.len();
                let body = json!({"ticker": t, "status": "OK", "queryCount": n, "resultsCount": n, "adjusted": false, "results": results, "request_id": "a"});
                (ResponseTemplate::new(200).set_body_json(body), last)
            }
            ["v3", "reference", "splits"] => {
                let (from, to) = (day_param(&q, "execution_date.gte"), day_param(&q, "execution_date.lte"));
                let rows: Vec<&VendorSplitRow> = w
                    .splits
                    .iter()
                    .filter(|s| from.is_none_or(|f| s.date >= f) && to.is_none_or(|t| s.date <= t))
                    .collect();
                let results: Vec<Value> = rows
                    .iter()
                    .map(|s| json!({"id": format!("E{}{}", s.ticker, s.date), "execution_date": s.date.to_string(), "split_from": s.from, "split_to": s.to, "ticker": s.ticker}))
                    .collect();
                let last = rows.iter().map(|s| s.date).max();
                (
                    ResponseTemplate::new(200)
                        .set_body_json(json!({"results": results, "status": "OK", "request_id": "s"})),
                    last,
                )
            }
            ["v3", "reference", "dividends"] => {
                let (from, to) = (day_param(&q, "ex_dividend_date.gte"), day_param(&q, "ex_dividend_date.lte"));
                let rows: Vec<&VendorDividendRow> = w
                    .dividends
                    .iter()
                    .filter(|s| from.is_none_or(|f| s.ex >= f) && to.is_none_or(|t| s.ex <= t))
                    .collect();
                let results: Vec<Value> = rows
                    .iter()
                    .map(|d| {
                        json!({"cash_amount": d.amount, "currency": "USD", "declaration_date": d.declared.to_string(), "dividend_type": "CD", "ex_dividend_date": d.ex.to_string(), "frequency": 4, "id": format!("E{}{}", d.ticker, d.ex), "pay_date": d.pay.to_string(), "record_date": d.ex.to_string(), "ticker": d.ticker})
                    })
                    .collect();
                let last = rows.iter().map(|d| d.declared).max();
                (
                    ResponseTemplate::new(200)
                        .set_body_json(json!({"results": results, "status": "OK", "request_id": "d"})),
                    last,
                )
            }
            ["v3", "reference", "tickers", t] => match w.details.get(*t) {
                Some((name, sic)) => {
                    let body = json!({"request_id": "t", "status": "OK", "results": {"ticker": t, "name": name, "market": "stocks", "locale": "us", "primary_exchange": "XNYS", "type": "CS", "active": true, "currency_name": "usd", "sic_code": sic.to_string(), "sic_description": "stand-in"}});
                    (ResponseTemplate::new(200).set_body_json(body), None)
                }
                None => (
                    ResponseTemplate::new(404).set_body_json(
                        json!({"status": "NOT_FOUND", "request_id": "t", "message": "Ticker not found."}),
                    ),
                    None,
                ),
            },
            ["benzinga", "v1", "earnings"] => {
                let (from, to) = (day_param(&q, "date.gte"), day_param(&q, "date.lte"));
                let mut results = Vec::new();
                for (t, dates) in &w.earnings {
                    for d in dates.iter().filter(|d| from.is_none_or(|f| **d >= f) && to.is_none_or(|x| **d <= x)) {
                        results.push(json!({"ticker": t, "date": d.to_string(), "date_status": "projected", "fiscal_period": "Q", "importance": 3}));
                    }
                }
                (
                    ResponseTemplate::new(200)
                        .set_body_json(json!({"results": results, "status": "OK", "request_id": "e"})),
                    None,
                )
            }
            _ => (ResponseTemplate::new(404).set_body_json(json!({"status": "NOT_FOUND", "request_id": "n"})), None),
        }
    }
}

/// FRED's `series/observations` answer (its JSON shape, values as text, "." for none).
fn fred_observations(
    w: &VendorWorld,
    q: &BTreeMap<String, String>,
    key: &str,
) -> (ResponseTemplate, Option<NaiveDate>) {
    let bad =
        |msg: &str| (ResponseTemplate::new(400).set_body_json(json!({"error_code": 400, "error_message": msg})), None);
    if q.get("api_key").map(String::as_str) != Some(key) {
        return bad(
            "Bad Request.  The value for variable api_key is not registered.  Read https://fred.stlouisfed.org/docs/api/api_key.html for more information.",
        );
    }
    let Some(series) = q.get("series_id").and_then(|id| w.macro_series.get(id)) else {
        return bad("Bad Request.  The series does not exist.");
    };
    let (from, to) = (day_param(q, "observation_start"), day_param(q, "observation_end"));
    let rows: Vec<(&NaiveDate, &Option<f64>)> =
        series.iter().filter(|(d, _)| from.is_none_or(|f| **d >= f) && to.is_none_or(|t| **d <= t)).collect();
    let observations: Vec<Value> = rows
        .iter()
        .map(|(d, v)| {
            let value = v.map(|x| format!("{x:.2}")).unwrap_or_else(|| ".".into());
            json!({"realtime_start": "2024-01-16", "realtime_end": "2024-01-16", "date": d.to_string(), "value": value})
        })
        .collect();
    let body = json!({
        "realtime_start": "2024-01-16", "realtime_end": "2024-01-16",
        "observation_start": from.map(|d| d.to_string()).unwrap_or_default(),
        "observation_end": to.map(|d| d.to_string()).unwrap_or_default(),
        "units": "lin", "output_type": 1, "file_type": "json", "order_by": "observation_date", "sort_order": "asc",
        "count": observations.len(), "offset": 0, "limit": 100000, "observations": observations,
    });
    (ResponseTemplate::new(200).set_body_json(body), rows.last().map(|(d, _)| **d))
}

impl Respond for Responder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let (r, last) = self.answer(req);
        self.served.lock().expect("served").answers.push((req.url.path().to_string(), last));
        r
    }
}
