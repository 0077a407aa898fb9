//! Writes the seed inputs of every fuzz target into `corpus/<target>/seed-*` from real sources:
//! the test fixtures' bus documents and parameter files, a predictor registry and model metadata
//! built from them, the head of each CSV file shipped in `data/`, Parquet chunks of those bars
//! written by the store's own encoder, `config/default.toml`, answers in the shapes the four LLM
//! agents give, and the TWS frames of a real `ibapi` client talking to the paper gateway over
//! loopback (recorded by a relay between the two, both directions).
//!
//! `cargo run -p ae-fuzz --example seed_corpus` — idempotent; inputs libFuzzer found are merged in
//! separately (see `shared/fuzz/run.sh`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ae_fuzz::corpus_dir;
use ae_predictor::model::Platt;
use ae_predictor::registry::{Entry, ModelMeta, Registry};
use ae_rules::costs::CostModel;
use ae_shared::config::Config;
use ae_shared::contracts::{Document, to_json_checked};
use ae_shared::store::bars::DailyBars;
use ae_shared::store::{embedded_data_dir, import};
use ae_shared::{Ticker, TradingDay, parquet_io};
use ae_testkit::fixtures;
use ae_tws::gateway::{Gateway, GatewayConfig, Moment};
use ae_tws::wire;
use chrono::NaiveTime;
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = corpus_dir(target);
    std::fs::create_dir_all(&dir).expect("corpus folder");
    std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("write seed");
}

fn doc<T: Document>(target: &str, d: &T) {
    let bytes = to_json_checked(d).expect("fixtures are valid");
    write(target, "fixture.json", &bytes);
    // The compact form too: the same document without the writer's indentation.
    let v: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
    write(target, "fixture-compact.json", v.to_string().as_bytes());
}

fn documents() {
    doc("docs_signals", &fixtures::signals());
    doc("docs_predictions", &fixtures::predictions());
    doc("docs_predictor_metrics", &fixtures::predictor_metrics());
    doc("docs_order_book", &fixtures::order_book());
    doc("docs_eod", &fixtures::eod());
    let (scoring, executor, predictor, research) = fixtures::params_docs();
    doc("docs_scoring_weights", &scoring);
    doc("docs_executor_params", &executor);
    doc("docs_predictor_params", &predictor);
    doc("docs_research_params", &research);

    let metrics = fixtures::predictor_metrics();
    let version = "gbm-2010-03-12-3f9a1c0d".to_string();
    let registry = Registry {
        schema_version: 1,
        champion: Some(version.clone()),
        models: vec![
            Entry {
                version: "gbm-2010-03-05-77aa01be".into(),
                trained_at: TradingDay::parse("2010-03-05").expect("day"),
                median_ic: 0.012,
                promoted: false,
                reason: "median_ic 0.012 < 0.02".into(),
            },
            Entry {
                version: version.clone(),
                trained_at: TradingDay::parse("2010-03-12").expect("day"),
                median_ic: 0.031,
                promoted: true,
                reason: "all gates passed".into(),
            },
        ],
    };
    write("predictor_registry", "registry.json", &serde_json::to_vec_pretty(&registry).expect("json"));
    let empty = Registry { schema_version: 1, ..Registry::default() };
    write("predictor_registry", "empty.json", &serde_json::to_vec_pretty(&empty).expect("json"));
    let meta = ModelMeta {
        schema_version: 1,
        version,
        trained_at: metrics.trained_at,
        horizon_days: metrics.horizon_days,
        label: "5-session forward return minus SPY".into(),
        benchmark: "SPY".into(),
        features: vec!["ret_5d".into(), "ret_20d".into(), "rsi_14".into(), "vol_20d".into()],
        params: Config::defaults().predictor,
        sessions: (TradingDay::parse("2009-01-02").expect("day"), TradingDay::parse("2010-03-05").expect("day")),
        training_rows: metrics.training_rows,
        iterations: 120,
        walk_forward: metrics.walk_forward.clone(),
        summary: metrics.summary.clone(),
        calibration: Platt { a: 1.7, b: -0.02 },
        ece_naive: 0.08,
        ece_calibrated: 0.03,
        gates: metrics.gates.clone(),
        promoted: metrics.promoted,
        produced_by: metrics.produced_by.clone(),
    };
    write("predictor_model_meta", "metadata.json", &serde_json::to_vec_pretty(&meta).expect("json"));
}

/// The header and the first `n` rows of a shipped data file.
fn head(file: &str, n: usize) -> String {
    let text = import::read_gz_text(&embedded_data_dir().join(file)).expect("data file");
    text.lines().take(n + 1).map(|l| format!("{l}\n")).collect()
}

fn csv_and_parquet() {
    let ohlcv = head("sp500_2009_2010_ohlcv.csv.gz", 40);
    let index = head("spx_index_1999_2018.csv.gz", 30);
    let sectors = head("sp500_sectors_2014.csv", 30);
    let earnings = head("earnings_dates_2003_2025.csv.gz", 30);
    for (name, text) in
        [("ohlcv.csv", &ohlcv), ("index.csv", &index), ("sectors.csv", &sectors), ("earnings.csv", &earnings)]
    {
        write("csv_import", name, text.as_bytes());
    }
    let (rows, _) = import::ohlcv_csv("ohlcv.csv", &ohlcv).expect("shipped rows import");
    let (bars, _) = DailyBars::from_rows(rows);
    let chunk = parquet_io::encode(&[bars.to_record_batch()]).expect("encode");
    write("parquet_chunk", "ohlcv-chunk.parquet", &chunk);
    let spx = Ticker::new("SPX").expect("symbol");
    let (bench, _) = import::index_csv("index.csv", &head("spx_index_1999_2018.csv.gz", 3000), &spx).expect("index");
    let bench =
        bench.between(TradingDay::parse("2010-01-04").expect("day"), TradingDay::parse("2010-01-29").expect("day"));
    write("parquet_chunk", "benchmark.parquet", &parquet_io::encode(&[bench.to_record_batch()]).expect("encode"));
}

fn config() {
    let default = include_str!("../../config/default.toml");
    write("config", "default.toml", default.as_bytes());
    let small = "[bus]\nurl = \"file:///tmp/bus\"\n\n[trading]\nbroker = \"paper\"\n";
    write("config", "small.toml", small.as_bytes());
    let with_env =
        format!("{small}\0ALPHA_ENGINE__TRADING__PAPER_STARTING_CASH_USD=250000\nBUS_URL=s3://my-bucket/alpha\n");
    write("config", "with-env.toml", with_env.as_bytes());
}

fn llm() {
    let sectors: serde_json::Map<String, serde_json::Value> = ae_shared::contracts::common::Sector::ALL
        .iter()
        .map(|s| {
            (
                s.name().to_string(),
                serde_json::json!({"rating": "market_weight", "modifier": 1.0, "rationale": "in line with the market"}),
            )
        })
        .collect();
    let macro_answer = serde_json::json!({"market_regime": "neutral", "sectors": sectors, "summary": "mixed"});
    let analyst = r#"{"ticker": "AAPL", "score": 72, "thesis": "Services growth offsets hardware cycles.", "catalysts": ["WWDC"], "price_target_upside": 0.12}"#;
    let cio = r#"{"decisions": [{"ticker": "AAPL", "decision": "advance", "reason": "quality"}, {"ticker": "XOM", "decision": "reject", "reason": "commodity risk"}]}"#;
    let brief = r#"{"headline": "Neutral tape", "summary": "Breadth is mixed; stay selective.", "risks": ["rates"]}"#;
    let answers = [
        ("macro.txt", format!("Here is my view:\n```json\n{macro_answer:#}\n```\n")),
        ("analyst.txt", analyst.to_string()),
        ("cio.txt", format!("My decisions follow. {cio} That is all.")),
        ("brief.txt", format!("```\n{brief}\n```")),
    ];
    for (name, text) in &answers {
        write("llm_answer", name, text.as_bytes());
        write("llm_extract", name, text.as_bytes());
    }
    let prose = r#"I think {not json} but: {"thesis": "a {brace} and a \"quote\"", "score": 73} -- end"#;
    write("llm_extract", "prose.txt", prose.as_bytes());
    write("llm_extract", "truncated.txt", br#"{"score": 74, "thesis": "cut off"#);
}

/// Splits a recorded stream into frame bodies.
fn frames(mut stream: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let Ok(Some(body)) = futures::executor::block_on(wire::read_frame(&mut stream)) {
        out.push(body);
    }
    out
}

/// Copies `from` to `to`, keeping a copy of every byte.
async fn relay(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    log: Arc<Mutex<Vec<u8>>>,
) {
    let mut buf = vec![0_u8; 8192];
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0 || to.write_all(&buf[..n]).await.is_err() {
            break;
        }
        log.lock().expect("log").extend_from_slice(&buf[..n]);
    }
    let _ = to.shutdown().await;
}

async fn next_items<S: futures::Stream + Unpin>(sub: &mut S, n: usize) {
    for _ in 0..n {
        if tokio::time::timeout(Duration::from_millis(300), sub.next()).await.ok().flatten().is_none() {
            break;
        }
    }
}

/// A real `ibapi` session against the paper gateway, recorded both ways.
async fn tws_session() -> (Vec<u8>, Vec<u8>) {
    use ibapi::Client;
    use ibapi::accounts::types::AccountGroup;
    use ibapi::contracts::Contract;
    use ibapi::market_data::MarketDataType;
    use ibapi::orders::{Action, ExecutionFilter, Order};

    let date = TradingDay::parse("2010-03-15").expect("day");
    let at = |h, m| ae_shared::calendar::et_instant(date.date(), NaiveTime::from_hms_opt(h, m, 0).expect("time"));
    let prices = |aapl: f64, xom: f64| {
        BTreeMap::from([(Ticker::new("AAPL").expect("t"), aapl), (Ticker::new("XOM").expect("t"), xom)])
    };
    let cfg = GatewayConfig {
        account: "DU0000001".into(),
        cash: 100_000.0,
        positions: BTreeMap::from([(Ticker::new("XOM").expect("t"), (20, 66.5))]),
        costs: CostModel::new(5.0, 0.005, 1.0),
        moments: vec![
            Moment { at: at(9, 25), prices: BTreeMap::new(), close: false },
            Moment { at: at(9, 30), prices: prices(223.1, 67.0), close: false },
            Moment { at: at(11, 0), prices: prices(224.0, 66.8), close: false },
            Moment { at: at(14, 0), prices: prices(222.5, 67.4), close: false },
            Moment { at: at(16, 0), prices: BTreeMap::new(), close: true },
        ],
        splits: BTreeMap::new(),
        date: None,
        accrued_dividends: Vec::new(),
        dividends: Vec::new(),
    };
    let gateway = Gateway::start("127.0.0.1:0", cfg).await.expect("gateway");
    let relay_listener = TcpListener::bind("127.0.0.1:0").await.expect("relay");
    let relay_addr = relay_listener.local_addr().expect("addr");
    let (up, down) = (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(Vec::new())));
    let (u, d) = (up.clone(), down.clone());
    let gw_addr = gateway.addr();
    let relay_task = tokio::spawn(async move {
        let (client, _) = relay_listener.accept().await.expect("accept");
        let server = TcpStream::connect(gw_addr).await.expect("gateway connect");
        let (cr, cw) = client.into_split();
        let (sr, sw) = server.into_split();
        let a = tokio::spawn(relay(cr, sw, u));
        let b = tokio::spawn(relay(sr, cw, d));
        let _ = tokio::join!(a, b);
    });

    let client = Client::connect(&relay_addr.to_string(), 7).await.expect("ibapi connects through the relay");
    let _ = client.managed_accounts().await;
    let _ = client.server_time().await;
    let _ = client.next_valid_order_id().await;
    let _ = client.switch_market_data_type(MarketDataType::Delayed).await;
    let aapl = Contract::stock("AAPL").build();
    let xom = Contract::stock("XOM").build();
    let mut ticks = client.market_data(&aapl).subscribe().await.expect("market data");
    let _ = client.server_time().await;
    next_items(&mut ticks, 2).await;
    let buy = Order {
        action: Action::Buy,
        total_quantity: 10.0,
        order_type: "MKT".into(),
        order_ref: "2010-03-15-AAPL-BUY".into(),
        account: "DU0000001".into(),
        transmit: true,
        ..Order::default()
    };
    let mut placed = client.place_order(client.next_order_id(), &aapl, &buy).await.expect("place");
    let limit = Order {
        action: Action::Sell,
        total_quantity: 20.0,
        order_type: "LMT".into(),
        limit_price: Some(80.0),
        order_ref: "2010-03-15-XOM-SELL".into(),
        account: "DU0000001".into(),
        transmit: true,
        ..Order::default()
    };
    let limit_id = client.next_order_id();
    let mut resting = client.place_order(limit_id, &xom, &limit).await.expect("place");
    let _ = client.server_time().await;
    next_items(&mut placed, 6).await;
    next_items(&mut resting, 2).await;
    let _ = client.server_time().await;
    if let Ok(mut s) = client.open_orders().await {
        next_items(&mut s, 4).await;
    }
    if let Ok(mut s) = client.all_open_orders().await {
        next_items(&mut s, 4).await;
    }
    if let Ok(mut s) = client.executions(ExecutionFilter::default()).await {
        next_items(&mut s, 6).await;
    }
    if let Ok(mut s) = client.positions().await {
        next_items(&mut s, 4).await;
    }
    if let Ok(mut s) = client.account_summary(&AccountGroup::from("All"), &["NetLiquidation", "TotalCashValue"]).await {
        next_items(&mut s, 6).await;
    }
    if let Ok(mut s) = client.cancel_order(limit_id, "").await {
        next_items(&mut s, 2).await;
    }
    let _ = client.global_cancel().await;
    let _ = client.server_time().await;
    let _ = client.server_time().await;
    if let Ok(mut s) = client.completed_orders(true).await {
        next_items(&mut s, 4).await;
    }
    drop(ticks);
    drop(placed);
    drop(resting);
    tokio::time::sleep(Duration::from_millis(200)).await;
    client.disconnect().await;
    let _ = tokio::time::timeout(Duration::from_secs(2), relay_task).await;
    let up = up.lock().expect("log").clone();
    let down = down.lock().expect("log").clone();
    (up, down)
}

fn tws() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let (up, down) = rt.block_on(tws_session());
    assert!(up.starts_with(&wire::API_PREFIX), "the client opens with API\\0");
    let after_prefix = &up[wire::API_PREFIX.len()..];
    let hello_len = 4 + u32::from_be_bytes(after_prefix[..4].try_into().expect("length")) as usize;
    write("tws_handshake", "ibapi-hello", &up[..wire::API_PREFIX.len() + hello_len]);
    let requests = &after_prefix[hello_len..];
    write("tws_framing", "ibapi-session", &requests[..requests.len().min(16_384)]);
    write("tws_framing", "gateway-session", &down[..down.len().min(16_384)]);
    let mut seen = std::collections::BTreeSet::new();
    for body in frames(requests) {
        if seen.insert(body.clone()) {
            let id = wire::split_message(&body).map(|(id, _)| id).unwrap_or(0);
            write("tws_request", &format!("ibapi-{id}-{}", seen.len()), &body);
        }
    }
    let bodies = frames(&down);
    println!("tws: {} request frames, {} gateway frames", seen.len(), bodies.len());
    seen.clear();
    for body in bodies {
        if seen.insert(body.clone()) {
            let id = wire::split_message(&body).map(|(id, _)| id).unwrap_or(0);
            write("tws_server_message", &format!("gateway-{id}-{}", seen.len()), &body);
        }
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    documents();
    csv_and_parquet();
    config();
    llm();
    tws();
    for t in ae_fuzz::TARGETS {
        let n = std::fs::read_dir(root.join(t.name)).map(|d| d.count()).unwrap_or(0);
        println!("{:<24} {n} input(s)", t.name);
    }
}
