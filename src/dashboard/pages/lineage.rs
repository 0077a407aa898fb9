//! Lineage: any document's inputs, walked back to the price chunks, each with the hash it was read
//! with and whether the object on the bus still has that hash; and the raw view of one document.

use std::collections::{BTreeSet, VecDeque};

use ae_shared::bus::{Bus, Key};
use ae_shared::contracts::{DocKind, Lineage};
use maud::{Markup, html};
use serde_json::Value;

use crate::dashboard::layout::{doc_href, lineage_href};
use crate::dashboard::snapshot::Snapshot;

/// At most this many documents are walked from one root.
pub const MAX_NODES: usize = 400;

/// One input as its reader recorded it, and what the bus holds under that key now.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    /// The input's key.
    pub key: String,
    /// The hash it was read with.
    pub recorded: String,
    /// The hash of the object there now (`None`: gone).
    pub current: Option<String>,
}

/// One document in the walk.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Its key.
    pub key: Key,
    /// Hash of its bytes now.
    pub sha256: String,
    /// Who produced it (`job version run`), when it carries a lineage.
    pub produced_by: Option<String>,
    /// Its inputs.
    pub inputs: Vec<Edge>,
    /// How far from the root.
    pub depth: usize,
}

/// Walks the inputs of `root` breadth first (each key once, at most [`MAX_NODES`]).
pub async fn walk(bus: &Bus, root: &Key) -> Result<Vec<Node>, String> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([(root.clone(), 0usize)]);
    seen.insert(root.clone());
    while let Some((key, depth)) = queue.pop_front() {
        if out.len() >= MAX_NODES {
            break;
        }
        let Some(obj) = bus.get(&key).await.map_err(|e| e.to_string())? else {
            if depth == 0 {
                return Err(format!("{key} is not on the bus"));
            }
            continue;
        };
        let lineage = lineage_of(&obj.bytes);
        let mut inputs = Vec::new();
        if let Some(l) = &lineage {
            for i in &l.inputs {
                let current = match Key::parse(&i.key) {
                    Ok(k) => {
                        let now = bus.get(&k).await.map_err(|e| e.to_string())?.map(|o| o.sha256());
                        if now.is_some() && seen.insert(k.clone()) {
                            queue.push_back((k, depth + 1));
                        }
                        now
                    }
                    Err(_) => None,
                };
                inputs.push(Edge { key: i.key.clone(), recorded: i.sha256.clone(), current });
            }
        }
        out.push(Node {
            key,
            sha256: obj.sha256(),
            produced_by: lineage.map(|l| format!("{:?} {} run {}", l.job, l.version, l.run_id).to_lowercase()),
            inputs,
            depth,
        });
    }
    Ok(out)
}

/// The `produced_by` of a JSON document, when it has one.
pub fn lineage_of(bytes: &[u8]) -> Option<Lineage> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    serde_json::from_value(v.get("produced_by")?.clone()).ok()
}

/// The document kind a key holds, when it is a contract.
pub fn contract_kind(key: &Key) -> Option<DocKind> {
    let k = key.as_str();
    let dated = ae_shared::bus::keys::date_of(key).is_some() || k.ends_with("/latest.json");
    Some(if k.starts_with("signals/") && k.ends_with(".json") {
        DocKind::Signals
    } else if k.starts_with("predictor/predictions/") {
        DocKind::Predictions
    } else if k.starts_with("predictor/metrics/")
        || (k.starts_with("predictor/models/") && k.ends_with("/metrics.json"))
    {
        DocKind::PredictorMetrics
    } else if k.starts_with("executor/order_books/") && dated {
        DocKind::OrderBook
    } else if k.starts_with("executor/eod/") && dated {
        DocKind::Eod
    } else if k == "executor/kill_switch.json" {
        DocKind::KillSwitch
    } else if k.starts_with("risk/") && k.ends_with("/risk_state.json") {
        DocKind::RiskState
    } else if k.starts_with("config/") && k.ends_with(".json") {
        let name = key.file_name().trim_end_matches(".json").trim_end_matches("_previous");
        match name {
            "scoring_weights" => DocKind::ScoringWeights,
            "executor_params" => DocKind::ExecutorParams,
            "predictor_params" => DocKind::PredictorParams,
            "research_params" => DocKind::ResearchParams,
            _ => return None,
        }
    } else {
        return None;
    })
}

/// The lineage page: the picker, and the walk from `root` when one is given.
pub fn render(s: &Snapshot, root: Option<(&Key, &[Node])>, error: Option<&str>) -> Markup {
    let mut picks: Vec<(&str, &Key)> = Vec::new();
    if let Some(x) = s.last_eod() {
        picks.push(("last EOD report", &x.key));
    }
    if let Some(x) = s.last_book() {
        picks.push(("last order book", &x.key));
    }
    if let Some(x) = s.last_risk() {
        picks.push(("last risk state", &x.key));
    }
    if let Some(x) = s.last_signals() {
        picks.push(("last signals", &x.key));
    }
    if let Some(x) = s.last_predictions() {
        picks.push(("last predictions", &x.key));
    }
    if let Some(x) = s.latest_model() {
        picks.push(("latest model's metrics", &x.key));
    }
    if let Some(x) = s.written_back.last() {
        picks.push(("last parameters written back", &x.key));
    }
    html! {
        form method="get" action="/lineage" {
            select name="key" aria-label="document" {
                @for (label, k) in &picks {
                    option value=(k.as_str()) selected[root.is_some_and(|r| r.0 == *k)] { (label) ": " (k.as_str()) }
                }
            }
            button type="submit" { "Walk" }
        }
        form method="get" action="/lineage" {
            input name="key" placeholder="any key, e.g. executor/eod/2010-03-12.json" size="40" value=(root.map(|r| r.0.as_str()).unwrap_or(""));
            button type="submit" { "Walk" }
        }
        @if let Some(e) = error { p.bad { (e) } }
        @if let Some((key, nodes)) = root {
            @let changed = nodes.iter().flat_map(|n| &n.inputs).filter(|e| e.current.as_deref() != Some(e.recorded.as_str())).count();
            @let chunks = nodes.iter().filter(|n| n.key.as_str().starts_with("prices/bars/")).count();
            p data-figure="lineage_nodes" data-value=(nodes.len()) {
                (nodes.len()) " documents behind " a href=(doc_href(key)) { (key.as_str()) } ", " (chunks) " price chunk(s); "
                @if changed == 0 { span.badge.ok { "ALL HASHES MATCH" } } @else { span.badge.warn { (changed) " INPUT(S) CHANGED SINCE READ" } " (a latest pointer or a rewritten object)" }
            }
            @for n in nodes {
                div.card data-node=(n.key.as_str()) {
                    div { (" · ".repeat(n.depth)) a href=(lineage_href(&n.key)) { (n.key.as_str()) } " " a.muted href=(doc_href(&n.key)) { "view" } }
                    div.sub { "sha256 " code { (&n.sha256[..16]) "…" } @if let Some(p) = &n.produced_by { " · " (p) } }
                    @if !n.inputs.is_empty() {
                        ul.gates {
                            @for e in &n.inputs {
                                li {
                                    @match &e.current {
                                        Some(c) if c == &e.recorded => span.badge.ok { "SAME" },
                                        Some(_) => span.badge.warn { "CHANGED" },
                                        None => span.badge.bad { "GONE" },
                                    }
                                    " " (e.key) " " code.muted { (e.recorded.get(..12).unwrap_or(&e.recorded)) }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 id="problems" { "Documents that could not be read" }
        @if s.problems.is_empty() { p.muted { "None: every document listed passed its validation." } } @else {
            ul { @for p in &s.problems { li { code { (p) } } } }
        }
    }
}

/// The view of one object: a contract is validated and pretty-printed; text is shown as text;
/// anything else by its size and hash.
pub fn document(key: &Key, bytes: &[u8], sha256: &str) -> Markup {
    let name = key.file_name();
    let kind = contract_kind(key);
    let verdict = kind.map(|k| (k, k.validate(bytes)));
    let text = if name.ends_with(".json") {
        serde_json::from_slice::<Value>(bytes).ok().map(|mut v| {
            ae_shared::secrets::redact_json(&mut v);
            serde_json::to_string_pretty(&v).unwrap_or_default()
        })
    } else if [".md", ".csv", ".txt", ".html"].iter().any(|x| name.ends_with(x)) {
        std::str::from_utf8(bytes).ok().map(|t| ae_shared::secrets::redact(t).into_owned())
    } else {
        None
    };
    html! {
        p {
            code { (key.as_str()) } " · " (bytes.len()) " bytes · sha256 " code { (sha256) } " · "
            a href=(lineage_href(key)) { "lineage" }
        }
        @if let Some((k, v)) = &verdict {
            @match v {
                Ok(()) => p { span.badge.ok { "VALID" } " " (k.name()) " (schema and cross-field rules)" },
                Err(problems) => { p { span.badge.bad { "INVALID" } " " (k.name()) } pre { (problems.to_string()) } },
            }
        }
        @match text {
            Some(t) => pre { (t.chars().take(2_000_000).collect::<String>()) },
            None => p.muted { "Binary object (Parquet, SQLite, ...): shown by its size and hash." },
        }
    }
}
