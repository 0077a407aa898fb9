//! Providers against local HTTP stand-ins (wiremock) serving realistic payload shapes: SEC EDGAR
//! (ticker map, company facts, submissions, Form 4 XML), FRED and Polygon — including 429s, 5xx,
//! malformed JSON and tickers that do not exist. One bad ticker never fails the run.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ae_research::providers::fred::FredClient;
use ae_research::providers::polygon::PolygonClient;
use ae_research::providers::sec::SecClient;
use ae_research::providers::{BarsProvider, FundamentalsProvider, MacroProvider, ProviderError};
use ae_research::run::{RunOptions, run};
use ae_shared::bus::keys;
use ae_shared::config::{Config, FredConfig, PolygonConfig, SecConfig};
use ae_shared::contracts::signals::Signals;
use ae_shared::retry::RetryPolicy;
use ae_shared::store::PriceStore;
use chrono::NaiveDate;
use serde_json::Value;
use wiremock::matchers::{header_regex, method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::common::{bus, clock, config, day};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)).unwrap()
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn sec_config(server: &MockServer) -> SecConfig {
    let mut c = Config::defaults().providers.sec;
    c.enabled = true;
    c.base_url = server.uri();
    c.archives_url = server.uri();
    c.tickers_url = format!("{}/files/company_tickers.json", server.uri());
    c.user_agent = "alpha-engine tests ops@example.com".into();
    c
}

/// EDGAR for every symbol of the store: a ticker map with synthetic CIKs; company facts shaped like
/// Apple's (values scaled per company); Apple's submissions; Form 4 XML built from a template.
/// Every 17th company misbehaves in one of three ways.
struct Edgar {
    by_cik: BTreeMap<u64, String>,
    facts: Value,
    hits: AtomicUsize,
}

impl Edgar {
    fn kind(&self, cik: u64) -> u64 {
        (cik - 1000) % 17
    }
}

impl Respond for Edgar {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let p = req.url.path();
        if let Some(rest) = p.strip_prefix("/api/xbrl/companyfacts/CIK") {
            let cik: u64 = rest.trim_end_matches(".json").parse().unwrap();
            let Some(ticker) = self.by_cik.get(&cik) else {
                return ResponseTemplate::new(404)
                    .set_body_raw(fixture("sec_error_404_nosuchkey.xml"), "application/xml");
            };
            match self.kind(cik) {
                3 => return ResponseTemplate::new(200).set_body_raw("{\"cik\": 1, \"facts\": {", "application/json"),
                5 => return ResponseTemplate::new(503).set_body_raw("<html>Service Unavailable</html>", "text/html"),
                7 if self.hits.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) => {
                    return ResponseTemplate::new(429)
                        .insert_header("retry-after", "0")
                        .set_body_raw(fixture("sec_error_403_undeclared_automated_tool.html"), "text/html");
                }
                _ => {}
            }
            let scale = 0.3 + (cik % 11) as f64 * 0.15;
            let mut f = self.facts.clone();
            f["entityName"] = Value::from(format!("{ticker} Inc."));
            for (_, concepts) in f["facts"].as_object_mut().unwrap() {
                for (_, c) in concepts.as_object_mut().unwrap() {
                    for (_, obs) in c["units"].as_object_mut().unwrap() {
                        for o in obs.as_array_mut().unwrap() {
                            let v = o["val"].as_f64().unwrap();
                            o["val"] = Value::from((v * scale).round());
                        }
                    }
                }
            }
            return ResponseTemplate::new(200).set_body_json(f);
        }
        if p.starts_with("/submissions/CIK") {
            return ResponseTemplate::new(200).set_body_raw(fixture("sec_submissions_AAPL.json"), "application/json");
        }
        if let Some(rest) = p.strip_prefix("/Archives/edgar/data/") {
            let cik: u64 = rest.split('/').next().unwrap().parse().unwrap();
            let accession = rest.split('/').nth(1).unwrap();
            // Buyers for most companies, a seller cluster for some; three distinct owners.
            let owner = accession.len() as u64 + accession.bytes().map(|b| b as u64).sum::<u64>() % 3;
            let code = if cik.is_multiple_of(4) { "S" } else { "P" };
            let xml = fixture("form4_template.xml")
                .replace("{{date}}", "2010-02-24")
                .replace("{{issuer_cik}}", &format!("{cik:010}"))
                .replace("{{issuer}}", "ISSUER")
                .replace("{{ticker}}", self.by_cik.get(&cik).map(String::as_str).unwrap_or("X"))
                .replace("{{owner_cik}}", &format!("{:010}", 5_000_000 + owner))
                .replace("{{owner}}", &format!("OWNER {owner}"))
                .replace("{{code}}", code)
                .replace("{{shares}}", "1000")
                .replace("{{ad}}", if code == "P" { "A" } else { "D" });
            return ResponseTemplate::new(200).set_body_raw(xml, "application/xml");
        }
        ResponseTemplate::new(404)
    }
}

async fn edgar(tickers: &[String]) -> MockServer {
    let server = MockServer::start().await;
    let mut map = serde_json::Map::new();
    let mut by_cik = BTreeMap::new();
    for (i, t) in tickers.iter().enumerate() {
        let cik = 1000 + i as u64;
        by_cik.insert(cik, t.clone());
        map.insert(
            i.to_string(),
            serde_json::json!({"cik_str": cik, "ticker": t.replace('.', "-"), "title": format!("{t} Inc.")}),
        );
    }
    Mock::given(method("GET"))
        .and(path("/files/company_tickers.json"))
        .and(header_regex("user-agent", r"^\S.* \S+@\S+$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(Value::Object(map)))
        .mount(&server)
        .await;
    let facts: Value = serde_json::from_str(&fixture("sec_companyfacts_AAPL.json")).unwrap();
    Mock::given(method("GET"))
        .and(path_regex(r"^/(api/xbrl/companyfacts|submissions|Archives/edgar/data)/"))
        .and(header_regex("user-agent", r"@"))
        .respond_with(Edgar { by_cik, facts, hits: AtomicUsize::new(0) })
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn sec_client_reads_facts_point_in_time_and_form4_codes() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/files/company_tickers.json"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(fixture("sec_company_tickers.json"), "application/json"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/xbrl/companyfacts/CIK0000320193.json"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(fixture("sec_companyfacts_AAPL.json"), "application/json"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/xbrl/companyfacts/CIK0000034088.json"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(fixture("sec_companyfacts_XOM.json"), "application/json"))
        .mount(&server)
        .await;
    let sec = SecClient::new(&sec_config(&server), Duration::from_secs(5), RetryPolicy::fast()).unwrap();
    let aapl = sec.company_facts("AAPL").await.unwrap();
    // Apple's FY2009 revenue as known before and after its January 2010 restatement.
    let before = ae_research::fundamentals::from_facts(&aapl, d("2009-12-01"), 200.0);
    let after = ae_research::fundamentals::from_facts(&aapl, d("2010-03-12"), 200.0);
    assert_eq!(before.fiscal_year_end, after.fiscal_year_end);
    assert!(
        before.sales_to_price.unwrap() < after.sales_to_price.unwrap(),
        "the restated revenue is only seen once filed"
    );
    assert!(after.piotroski_f.is_some() && after.altman_z.is_some(), "{after:?}");
    // XOM resolves through the historical CIK table; it reports no gross profit.
    let xom = ae_research::fundamentals::from_facts(&sec.company_facts("XOM").await.unwrap(), d("2010-03-12"), 70.0);
    assert!(xom.gross_margin.is_none() && xom.earnings_yield.is_some(), "{xom:?}");
    // A ticker the map does not know.
    assert!(matches!(sec.company_facts("ZZZZ").await, Err(ProviderError::NotFound(_))));
    // SEC's fair-access rule: no contact, no client.
    let mut c = sec_config(&server);
    c.user_agent = "alpha-engine".into();
    assert!(matches!(
        SecClient::new(&c, Duration::from_secs(5), RetryPolicy::fast()),
        Err(ProviderError::NotConfigured(_))
    ));
}

#[tokio::test]
async fn insider_transactions_come_from_form4_filings_known_by_the_day() {
    let server = edgar(&["AAPL".to_string()]).await;
    let sec = SecClient::new(&sec_config(&server), Duration::from_secs(5), RetryPolicy::fast()).unwrap();
    let txs = sec.insider_transactions("AAPL", d("2010-03-12")).await.unwrap();
    // Filings within 90 days before 2010-03-12: 2010-02-26 and 2009-12-17 (the stand-in makes
    // this company's insiders sellers).
    assert_eq!(txs.len(), 2, "{txs:?}");
    assert!(txs.iter().all(|t| t.filing_date <= d("2010-03-12") && t.code == "S"), "{txs:?}");
}

#[tokio::test]
async fn a_run_with_edgar_survives_malformed_json_5xx_429_and_unknown_tickers() {
    let (dir, bus) = bus();
    let store = PriceStore::load(&bus).await.unwrap();
    // Every symbol but the first ten is known to the ticker map.
    let known: Vec<String> = store.raw.tickers.iter().skip(10).map(|t| t.to_string()).collect();
    let server = edgar(&known).await;
    let mut cfg = config(dir.path());
    cfg.providers.sec = sec_config(&server);
    let mut opts = RunOptions::new(day("2010-03-15"));
    opts.retry = RetryPolicy::fast();
    let r = run(&bus, &cfg, clock("2010-03-15"), &opts).await.unwrap();
    let sec = &r.providers["sec"];
    assert!(sec.ok > 40, "{sec:?}");
    let kinds: Vec<&String> = sec.errors.keys().collect();
    assert!(sec.errors.get("malformed").copied().unwrap_or(0) > 0, "{kinds:?}");
    assert!(sec.errors.get("transient").copied().unwrap_or(0) > 0, "{kinds:?}");
    assert!(sec.failures.iter().any(|(_, e)| e.contains("malformed response")));
    // With fundamentals, value / quality / growth / insider are real factors, not degenerate.
    for f in ["value", "quality", "growth"] {
        assert!(!r.degenerate_factors.contains_key(f), "{f}: {:?}", r.degenerate_factors);
    }
    let s = bus.get_doc_required::<Signals>(&keys::signals(day("2010-03-15"))).await.unwrap().doc;
    assert!(!s.universe.is_empty());
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests.iter().all(|r| r.headers.get("user-agent").unwrap().to_str().unwrap().contains("ops@example.com"))
    );
}

#[tokio::test]
async fn fred_skips_missing_values_and_ignores_the_future() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/fred/series/observations"))
        .and(query_param("series_id", "DGS10"))
        .and(query_param("file_type", "json"))
        .and(query_param("api_key", "test-fred-key"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(fixture("fred_DGS10.json"), "application/json"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/fred/series/observations"))
        .and(query_param("series_id", "NOPE"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(fixture("fred_error_400.json"), "application/json"))
        .mount(&server)
        .await;
    let client = fred(&server);
    let obs = client.observations("DGS10", d("2009-03-12"), d("2010-03-12")).await.unwrap();
    assert!(!obs.is_empty());
    assert!(obs.iter().all(|(day, v)| *day <= d("2010-03-12") && v.is_finite()));
    let err = client.observations("NOPE", d("2009-03-12"), d("2010-03-12")).await.unwrap_err();
    assert!(matches!(err, ProviderError::Refused { status: 400, .. } | ProviderError::NotFound(_)), "{err:?}");
}

fn fred(server: &MockServer) -> FredClient {
    // FredClient reads its key from the environment variable the config names; the test names one
    // that only this process sets, through the child-free constructor below.
    let cfg = FredConfig {
        enabled: true,
        base_url: server.uri(),
        api_key_env: "AE_TEST_FRED_KEY_UNSET".into(),
        series: vec![],
    };
    FredClient::with_key(&cfg, "test-fred-key", Duration::from_secs(5), RetryPolicy::fast()).unwrap()
}

#[tokio::test]
async fn polygon_pages_unknown_tickers_and_throttling() {
    let server = MockServer::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let c2 = calls.clone();
    Mock::given(method("GET"))
        .and(path("/v2/aggs/ticker/AAPL/range/1/day/2010-08-09/2010-08-20"))
        .respond_with(move |_: &Request| {
            if c2.fetch_add(1, Ordering::SeqCst) == 0 {
                ResponseTemplate::new(429).set_body_raw(fixture("polygon_error_429.json"), "application/json")
            } else {
                ResponseTemplate::new(200).set_body_raw(fixture("polygon_aggs_AAPL.json"), "application/json")
            }
        })
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/aggs/ticker/ZZZZ/range/1/day/2010-08-09/2010-08-20"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(fixture("polygon_aggs_unknown_ticker.json"), "application/json"),
        )
        .mount(&server)
        .await;
    let cfg =
        PolygonConfig { enabled: true, base_url: server.uri(), api_key_env: "UNSET".into(), requests_per_second: 50 };
    let client =
        PolygonClient::with_key(&cfg, "test-polygon-key", Duration::from_secs(5), RetryPolicy::fast()).unwrap();
    let bars = client.daily_bars("AAPL", d("2010-08-09"), d("2010-08-20")).await.unwrap();
    assert_eq!(bars.len(), 10);
    assert_eq!(bars[0].date.to_string(), "2010-08-09");
    assert!(bars.iter().all(|b| b.low <= b.close && b.close <= b.high));
    assert_eq!(calls.load(Ordering::SeqCst), 2, "one 429, then success");
    assert!(matches!(
        client.daily_bars("ZZZZ", d("2010-08-09"), d("2010-08-20")).await,
        Err(ProviderError::NotFound(_))
    ));
    let req = &server.received_requests().await.unwrap()[0];
    assert_eq!(req.url.query_pairs().find(|(k, _)| k == "adjusted").unwrap().1, "false");
}

#[tokio::test]
async fn polygon_sends_its_key_in_a_header_and_follows_next_url_only_to_polygon() {
    let server = MockServer::start().await;
    // Page one's next_url, as Polygon writes it (cursor, no key), moved onto the stand-in.
    let page1 = fixture("polygon_aggs_AAPL_page1_limit5.json").replace("https://api.polygon.io", &server.uri());
    Mock::given(method("GET"))
        .and(path("/v2/aggs/ticker/AAPL/range/1/day/2010-08-09/2010-08-20"))
        .and(wiremock::matchers::header("authorization", "Bearer test-polygon-key"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(page1, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/aggs/ticker/AAPL/range/1/day/1281931200000/2010-08-20"))
        .and(query_param("cursor", "bGltaXQ9NSZzb3J0PWFzYw"))
        .and(wiremock::matchers::header("authorization", "Bearer test-polygon-key"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(fixture("polygon_aggs_AAPL_page2_limit5.json"), "application/json"),
        )
        // AAPL's own second page, and MSFT's next_url rebased from another host onto this one.
        .expect(2)
        .mount(&server)
        .await;
    // A next_url on another host: the key is never sent there.
    let elsewhere =
        fixture("polygon_aggs_AAPL_page1_limit5.json").replace("https://api.polygon.io", "http://127.0.0.1:9");
    Mock::given(method("GET"))
        .and(path("/v2/aggs/ticker/MSFT/range/1/day/2010-08-09/2010-08-20"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(elsewhere, "application/json"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/aggs/ticker/NFLX/range/1/day/2010-08-09/2010-08-20"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_raw(fixture("polygon_error_403_not_authorized.json"), "application/json"),
        )
        .mount(&server)
        .await;
    let cfg =
        PolygonConfig { enabled: true, base_url: server.uri(), api_key_env: "UNSET".into(), requests_per_second: 50 };
    let client =
        PolygonClient::with_key(&cfg, "test-polygon-key", Duration::from_secs(5), RetryPolicy::fast()).unwrap();
    assert!(!format!("{client:?}").contains("test-polygon-key"), "{client:?}");

    let bars = client.daily_bars("AAPL", d("2010-08-09"), d("2010-08-20")).await.unwrap();
    assert_eq!(bars.len(), 10, "both pages");
    // A next_url on another host is followed on the configured base only (as Polygon's own
    // client does): its path and cursor, never its host.
    let msft = client.daily_bars("MSFT", d("2010-08-09"), d("2010-08-20")).await.unwrap();
    assert_eq!(msft.len(), 10, "page one, then the cursor's page on the stand-in");
    let err = client.daily_bars("NFLX", d("2010-08-09"), d("2010-08-20")).await.unwrap_err();
    assert!(matches!(err, ProviderError::Refused { status: 403, .. }), "{err}");
    assert!(err.to_string().contains("NOT_AUTHORIZED") && !err.to_string().contains("test-polygon-key"), "{err}");
    for r in server.received_requests().await.unwrap() {
        assert!(r.url.query_pairs().all(|(k, _)| k != "apiKey"), "no key in the URL: {}", r.url);
        assert_eq!(r.headers.get("authorization").unwrap(), "Bearer test-polygon-key");
    }
}
