//! LLM agents against a local Anthropic stand-in (wiremock) that answers like the real Messages
//! API: it recognises each agent from its prompt and replies with well-formed answers, wrapped the
//! way models wrap them (fences, prose), plus the failures that matter — a 429 storm, answers with
//! no usable JSON, an answer that needs a corrective retry — and usage for the cost meter.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use ae_research::run::{RunOptions, run};
use ae_shared::bus::keys;
use ae_shared::contracts::common::Sector;
use ae_shared::contracts::signals::{ResearchMode, Signals};
use ae_shared::retry::RetryPolicy;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::common::{bus, clock, config, day};

#[derive(Default)]
struct Script {
    /// 429 answers still to give.
    storm: usize,
    /// Make the 2nd analyst hopeless and the 3rd flaky.
    misbehave: bool,
    /// Analyst requests seen, in order.
    analysts: Vec<String>,
    /// Tickers that never get usable JSON.
    hopeless: BTreeSet<String>,
    /// Tickers whose first answer is prose only.
    flaky: BTreeSet<String>,
    /// Answers given per agent.
    served: Vec<String>,
}

struct Claude(Arc<Mutex<Script>>);

fn ticker_in(prompt: &str) -> String {
    let at = prompt.find("\n## ").expect("analyst prompt has a ## TICKER heading") + 4;
    prompt[at..].split_whitespace().next().unwrap().to_string()
}

fn reply(text: String, input_chars: usize) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "msg_test",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": null,
        "usage": {"input_tokens": input_chars / 4, "output_tokens": 180, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
    }))
}

impl Respond for Claude {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut s = self.0.lock().unwrap();
        if s.storm > 0 {
            s.storm -= 1;
            return ResponseTemplate::new(429)
                .insert_header("retry-after", "0")
                .set_body_raw(include_str!("../fixtures/anthropic_error_429.json"), "application/json");
        }
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        let turns = body["messages"].as_array().unwrap();
        let first = turns[0]["content"].as_str().unwrap();
        let chars: usize = turns.iter().map(|t| t["content"].as_str().unwrap().len()).sum();
        let corrective = turns.len() > 1;
        if first.contains("You are the macro economist") {
            s.served.push("macro".into());
            let mut sectors = serde_json::Map::new();
            for sec in Sector::ALL {
                let (rating, m) = match sec {
                    Sector::InformationTechnology => ("overweight", 1.2),
                    Sector::Utilities => ("underweight", 0.8),
                    _ => ("market_weight", 1.0),
                };
                sectors.insert(
                    sec.name().into(),
                    json!({"rating": rating, "modifier": m, "rationale": format!("LLM view of {}", sec.name())}),
                );
            }
            let a = json!({"market_regime": "neutral", "sectors": sectors, "summary": "Recovery intact; credit spreads narrowing."});
            return reply(format!("Here is my assessment.\n```json\n{a}\n```\nLet me know if you need more."), chars);
        }
        if first.contains("analyst of a long-only") {
            let t = ticker_in(first);
            if !corrective {
                s.analysts.push(t.clone());
                let n = s.analysts.len();
                if s.misbehave && n == 2 {
                    s.hopeless.insert(t.clone());
                }
                if s.misbehave && n == 3 {
                    s.flaky.insert(t.clone());
                }
            }
            if s.hopeless.contains(&t) || (s.flaky.contains(&t) && !corrective) {
                return reply(format!("I would rate {t} favourably given its momentum, but I need more data."), chars);
            }
            s.served.push(format!("analyst:{t}"));
            let score = 40 + (t.bytes().map(|b| b as u32).sum::<u32>() % 55);
            let a = json!({"ticker": t, "score": score, "thesis": format!("{t}: estimates rising, margins expanding."), "catalysts": ["next earnings"], "price_target_upside": 0.12});
            return reply(a.to_string(), chars);
        }
        if first.contains("chief investment officer") {
            s.served.push("cio".into());
            let tickers: Vec<String> = first
                .lines()
                .filter_map(|l| l.strip_prefix("- "))
                .map(|l| l.split_whitespace().next().unwrap().to_string())
                .collect();
            let decisions: Vec<Value> = tickers
                .iter()
                .enumerate()
                .map(|(i, t)| json!({"ticker": t, "decision": if i == 1 { "reject" } else { "advance" }, "reason": if i == 1 { "too concentrated in its sector" } else { "specific catalysts" }}))
                .collect();
            return reply(json!({"decisions": decisions}).to_string(), chars);
        }
        if first.contains("weekly research brief") {
            s.served.push("consolidator".into());
            return reply(json!({"headline": "Neutral regime, technology leads", "summary": "Eight names enter; utilities lag.", "risks": ["rates"]}).to_string(), chars);
        }
        ResponseTemplate::new(400).set_body_json(
            json!({"type": "error", "error": {"type": "invalid_request_error", "message": "unrecognised prompt"}}),
        )
    }
}

async fn stand_in(script: Arc<Mutex<Script>>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("x-api-key", "test-anthropic-key"))
        .and(header("anthropic-version", "2023-06-01"))
        .respond_with(Claude(script))
        .mount(&server)
        .await;
    server
}

fn opts(date: &str) -> RunOptions {
    let mut o = RunOptions::new(day(date));
    o.llm_key = Some("test-anthropic-key".into());
    o.retry = RetryPolicy::fast();
    o
}

#[tokio::test]
async fn agents_run_through_a_429_storm_and_invalid_answers() {
    let (dir, bus) = bus();
    let script = Arc::new(Mutex::new(Script { storm: 3, misbehave: true, ..Default::default() }));
    let server = stand_in(script.clone()).await;
    let mut cfg = config(dir.path());
    cfg.llm.base_url = server.uri();
    cfg.llm.max_names = 12;
    let r = run(&bus, &cfg, clock("2010-03-15"), &opts("2010-03-15")).await.unwrap();
    let (hopeless, flaky, served) = {
        let s = script.lock().unwrap();
        (
            s.hopeless.iter().cloned().collect::<Vec<String>>(),
            s.flaky.iter().cloned().collect::<Vec<String>>(),
            s.served.clone(),
        )
    };
    let stats = r.llm.clone().unwrap();
    assert_eq!(r.mode, ResearchMode::QuantAndLlm);
    assert_eq!(r.llm_regime, Some(ae_shared::contracts::common::Regime::Neutral));
    assert_eq!((hopeless.len(), flaky.len()), (1, 1));
    // 12 asked, one dropped after its corrective retry, one rescued by it.
    assert_eq!(r.analysts, (11, 12), "{stats:?}");
    assert_eq!(stats.corrective_retries, 2);
    assert_eq!(stats.dropped.len(), 1);
    assert!(
        stats.dropped[0].0.ends_with(hopeless[0].as_str()) && stats.dropped[0].1.contains("no JSON object"),
        "{:?}",
        stats.dropped
    );
    assert!(served.contains(&"cio".to_string()) && served.contains(&"consolidator".to_string()));
    assert!(stats.cost_usd > 0.0 && stats.stopped.is_none());

    let sig = bus.get_doc_required::<Signals>(&keys::signals(day("2010-03-15"))).await.unwrap().doc;
    assert_eq!(sig.mode, ResearchMode::QuantAndLlm);
    assert_eq!(sig.sector_ratings[&Sector::InformationTechnology].rationale, "LLM view of Information Technology");
    let with_qual: Vec<&str> =
        sig.universe.iter().filter(|e| e.sub_scores.qual.is_some()).map(|e| e.ticker.as_str()).collect();
    assert!(with_qual.contains(&flaky[0].as_str()));
    assert!(!with_qual.contains(&hopeless[0].as_str()), "a dropped answer is never invented");
    assert!(sig.notes.iter().any(|n| n.starts_with("CIO rejected")), "{:?}", sig.notes);
    assert!(sig.notes.iter().any(|n| n.starts_with("regime disagreement")) || sig.quant_regime == sig.market_regime);
    // The answer cache went to the bus.
    assert!(bus.get(&keys::research_db()).await.unwrap().is_some());
    // The brief carries the consolidator's headline.
    let brief = std::fs::read_dir(dir.path().join("outbox")).unwrap().next().unwrap().unwrap().path();
    assert!(std::fs::read_to_string(brief).unwrap().contains("Neutral regime, technology leads"));
}

#[tokio::test]
async fn the_cost_ceiling_stops_agents_cleanly_mid_run() {
    let (dir, bus) = bus();
    let script = Arc::new(Mutex::new(Script::default()));
    let server = stand_in(script.clone()).await;
    let mut cfg = config(dir.path());
    cfg.llm.base_url = server.uri();
    cfg.llm.max_names = 30;
    // The macro call (worst case ~$0.02 at Sonnet prices with a 1,024-token budget) fits, then
    // analysts (worst case ~$0.005 each, actual ~$0.0015) until the next could cross $0.03.
    cfg.llm.max_tokens_strategic = 1024;
    cfg.llm.cost_ceiling_usd = 0.03;
    let r = run(&bus, &cfg, clock("2010-03-15"), &opts("2010-03-15")).await.unwrap();
    let stats = r.llm.clone().unwrap();
    let stopped = stats.stopped.clone().expect("the ceiling is reached");
    assert!(stopped.starts_with("cost ceiling $0.03 reached"), "{stopped}");
    assert!(stats.cost_usd <= 0.03, "never crosses the ceiling: {}", stats.cost_usd);
    let (covered, asked) = r.analysts;
    assert!(covered > 0 && covered == asked && asked < 30, "{covered} of {asked}");
    assert!(
        r.notes.iter().any(|n| n.contains(&format!("analysts covered {covered} of {asked} asked"))),
        "{:?}",
        r.notes
    );
    assert!(r.notes.iter().any(|n| n.starts_with("CIO unavailable (cost ceiling")), "{:?}", r.notes);
    let sig = bus.get_doc_required::<Signals>(&keys::signals(day("2010-03-15"))).await.unwrap().doc;
    assert_eq!(sig.universe.iter().filter(|e| e.sub_scores.qual.is_some()).count(), covered);
    assert!(!script.lock().unwrap().served.contains(&"consolidator".to_string()));
}

#[tokio::test]
async fn cached_answers_are_reused_without_calling_the_api() {
    let (dir, bus) = bus();
    let script = Arc::new(Mutex::new(Script::default()));
    let server = stand_in(script.clone()).await;
    let mut cfg = config(dir.path());
    cfg.llm.base_url = server.uri();
    cfg.llm.max_names = 5;
    let first = run(&bus, &cfg, clock("2010-03-15"), &opts("2010-03-15")).await.unwrap();
    let calls_first = first.llm.unwrap().calls;
    let mut again = opts("2010-03-15");
    again.dry_run = true;
    let second = run(&bus, &cfg, clock("2010-03-15"), &again).await.unwrap();
    let st = second.llm.unwrap();
    assert!(calls_first >= 8);
    assert_eq!(st.calls, 0, "{st:?}");
    assert!(st.cached >= 7, "{st:?}");
    assert_eq!(server.received_requests().await.unwrap().len() as u32, calls_first);
}
